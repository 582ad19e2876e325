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
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from db.attempts import AttemptRepository
from db.engine import Database
from db.mappings import SqlMappingStore
from db.migrate import ModeMismatchError, migrate
from db.repositories import SettingsRepository, TradeRepository
from worker.cli.common import config_or_exit, setup_logging
from worker.config import Config
from worker.domain.mapping import Confidence
from worker.domain.markets import Venue
from worker.domain.ports import VenuePort
from worker.engine.event_bus import EventBus
from worker.engine.executor import CrashPoints, Executor, RiskConfig
from worker.engine.executor.feed import OpportunityFeed
from worker.engine.executor.service import ExecutorService
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.venues.kalshi.client import KalshiClient
from worker.venues.paper.auth import PaperCredentials, credentials_path, load_credentials
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket_us.client import PolymarketUsClient

log = logging.getLogger("worker.run")
SHUTDOWN_BOUND_S = 45.0


def paper_client_env(config: Config) -> dict[str, str]:
    """The live clients' variables pointing at the local paper exchange and its credentials."""
    return paper_env(config.paper_url, load_credentials(credentials_path(config.data_dir)))


def paper_env(base: str, creds: PaperCredentials) -> dict[str, str]:
    """Client variables for a paper exchange at ``base`` (``http://127.0.0.1:PORT``)."""
    ws = base.replace("http://", "ws://")
    env = creds.as_env()
    env.update(
        {
            "KALSHI_BASE_URL": f"{base}/kalshi/trade-api/v2",
            "KALSHI_WS_URL": f"{ws}/kalshi/trade-api/ws/v2",
            "POLYMARKET_GAMMA_URL": f"{base}/polymarket/gamma",
            "POLYMARKET_CLOB_URL": f"{base}/polymarket/clob",
            "POLYMARKET_DATA_URL": f"{base}/polymarket/data",
            "POLYMARKET_WS_URL": f"{ws}/polymarket/ws/market",
            "POLYMARKET_US_GATEWAY_URL": f"{base}/polymarket-us",
            "POLYMARKET_US_API_URL": f"{base}/polymarket-us",
            "POLYMARKET_US_WS_URL": f"{ws}/polymarket-us/v1/ws/markets",
        }
    )
    return env


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


async def ensure_paper_exchange(config: Config, seed: int | None) -> subprocess.Popen[bytes] | None:
    """Start ``python -m worker paper-exchange`` unless one answers already; wait until it does."""
    if await _answers(config):
        return None
    env = dict(os.environ)
    if seed is not None:
        env["EXECUTOR_SEED"] = str(seed)
    log_path = Path(config.data_dir) / "paper-exchange.log"
    child = _spawn_exchange(env, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the paper exchange exited with {child.returncode}; see {log_path}")
        if await _answers(config):
            log.info("started the paper exchange (pid %s)", child.pid)
            return child
        await asyncio.sleep(0.2)
    child.terminate()
    raise RuntimeError(f"the paper exchange did not answer within 60 s; see {log_path}")


def build_venues(config: Config) -> dict[Venue, VenuePort]:
    return venues_from_env(paper_client_env(config), config.poly_venue)


def venues_from_env(env: dict[str, str], poly_venue: str) -> dict[Venue, VenuePort]:
    """Kalshi plus the chosen Polymarket venue's live clients."""
    poly: VenuePort
    if poly_venue == Venue.POLYMARKET_US.value:
        poly = PolymarketUsClient.from_env(env)
    else:
        poly = PolymarketClient.from_env(env)
    return {Venue.KALSHI: KalshiClient.from_env(env), poly.venue: poly}


async def run(duration: float, seed: int | None, stop: asyncio.Event | None = None) -> dict[str, Any]:
    config = config_or_exit()
    if config.mode != "paper":
        raise SystemExit("run: the headless run trades the paper exchange only (EXECUTOR_MODE=paper)")
    child = await ensure_paper_exchange(config, seed)
    db = Database(config.database_url)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    venues: dict[Venue, VenuePort] = {}
    try:
        await migrate(db, config.mode)
        settings = ExecutorSettingsManager(SettingsRepository(db))
        await settings.load()
        await settings.set_enabled(True)
        trades = TradeRepository(db)
        bus = EventBus()
        venues = build_venues(config)
        executor = Executor(
            settings=settings,
            store=AttemptRepository(db),
            trades=trades,
            trade_logger=TradeLogger(trades, config.day_tz),
            venues=venues,
            publish=bus.publish,
            risk_config=RiskConfig(
                min_confidence=Confidence(config.min_confidence),
                max_book_age_ms=config.max_book_age_ms,
                no_trade_before_start_s=config.no_trade_before_start_s,
                day_tz=config.day_tz,
            ),
            crash=CrashPoints.from_env(),
        )
        poly_venue = Venue(config.poly_venue)
        feed = OpportunityFeed(executor, venues[Venue.KALSHI], venues[poly_venue], SqlMappingStore(db))
        service = ExecutorService(executor, feed, SHUTDOWN_BOUND_S)
        started = time.monotonic()
        await service.start()  # reconciles before any new trade
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        clean = await service.stop()
        elapsed = time.monotonic() - started
        summary = executor.summary()
        total = sum(summary["attempts"].values())
        return {
            "duration_s": round(elapsed, 2),
            "opportunities_seen": summary["opportunities_seen"],
            "opportunity_events": feed.events,
            "book_updates": feed.book_updates,
            "attempts": summary["attempts"],
            "attempts_per_s": round(total / elapsed, 3) if elapsed > 0 else 0.0,
            "pnl": str(executor.pnl_total.quantize(Decimal("0.000001"))),
            "refusals": summary["refusals"],
            "reconciliation_alerts": summary["alerts"],
            "clean_shutdown": clean,
        }
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        for port in venues.values():
            with contextlib.suppress(Exception):
                await port.aclose()
        await db.dispose()
        if child is not None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


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
    except ModeMismatchError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0
