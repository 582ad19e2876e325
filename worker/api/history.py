"""Read-only history for ``/api/trades``, ``/api/positions``, ``/api/pnl``, ``/api/mappings``.

Reads only (the worker's one writer is elsewhere). Money comes from the exact columns;
the P&L series sums realised rows (FAILED, ROLLED_BACK, CLOSED, SETTLED — see
``worker.domain.tradelog``) in Decimal, never from the display REAL columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.repositories import TradeRepository
from db.tables import executor_trades, market_mappings
from db.types import from_micros
from worker.api import schemas
from worker.domain.tradelog import REALISED_STATUSES

PNL_ROWS_LIMIT = 100_000


def _bucket_start(at: datetime, bucket: str) -> datetime:
    at = at.astimezone(UTC)
    if bucket == "minute":
        return at.replace(second=0, microsecond=0)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at


class DbHistory:
    """The :class:`~worker.api.server.History` port over the worker's database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._trades = TradeRepository(db)

    async def trades(self, *, since: datetime | None, limit: int) -> list[Mapping[str, Any]]:
        rows = await self._trades.recent_trades(limit=limit, since=since)
        return [schemas.trade_event_data(t) for t in rows]

    async def positions(self, *, status: str | None) -> list[Mapping[str, Any]]:
        return [schemas.to_wire(p) for p in await self._trades.list_positions(status)]

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[Mapping[str, Any]]:
        """Cumulative realised P&L: one point per trade, or per UTC minute/hour/day."""
        t = executor_trades
        query = (
            sa.select(t.c.id, t.c.timestamp, t.c.pnl_micros)
            .where(t.c.status.in_([str(s) for s in REALISED_STATUSES]))
            .order_by(t.c.timestamp, t.c.id)
            .limit(PNL_ROWS_LIMIT)
        )
        async with self._db.read() as conn:
            before = Decimal(0)
            if since is not None:
                prior = sa.select(sa.func.coalesce(sa.func.sum(sa.type_coerce(t.c.pnl_micros, sa.BigInteger)), 0)).where(
                    t.c.status.in_([str(s) for s in REALISED_STATUSES]), t.c.timestamp < since
                )
                before = from_micros(int((await conn.execute(prior)).scalar_one()))
                query = query.where(t.c.timestamp >= since)
            rows = (await conn.execute(query)).all()
        points: list[dict[str, Any]] = []
        total = before
        for row in rows:
            delta: Decimal = row.pnl_micros
            total += delta
            at = _bucket_start(row.timestamp, bucket)
            if bucket != "trade" and points and points[-1]["t"] == at:
                points[-1]["pnl"] = total
                points[-1]["delta"] += delta
                points[-1]["trades"] += 1
                continue
            points.append({"t": at, "pnl": total, "delta": delta, "trade_id": str(row.id), "trades": 1})
        for point in points:
            if bucket != "trade":
                point.pop("trade_id")
        return schemas.to_wire(points)

    async def mappings(self, *, status: str | None) -> list[Mapping[str, Any]]:
        query = sa.select(market_mappings).order_by(market_mappings.c.game_date, market_mappings.c.id)
        if status is not None:
            query = query.where(market_mappings.c.status == status)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [schemas.to_wire(dict(r._mapping)) for r in rows]
