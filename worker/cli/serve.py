"""``python -m worker``: migrate the database if needed, then run the engine and server.

Stops cleanly on SIGTERM or SIGINT (exit code 0). A bad configuration exits 2, a
database made for the other mode exits 1; neither prints a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from db.engine import Database
from db.migrate import ModeMismatchError, migrate
from worker.bootstrap import build_worker
from worker.cli.common import config_or_exit, setup_logging
from worker.domain.errors import MissingCredentials
from worker.trading import check_live_credentials

log = logging.getLogger("worker.serve")


async def serve(stop: asyncio.Event | None = None) -> int:
    config = config_or_exit()
    db = Database(config.database_url)
    try:
        revision = await migrate(db, config.mode)
    except ModeMismatchError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        await db.dispose()
        return 1
    log.info("database at revision %s", revision)
    try:
        await check_live_credentials(config)
    except MissingCredentials as exc:
        print(f"worker: live mode needs venue credentials: {exc}", file=sys.stderr)
        await db.dispose()
        return 2
    worker = build_worker(config, db=db, trading=True)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await worker.start()
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await worker.stop()
    return 0


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="python -m worker", description=__doc__).parse_args(argv)
    setup_logging()
    return asyncio.run(serve())
