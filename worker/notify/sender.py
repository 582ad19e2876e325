"""Sends notifications off the trading path.

:meth:`Notifier.notify` is synchronous and never waits: it drops a repeat of the same
situation (``(kind, key)``) sent less than :data:`COLLAPSE_S` ago, then puts the
notification on each target's bounded queue. One background task per target posts it,
so a dead or slow endpoint delays only itself. A post is retried with exponential
back-off (on a transport error, a timeout, 408, 425, 429 — after ``Retry-After`` when
the endpoint gives one — and 5xx); any other answer is final. A full queue drops the
notification (counted in :attr:`Notifier.dropped` and logged).

Secrets: a target's URL is never logged — log lines name the target by format, position
and host (:attr:`~worker.notify.targets.NotifyTarget.shown`), and an error by its type
only, since an HTTP client's exception text may carry the URL. httpx logs every request's
URL at INFO: its loggers are kept at WARNING or above while a notifier exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import httpx

from worker.clock import SYSTEM_CLOCK, Clock
from worker.notify.message import RESOLVES, Notification, body
from worker.notify.targets import NotifyTarget

log = logging.getLogger(__name__)

#: Repeats of the same (kind, key) within this many seconds are not sent again.
COLLAPSE_S = 300.0
QUEUE_SIZE = 100
ATTEMPTS = 4
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
TIMEOUT_S = 10.0
#: Answers worth another try; any other non-2xx status is final (a bad URL or body).
RETRYABLE = frozenset({408, 425, 429})
_REMEMBERED = 1000  # collapse entries kept before old ones are pruned


def quiet_http_client_logs() -> None:
    """Keep httpx/httpcore at WARNING or above: at INFO httpx logs each request's URL."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _label(target: NotifyTarget) -> str:
    return f"#{target.position} {target.shown}"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the endpoint asks us to wait (``Retry-After``, or Telegram's
    ``parameters.retry_after``); None when it says nothing usable."""
    header = response.headers.get("retry-after", "").strip()
    with contextlib.suppress(ValueError):
        if header:
            return max(float(header), 0.0)
    with contextlib.suppress(Exception):
        value = response.json()["parameters"]["retry_after"]
        return max(float(value), 0.0)
    return None


class Notifier:
    """The targets' queues and senders (see the module docstring). ``notify`` may be
    called before :meth:`start`; what it queued is sent once started."""

    def __init__(
        self,
        targets: Sequence[NotifyTarget],
        *,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.AsyncBaseTransport | None = None,
        queue_size: int = QUEUE_SIZE,
        collapse_s: float = COLLAPSE_S,
        attempts: int = ATTEMPTS,
        backoff_start_s: float = BACKOFF_START_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.targets = tuple(targets)
        self._clock = clock
        self._transport = transport
        self._collapse_s = collapse_s
        self._attempts = max(1, attempts)
        self._backoff_start_s = backoff_start_s
        self._backoff_max_s = backoff_max_s
        self._timeout_s = timeout_s
        self._queues: list[asyncio.Queue[Notification]] = [asyncio.Queue(maxsize=queue_size) for _ in self.targets]
        self._last: dict[tuple[str, str], float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.collapsed = 0
        quiet_http_client_logs()

    # -- the trading side's entry point -----------------------------------------------
    def notify(self, notification: Notification) -> bool:
        """Queue ``notification`` for every target; never waits. False when it was
        collapsed into an earlier one (or there is no target)."""
        if not self.targets:
            return False
        situation = (notification.kind, notification.key)
        now = self._clock.monotonic()
        last = self._last.get(situation)
        if last is not None and now - last < self._collapse_s:
            self.collapsed += 1
            log.info("notification %s collapsed into the one sent %.0f s ago", notification.kind, now - last)
            return False
        self._last[situation] = now
        resolved = RESOLVES.get(notification.kind)
        if resolved is not None:
            self._last.pop((resolved, notification.key), None)
        if len(self._last) > _REMEMBERED:
            self._last = {k: t for k, t in self._last.items() if now - t < self._collapse_s}
        for target, queue in zip(self.targets, self._queues, strict=True):
            try:
                queue.put_nowait(notification)
            except asyncio.QueueFull:
                self.dropped += 1
                self._forget(notification)
                log.warning("notification %s dropped: the queue to target %s is full", notification.kind, _label(target))
        return True

    def _forget(self, notification: Notification) -> None:
        """A notification that did not reach a target does not collapse its repeats: the
        next one is sent (a target that did get it may get it twice, never none)."""
        self._last.pop((notification.kind, notification.key), None)

    # -- lifecycle ---------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout_s, transport=self._transport, follow_redirects=False
            )
        return self._client

    async def start(self) -> None:
        """Start one sender task per target (idempotent)."""
        if self._tasks:
            return
        self._http()
        self._tasks = [
            asyncio.create_task(self._lane(target, queue), name=f"notify-{target.position}")
            for target, queue in zip(self.targets, self._queues, strict=True)
        ]

    async def stop(self, drain_s: float = 2.0) -> None:
        """Give what is queued ``drain_s`` to go out, then stop the senders."""
        if self._tasks and drain_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues)), drain_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- sending -----------------------------------------------------------------------
    async def post(self, target: NotifyTarget, notification: Notification) -> httpx.Response:
        """One POST of ``notification`` to ``target`` (no retry): ``notify-test``'s send."""
        return await self._http().post(target.url, json=body(notification, target))

    async def _lane(self, target: NotifyTarget, queue: asyncio.Queue[Notification]) -> None:
        while True:
            notification = await queue.get()
            try:
                if not await self._deliver(target, notification):
                    self._forget(notification)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sender must outlive any one message
                self.failed += 1
                self._forget(notification)
                log.error("notification %s to target %s not sent: %s", notification.kind, _label(target), type(exc).__name__)
            finally:
                queue.task_done()

    async def _deliver(self, target: NotifyTarget, notification: Notification) -> bool:
        """Post with retries; True once the target accepted it."""
        delay = self._backoff_start_s
        why = ""
        for attempt in range(1, self._attempts + 1):
            wait = delay
            try:
                response = await self.post(target, notification)
            except httpx.HTTPError as exc:
                why = type(exc).__name__
            else:
                status = response.status_code
                if 200 <= status < 300:
                    self.sent += 1
                    return True
                why = f"HTTP {status}"
                if status not in RETRYABLE and status < 500:
                    self.failed += 1
                    log.warning("notification %s to target %s refused (%s); not retried", notification.kind, _label(target), why)
                    return False
                asked = retry_after(response) if status == 429 else None
                if asked is not None:
                    wait = min(asked, self._backoff_max_s)
            if attempt == self._attempts:
                break
            log.info("notification %s to target %s failed (%s); retry %d in %.1f s",
                     notification.kind, _label(target), why, attempt, wait)
            await self._clock.sleep(wait)
            delay = min(delay * 2, self._backoff_max_s)
        self.failed += 1
        log.warning("notification %s to target %s not sent after %d attempts (%s)",
                    notification.kind, _label(target), self._attempts, why)
        return False
