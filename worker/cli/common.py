"""Shared start-up for the commands: logging, configuration, database."""

from __future__ import annotations

import logging
import sys

from worker.config import Config, ConfigError, load_config


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request is noise at INFO; the clients log what matters themselves.
    # The websockets client logs request headers (the bearer token) at DEBUG: keep it above.
    for name in ("httpx", "httpcore", "websockets", "websockets.client"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def config_or_exit() -> Config:
    """The configuration, or a one-line message naming the bad variable and exit code 2."""
    try:
        return load_config()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
