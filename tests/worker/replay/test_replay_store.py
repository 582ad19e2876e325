"""The replay's attempt store gives a game_busy refusal (and, under the same limits, a daily
limit's) again from memory only while the database cannot have changed, and asks the
database again as soon as anything was written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from db.migrate import migrate
from db.repositories import TradeRepository
from worker.domain.attempts import (
    AttemptRecord,
    AttemptState,
    Refusal,
    RefusalReason,
    ReservationLimits,
)
from worker.domain.tradelog import NewPosition, PositionLeg
from worker.replay.store import ReplayAttemptStore, ReplayDatabase

NOW = datetime(2026, 1, 11, 20, 0, tzinfo=UTC)
LIMITS = ReservationLimits(100, Decimal(100), NOW - timedelta(hours=1), NOW + timedelta(hours=1))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[ReplayDatabase]:
    database = ReplayDatabase(f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}")
    await migrate(database, "paper")
    yield database
    await database.dispose()


def _attempt(attempt_id: str, game: str = "g") -> AttemptRecord:
    return AttemptRecord(attempt_id, game, None, None, "t", AttemptState.PLANNED, NOW, NOW, Decimal(1),
                         Decimal(1), Decimal(0), Decimal("0.5"), path=["PLANNED"])


def _position(game: str) -> NewPosition:
    return NewPosition(
        event_key=f"{game}-pos",
        event_title="Rockets vs. Kings",
        opened_at=NOW,
        poly=PositionLeg("polymarket", "tok-rockets", "Rockets", "Rockets", Decimal("0.51"), 10),
        kalshi=PositionLeg("kalshi", "KX-HOU", "NO KX-HOU", "NO", Decimal("0.48"), 10),
        cost=Decimal("9.9400"),
        game_key=game,
    )


async def test_a_refusal_for_an_open_position_is_given_again_until_the_position_closes(db: ReplayDatabase) -> None:
    store, trades = ReplayAttemptStore(db), TradeRepository(db)
    position = await trades.open_position(_position("g"))
    first = await store.reserve(_attempt("a1"), LIMITS)
    assert isinstance(first, Refusal) and first.reason is RefusalReason.GAME_BUSY
    assert first.detail == f"position {position.id} is open on this game"
    writes = db.writes_started
    again = await store.reserve(_attempt("a2"), LIMITS)
    assert again == first and store.remembered == 1
    assert db.writes_started == writes  # no transaction at all
    # Another game is not answered from this game's refusal.
    assert isinstance(await store.reserve(_attempt("b1", "other"), LIMITS), AttemptRecord)
    await trades.close_position(position.id, status="closed", closed_at=NOW, realized_pnl=Decimal(0),
                                reason="settled", trade=None)
    admitted = await store.reserve(_attempt("a3"), LIMITS)
    assert isinstance(admitted, AttemptRecord) and admitted.id == "a3"
    assert store.remembered == 1
    stored = await store.get("a3")
    assert stored is not None and stored.state is AttemptState.PLANNED


async def test_a_refusal_for_an_attempt_in_flight_lasts_only_until_the_attempt_is_written(db: ReplayDatabase) -> None:
    store = ReplayAttemptStore(db)
    running = await store.reserve(_attempt("a1"), LIMITS)
    assert isinstance(running, AttemptRecord)
    refused = await store.reserve(_attempt("a2"), LIMITS)
    assert isinstance(refused, Refusal) and refused.detail == "attempt a1 on this game is PLANNED"
    assert await store.reserve(_attempt("a3"), LIMITS) == refused and store.remembered == 1
    running.move(AttemptState.LEG1_SENT, NOW)
    await store.save(running)  # still in flight: the database refuses again, naming the new state
    moved = await store.reserve(_attempt("a4"), LIMITS)
    assert isinstance(moved, Refusal) and moved.detail == "attempt a1 on this game is LEG1_SENT"
    assert store.remembered == 1
    running.move(AttemptState.FAILED, NOW)
    await store.save(running)  # ended without a position: the game is free
    assert isinstance(await store.reserve(_attempt("a5"), LIMITS), AttemptRecord)


async def test_a_refusal_read_while_another_write_ran_is_not_remembered(db: ReplayDatabase) -> None:
    store, trades = ReplayAttemptStore(db), TradeRepository(db)
    await trades.open_position(_position("g"))
    refused, _ = await asyncio.gather(store.reserve(_attempt("a1"), LIMITS), trades.open_position(_position("h")))
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.GAME_BUSY
    writes = db.writes_started
    assert await store.reserve(_attempt("a2"), LIMITS) == refused
    assert store.remembered == 0 and db.writes_started == writes + 1  # asked the database again
    assert await store.reserve(_attempt("a3"), LIMITS) == refused and store.remembered == 1


async def test_a_daily_limit_refusal_is_given_again_only_under_the_same_limits(db: ReplayDatabase) -> None:
    store = ReplayAttemptStore(db)
    one_trade = ReservationLimits(1, Decimal(100), LIMITS.day_start, LIMITS.day_end)
    first = await store.reserve(_attempt("a1", "g"), one_trade)
    assert isinstance(first, AttemptRecord)
    first.move(AttemptState.FAILED, NOW)
    await store.save(first)  # the game is free again; the day has its one trade
    refused = await store.reserve(_attempt("b1", "h"), one_trade)
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.DAILY_TRADES
    assert refused.detail == "1 trades today, limit 1"
    writes = db.writes_started
    assert await store.reserve(_attempt("b2", "h"), one_trade) == refused and store.remembered == 1
    assert db.writes_started == writes  # no transaction at all
    # Another game asks the database (its own refusal could be game_busy first).
    assert await store.reserve(_attempt("c1", "k"), one_trade) == Refusal(RefusalReason.DAILY_TRADES, refused.detail)
    assert store.remembered == 1 and db.writes_started == writes + 1
    # Other limits ask the database, which admits under them.
    admitted = await store.reserve(_attempt("b3", "h"), LIMITS)
    assert isinstance(admitted, AttemptRecord) and store.remembered == 1
    # The loss budget used up: remembered too, until the limits change.
    spent = ReservationLimits(100, Decimal("0.5"), LIMITS.day_start, LIMITS.day_end)  # b3 may lose 0.5
    over = await store.reserve(_attempt("d1", "m"), spent)
    assert isinstance(over, Refusal) and over.reason is RefusalReason.DAILY_LOSS
    assert await store.reserve(_attempt("d2", "m"), spent) == over and store.remembered == 2


async def test_a_refusal_that_depends_on_the_attempts_size_is_never_remembered(db: ReplayDatabase) -> None:
    store = ReplayAttemptStore(db)
    small = ReservationLimits(100, Decimal("0.25"), LIMITS.day_start, LIMITS.day_end)  # each attempt may lose 0.5
    for n in range(2):
        refused = await store.reserve(_attempt(f"a{n}"), small)
        assert isinstance(refused, Refusal) and refused.reason is RefusalReason.DAILY_LOSS_BUDGET
    assert store.remembered == 0
    assert isinstance(await store.reserve(_attempt("a9"), LIMITS), AttemptRecord)
