"""The one process-wide connection from the dashboard to the worker's ``/ws/executor``.

Panel re-runs an app script for every browser session, so the feed lives here, in an
imported module: :func:`get_feed` returns the process's single :class:`Feed`, started on
the server's IO loop the first time a page asks for it. Sessions *subscribe* and are told
which topics changed; they read :attr:`Feed.state` on their own document's tick
(``dashboard/session.py``), so one worker message costs one parse however many browser
tabs are open.

Concurrency rule: everything here runs on the Panel server's single asyncio loop (the
feed task, the listeners, the sessions' callbacks), so :class:`~dashboard.state.WorkerState`
needs no lock. Listeners must not block: they only mark topics dirty and schedule a tick.

Reconnection: backoff from 0.25 s doubling to 5 s with jitter; the token
(``EXECUTOR_TOKEN``, else the token file in ``EXECUTOR_DATA_DIR``) is re-read on every
attempt, so a rotated token is picked up without restarting the dashboard. Every
(re)connection starts with ``init``, which replaces the state wholesale.

Replies: actions carry an ``id``; the worker answers each with exactly one ``ack`` or
``error``. Replies are matched by ``id`` when the worker echoes it, else by order — one
connection is answered in the order it sent — so a field error reaches the session that
pressed Save, not every open tab.

Every message is decoded into its typed view (:mod:`worker.api.views`) before anything
reads it; one that does not read as the protocol says is logged, with the field, and
skipped: the feed goes on with the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import time
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from dashboard.state import WorkerState, decode
from worker.api import schemas
from worker.api import views as wire

log = logging.getLogger("dashboard.feed")

Listener = Callable[[set[str]], None]
ReplyCallback = Callable[[wire.ReplyView], None]

LIVE = "live"
CONNECTING = "connecting"
RECONNECTING = "reconnecting"
DOWN = "down"
# After this long without a connection the indicator says "worker down", not "reconnecting".
DOWN_AFTER_S = 4.0
BACKOFF_START_S = 0.25
BACKOFF_MAX_S = 5.0
STATUS_REFRESH_S = 0.3
#: ... and not more often than this while trades keep coming (each re-read redraws every
#: session's stats and trade log).
STATUS_REFRESH_EVERY_S = 1.0
#: Every session redraws what depends on the time (the data's age, staleness) this often:
#: one timer for the process, whose "clock" topic joins any flush already scheduled.
CLOCK_S = 1.0
#: The ``error`` a reply callback gets when the action never left this process (no
#: connection, or it closed as the message was written): the worker did nothing of it.
NOT_CONNECTED = "Not connected to the worker"
NOT_SENT = "Connection to the worker lost"
#: ... and when the action was sent but the connection went before the worker answered:
#: it may have been done, in part or whole. The worker's state after the reconnect says.
UNANSWERED = "Connection to the worker lost before it answered"
# Worker messages after which today's stats (and balances) have changed.
STATS_CHANGING = frozenset({"trade_event", "position_closed", "position_opened"})


def encode(message: Mapping[str, Any]) -> str:
    """JSON with Decimals written as exact numbers (the worker's own encoder)."""
    return schemas.dumps(message)


def parse(text: str | bytes) -> Any:
    """Parse a worker message with every fractional JSON number as a Decimal."""
    return schemas.decode_server_message(text)


@dataclass
class Connection:
    """What the connection indicator shows."""

    status: str = CONNECTING
    since: float = 0.0  # monotonic time of the last status change
    last_message: float | None = None  # monotonic time of the last worker message
    last_message_at: datetime | None = None
    attempts: int = 0
    detail: str = ""


def read_token() -> str | None:
    """``EXECUTOR_TOKEN``, else the worker's token file; None while neither exists.

    The dashboard never creates the token file: the worker owns it.
    """
    token = os.environ.get("EXECUTOR_TOKEN", "").strip()
    if token:
        return token
    data_dir = Path(os.environ.get("EXECUTOR_DATA_DIR") or "var")
    try:
        text = (data_dir / "token").read_text().strip()
    except OSError:
        return None
    return text or None


def default_ws_url() -> str:
    from worker.config import load_config

    return load_config().ws_url


class Feed:
    """The process-wide worker connection and the state it keeps (see module doc)."""

    def __init__(
        self,
        url: str | None = None,
        token: Callable[[], str | None] = read_token,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._token = token
        self._clock = clock
        self.state = WorkerState()
        self.connection = Connection(since=clock())
        self._listeners: dict[int, Listener] = {}
        self._ids = itertools.count(1)
        self._action_ids = itertools.count(1)
        self._pending: deque[tuple[str, ReplyCallback]] = deque()
        self._ws: WebSocketClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._status_refreshed_at = float("-inf")
        self._stopping = False
        self._status_refresh: asyncio.Future[None] | None = None
        self.messages = 0

    # -- subscriptions ---------------------------------------------------------------
    # -- freshness -------------------------------------------------------------------
    def data_age(self) -> float | None:
        """Seconds since the worker's last message (its heartbeat comes every second)."""
        last = self.connection.last_message
        return None if last is None else max(self._clock() - last, 0.0)

    def stale(self) -> bool:
        """Whether what the pages show may be out of date: not connected, or no message
        (not even a heartbeat) for :data:`schemas.STALE_AFTER_S`."""
        age = self.data_age()
        return self.connection.status != LIVE or age is None or age > schemas.STALE_AFTER_S

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns the function that unsubscribes it."""
        key = next(self._ids)
        self._listeners[key] = listener

        def unsubscribe() -> None:
            self._listeners.pop(key, None)

        return unsubscribe

    @property
    def subscribers(self) -> int:
        return len(self._listeners)

    def _notify(self, topics: set[str]) -> None:
        if not topics:
            return
        for listener in list(self._listeners.values()):
            try:
                listener(topics)
            except Exception:  # one broken session must not starve the others
                log.exception("dashboard session listener failed")

    # -- incoming --------------------------------------------------------------------
    def apply(self, message: Mapping[str, Any], notify: bool = True) -> set[str]:
        """Decode a worker message, fold it into the state, route replies, notify sessions
        (unless ``notify`` is false: the caller notifies the topics returned).

        A message that does not read as the protocol says is logged and skipped."""
        now = self._clock()
        self.messages += 1
        self.connection.last_message = now
        self.connection.last_message_at = datetime.now(UTC)
        try:
            kind, view = decode(message)
        except wire.ViewError as exc:
            log.warning("worker message not read, skipped: %s", exc)
            return set()
        if isinstance(view, wire.AckView | wire.ErrorView):
            self._route_reply(view)
            topics = {"reply"}
        else:
            topics = self.state.fold(kind, view)
            if kind in STATS_CHANGING:
                self._refresh_status_soon()
            if kind == schemas.POSITION_OPENED and self._thin_position(view):
                self.refresh("positions")
        if notify:
            self._notify(topics)
        return topics

    @staticmethod
    def _thin_position(position: wire.PositionView) -> bool:
        """A ``position_opened`` that names the legs by side only (no Kalshi ticker): the
        stored row, read from ``/api/positions``, has the names."""
        return not position.kalshi_ticker

    def _refresh_status_soon(self) -> None:
        """Today's stats and balances after a trade: the plan pushes them only in ``init``,
        so read ``/api/status`` once the burst settles (300 ms after the first trade, then
        at most once a second while trades keep coming)."""
        if self._status_refresh is not None or self._task is None:
            return
        token = self._token()
        if token is None:
            return

        async def later() -> None:
            try:
                since = self._clock() - self._status_refreshed_at
                await asyncio.sleep(max(STATUS_REFRESH_S, STATUS_REFRESH_EVERY_S - since))
                self._status_refreshed_at = self._clock()
                response = await AsyncHTTPClient().fetch(
                    self.api_url("/api/status"), headers={"Authorization": f"Bearer {token}"}, request_timeout=5)
                body = decode_json(response.body)
            except Exception as exc:
                log.warning("status not refreshed: %s", type(exc).__name__)
                return
            finally:
                self._status_refresh = None
            # One redraw for both reads: each notification is a flush of every session.
            topics = self.apply({"type": "status_snapshot", "data": body}, notify=False)
            topics |= await self._load_history(self.url or default_ws_url(), token, ("recent_trades",), notify=False)
            self._notify(topics)

        self._status_refresh = asyncio.ensure_future(later())

    def _route_reply(self, reply: wire.ReplyView) -> None:
        msg_id = reply.id
        callback: ReplyCallback | None = None
        if msg_id is not None:
            for i, (pid, cb) in enumerate(self._pending):
                if pid == msg_id:
                    callback = cb
                    del self._pending[i]
                    break
        elif self._pending:
            _, callback = self._pending.popleft()
        if callback is not None:
            try:
                callback(reply)
            except Exception:
                log.exception("reply callback failed")

    def _fail_pending(self, why: str) -> None:
        while self._pending:
            _, cb = self._pending.popleft()
            with contextlib.suppress(Exception):
                cb(wire.ErrorView(why, None, None))

    # -- outgoing --------------------------------------------------------------------
    def send(self, action: str, on_reply: ReplyCallback | None = None, **payload: Any) -> str:
        """Send a client action; ``on_reply`` gets its ``ack`` or ``error`` exactly once."""
        action_id = f"dash-{os.getpid()}-{next(self._action_ids)}"
        callback: ReplyCallback = on_reply or (lambda _m: None)
        if self._ws is None or self.connection.status != LIVE:
            callback(wire.ErrorView(NOT_CONNECTED, None, None))
            return action_id
        message = {"action": action, **payload, "id": action_id}
        self._pending.append((action_id, callback))
        try:
            fut = self._ws.write_message(encode(message))
        except WebSocketClosedError:
            self._pending.pop()
            callback(wire.ErrorView(NOT_SENT, None, None))
            return action_id
        fut.add_done_callback(lambda f: f.exception())  # closed mid-write: the reader notices
        return action_id

    # -- connection loop -------------------------------------------------------------
    def _set_status(self, status: str, detail: str = "") -> None:
        if status != self.connection.status or detail != self.connection.detail:
            if status != self.connection.status:
                self.connection.since = self._clock()
            self.connection.status = status
            self.connection.detail = detail
            self._notify({"connection"})

    def start(self) -> None:
        """Start the connection task on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_event_loop().create_task(self._run())
        if self._clock_task is None or self._clock_task.done():
            self._clock_task = asyncio.get_event_loop().create_task(self._tick())

    async def _tick(self) -> None:
        """Once a second, every session redraws what depends on the time."""
        while not self._stopping:
            await asyncio.sleep(CLOCK_S)
            self._notify({"clock"})

    async def stop(self) -> None:
        self._stopping = True
        if self._clock_task is not None:
            self._clock_task.cancel()
            self._clock_task = None
        if self._ws is not None:
            self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None

    async def _run(self) -> None:
        backoff = BACKOFF_START_S
        disconnected_at = self._clock()
        url = self.url or default_ws_url()
        while not self._stopping:
            self.connection.attempts += 1
            got_init = False
            try:
                token = self._token()
                if token is None:
                    raise ConnectionError("no token yet (EXECUTOR_TOKEN or the worker's token file)")
                request = HTTPRequest(url, headers={"Authorization": f"Bearer {token}"}, request_timeout=5)
                self._ws = await websocket_connect(request, ping_interval=5, ping_timeout=10)
                while True:
                    text = await self._ws.read_message()
                    if text is None:
                        break
                    try:
                        message = parse(text)
                    except ValueError:
                        log.warning("worker sent a message that is not JSON; ignored")
                        continue
                    if not isinstance(message, dict):
                        continue
                    if message.get("type") == "init":
                        got_init = True
                        backoff = BACKOFF_START_S
                        self._set_status(LIVE)
                        if not self.apply(message):
                            log.error("the worker's init was not read: the pages show no worker state")
                        history = asyncio.ensure_future(self._load_history(url, token))
                        history.add_done_callback(lambda f: f.cancelled() or f.exception())
                        continue
                    self.apply(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, timed out, auth failed: report the kind only
                log.info("worker connection failed: %s", type(exc).__name__)
                self.connection.detail = type(exc).__name__
            finally:
                if self._ws is not None:
                    self._ws.close()
                self._ws = None
                self._fail_pending(UNANSWERED)
            if self._stopping:
                break
            if got_init:
                disconnected_at = self._clock()
            down = self._clock() - disconnected_at >= DOWN_AFTER_S
            self._set_status(DOWN if down else RECONNECTING)
            await asyncio.sleep(backoff * (0.8 + 0.4 * random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX_S)


    #: History list -> (route, the dashboard's message kind its answer is folded in as).
    HISTORY = {
        "trades": ("/api/trades?limit=100", "trades_history"),
        # After a trade: the new rows' details (order ids, legs, fees) for the trade log.
        "recent_trades": ("/api/trades?limit=50", "trades_history"),
        "pnl": ("/api/pnl", "pnl_history"),
        "mappings": ("/api/mappings", "mappings_snapshot"),
        "positions": ("/api/positions?status=open", "positions_snapshot"),
    }

    async def _load_history(
        self, ws_url: str, token: str, which: tuple[str, ...] = ("trades", "pnl", "mappings"), notify: bool = True
    ) -> set[str]:
        """After ``init``: recent trades, P&L history and mappings from the read-only API
        (the topics they changed; notified as each arrives unless ``notify`` is false).

        ``init`` carries the plan's live state only; the history endpoints fill the
        trade log, the P&L chart and the mappings review. A failure leaves them as they
        are until the next reconnect rather than blocking the live feed.
        """
        base = api_base(ws_url)
        client = AsyncHTTPClient()
        headers = {"Authorization": f"Bearer {token}"}
        topics: set[str] = set()
        for name in which:
            path, kind = self.HISTORY[name]
            body: Any = None
            for attempt in range(3):
                try:
                    response = await client.fetch(base + path, headers=headers, request_timeout=10)
                    body = decode_json(response.body)
                    break
                except Exception as exc:  # the kind only: a message could carry a URL with a token
                    log.warning("history %s not loaded (%s), attempt %d", path.split("?")[0], type(exc).__name__, attempt + 1)
                    await asyncio.sleep(0.5 * (attempt + 1))
            if body is not None:
                topics |= self.apply({"type": kind, "data": body}, notify=notify)
        return topics

    def refresh(self, *which: str) -> None:
        """Re-read history lists now (a page that shows them was opened)."""
        token = self._token()
        if self.connection.status != LIVE or token is None or self._task is None:
            return
        task = asyncio.ensure_future(self._load_history(self.url or default_ws_url(), token, which))
        task.add_done_callback(lambda f: f.cancelled() or f.exception())


    def api_url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """The worker's read-only API at ``path`` (``/api/trades``), with ``params``."""
        query = f"?{urlencode(params)}" if params else ""
        return api_base(self.url or default_ws_url()) + path + query

    async def api_get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """One read of the worker's API (numbers exact); raises on any failure, naming
        the route only (never the URL, which a proxy could log with a token)."""
        token = self._token()
        if token is None:
            raise ConnectionError("no token yet")
        response = await AsyncHTTPClient().fetch(
            self.api_url(path, params), headers={"Authorization": f"Bearer {token}"}, request_timeout=10,
            raise_error=False,
        )  # fmt: skip
        body = decode_json(response.body) if response.body else None
        if response.code != 200:
            message = body.get("message") if isinstance(body, dict) else None
            raise ApiError(path, response.code, str(message or response.reason or "failed"))
        return body

    def api_bytes(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        """The body of one read of the worker's API, blocking (a download's callback)."""
        token = self._token()
        if token is None:
            raise ConnectionError("no token yet")
        request = urllib.request.Request(self.api_url(path, params), headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body: bytes = response.read()
        return body


class ApiError(Exception):
    """The worker's API answered a read with an error."""

    def __init__(self, path: str, code: int, message: str) -> None:
        super().__init__(f"{path}: {code} {message}")
        self.code = code
        self.message = message


def api_base(ws_url: str) -> str:
    """The worker's HTTP API beside its WebSocket: ``ws://h:p/ws/executor`` → ``http://h:p``."""
    parts = urlsplit(ws_url)
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"


def decode_json(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


_FEED: Feed | None = None


def get_feed() -> Feed:
    """The process's one :class:`Feed`, started on the current loop on first use."""
    global _FEED
    if _FEED is None:
        _FEED = Feed()
    with contextlib.suppress(RuntimeError):  # no loop (e.g. a headless test): not started
        asyncio.get_running_loop()
        _FEED.start()
    return _FEED
