"""The read-only ``/api/*`` routes: JSON in exact Decimals, guarded, never cached; the
history routes read through the :class:`History` port."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

import tornado.web
from sqlalchemy.exc import SQLAlchemyError

from worker.api import schemas
from worker.api.console import Console
from worker.api.server.guard import Guarded
from worker.api.server.snapshots import status_data
from worker.domain.storage import DatabaseUnavailable
from worker.domain.tradelog import TradeQuery


class History(Protocol):
    """Read-only history for the ``/api`` routes (implemented over the database)."""

    async def trades(self, query: TradeQuery) -> list[Mapping[str, Any]]: ...

    async def positions(self, *, status: str | None) -> list[Mapping[str, Any]]: ...

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[Mapping[str, Any]]: ...

    async def mappings(self, *, status: str | None) -> list[Mapping[str, Any]]: ...


class JsonHandler(Guarded, tornado.web.RequestHandler):
    """Base of the ``/api/*`` handlers: guarded, JSON in exact Decimals, no caching."""

    def prepare(self) -> None:
        self.guard()

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.clear_header("Server")

    def write_json(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(schemas.dumps(value))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        field = None
        message = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, QueryError):
            field, message = exc.field, exc.message
        elif isinstance(exc, SQLAlchemyError | DatabaseUnavailable):
            # The history routes read the database: an outage is 503, not a server bug.
            self.set_status(503)
            message = "database unavailable; see /api/health"
        self.finish(schemas.dumps(schemas.error(message, field)))

    @property
    def console(self) -> Console:
        console: Console = self.application.settings["console"]
        return console

    @property
    def history(self) -> History:
        history: History = self.application.settings["history"]
        return history


class QueryError(tornado.web.HTTPError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, reason="Bad Request")
        self.field = field
        self.message = message


def query_time(handler: tornado.web.RequestHandler, name: str) -> datetime | None:
    """An ISO-8601 time parameter with a zone (``Z`` or an offset); ``None`` when absent."""
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(name, f"{name} must be an ISO-8601 time with a zone") from None
    if value.tzinfo is None:
        raise QueryError(name, f"{name} must carry a time zone (e.g. 2026-01-01T00:00:00Z)")
    return value


def query_choice(handler: tornado.web.RequestHandler, name: str, choices: tuple[str, ...]) -> str | None:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise QueryError(name, f"{name} must be one of {', '.join(choices)}")
    return raw


class HealthHandler(JsonHandler):
    require_token = False

    async def get(self) -> None:
        ok, details = await self.console.health()
        self.write_json({"ok": ok, **details}, 200 if ok else 503)


class StatusHandler(JsonHandler):
    async def get(self) -> None:
        self.write_json(status_data(await self.console.snapshot()))


class PositionsHandler(JsonHandler):
    async def get(self) -> None:
        status = query_choice(self, "status", ("open", "closed", "expired"))
        self.write_json({"positions": await self.history.positions(status=status)})


class PnlHandler(JsonHandler):
    async def get(self) -> None:
        since = query_time(self, "since")
        bucket = query_choice(self, "bucket", ("trade", "minute", "hour", "day")) or "trade"
        self.write_json({"bucket": bucket, "points": await self.history.pnl(since=since, bucket=bucket)})


class AlertsHandler(JsonHandler):
    """``GET /api/alerts?limit=N``: the alert history, dismissed alerts included."""

    async def get(self) -> None:
        raw = self.get_query_argument("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            raise QueryError("limit", "limit must be a whole number from 1 to 500")
        center = self.console.alerts
        self.write_json({"alerts": await center.history(int(raw)) if center is not None else []})


class MappingsHandler(JsonHandler):
    async def get(self) -> None:
        status = query_choice(self, "status", ("candidate", "confirmed", "rejected"))
        store = self.console.mappings
        # The mapping store's own view when it runs (same shape as mapping_changed).
        mappings = await store.list(status) if store is not None else await self.history.mappings(status=status)
        self.write_json({"mappings": list(mappings)})


class LeggingHandler(JsonHandler):
    """``GET /api/legging``: the legging-risk estimates the worker prices with (every cell
    with its sample counts, each venue's pool, the pool of every venue) and whether
    ``EXECUTOR_PRICE_LEGGING_RISK`` applies them to ``min_roi``."""

    async def get(self) -> None:
        source = self.application.settings.get("legging")
        figures = source() if source is not None else None
        self.write_json(figures if figures is not None else {"updated_at": None, "samples": 0, "rows": [],
                                                             "price_legging_risk": False})
