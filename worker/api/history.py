"""Read-only history for ``/api/trades``, ``/api/positions``, ``/api/pnl``, ``/api/mappings``.

The server's :class:`~worker.api.server.History` port over a :class:`HistoryReader` (the
database's ``db.history.HistoryRepository``, given by the composition root): the rows it
reads, as the wire's objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from worker.api import schemas
from worker.domain.tradelog import PnlSeriesPoint, StoredPosition, StoredTrade, TradeQuery


class HistoryReader(Protocol):
    """What the history routes read from storage."""

    async def trades(self, query: TradeQuery) -> list[StoredTrade]: ...

    async def positions(self, *, status: str | None) -> list[StoredPosition]: ...

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[PnlSeriesPoint]: ...

    async def mappings(self, *, status: str | None) -> list[dict[str, Any]]: ...


def pnl_point_data(point: PnlSeriesPoint) -> dict[str, Any]:
    """A point of ``/api/pnl``: ``trade_id`` only when the series has one point per trade."""
    data: dict[str, Any] = {"t": point.t, "pnl": point.pnl, "delta": point.delta}
    if point.trade_id is not None:
        data["trade_id"] = point.trade_id
    if point.event is not None:
        data["event"] = point.event
    data["trades"] = point.trades
    return data


class WireHistory:
    """The :class:`~worker.api.server.History` port: stored history as wire objects."""

    def __init__(self, reader: HistoryReader) -> None:
        self._reader = reader

    async def trades(self, query: TradeQuery) -> list[Mapping[str, Any]]:
        return [schemas.trade_event_data(t) for t in await self._reader.trades(query)]

    async def positions(self, *, status: str | None) -> list[Mapping[str, Any]]:
        return [schemas.to_wire(p) for p in await self._reader.positions(status=status)]

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[Mapping[str, Any]]:
        """Cumulative realised P&L: one point per trade, or per UTC minute/hour/day."""
        points = await self._reader.pnl(since=since, bucket=bucket)
        wire: list[Mapping[str, Any]] = schemas.to_wire([pnl_point_data(p) for p in points])
        return wire

    async def mappings(self, *, status: str | None) -> list[Mapping[str, Any]]:
        return [schemas.to_wire(row) for row in await self._reader.mappings(status=status)]
