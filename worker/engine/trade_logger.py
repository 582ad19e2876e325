"""Trade logger: the trade log, positions, and today's stats.

Every attempt ends in exactly one trade-log row; positions open on a hedge and close by
hand (CLOSED row), at resolution (SETTLED row) or expire unresolved. Today's stats are
computed for the trading day in ``EXECUTOR_DAY_TZ`` from exact amounts in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.ledger import CashEntry
from worker.domain.storage import TradeStore
from worker.domain.tradelog import (
    ATTEMPT_STATUSES,
    DailyStats,
    NewPosition,
    PositionStatus,
    StoredPosition,
    StoredTrade,
    TradeRecord,
    TradeStatus,
    trading_day_bounds,
)


class TradeLogger:
    """Records attempts' outcomes, opens/closes/expires positions, computes daily stats."""

    def __init__(self, store: TradeStore, day_tz: ZoneInfo, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self._day_tz = day_tz
        self._clock = clock

    @property
    def day_tz(self) -> ZoneInfo:
        return self._day_tz

    async def record_attempt(
        self,
        *,
        attempt_id: str,
        event_title: str,
        status: TradeStatus,
        bet_size: Decimal,
        pnl: Decimal,
        roi: Decimal | None,
        poly_order_id: str | None = None,
        kalshi_order_id: str | None = None,
        reason: str | None = None,
        details: Mapping[str, Any] | None = None,
        position_id: str | None = None,
    ) -> StoredTrade | None:
        """The one trade-log row of an attempt that has ended. Idempotent per attempt."""
        if status not in ATTEMPT_STATUSES:
            raise ValueError(f"{status} is not an attempt outcome")
        return await self._store.record_trade(
            TradeRecord(
                event_title=event_title,
                status=status,
                bet_size=bet_size,
                pnl=pnl,
                roi=roi,
                timestamp=self._clock.now(),
                poly_order_id=poly_order_id,
                kalshi_order_id=kalshi_order_id,
                reason=reason,
                attempt_id=attempt_id,
                position_id=position_id,
                details=details or {},
            )
        )

    async def open_position(self, position: NewPosition) -> StoredPosition:
        return await self._store.open_position(position)

    async def close_position(
        self,
        position_id: str,
        *,
        pnl: Decimal,
        reason: str,
        settled: bool = False,
        details: Mapping[str, Any] | None = None,
        poly_order_id: str | None = None,
        kalshi_order_id: str | None = None,
        cost: Decimal | None = None,
        cash: Sequence[CashEntry] = (),
        status: PositionStatus = PositionStatus.CLOSED,
    ) -> tuple[StoredPosition, StoredTrade | None]:
        """Close an open position with its realised P&L: a CLOSED (or SETTLED) row and the
        cash the exit brought, atomically. ``cost`` is what the position cost (default: as
        stored)."""
        position = await self._store.get_position(position_id)
        if position is None:
            raise KeyError(f"no position {position_id}")
        now = self._clock.now()
        row_status = TradeStatus.SETTLED if settled else TradeStatus.CLOSED
        cost = position.cost if cost is None else cost
        trade = TradeRecord(
            event_title=position.event_title,
            status=row_status,
            bet_size=cost or Decimal(0),
            pnl=pnl,
            roi=_roi(pnl, cost),
            timestamp=now,
            reason=reason,
            attempt_id=position.attempt_id,
            position_id=position.id,
            poly_order_id=poly_order_id,
            kalshi_order_id=kalshi_order_id,
            details=details or {},
        )
        return await self._store.close_position(
            position_id,
            status=status,
            closed_at=now,
            realized_pnl=pnl,
            reason=reason,
            trade=trade,
            cash=cash,
        )

    async def expire_position(self, position_id: str, reason: str) -> StoredPosition:
        """A position past expiry without a resolution: marked expired and flagged, no pnl yet."""
        position, _ = await self._store.close_position(
            position_id,
            status=PositionStatus.EXPIRED,
            closed_at=self._clock.now(),
            realized_pnl=None,
            reason=reason,
            trade=None,
        )
        return position

    async def open_positions(self) -> list[StoredPosition]:
        return await self._store.list_positions(PositionStatus.OPEN)

    async def recent_trades(self, limit: int = 100) -> list[StoredTrade]:
        return await self._store.recent_trades(limit=limit)

    async def stats(self, now: datetime | None = None) -> DailyStats:
        """Today's trades (attempts that reserved a slot), net realised pnl and wins."""
        day, start, end = trading_day_bounds(now or self._clock.now(), self._day_tz)
        trades, pnl, wins = await self._store.day_figures(start, end)
        return DailyStats(day=day, trades=trades, pnl=pnl, wins=wins, losses_realised=max(-pnl, Decimal(0)))


def _roi(pnl: Decimal, cost: Decimal | None) -> Decimal | None:
    if not cost:
        return None
    return (pnl / cost * 100).quantize(Decimal("0.01"))
