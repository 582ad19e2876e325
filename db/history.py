"""Read-only history: the trade log, positions, the realised P&L series and the mappings.

Reads only (the worker's one writer is elsewhere). Money comes from the exact columns;
the P&L series sums realised rows (FAILED, ROLLED_BACK, CLOSED, SETTLED — see
``worker.domain.tradelog``) in Decimal, never from the display REAL columns.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.repositories import TradeRepository
from db.tables import executor_trades, market_mappings
from db.types import from_micros
from worker.domain.tradelog import (
    REALISED_STATUSES,
    PnlSeriesPoint,
    StoredPosition,
    StoredTrade,
    TradeQuery,
)

PNL_ROWS_LIMIT = 100_000


def bucket_start(at: datetime, bucket: str) -> datetime:
    """The start of the UTC ``bucket`` (minute, hour, day) holding ``at``; ``at`` itself
    (in UTC) per trade."""
    at = at.astimezone(UTC)
    if bucket == "minute":
        return at.replace(second=0, microsecond=0)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at


class HistoryRepository:
    """What the history routes and the P&L follower read from the worker's database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._trades = TradeRepository(db)

    async def trades(self, query: TradeQuery) -> list[StoredTrade]:
        """Trade-log rows matching ``query``, newest first."""
        return await self._trades.query_trades(query)

    async def positions(self, *, status: str | None) -> list[StoredPosition]:
        return await self._trades.list_positions(status)

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[PnlSeriesPoint]:
        """Cumulative realised P&L: one point per trade, or per UTC minute/hour/day.

        With ``since``, the running total starts from everything realised before it.
        At most :data:`PNL_ROWS_LIMIT` rows are read, oldest first.
        """
        t = executor_trades
        realised = [str(s) for s in REALISED_STATUSES]
        query = (
            sa.select(t.c.id, t.c.timestamp, t.c.pnl_micros, t.c.event_title)
            .where(t.c.status.in_(realised))
            .order_by(t.c.timestamp, t.c.id)
            .limit(PNL_ROWS_LIMIT)
        )
        async with self._db.read() as conn:
            before = Decimal(0)
            if since is not None:
                prior = sa.select(sa.func.coalesce(sa.func.sum(sa.type_coerce(t.c.pnl_micros, sa.BigInteger)), 0)).where(
                    t.c.status.in_(realised), t.c.timestamp < since
                )
                before = from_micros(int((await conn.execute(prior)).scalar_one()))
                query = query.where(t.c.timestamp >= since)
            rows = (await conn.execute(query)).all()
        points: list[PnlSeriesPoint] = []
        total = before
        for row in rows:
            delta: Decimal = row.pnl_micros
            total += delta
            at = bucket_start(row.timestamp, bucket)
            if bucket != "trade" and points and points[-1].t == at:
                last = points[-1]
                points[-1] = replace(last, pnl=total, delta=last.delta + delta, trades=last.trades + 1)
                continue
            per_trade = bucket == "trade"
            points.append(PnlSeriesPoint(t=at, pnl=total, delta=delta, trade_id=str(row.id) if per_trade else None,
                                         event=row.event_title if per_trade else None))
        return points

    async def realised_total(self) -> Decimal:
        """The realised P&L so far: where the series of :meth:`pnl` (from the start) ends."""
        points = await self.pnl(since=None, bucket="day")
        return points[-1].pnl if points else Decimal(0)

    async def mappings(self, *, status: str | None) -> list[dict[str, Any]]:
        """The stored mapping rows (every column), by game date then id."""
        query = sa.select(market_mappings).order_by(market_mappings.c.game_date, market_mappings.c.id)
        if status is not None:
            query = query.where(market_mappings.c.status == status)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [dict(r._mapping) for r in rows]
