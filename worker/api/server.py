"""The worker's Tornado server: ``/ws/executor`` and the ``/api/*`` routes.

Security (ARCHITECTURE.md, "Security"): every route but ``/api/health`` needs
``Authorization: Bearer <token>`` (compared in constant time); the Host header must be in
the allow-list (stops DNS rebinding); a browser ``Origin`` must be an allowed origin (a
client sending none, like the dashboard's server side, is judged by its token alone).
WebSocket messages are capped at 64 KiB, idle clients are pinged and dropped when they
stop answering, actions are rate limited per connection, and a client that cannot keep up
is disconnected (close code 4001) without slowing anyone else; it resyncs from ``init``.

Fan-out (the concurrency rule): one broadcaster task reads the event bus, encodes each event once,
and offers the text to every client's own bounded queue without waiting. Each client has
one sender task that awaits its socket; a full queue means that client is too slow and it
is closed. Nothing a client does can block the broadcaster or another client.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web
import tornado.websocket
from sqlalchemy.exc import SQLAlchemyError

from worker.api import redact, schemas
from worker.api.console import Console
from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.events import Heartbeat
from worker.domain.operator import ConsoleSnapshot, OperatorError
from worker.domain.storage import DatabaseUnavailable
from worker.engine.event_bus import OVERFLOW, EventBus
from worker.rate_limit import TokenBucket

log = logging.getLogger(__name__)

SLOW_CLIENT_CLOSE = 4001
BROADCAST_OVERFLOW_CLOSE = 4002
BROADCAST_SLICE = 100  # events the broadcaster writes before it lets other tasks run
RATE_LIMIT_CLOSE = 4008


@dataclass(frozen=True)
class ServerSettings:
    """The server's knobs (the token is kept out of ``repr``)."""

    token: str
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    max_message_bytes: int = schemas.MAX_MESSAGE_BYTES
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    client_queue: int = 512
    actions_per_second: float = 50.0
    action_burst: int = 100

    def __repr__(self) -> str:
        return f"ServerSettings(allowed_hosts={self.allowed_hosts!r}, allowed_origins={self.allowed_origins!r})"


class History(Protocol):
    """Read-only history for the ``/api`` routes (implemented over the database)."""

    async def trades(self, *, since: datetime | None, limit: int) -> list[Mapping[str, Any]]: ...

    async def positions(self, *, status: str | None) -> list[Mapping[str, Any]]: ...

    async def pnl(self, *, since: datetime | None, bucket: str) -> list[Mapping[str, Any]]: ...

    async def mappings(self, *, status: str | None) -> list[Mapping[str, Any]]: ...


# --- wire shapes of the snapshot ---------------------------------------------------------


def _balances(snapshot: ConsoleSnapshot) -> dict[str, Decimal | None]:
    return {"poly": snapshot.balances.poly, "kalshi": snapshot.balances.kalshi}


def _venues(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    return {
        v.venue: {"state": v.state, "data_age_ms": v.data_age_ms, "detail": v.detail, "since": v.since}
        for v in snapshot.venues
    }


def _uptime(snapshot: ConsoleSnapshot) -> Decimal:
    return Decimal((snapshot.taken_at - snapshot.started_at).total_seconds()).quantize(Decimal("0.001"))


def _discovery(snapshot: ConsoleSnapshot) -> Any:
    """Listings refused at discovery (``schemas.DiscoveryData``); empty, with
    ``discovered_at`` null, while no discovery ran in this process."""
    found = snapshot.extra.get("discovery")
    return found if found is not None else {"refused_count": 0, "refused": [], "discovered_at": None}


def _positions(snapshot: ConsoleSnapshot) -> list[Any] | None:
    return None if snapshot.positions is None else [schemas.to_wire(p) for p in snapshot.positions]


def init_data(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    """The plan's ``init`` data plus our extra keys.

    While the database is down (``database.state``), ``stats`` and ``positions`` are the
    last ones read (``database.figures_as_of``), or ``null`` if none was.
    """
    stats = snapshot.stats
    return {
        "enabled": snapshot.settings.enabled,
        "settings": schemas.settings_to_wire(snapshot.settings),
        "balances": _balances(snapshot),
        "stats": None if stats is None else {"trades": stats.trades, "pnl": stats.pnl, "wins": stats.wins},
        "positions": _positions(snapshot),
        "mode": snapshot.mode,
        "poly_venue": snapshot.poly_venue,
        "limits": snapshot.limits,
        "venues": _venues(snapshot),
        "executor_running": snapshot.executor_running,
        "uptime_s": _uptime(snapshot),
        "server_time": snapshot.taken_at,
        "protocol": schemas.PROTOCOL_VERSION,
        "books": snapshot.extra.get("books"),
        "alerts": snapshot.extra.get("alerts") or [],
        "discovery": _discovery(snapshot),
        "database": snapshot.extra.get("database"),
    }


def status_data(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    """``GET /api/status``: the plan's "executor status" (``database`` as in :func:`init_data`)."""
    stats = snapshot.stats
    return {
        "enabled": snapshot.settings.enabled,
        "mode": snapshot.mode,
        "poly_venue": snapshot.poly_venue,
        "uptime_s": _uptime(snapshot),
        "started_at": snapshot.started_at,
        "balances": _balances(snapshot),
        "stats": None
        if stats is None
        else {"day": stats.day, "trades": stats.trades, "pnl": stats.pnl, "wins": stats.wins},
        "limits": snapshot.limits,
        "settings": schemas.settings_to_wire(snapshot.settings),
        "open_positions": None if snapshot.positions is None else len(snapshot.positions),
        "last_trade_at": snapshot.last_trade_at,
        "venues": _venues(snapshot),
        "executor_running": snapshot.executor_running,
        "opportunities": len(snapshot.opportunities),
        "lease": snapshot.extra.get("lease"),
        "books": snapshot.extra.get("books"),
        "alerts": snapshot.extra.get("alerts") or [],
        "discovery": _discovery(snapshot),
        "database": snapshot.extra.get("database"),
        "server_time": snapshot.taken_at,
    }


# --- request checks ----------------------------------------------------------------------


def host_name(host_header: str) -> str:
    """The host part of a Host header (``[::1]:8765`` → ``::1``), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


class _Guarded:
    """Host, Origin and token checks shared by the HTTP and WebSocket handlers."""

    request: Any
    application: Any
    require_token = True

    @property
    def server_settings(self) -> ServerSettings:
        settings: ServerSettings = self.application.settings["executor"]
        return settings

    def guard(self) -> None:
        cfg = self.server_settings
        if host_name(self.request.headers.get("Host", "")) not in cfg.allowed_hosts:
            raise tornado.web.HTTPError(403, reason="Host not allowed")
        origin = self.request.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in cfg.allowed_origins:
            raise tornado.web.HTTPError(403, reason="Origin not allowed")
        if self.require_token and not self._token_ok(cfg.token):
            raise tornado.web.HTTPError(401, reason="Unauthorized")

    def _token_ok(self, token: str) -> bool:
        header = self.request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer":
            presented = ""
        # compare_digest on bytes of any length: time does not depend on where they differ.
        return hmac.compare_digest(presented.strip().encode(), token.encode())


class JsonHandler(_Guarded, tornado.web.RequestHandler):
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
        if isinstance(exc, _QueryError):
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


class _QueryError(tornado.web.HTTPError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, reason="Bad Request")
        self.field = field
        self.message = message


def _query_since(handler: tornado.web.RequestHandler) -> datetime | None:
    raw = handler.get_query_argument("since", None)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _QueryError("since", "since must be an ISO-8601 time with a zone") from None
    if value.tzinfo is None:
        raise _QueryError("since", "since must carry a time zone (e.g. 2026-01-01T00:00:00Z)")
    return value


def _query_choice(handler: tornado.web.RequestHandler, name: str, choices: tuple[str, ...]) -> str | None:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise _QueryError(name, f"{name} must be one of {', '.join(choices)}")
    return raw


class HealthHandler(JsonHandler):
    require_token = False

    async def get(self) -> None:
        ok, details = await self.console.health()
        self.write_json({"ok": ok, **details}, 200 if ok else 503)


class StatusHandler(JsonHandler):
    async def get(self) -> None:
        self.write_json(status_data(await self.console.snapshot()))


class TradesHandler(JsonHandler):
    async def get(self) -> None:
        since = _query_since(self)
        raw = self.get_query_argument("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise _QueryError("limit", "limit must be a whole number from 1 to 1000")
        self.write_json({"trades": await self.history.trades(since=since, limit=int(raw))})


class PositionsHandler(JsonHandler):
    async def get(self) -> None:
        status = _query_choice(self, "status", ("open", "closed", "expired"))
        self.write_json({"positions": await self.history.positions(status=status)})


class PnlHandler(JsonHandler):
    async def get(self) -> None:
        since = _query_since(self)
        bucket = _query_choice(self, "bucket", ("trade", "minute", "hour", "day")) or "trade"
        self.write_json({"bucket": bucket, "points": await self.history.pnl(since=since, bucket=bucket)})


class MappingsHandler(JsonHandler):
    async def get(self) -> None:
        status = _query_choice(self, "status", ("candidate", "confirmed", "rejected"))
        store = self.console.mappings
        # The mapping store's own view when it runs (same shape as mapping_changed).
        mappings = await store.list(status) if store is not None else await self.history.mappings(status=status)
        self.write_json({"mappings": list(mappings)})


# --- the WebSocket -----------------------------------------------------------------------


#: While clients listen, the database is probed every this many heartbeats.
PROBE_EVERY_BEATS = 5


class Broadcaster:
    """Fans bus events out to connected clients; see the module docstring.

    Also publishes ``heartbeat`` every :data:`schemas.HEARTBEAT_S` while it runs, so a
    client that hears nothing for :data:`schemas.STALE_AFTER_S` knows the worker is gone
    (or cut off) and shows what it has as stale.
    """

    def __init__(
        self,
        bus: EventBus,
        beat: Callable[[], Heartbeat] | None = None,
        probe: Callable[[], Awaitable[Any]] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._bus = bus
        self._beat = beat
        self._clock = clock
        # Re-checks what the heartbeat reports from cache (the database) every few beats.
        self._probe = probe
        self.clients: set[ExecutorSocket] = set()
        self._task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self.events_forwarded = 0
        self.events_dropped = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ws-hub")
        if self._beat is not None and self._beat_task is None:
            self._beat_task = asyncio.create_task(self._heartbeat(self._beat), name="ws-heartbeat")

    async def _heartbeat(self, beat: Callable[[], Heartbeat]) -> None:
        beats = 0
        while True:
            if self._probe is not None and beats % PROBE_EVERY_BEATS == 0 and self.clients:
                # In the background: a hung database must never delay the heartbeat.
                probing = asyncio.ensure_future(self._probe())
                probing.add_done_callback(lambda f: f.cancelled() or f.exception())
            beats += 1
            try:
                self._bus.publish(beat())
            except Exception:
                log.exception("heartbeat not sent")
            await self._clock.sleep(schemas.HEARTBEAT_S)

    async def stop(self) -> None:
        for name in ("_beat_task", "_task"):
            task = getattr(self, name)
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                setattr(self, name, None)
        for client in list(self.clients):
            client.close(1001, "server stopping")

    async def _run(self) -> None:
        while True:
            sub = self._bus.subscribe(maxsize=50_000, types=set(schemas.BROADCAST_TYPES))
            taken = 0
            try:
                while True:
                    taken += 1
                    if taken % BROADCAST_SLICE == 0:
                        # A burst (thousands of opportunities after a reconnect) is written
                        # in slices, so book updates, orders and the lease run in between:
                        # a queue that is never empty never gives the loop back by itself.
                        await self._clock.sleep(0)
                    event = await sub.get()
                    if event is OVERFLOW:
                        # The engine outran even the broadcaster: every client's view is now
                        # incomplete, so all of them resync from init.
                        log.warning("event hub overflowed; disconnecting %d clients to resync", len(self.clients))
                        for client in list(self.clients):
                            client.close(BROADCAST_OVERFLOW_CLOSE, "resync")
                        break
                    try:
                        assert event.payload is not None  # only OVERFLOW has none
                        text = schemas.dumps(schemas.event_message(event.payload))
                    except Exception:
                        # One event that cannot be written never stops the others.
                        log.exception("event %s could not be encoded; dropped", event.type)
                        self.events_dropped += 1
                        continue
                    self.events_forwarded += 1
                    for client in list(self.clients):
                        client.offer(text)
            finally:
                sub.close()


class ExecutorSocket(_Guarded, tornado.websocket.WebSocketHandler):
    """One ``/ws/executor`` client: ``init`` then live updates; actions get one ack/error."""

    def initialize(self) -> None:
        cfg = self.server_settings
        # One slot more than the limit, reserved for the stop marker (None).
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=cfg.client_queue + 1)
        self._limit = cfg.client_queue
        self._sender: asyncio.Task[None] | None = None
        self._bucket = TokenBucket(cfg.actions_per_second, cfg.action_burst, clock=self.application.settings["clock"])
        self._closing = False

    def prepare(self) -> None:
        self.guard()

    def check_origin(self, origin: str) -> bool:
        # Already decided in guard(); tornado asks again for cross-site requests.
        return origin.rstrip("/") in self.server_settings.allowed_origins

    @property
    def broadcaster(self) -> Broadcaster:
        broadcaster: Broadcaster = self.application.settings["broadcaster"]
        return broadcaster

    @property
    def console(self) -> Console:
        console: Console = self.application.settings["console"]
        return console

    async def open(self, *args: str, **kwargs: str) -> None:
        # Join the fan-out first and hold its messages until init is out, so nothing
        # that happens while the snapshot is taken is lost (at worst it repeats).
        self.broadcaster.clients.add(self)
        try:
            snapshot = await self.console.snapshot()
            await self.write_message(schemas.dumps(schemas.message(schemas.INIT, init_data(snapshot))))
            await self.write_message(
                schemas.dumps(
                    schemas.message(schemas.OPPORTUNITIES_SNAPSHOT, {"opportunities": list(snapshot.opportunities)})
                )
            )
        except tornado.websocket.WebSocketClosedError:
            self.broadcaster.clients.discard(self)
            return
        self._sender = asyncio.create_task(self._send_loop(), name="ws-sender")

    def offer(self, text: str) -> None:
        """Queue one encoded message for this client without waiting (called by the broadcaster)."""
        if self._closing:
            return
        if self._queue.qsize() < self._limit:
            self._queue.put_nowait(text)
        else:
            log.warning("client %s too slow (%d queued); disconnecting", self.request.remote_ip, self._queue.qsize())
            self.close(SLOW_CLIENT_CLOSE, "too slow; reconnect to resync")

    async def _send_loop(self) -> None:
        # Never cancelled mid-write (tornado would log the cancelled write): it ends on the
        # stop marker, or when a write fails because the connection is gone.
        try:
            while True:
                text = await self._queue.get()
                if text is None:
                    return
                await self.write_message(text)
        except (tornado.websocket.WebSocketClosedError, tornado.iostream.StreamClosedError):
            pass

    async def on_message(self, raw: str | bytes) -> None:
        # Tornado reads this connection's next message only after this returns, so one
        # client's actions are handled in order, one at a time.
        if not self._bucket.take():
            await self._reply(schemas.error("too many actions; slow down", "action"))
            return
        try:
            msg = schemas.parse_client_message(raw)
        except schemas.ProtocolError as exc:
            await self._reply(schemas.error(exc.message, exc.field, exc.id))
            return
        try:
            result = await self._dispatch(msg)
        except OperatorError as exc:
            await self._reply(schemas.error(exc.message, exc.field, msg.id))
            return
        except Exception:
            log.exception("action %s failed", msg.action)
            await self._reply(schemas.error(f"{msg.action} failed inside the worker; nothing was changed by this request", "action", msg.id))
            return
        await self._reply(schemas.ack(msg.action, msg.id, result))

    async def _dispatch(self, msg: schemas.ClientMessage) -> Mapping[str, Any]:
        f = msg.fields
        console = self.console
        if msg.action == schemas.TOGGLE_ENABLED:
            settings = await console.toggle_enabled(f["value"])
            return {"enabled": settings.enabled}
        if msg.action == schemas.UPDATE_SETTINGS:
            settings = await console.update_settings(f["settings"])
            return {"settings": schemas.settings_to_wire(settings)}
        if msg.action == schemas.CLOSE_POSITION:
            return await console.close_position(f["position_id"])
        if msg.action == schemas.CONFIRM_MAPPING:
            return await console.confirm_mapping(f["mapping_id"])
        if msg.action == schemas.REJECT_MAPPING:
            return await console.reject_mapping(f["mapping_id"])
        if msg.action == schemas.RETRY_UNWIND:
            return await console.retry_unwind(f["attempt_id"])
        if msg.action == schemas.RESOLVE_STRANDED:
            return await console.resolve_stranded(f["attempt_id"], f["note"], f.get("proceeds"))
        if msg.action == schemas.KILL_SWITCH:
            return await console.kill_switch(f["flatten"])
        if msg.action == schemas.DISMISS_ALERT:
            return await console.dismiss_alert(f["alert_id"])
        raise OperatorError("action", f"unknown action {msg.action}")  # unreachable: schemas checked it

    async def _reply(self, value: Mapping[str, Any]) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            await self.write_message(schemas.dumps(value))

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self._stop()
        super().close(code, reason)

    def on_close(self) -> None:
        self._stop()

    def _stop(self) -> None:
        # Leave the fan-out at once: a closing client gets nothing more.
        self._closing = True
        self.broadcaster.clients.discard(self)
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)


# --- the app -----------------------------------------------------------------------------


def make_app(
    console: Console, history: History, bus: EventBus, settings: ServerSettings, *, clock: Clock = SYSTEM_CLOCK
) -> tornado.web.Application:
    broadcaster = Broadcaster(bus, console.heartbeat, console.database, clock=clock)
    return tornado.web.Application(
        [
            (r"/ws/executor", ExecutorSocket),
            (r"/api/health", HealthHandler),
            (r"/api/status", StatusHandler),
            (r"/api/trades", TradesHandler),
            (r"/api/positions", PositionsHandler),
            (r"/api/pnl", PnlHandler),
            (r"/api/mappings", MappingsHandler),
        ],
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
        self, console: Console, history: History, bus: EventBus, settings: ServerSettings, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.app = make_app(console, history, bus, settings, clock=clock)
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
