"""Package data: per-league team tables (``teams/*.json``) and their loader."""
