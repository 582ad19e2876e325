"""Record and replay: the venues' listings and books written to Parquet as they arrive
(``recording``, ``writer``, ``recorder``, ``reader``), and the same scanner, risk manager
and executor driven from a recording on a replay clock (``venue``, ``driver``, ``report``).
See ``docs/recording.md``."""
