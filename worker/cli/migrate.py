"""``python -m worker migrate``: create or upgrade the schema; prints the revision.

A database that cannot be opened, reached or migrated prints one line naming
``EXECUTOR_DATABASE_URL`` (password hidden); exit 78 when the configuration is wrong
(including a database made for the other mode), 69 while the database is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio

from db.engine import Database
from db.migrate import migrate
from worker.cli.common import config_or_exit, database_errors, setup_logging


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

    with database_errors("migrate", config.database_url):
        revision = asyncio.run(run())
    print(f"database at revision {revision} ({config.mode} mode)")
    return 0
