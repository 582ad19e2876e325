"""``python -m worker record --out DIR [--duration S]``: record every venue's listings and books.

In paper mode, starts the paper exchange as a child process if none answers on
``EXECUTOR_PAPER_PORT`` and records all three venues' clients pointed at it (Kalshi,
Polymarket, Polymarket US); in live mode, each venue whose credentials are configured.
Lists every venue's markets every minute and streams the book of every listed contract
(restarted when the listing changes), writing Parquet parts under ``DIR`` (layout:
``docs/recording.md``; disk capped by ``EXECUTOR_RECORD_MAX_GB``). Stops after
``--duration`` seconds, or on SIGINT / SIGTERM, closes every part, and prints one line of
JSON: parts and rows per venue and kind, dropped updates, bytes, duration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

from worker.cli.common import config_or_exit, setup_logging
from worker.cli.run import ensure_paper_exchange, stop_paper_exchange
from worker.clock import SYSTEM_CLOCK
from worker.config import Config, directory_problem
from worker.domain.errors import MissingCredentials
from worker.domain.markets import Venue
from worker.domain.ports import VenuePort
from worker.replay.recorder import LISTING_S, Recorder, record_venues
from worker.replay.writer import RecordWriter
from worker.venues.kalshi.client import KalshiClient
from worker.venues.paper_connect import paper_clients
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket_us.client import PolymarketUsClient

log = logging.getLogger("worker.record")


def clients(config: Config) -> dict[Venue, VenuePort]:
    """The clients to record: all three on the paper exchange, or the configured live ones."""
    if config.mode == "paper":
        return {c.venue: c for c in paper_clients(config.data_dir, config.paper_port)}
    venues: dict[Venue, VenuePort] = {}
    for cls in (KalshiClient, PolymarketClient, PolymarketUsClient):
        try:
            port = cls.from_env(os.environ)
        except MissingCredentials as exc:
            log.info("not recording %s: %s", cls.__name__, exc)
            continue
        venues[port.venue] = port
    return venues


async def record(out: Path, duration: float | None, listing_s: float = LISTING_S) -> dict[str, Any]:
    config = config_or_exit()
    child = await ensure_paper_exchange(config, None) if config.mode == "paper" else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    writer = RecordWriter(out, config.record_max_bytes)
    started = SYSTEM_CLOCK.monotonic()
    try:
        venues = record_venues(clients(config), writer)
        if not venues:
            raise RuntimeError("no venue to record (live mode: no venue's credentials are configured)")
        recorder = Recorder(venues, listing_s=listing_s)
        task = asyncio.create_task(recorder.run(), name="record")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for port in venues.values():  # the last one closes the writer: every part finished
            with contextlib.suppress(Exception):
                await port.aclose()
        await asyncio.to_thread(writer.close)
        elapsed = SYSTEM_CLOCK.monotonic() - started
        rows: dict[str, dict[str, int]] = {}
        for (venue, kind), n in sorted(writer.rows.items()):
            rows.setdefault(venue, {})[kind] = n
        parts: dict[str, dict[str, int]] = {}
        for (venue, kind), n in sorted(writer.parts.items()):
            parts.setdefault(venue, {})[kind] = n
        return {
            "out": str(out),
            "duration_s": round(elapsed, 2),
            "venues": sorted(v.value for v in venues),
            "parts": parts,
            "rows": rows,
            "dropped": writer.dropped,
            "deleted_parts": writer.deleted,
            "bytes": writer.bytes_used(),
            "listings": {v.value: n for v, n in recorder.listings.items()},
        }
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await asyncio.to_thread(writer.close)
        if child is not None:
            stop_paper_exchange(child)


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0 (not nan, inf or negative)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text!r}")
    return value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker record", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the recording directory")
    parser.add_argument("--duration", type=seconds, default=None, help="seconds to record (default: until stopped)")
    parser.add_argument("--listing-s", type=seconds, default=LISTING_S, help="seconds between listings")
    args = parser.parse_args(argv)
    if (problem := directory_problem(args.out)) is not None:
        parser.error(f"--out: {problem}")
    setup_logging()
    try:
        summary = asyncio.run(record(args.out, args.duration, args.listing_s))
    except RuntimeError as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0
