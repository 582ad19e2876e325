"""Executor throughput on the paper exchange: attempts per second, sustained.

    python bench/executor.py [--seconds 30] [--concurrency 10] [--latency-ms 15] [--faults SPEC]

Runs the paper exchange in process (its HTTP server on 127.0.0.1, the venue latency it
simulates) and drives the executor through the live Kalshi and Polymarket clients: on
each of ``--concurrency`` games at once, an attempt at the books' current asks is
admitted by the risk manager, executed (two legs, write-ahead to SQLite), and — when it
hedged — its position is closed again so the game is free for the next attempt. Prints
attempts per second, the outcome of each attempt and latency percentiles of an attempt
(admission to its end state).

    python bench/executor.py --leg2-failures 200 [--faults SPEC]

instead makes leg 2 of each of 200 sequential attempts fail for good (a 400 from the
venue), the unwind orders then meeting the ``--faults`` draws, and prints how many ended
ROLLED_BACK and how many STRANDED.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.attempts import AttemptRepository
from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from paper_exchange.app import PaperServer
from paper_exchange.faults import parse_faults
from paper_exchange.state import build_state
from worker.bootstrap import build_venues
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.domain.mapping import (
    Confidence,
    CurvePoint,
    Direction,
    Leg,
    MarketMapping,
    Opportunity,
    RulesCheck,
)
from worker.domain.markets import Venue
from worker.engine.executor import Candidate, Executor, RiskConfig, UnwindPolicy
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.venues.normalize import NORMALISERS
from worker.venues.paper_connect import paper_urls


async def candidate(ex: Executor, mapping: MarketMapping, size: int) -> Candidate | None:
    kref, pref = mapping.kalshi_yes, mapping.poly_other
    kbook = await ex.venues[Venue.KALSHI].get_book(kref)
    pbook = await ex.venues[Venue.POLYMARKET].get_book(pref)
    if not kbook.asks or not pbook.asks:
        return None
    kprice, pprice = kbook.asks[0].price, pbook.asks[0].price
    if kprice >= D("0.95") or pprice >= D("0.95") or pbook.asks[0].size < size or kbook.asks[0].size < size:
        return None
    want = D(size)
    cost = (kprice + pprice) * want
    now = datetime.now(UTC)
    opp = Opportunity(
        id=f"opp_{mapping.id}", mapping_id=mapping.id, direction=Direction.KALSHI_YES, league=mapping.league,
        event_title=mapping.event_title, game_date=date.today(), confidence=Confidence.HIGH,
        kalshi_leg=Leg(kref, "YES", kprice, kprice, want, D(0)),
        poly_leg=Leg(pref, "other", pprice, pprice, want, D(0)),
        size=want, cost=cost, edge=cost * D("0.02"), roi_pct=D("2"), roi_per_day_pct=D("2"),
        curve=(CurvePoint(want, cost, cost * D("0.02"), D("2")),), volume=D(0),
        expires_at=mapping.start_time, expected_resolution=None, rules=RulesCheck("", ""), updated_at=now,
    )
    return Candidate(opp, mapping.kalshi_event_ticker, Confidence.HIGH, start_time=mapping.start_time)


async def main(seconds: float, concurrency: int, latency_ms: int, faults: str, leg2_failures: int = 0) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-executor-"))
    state = build_state(
        tmp / "paper", 9, {"kalshi": D(10**6), "polymarket": D(10**6), "polymarket_us": D(10**6)},
        parse_faults(faults), latency_ms=latency_ms,
    )
    scripted: list[str | None] = []
    draw = state.faults.order_fault
    fault_hook: Any = state.faults
    fault_hook.order_fault = lambda: scripted.pop(0) if scripted else draw()
    server = PaperServer(state, 0)
    port = await server.start()
    venues = build_venues({**paper_urls(port), **state.creds.as_env()}, "polymarket")
    db = Database(f"sqlite+aiosqlite:///{tmp / 'executor.db'}")
    await migrate(db, "paper")
    settings = ExecutorSettingsManager(SettingsRepository(db))
    await settings.load()
    await settings.set_enabled(True)
    await settings.update({"min_bet": D("0.5"), "max_bet": D("100"), "max_daily_trades": 100000,
                           "max_daily_loss": D("100000")})
    trades = TradeRepository(db)
    ex = Executor(
        settings=settings, store=AttemptRepository(db), trades=trades,
        trade_logger=TradeLogger(trades, ZoneInfo("America/New_York")), venues=venues,
        publish=lambda *event: None, risk_config=RiskConfig(max_book_age_ms=60_000),
        unwind=UnwindPolicy(pause_s=0.1), lookup_delays=(0.1, 0.3, 0.6),
    )
    feed = OpportunityPipeline(ex, venues[Venue.KALSHI], venues[Venue.POLYMARKET], normalisers=NORMALISERS)
    await feed.discover()
    await ex.start(background=False)
    now = datetime.now(UTC)
    games = [m for m in feed.mappings.values() if m.start_time and m.start_time > now + timedelta(minutes=10)]
    by_game: dict[str, MarketMapping] = {}
    for m in games:
        by_game.setdefault(m.kalshi_event_ticker, m)
    chosen = list(by_game.values())[:concurrency]
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    if leg2_failures:
        await leg2_failure_run(ex, chosen, leg2_failures, scripted, faults)
        await shutdown(ex, venues, server, state, db)
        return

    async def worker(mapping: MarketMapping) -> None:
        while time.monotonic() < deadline:
            cand = await candidate(ex, mapping, 5)
            if cand is None:
                await asyncio.sleep(0.2)
                continue
            t0 = time.perf_counter()
            result = await ex.submit(cand)
            if not isinstance(result, AttemptRecord):
                outcomes[f"refused:{result.reason.value}"] += 1
                await asyncio.sleep(0.1)
                continue
            await asyncio.wait([ex._tasks[result.id]])
            latencies.append(time.perf_counter() - t0)
            outcomes[result.state.value] += 1
            if result.state is AttemptState.HEDGED and result.position_id:
                # Closing frees the game; a close refused by a fault is tried again.
                for _ in range(5):
                    if (await ex.close_position(result.position_id))["closed"]:
                        break
            elif result.state is AttemptState.STRANDED:
                await ex.resolve_stranded(result.id, "bench")

    started = time.monotonic()
    await asyncio.gather(*(worker(m) for m in chosen))
    elapsed = time.monotonic() - started
    attempts = sum(v for k, v in outcomes.items() if not k.startswith("refused"))
    qs = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"games in parallel: {len(chosen)}, paper latency {latency_ms} ms, faults: {faults or 'none'}")
    print(f"attempts: {attempts} in {elapsed:.1f} s = {attempts / elapsed:.2f} attempts/s "
          f"(each hedged one closed again)")
    print(f"outcomes: {dict(outcomes)}")
    print(f"attempt latency: p50 {qs[49] * 1000:.0f} ms, p99 {qs[98] * 1000:.0f} ms")
    await shutdown(ex, venues, server, state, db)


async def shutdown(ex: Executor, venues: Any, server: PaperServer, state: Any, db: Database) -> None:
    await ex.shutdown(10)
    for v in venues.values():
        await v.aclose()
    await server.stop()
    state.exchange.store.close()
    await db.dispose()


async def leg2_failure_run(
    ex: Executor, games: list[MarketMapping], n: int, scripted: list[str | None], faults: str
) -> None:
    """Sequential attempts whose leg 2 is refused for good; count how each one ends."""
    outcomes: Counter[str] = Counter()
    losses = []
    i = 0
    while sum(outcomes.values()) < n:
        mapping = games[i % len(games)]
        i += 1
        cand = await candidate(ex, mapping, 5)
        if cand is None:
            continue
        scripted[:] = [None, "invalid"]  # leg 1 clean, leg 2 refused for good (HTTP 400)
        result = await ex.submit(cand)
        if not isinstance(result, AttemptRecord):
            scripted.clear()
            continue
        await asyncio.wait([ex._tasks[result.id]])
        scripted.clear()
        leg1 = result.leg(LegRole.LEG1)
        if leg1 is None or leg1.filled == 0:
            continue  # leg 1 did not fill (book moved): no leg-2 failure happened
        outcomes[result.state.value] += 1
        if result.pnl is not None:
            losses.append(result.pnl)
        if result.state is AttemptState.STRANDED:
            await ex.resolve_stranded(result.id, "bench")
        elif result.state is AttemptState.HEDGED and result.position_id:
            await ex.close_position(result.position_id)
    total = sum(outcomes.values())
    rb = outcomes.get("ROLLED_BACK", 0)
    st = outcomes.get("STRANDED", 0)
    print(f"leg-2 failures injected: {total} (unwind orders under faults: {faults or 'none'})")
    print(f"ROLLED_BACK {rb} ({rb / total:.1%}), STRANDED {st} ({st / total:.1%}), other {dict(outcomes)}")
    if losses:
        print(f"pnl per rolled-back attempt: mean {statistics.mean(losses):.4f}, worst {min(losses):.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=15)
    parser.add_argument("--faults", default="")
    parser.add_argument("--leg2-failures", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.seconds, args.concurrency, args.latency_ms, args.faults, args.leg2_failures))
