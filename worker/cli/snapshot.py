"""``python -m worker snapshot --out DIR [--seed N]``: write the paper world's current
listings in the venues' own wire formats, without starting a server.

Files: ``kalshi_events.json`` (a Kalshi ``/events?with_nested_markets=true`` object),
``polymarket_events.json`` (a Gamma ``/events`` list) and ``polymarket_us_events.json``
(a Polymarket US ``/v1/events`` object). The world's epoch is the running exchange's (read
from its store under ``EXECUTOR_DATA_DIR``) when there is one, else the current minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from paper_exchange.snapshot import snapshot
from paper_exchange.state import store_path
from paper_exchange.store import Store
from paper_exchange.world import floor_epoch
from paper_exchange.world_extra import paper_leagues
from paper_exchange.world_leagues import build_world, exchange_class
from worker.clock import SYSTEM_CLOCK
from worker.config import ConfigError, load_config


def write_snapshot(out: Path, seed: int, data_dir: Path | None, now: datetime | None = None) -> list[Path]:
    now = now or SYSTEM_CLOCK.now()
    existing = store_path(data_dir, seed) if data_dir is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        if existing is not None and existing.exists():
            store = Store(existing)
        else:
            store = Store(Path(tmp) / "snapshot.db")
        raw = store.get_meta("epoch")
        epoch = datetime.fromisoformat(raw) if raw else floor_epoch(now)
        # The running exchange's leagues (EXECUTOR_PAPER_LEAGUES), as it lists them.
        world = build_world(seed, epoch, paper_leagues(os.environ.get("EXECUTOR_PAPER_LEAGUES")))
        ex = exchange_class(world)(world, store, SYSTEM_CLOCK, {})
        payloads = snapshot(world, ex, now)
        store.close()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, payload in payloads.items():
        path = out / name
        path.write_text(json.dumps(payload, indent=1), "utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker snapshot")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"snapshot: {exc}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else config.seed
    for path in write_snapshot(args.out, seed, config.data_dir):
        print(path)
    return 0
