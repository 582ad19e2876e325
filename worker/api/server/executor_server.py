"""The Tornado application of the worker's server and the running server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from worker.api import redact, schemas
from worker.api.console import Console
from worker.api.server.executor_socket import Broadcaster, ExecutorSocket
from worker.api.server.guard import ServerSettings
from worker.api.server.routes import (
    AlertsHandler,
    HealthHandler,
    History,
    LeggingHandler,
    MappingsHandler,
    PnlHandler,
    PositionsHandler,
    StatusHandler,
)
from worker.api.server.trade_routes import TradesCsvHandler, TradesHandler
from worker.clock import SYSTEM_CLOCK, Clock
from worker.engine.event_bus import EventBus


def make_app(
    console: Console, history: History, bus: EventBus, settings: ServerSettings, *, clock: Clock = SYSTEM_CLOCK,
    legging: Callable[[], Mapping[str, Any] | None] | None = None,
) -> tornado.web.Application:
    """``legging``: the legging estimates in use, for ``/api/legging`` (empty when None)."""
    broadcaster = Broadcaster(bus, console.heartbeat, console.database, clock=clock)
    return tornado.web.Application(
        [
            (r"/ws/executor", ExecutorSocket),
            (r"/api/health", HealthHandler),
            (r"/api/status", StatusHandler),
            (r"/api/trades", TradesHandler),
            (r"/api/trades\.csv", TradesCsvHandler),
            (r"/api/positions", PositionsHandler),
            (r"/api/pnl", PnlHandler),
            (r"/api/mappings", MappingsHandler),
            (r"/api/alerts", AlertsHandler),
            (r"/api/legging", LeggingHandler),
        ],
        legging=legging,
        executor=settings,
        console=console,
        history=history,
        broadcaster=broadcaster,
        clock=clock,
        websocket_max_message_size=settings.max_message_bytes,
        websocket_ping_interval=settings.ping_interval_s,
        websocket_ping_timeout=settings.ping_timeout_s,
        xsrf_cookies=False,
        compress_response=False,
        log_function=redact.log_request,
    )


class ExecutorServer:
    """The running server: the app, its HTTP server and its broadcaster."""

    def __init__(
        self, console: Console, history: History, bus: EventBus, settings: ServerSettings, *, clock: Clock = SYSTEM_CLOCK,
        legging: Callable[[], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.app = make_app(console, history, bus, settings, clock=clock, legging=legging)
        self.broadcaster: Broadcaster = self.app.settings["broadcaster"]
        self._http: tornado.httpserver.HTTPServer | None = None
        self.port: int | None = None
        self._log_filter: redact.SecretFilter | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); returns the bound port."""
        self.broadcaster.start()
        if self._log_filter is None:
            self._log_filter = redact.install_secret_filter((self.app.settings["executor"].token,))
        self._http = tornado.httpserver.HTTPServer(
            self.app, max_body_size=schemas.MAX_MESSAGE_BYTES, max_header_size=16 * 1024, idle_connection_timeout=60
        )
        sockets = tornado.netutil.bind_sockets(port, address=host)
        self._http.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._http is not None:
            self._http.stop()
        await self.broadcaster.stop()
        if self._http is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._http.close_all_connections(), timeout=5)
            self._http = None
        if self._log_filter is not None:
            redact.remove_secret_filter(self._log_filter)
            self._log_filter = None
