"""The paper exchange's Tornado application and server: each venue under its prefix.

* Kalshi ``/kalshi/trade-api/v2/...`` and WebSocket ``/kalshi/trade-api/ws/v2``
* Polymarket Gamma ``/polymarket/gamma/...``, CLOB ``/polymarket/clob/...``, market
  WebSocket ``/polymarket/ws/market``
* Polymarket US ``/polymarket-us/v1/...`` (gateway and API paths alike), WebSocket
  ``/polymarket-us/v1/ws/markets``
* ``/paper/health``, ``/paper/world``, ``POST /paper/redeem`` (a Polymarket user's "Claim")
* ``/paper/admin/...`` (resolve a game, pin books, script faults, set balances): only when
  started with ``EXECUTOR_PAPER_CONTROL=1``, only from this machine, JSON bodies only

Every request body is limited to 1 MiB (:mod:`paper_exchange.handlers`). Each venue's routes
are in its package, the paper's own in :mod:`paper_exchange.admin`, the WebSockets in
:mod:`paper_exchange.feeds`. See docs/paper-exchange.md.

One asyncio loop; every order is matched and committed synchronously inside its handler
(no interleaving inside the engine). A background task steps the world every ``tick_s``:
resting orders fill, due games resolve, and subscribed books are pushed to WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from paper_exchange import admin, feeds
from paper_exchange.feeds import FeedHub
from paper_exchange.handlers import MAX_BODY_BYTES
from paper_exchange.kalshi import routes as kalshi_routes
from paper_exchange.polymarket import routes as polymarket_routes
from paper_exchange.polymarket_us import routes as polymarket_us_routes
from paper_exchange.state import ServerState

log = logging.getLogger("worker.paper")


def make_app(state: ServerState, hub: FeedHub) -> tornado.web.Application:
    routes: list[Any] = [
        *kalshi_routes.routes(state),
        *polymarket_routes.routes(state),
        *polymarket_us_routes.routes(state),
        *admin.routes(state),
        *feeds.routes(state, hub),
    ]
    return tornado.web.Application(routes, websocket_ping_interval=20, log_function=_log_request)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Request lines at debug: the exchange serves many book polls a second.
    if handler.get_status() >= 500:
        log.warning("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())
    else:
        log.debug("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())


class PaperServer:
    """The running exchange: HTTP server bound to 127.0.0.1 plus the tick task."""

    def __init__(self, state: ServerState, port: int = 0, host: str = "127.0.0.1") -> None:
        self.state = state
        self.hub = FeedHub()
        self.app = make_app(state, self.hub)
        self.host = host
        self.requested_port = port
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.on_tick: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> int:
        sockets = tornado.netutil.bind_sockets(self.requested_port, self.host)
        self.port = sockets[0].getsockname()[1]
        # The server refuses any body over the limit; the handlers answer 413 first when
        # the length is declared (``PaperHandler.limit_body``).
        self._server = tornado.httpserver.HTTPServer(self.app, xheaders=False, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(sockets)
        self._ticker = asyncio.create_task(self._tick_loop())
        return self.port

    def step(self) -> None:
        """Advance the world once: resting fills, resolutions, WebSocket pushes."""
        self.state.exchange.step()
        now = self.state.exchange.clock.now()
        for sock in list(self.hub.sockets):
            try:
                sock.push(now)
            except tornado.websocket.WebSocketClosedError:
                self.hub.sockets.discard(sock)

    async def _tick_loop(self) -> None:
        while True:
            await self.state.wall.sleep(self.state.tick_s)
            try:
                self.step()
            except Exception:  # a bug: log it loudly but keep the exchange serving
                log.exception("paper exchange tick failed")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for sock in list(self.hub.sockets):
            sock.close()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
