"""The paper exchange: a local simulator that serves Kalshi's, Polymarket's and Polymarket
US's real HTTP and WebSocket APIs over a seeded sports world (docs/paper-exchange.md).

* the market: :mod:`~paper_exchange.world` (games, listings, quotes; teams in
  :mod:`~paper_exchange.teams`), :mod:`~paper_exchange.matching` (matching engine and
  ledger, a plain library), :mod:`~paper_exchange.store`, :mod:`~paper_exchange.fees`,
  :mod:`~paper_exchange.faults`, :mod:`~paper_exchange.credentials`
* the venues: :mod:`paper_exchange.kalshi`, :mod:`paper_exchange.polymarket`,
  :mod:`paper_exchange.polymarket_us` (routes, wire formats, signature checks), with what
  their formats share in :mod:`~paper_exchange.wire`
* the server: :mod:`~paper_exchange.handlers` (the routes' base),
  :mod:`~paper_exchange.admin` (``/paper/...``), :mod:`~paper_exchange.feeds`
  (WebSockets), :mod:`~paper_exchange.app` (application, ``PaperServer``),
  :mod:`~paper_exchange.state` (what a running exchange is made of)
* :mod:`~paper_exchange.snapshot`: the venues' listings without a server

Of the worker it uses only :mod:`worker.clock`; the worker reaches it only from its
``paper-exchange`` and ``snapshot`` commands (import-linter contracts, pyproject.toml).
"""
