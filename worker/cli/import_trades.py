"""``python -m worker import-trades FILE``: backfill the trade log from a JSON-lines file."""

from __future__ import annotations

import argparse
import asyncio
import sys

from db.engine import Database
from db.migrate import ModeMismatchError, migrate
from db.repositories import TradeRepository
from worker.cli.common import config_or_exit, setup_logging
from worker.engine.trade_import import ImportReport, import_lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker import-trades", description=__doc__)
    parser.add_argument("file", help="JSON-lines trade log (one object per line)")
    args = parser.parse_args(argv)
    setup_logging()
    config = config_or_exit()
    try:
        with open(args.file, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"import-trades: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1

    async def run() -> ImportReport:
        db = Database(config.database_url)
        try:
            await migrate(db, config.mode)
            return await import_lines(lines, TradeRepository(db))
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except ModeMismatchError as exc:
        print(f"import-trades: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    for number, reason in report.rejected:
        print(f"  line {number}: {reason}")
    return 0
