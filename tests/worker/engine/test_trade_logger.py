from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from db.engine import Database
from db.migrate import migrate
from db.repositories import TradeRepository
from db.tables import arbitrage_attempts
from worker.clock import FakeClock
from worker.domain.tradelog import NewPosition, PositionLeg, TradeStatus, trading_day_bounds
from worker.engine.trade_logger import TradeLogger

NY = ZoneInfo("America/New_York")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database, "paper")
    yield database
    await database.dispose()


def _position(key: str, attempt_id: str | None = None) -> NewPosition:
    return NewPosition(
        event_key=key,
        event_title="Rockets vs. Kings",
        opened_at=datetime(2026, 1, 11, 20, 0, tzinfo=UTC),
        poly=PositionLeg("polymarket", "tok-rockets", "Rockets", "Rockets", Decimal("0.51"), 10),
        kalshi=PositionLeg("kalshi", "KXNBAGAME-26JAN11HOUSAC-HOU", "NO KXNBAGAME-26JAN11HOUSAC-HOU", "NO", Decimal("0.48"), 10),
        cost=Decimal("9.9400"),
        attempt_id=attempt_id,
        game_key="nba:2026-01-11:HOU@SAC",
    )


async def _attempt(db: Database, attempt_id: str, created_at: datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            arbitrage_attempts.insert().values(
                id=attempt_id, game_key="g", event_title="x", state="PLANNED", created_at=created_at,
                updated_at=created_at, contracts=Decimal(10), planned_cost=Decimal("9.9"),
                expected_edge=Decimal("0.1"), worst_case_loss=Decimal("1"), path=["PLANNED"],
            )
        )


async def test_an_attempt_is_recorded_once_with_exact_amounts(db: Database) -> None:
    clock = FakeClock(datetime(2026, 1, 11, 20, 0, tzinfo=UTC))
    logger = TradeLogger(TradeRepository(db), NY, clock)
    first = await logger.record_attempt(
        attempt_id="a1", event_title="LAL vs BOS", status=TradeStatus.ROLLED_BACK,
        bet_size=Decimal("5.00"), pnl=Decimal("-0.800001"), roi=None, reason="Poly fail",
        kalshi_order_id="k-1", details={"path": ["PLANNED", "LEG1_SENT"], "fee": Decimal("0.07")},
    )
    again = await logger.record_attempt(
        attempt_id="a1", event_title="LAL vs BOS", status=TradeStatus.ROLLED_BACK,
        bet_size=Decimal("5.00"), pnl=Decimal("-0.800001"), roi=None,
    )
    assert first is not None and again is None
    assert first.pnl == Decimal("-0.800001") and first.reason == "Poly fail"
    assert first.details["fee"] == "0.07"
    trades = await logger.recent_trades()
    assert [(t.status, t.pnl) for t in trades] == [("ROLLED_BACK", Decimal("-0.800001"))]


async def test_in_between_states_are_not_trade_log_statuses(db: Database) -> None:
    logger = TradeLogger(TradeRepository(db), NY)
    with pytest.raises(ValueError):
        await logger.record_attempt(
            attempt_id="a", event_title="x", status=TradeStatus.CLOSED,
            bet_size=Decimal(1), pnl=Decimal(0), roi=None,
        )


async def test_positions_open_close_and_expire(db: Database) -> None:
    clock = FakeClock(datetime(2026, 1, 11, 21, 0, tzinfo=UTC))
    logger = TradeLogger(TradeRepository(db), NY, clock)
    p1 = await logger.open_position(_position("g1:dir:a1", "a1"))
    p2 = await logger.open_position(_position("g1:dir:a2", "a2"))
    assert {p.id for p in await logger.open_positions()} == {p1.id, p2.id}
    assert p1.poly_contract == "Rockets" and p1.kalshi_side == "NO" and p1.cost == Decimal("9.94")

    closed, row = await logger.close_position(p1.id, pnl=Decimal("0.0600"), reason="manual close")
    assert closed.status == "closed" and closed.realized_pnl == Decimal("0.06")
    assert row is not None and row.status == "CLOSED" and row.position_id == p1.id
    assert row.roi == Decimal("0.60")
    with pytest.raises(ValueError):
        await logger.close_position(p1.id, pnl=Decimal(0), reason="again")

    expired = await logger.expire_position(p2.id, "past expiry without resolution")
    assert expired.status == "expired" and expired.realized_pnl is None
    assert await logger.open_positions() == []
    statuses = [t.status for t in await logger.recent_trades()]
    assert statuses == ["CLOSED"]


async def test_settlement_writes_a_settled_row(db: Database) -> None:
    logger = TradeLogger(TradeRepository(db), NY, FakeClock(datetime(2026, 1, 12, 5, 0, tzinfo=UTC)))
    p = await logger.open_position(_position("g2:dir:a3", "a3"))
    _, row = await logger.close_position(p.id, pnl=Decimal("0.06"), reason="resolved: Rockets", settled=True)
    assert row is not None and row.status == "SETTLED"


async def test_a_game_can_be_traded_again_under_a_new_event_key(db: Database) -> None:
    logger = TradeLogger(TradeRepository(db), NY)
    await logger.open_position(_position("g3:yes-kalshi:a1", "a1"))
    await logger.open_position(_position("g3:yes-kalshi:a2", "a2"))
    with pytest.raises(sa.exc.IntegrityError):
        await logger.open_position(_position("g3:yes-kalshi:a2", "a2"))
    assert len(await logger.open_positions()) == 2


async def test_daily_stats_follow_the_trading_day_in_its_time_zone(db: Database) -> None:
    repo = TradeRepository(db)
    # 23:30 in New York on Jan 11 is 04:30 UTC on Jan 12; 00:30 NY on Jan 12 is 05:30 UTC.
    late = datetime(2026, 1, 12, 4, 30, tzinfo=UTC)
    early_next = datetime(2026, 1, 12, 5, 30, tzinfo=UTC)
    logger_late = TradeLogger(repo, NY, FakeClock(late))
    logger_next = TradeLogger(repo, NY, FakeClock(early_next))

    await _attempt(db, "a-late-1", late)
    await _attempt(db, "a-late-2", late)
    await logger_late.record_attempt(attempt_id="a-late-1", event_title="A", status=TradeStatus.SUCCESS,
                                     bet_size=Decimal(10), pnl=Decimal("0.25"), roi=Decimal("2.5"))
    await logger_late.record_attempt(attempt_id="a-late-2", event_title="B", status=TradeStatus.ROLLED_BACK,
                                     bet_size=Decimal(5), pnl=Decimal("-0.80"), roi=None)
    await _attempt(db, "a-next-1", early_next)  # still in flight: counts as a trade, no pnl yet
    await _attempt(db, "a-next-2", early_next)
    await logger_next.record_attempt(attempt_id="a-next-2", event_title="C", status=TradeStatus.FAILED,
                                     bet_size=Decimal(5), pnl=Decimal("0"), roi=None)
    p = await logger_next.open_position(_position("g4:dir:a-late-1", "a-late-1"))
    await logger_next.close_position(p.id, pnl=Decimal("0.31"), reason="manual")

    jan11 = await logger_late.stats()
    # A win is an attempt whose realised P&L that day is > 0: the SUCCESS row only locked
    # an edge; it is realised (and won) on Jan 12 when the position closes at +0.31.
    assert (jan11.day.isoformat(), jan11.trades, jan11.wins, jan11.pnl) == ("2026-01-11", 2, 0, Decimal("-0.80"))
    assert jan11.losses_realised == Decimal("0.80")
    jan12 = await logger_next.stats()
    assert (jan12.day.isoformat(), jan12.trades, jan12.wins, jan12.pnl) == ("2026-01-12", 2, 1, Decimal("0.31"))
    assert jan12.losses_realised == Decimal(0)


def test_trading_day_handles_daylight_saving_changes() -> None:
    day, start, end = trading_day_bounds(datetime(2026, 3, 8, 12, 0, tzinfo=UTC), NY)
    assert day.isoformat() == "2026-03-08"
    assert end - start == timedelta(hours=23)
    with pytest.raises(ValueError):
        trading_day_bounds(datetime(2026, 3, 8, 12, 0), NY)
