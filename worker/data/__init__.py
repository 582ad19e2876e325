"""Package data: per-league team tables (``teams/*.json``), their loader and team lookups."""
