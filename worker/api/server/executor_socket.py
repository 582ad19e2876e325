"""``/ws/executor``: the :class:`Broadcaster` that fans bus events out to every client, and
one :class:`ExecutorSocket` per client (``init``, then live updates; each action gets one
ack or error). See :mod:`worker.api.server` for the concurrency rule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import tornado.iostream
import tornado.websocket

from worker.api import schemas
from worker.api.console import Console
from worker.api.server.guard import Guarded
from worker.api.server.snapshots import init_data
from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.events import Heartbeat
from worker.domain.operator import OperatorError
from worker.engine.event_bus import OVERFLOW, EventBus
from worker.rate_limit import TokenBucket

log = logging.getLogger(__name__)

SLOW_CLIENT_CLOSE = 4001
BROADCAST_OVERFLOW_CLOSE = 4002
BROADCAST_SLICE = 100  # events the broadcaster writes before it lets other tasks run
RATE_LIMIT_CLOSE = 4008

#: While clients listen, the database is probed every this many heartbeats.
PROBE_EVERY_BEATS = 5


class Broadcaster:
    """Fans bus events out to connected clients; see :mod:`worker.api.server`.

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


class ExecutorSocket(Guarded, tornado.websocket.WebSocketHandler):
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
            return await console.confirm_mapping(f["mapping_id"], f.get("note"))
        if msg.action == schemas.REJECT_MAPPING:
            return await console.reject_mapping(f["mapping_id"], f.get("note"))
        if msg.action == schemas.REOPEN_MAPPING:
            return await console.reopen_mapping(f["mapping_id"], f.get("note"))
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
