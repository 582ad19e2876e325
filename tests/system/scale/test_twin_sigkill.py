"""Two workers started on one data directory, killed and restarted over and over.

A user runs ``python -m worker`` twice by accident: one data directory (one worker id),
one database, one paper exchange with faults on. The test SIGKILLs either process at
random moments and restarts it, at least 20 times, while trading is enabled. Afterwards,
from the exchange's own store and our database:

* every order the exchange holds maps to exactly one leg row, whose recorded fill is the
  exchange's (so the exchange's positions are what our legs say);
* every leg that was sent records the lease epoch it was sent under, and each epoch was
  held by one process: all the legs sent under it come from the same sender;
* nothing is left in flight once the last worker has reconciled.

``EXECUTOR_TWIN_CYCLES`` sets the number of kills (default 20).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository
from db.tables import arbitrage_attempts, attempt_legs
from tests.support.waiting import wait_until
from tests.system.scale.procs import PaperExchange, WorkerProc, stop_all
from worker.domain.attempts import IN_FLIGHT
from worker.domain.settings import ExecutorSettings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CYCLES = int(os.environ.get("EXECUTOR_TWIN_CYCLES", "20"))
FAULTS = "reject=0.05,timeout_filled=0.04,timeout_unfilled=0.04,slip=0.1,hang=1"
TTL_S = 2


async def _legs(db: Database) -> list[Any]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(attempt_legs))).all())


async def _senders(db: Database) -> dict[str, str]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(arbitrage_attempts.c.details))).all()
    out: dict[str, str] = {}
    for (details,) in rows:
        d = details if isinstance(details, dict) else json.loads(details or "{}")
        out.update((d or {}).get("sent_by") or {})
    return out


async def test_two_workers_on_one_data_directory_killed_and_restarted_never_trade_at_once(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    await migrate(db, "paper")
    # Trading on from the start, generous limits: the test is about who sends, not limits.
    await SettingsRepository(db).save(
        ExecutorSettings(enabled=True, max_bet=Decimal(10), max_daily_trades=10_000, max_daily_loss=Decimal(10_000))
    )
    exchange = PaperExchange(tmp_path / "exchange", faults=FAULTS)
    a = WorkerProc.make("a", tmp_path, database_url, exchange, TTL_S)
    b = WorkerProc.make("b", tmp_path, database_url, exchange, TTL_S, data_dir=a.data_dir)
    rng = random.Random(1)
    try:
        await exchange.ready()
        a.start()
        b.start()
        await wait_until(lambda: "held: trading" in a.log() + b.log(), 90, "one of the twins to trade")
        kills = leaders_killed = 0
        while kills < CYCLES:
            # Long enough for a restarted process to connect, take over and trade.
            await asyncio.sleep(rng.uniform(2.0, 7.0))
            leading = [w for w in (a, b) if await w.lease() == "leader"]
            # Mostly the leader (that is what hands trading over), sometimes the standby.
            victim = leading[0] if leading and rng.random() < 0.7 else rng.choice((a, b))
            assert victim.proc is not None
            victim.proc.kill()
            kills += 1
            leaders_killed += victim in leading
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            victim.start()
        # Let whoever leads reconcile what the last kills left, then stop both cleanly.
        await wait_until(lambda: "held: trading" in a.log().rsplit("standing by", 1)[-1]
                         or "held: trading" in b.log().rsplit("standing by", 1)[-1], 60, "a leader after the last kill")

        async def settled() -> bool:
            async with db.read() as conn:
                busy = (await conn.execute(
                    sa.select(sa.func.count()).where(arbitrage_attempts.c.state.in_([s.value for s in IN_FLIGHT]))
                )).scalar_one()
            return busy == 0

        await wait_until(settled, 90, "no attempt left in flight", every=0.5)
        for w in (a, b):
            assert w.proc is not None
            await w.proc.terminate()

        orders = exchange.orders()
        legs = await _legs(db)
        senders = await _senders(db)
        by_client = {(g.venue, g.client_order_id): g for g in legs}
        by_order = {(g.venue, g.venue_order_id): g for g in legs if g.venue_order_id}
        matched: dict[str, int] = {}
        for o in orders:
            leg = by_client.get((o["venue"], o["client_order_id"] or "")) or by_order.get((o["venue"], o["order_id"]))
            assert leg is not None, f"exchange order {o['venue']} {o['order_id']} is unknown to the database"
            matched[leg.id] = matched.get(leg.id, 0) + 1
            assert leg.filled_quantity == Decimal(o["filled"]), (leg.id, leg.state, o["filled"])
            assert leg.epoch is not None, f"leg {leg.id} does not record the epoch it was sent under"
        assert all(n == 1 for n in matched.values()), f"a leg was sent twice: {matched}"
        holders: dict[int, set[str]] = {}
        for g in legs:
            if g.id in matched:
                holders.setdefault(g.epoch, set()).add(senders.get(g.id, "?"))
        assert all(len(h) == 1 for h in holders.values()), f"an epoch sent by more than one process: {holders}"
        print(f"TWINS: {kills} kills ({leaders_killed} of the leader), {len(orders)} exchange orders checked, "
              f"{len(holders)} epochs sent under, 0 differences")
        assert orders, "the twins never traded"
    finally:
        await stop_all((a, b), exchange, db)
