"""``python -m worker``: migrate the database if needed, then run the engine and server.

Stops cleanly on SIGTERM or SIGINT (exit code 0). Start-up failures print one line and
exit with a code a supervisor can act on (``worker.cli.common``): 78 for a configuration
error (a bad variable, live mode without credentials, a database made for the other mode,
a database URL that cannot work), 69 while the database cannot be reached, 1 otherwise.
No line carries a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from db.engine import Database
from db.migrate import migrate
from worker.bootstrap import Worker, build_worker, check_live_credentials
from worker.cli.common import EX_CONFIG, config_or_exit, database_errors, setup_logging
from worker.config import Config
from worker.domain.errors import MissingCredentials

log = logging.getLogger("worker.serve")


def _data_dir_ready(config: Config) -> None:
    """The token file (created once in ``EXECUTOR_DATA_DIR``), or one line and exit 78."""
    try:
        config.token()
    except OSError as exc:
        print(f"worker: EXECUTOR_DATA_DIR={config.data_dir}: cannot create the token file ({exc.strerror})",
              file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None


async def _start(config: Config) -> Worker:
    db = Database(config.database_url)
    try:
        revision = await migrate(db, config.mode)
        log.info("database at revision %s", revision)
        try:
            await check_live_credentials(config)
        except MissingCredentials as exc:
            print(f"worker: live mode needs venue credentials: {exc}", file=sys.stderr)
            raise SystemExit(EX_CONFIG) from None
        worker = build_worker(config, db=db, trading=True)
    except BaseException:
        await db.dispose()
        raise
    try:
        await worker.start()
    except BaseException:
        await worker.stop()
        raise
    return worker


async def serve(stop: asyncio.Event | None = None) -> int:
    config = config_or_exit()
    _data_dir_ready(config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        with database_errors("worker", config.database_url):
            worker = await _start(config)
        try:
            await stop.wait()
            log.info("stopping")
        finally:
            await worker.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return 0


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="python -m worker", description=__doc__).parse_args(argv)
    setup_logging()
    return asyncio.run(serve())
