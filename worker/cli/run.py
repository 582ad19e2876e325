"""``python -m worker run --duration SECONDS [--seed N]``: a headless paper-trading run.

Runs the engine (matcher, scanner, executor) in paper mode without the dashboard server:
starts the paper exchange as a child process if none answers on ``EXECUTOR_PAPER_PORT``,
migrates the database if needed, trades for ``--duration`` seconds (the executor is
enabled for the run), then stops admitting, lets attempts in flight finish or unwind, and
prints one line of JSON: opportunities seen, attempts by final state, pnl, refusals by
reason. ``EXECUTOR_PAPER_FAULTS`` applies to a paper exchange this command starts;
``EXECUTOR_CRASH_AT`` makes the worker SIGKILL itself at a named point (crash tests).
SIGTERM / SIGINT end the run early, the same orderly way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from worker.bootstrap import build_trading
from worker.cli.common import config_or_exit, database_errors, setup_logging
from worker.clock import SYSTEM_CLOCK, Clock
from worker.config import Config
from worker.engine.event_bus import EventBus
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger("worker.run")
SHUTDOWN_BOUND_S = 45.0
STARTUP_BOUND_S = 60.0


async def _answers(config: Config) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            r = await http.get(f"{config.paper_url}/paper/health")
        return r.status_code == 200
    except httpx.HTTPError:
        return False


def _spawn_exchange(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "worker", "paper-exchange"], env=env, stdout=out, stderr=out
        )


async def ensure_paper_exchange(
    config: Config, seed: int | None, *, clock: Clock = SYSTEM_CLOCK
) -> subprocess.Popen[bytes] | None:
    """Start ``python -m worker paper-exchange`` unless one answers already; wait until it does."""
    if await _answers(config):
        return None
    env = dict(os.environ)
    if seed is not None:
        env["EXECUTOR_SEED"] = str(seed)
    log_path = Path(config.data_dir) / "paper-exchange.log"
    child = _spawn_exchange(env, log_path)
    deadline = clock.monotonic() + 60
    while clock.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the paper exchange exited with {child.returncode}; see {log_path}")
        if await _answers(config):
            log.info("started the paper exchange (pid %s)", child.pid)
            return child
        await clock.sleep(0.2)
    stop_paper_exchange(child)
    raise RuntimeError(f"the paper exchange did not answer within 60 s; see {log_path}")


def stop_paper_exchange(child: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Stop a paper exchange :func:`ensure_paper_exchange` started: SIGTERM, then SIGKILL
    if it has not exited within ``timeout_s`` seconds."""
    child.terminate()
    try:
        child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


async def run(duration: float, seed: int | None, stop: asyncio.Event | None = None) -> dict[str, Any]:
    config = config_or_exit()
    if config.mode != "paper":
        raise SystemExit("run: the headless run trades the paper exchange only (EXECUTOR_MODE=paper)")
    with database_errors("run", config.database_url):
        db = Database(config.database_url)
    child = await ensure_paper_exchange(config, seed)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    settings = ExecutorSettingsManager(SettingsRepository(db))
    was_enabled: bool | None = None
    try:
        with database_errors("run", config.database_url):
            await migrate(db, config.mode)
            await settings.load()
        was_enabled = settings.enabled
        await settings.set_enabled(True)  # the run trades; the operator's toggle is restored after
        engine = build_trading(
            config, db, EventBus(), settings, TradeLogger(TradeRepository(db), config.day_tz),
            shutdown_s=SHUTDOWN_BOUND_S,
        )
        engine.start()  # same parts as the worker: lease, reconciliation before any trade
        # The run's clock starts once the engine trades: connected, lease held, every
        # attempt left by an earlier run reconciled. A standby (another worker holds the
        # lease) or unreachable venues run out the duration without trading.
        waiter = asyncio.ensure_future(engine.wait_trading(STARTUP_BOUND_S))
        await asyncio.wait([waiter, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            waiter.cancel()
        elif not waiter.result():
            log.warning("not trading after %.0f s (lease %s)", STARTUP_BOUND_S, engine.lease_status())
        started = SYSTEM_CLOCK.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        clean = await engine.stop()
        elapsed = SYSTEM_CLOCK.monotonic() - started
        executor, feed = engine.executor, engine.feed
        summary: dict[str, Any] = (
            executor.summary()
            if executor is not None
            else {"opportunities_seen": 0, "attempts": {}, "refusals": {}, "alerts": 0}
        )
        total = sum(summary["attempts"].values())
        return {
            "duration_s": round(elapsed, 2),
            "opportunities_seen": summary["opportunities_seen"],
            "opportunity_events": feed.events if feed is not None else 0,
            "book_updates": feed.book_updates if feed is not None else 0,
            "attempts": summary["attempts"],
            "attempts_per_s": round(total / elapsed, 3) if elapsed > 0 else 0.0,
            "pnl": str((executor.pnl_total if executor is not None else Decimal(0)).quantize(Decimal("0.000001"))),
            "refusals": summary["refusals"],
            "reconciliation_alerts": summary["alerts"],
            "lease": engine.lease_status(),
            "clean_shutdown": clean,
        }
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if was_enabled is False:
            with contextlib.suppress(Exception):
                await settings.set_enabled(False)
        await db.dispose()
        if child is not None:
            stop_paper_exchange(child)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker run", description=__doc__)
    parser.add_argument("--duration", type=float, required=True, help="seconds to trade")
    parser.add_argument("--seed", type=int, default=None, help="seed of a paper exchange started here")
    args = parser.parse_args(argv)
    if args.duration <= 0:
        parser.error("--duration must be positive")
    setup_logging()
    try:
        summary = asyncio.run(run(args.duration, args.seed))
    except RuntimeError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0
