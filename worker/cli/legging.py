"""``python -m worker legging DIR [--from T] [--to T] [--latency-ms N|venue=N,…]``

Refreshes the legging risk estimates (``docs/legging.md``): counts, from the recording in
DIR, how often leg 2's quote would have gone before its order arrived and what that would
have cost (stored as the source ``books``, replacing the previous), counts our own fills
from the database's attempts (source ``fills``), then builds and stores the estimates of
every cell. The Polymarket venue is the one the replay would trade (``EXECUTOR_POLY_VENUE``
if recorded, else the one recorded); ``--latency-ms`` as for ``replay``. Prints one line of
JSON: samples, failures, cells, sparse cells (fewer than 30 samples), elapsed seconds.
A bad argument exits 2 with one ``legging: …`` line and writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from db.attempts import AttemptRepository
from db.engine import Database
from db.legging import BOOKS, LeggingRepository, refresh_estimates
from db.migrate import ModeMismatchError, migrate
from worker.cli.common import config_or_exit, setup_logging
from worker.cli.replay import (
    EX_USAGE,
    UsageError,
    check_window,
    parse_latency,
    parse_time,
    traded_venue,
)
from worker.clock import SYSTEM_CLOCK
from worker.config import Config
from worker.domain.legging import MIN_SAMPLES, CellCount, CellKey, LeggingTable
from worker.domain.legging_fills import counts_from_attempts
from worker.domain.markets import Venue
from worker.replay.driver import DEFAULT_LATENCY_MS
from worker.replay.legging import count_recording
from worker.replay.reader import open_recording
from worker.replay.recording import Recording


class _Parser(argparse.ArgumentParser):
    """Argument errors as one ``legging: …`` line (exit 2), not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"legging: {message}", file=sys.stderr)
        raise SystemExit(EX_USAGE)


def _window(args: argparse.Namespace, recording: Recording) -> tuple[datetime | None, datetime | None]:
    start = parse_time(args.start, "--from") if args.start else None
    end = parse_time(args.end, "--to") if args.end else None
    check_window(start, end, recording)
    return start, end


def summary(table: LeggingTable, counts: dict[CellKey, CellCount], elapsed: float) -> str:
    """The command's line: every source's samples and failures, cells, sparse cells."""
    return json.dumps({
        "samples": sum(c.samples for c in counts.values()),
        "failures": sum(c.failures for c in counts.values()),
        "cells": len(table.cells),
        "sparse_cells": sum(1 for e in table.cells.values() if e.samples < MIN_SAMPLES),
        "elapsed_s": round(elapsed, 3),
    })


async def refresh(config: Config, books: dict[CellKey, CellCount]) -> tuple[LeggingTable, dict[CellKey, CellCount]]:
    """Store the books' counts, count our fills, refresh the estimates."""
    db = Database(config.database_url)
    try:
        await migrate(db, config.mode)
        repo = LeggingRepository(db)
        at = SYSTEM_CLOCK.now()
        await repo.replace_counts(BOOKS, books, at)
        fills = counts_from_attempts(await AttemptRepository(db).list_all(), await repo.mapping_leagues())
        table = await refresh_estimates(repo, fills, at)
        return table, await repo.load_counts()
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    parser = _Parser(prog="python -m worker legging", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="the recording's directory")
    parser.add_argument("--from", dest="start", help="count from this time (ISO-8601 with zone)")
    parser.add_argument("--to", dest="end", help="count up to this time (ISO-8601 with zone)")
    parser.add_argument("--latency-ms", help="order latency: N for every venue, or venue=N,…")
    args = parser.parse_args(argv)
    setup_logging()
    config = config_or_exit()
    began = SYSTEM_CLOCK.monotonic()
    try:
        try:
            recording = open_recording(Path(args.directory))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{args.directory}: {exc}") from None
        poly = traded_venue(config, recording)
        latency = parse_latency(args.latency_ms) if args.latency_ms else dict(DEFAULT_LATENCY_MS)
        latency = {v: latency.get(v, DEFAULT_LATENCY_MS[v]) for v in Venue}
        start, end = _window(args, recording)
    except UsageError as exc:
        print(f"legging: {exc}", file=sys.stderr)
        return EX_USAGE
    books = count_recording(recording, poly_venue=poly, latency_ms=latency, start=start, end=end).counts
    try:
        table, counts = asyncio.run(refresh(config, books))
    except ModeMismatchError as exc:
        print(f"legging: {exc}", file=sys.stderr)
        return 1
    print(summary(table, counts, SYSTEM_CLOCK.monotonic() - began), flush=True)
    return 0
