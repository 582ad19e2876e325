"""``python -m worker migrate``: create or upgrade the schema; prints the revision."""

from __future__ import annotations

import argparse
import asyncio
import sys

from db.engine import Database
from db.migrate import ModeMismatchError, migrate
from worker.cli.common import config_or_exit, setup_logging


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="python -m worker migrate", description=__doc__).parse_args(argv)
    setup_logging()
    config = config_or_exit()

    async def run() -> str:
        db = Database(config.database_url)
        try:
            return await migrate(db, config.mode)
        finally:
            await db.dispose()

    try:
        revision = asyncio.run(run())
    except ModeMismatchError as exc:
        print(f"migrate: {exc}", file=sys.stderr)
        return 1
    print(f"database at revision {revision} ({config.mode} mode)")
    return 0
