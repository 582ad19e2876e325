"""``worker_down`` to the trader's phone: the dashboard says what the worker cannot.

A worker that is down raises no alert, so the dashboard process watches its one feed
(:mod:`dashboard.feed`): after :data:`DOWN_AFTER_S` continuously without a live
connection it sends one ``worker_down`` notification to ``EXECUTOR_NOTIFY_URLS``, and one
``worker_up`` when the worker is back. One watch per dashboard process
(:func:`watch_worker`), started with the feed when the server starts
(``dashboard/startup.py``, the web line's ``--setup``; a page served starts it too, for
``panel serve`` run without it) — never one per browser session. Sending is :mod:`worker.notify.sender`'s: queued, retried, off the loop's
critical path; the URLs are never shown on a page or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from dashboard.feed import LIVE, Feed
from worker.clock import SYSTEM_CLOCK, Clock
from worker.config import Config, ConfigError, load_config
from worker.notify.message import WORKER_DOWN, WORKER_UP, Notification
from worker.notify.sender import Notifier

log = logging.getLogger("dashboard.worker_watch")

#: Seconds without the worker before ``worker_down`` is sent.
DOWN_AFTER_S = 30.0
POLL_S = 1.0


class WorkerWatch:
    """Turns the feed's connection state into ``worker_down`` / ``worker_up``."""

    def __init__(
        self,
        connected: Callable[[], bool],
        notifier: Notifier,
        *,
        clock: Clock = SYSTEM_CLOCK,
        down_after_s: float = DOWN_AFTER_S,
        poll_s: float = POLL_S,
    ) -> None:
        self._connected = connected
        self.notifier = notifier
        self._clock = clock
        self.down_after_s = down_after_s
        self._poll_s = poll_s
        self._lost_since: float | None = None
        self._down_sent = False
        self._task: asyncio.Task[None] | None = None

    def check(self) -> None:
        """Look once at the connection; send what its state calls for."""
        now = self._clock.monotonic()
        if self._connected():
            self._lost_since = None
            if self._down_sent:
                self._down_sent = False
                self._send(WORKER_UP, "info", "Worker back", "The dashboard is connected to the worker again.")
            return
        if self._lost_since is None:
            self._lost_since = now
        if not self._down_sent and now - self._lost_since >= self.down_after_s:
            self._down_sent = True
            self._send(
                WORKER_DOWN, "critical", "Worker down",
                f"The dashboard has had no connection to the worker for {self.down_after_s:.0f} s: nothing is "
                "traded and no alert can be raised until it is back.",
                down_for_s=round(now - self._lost_since),
            )

    def _send(self, kind: str, severity: str, title: str, message: str, **data: object) -> None:
        log.warning("%s: %s", kind, message)
        self.notifier.notify(Notification(
            kind=kind, severity=severity, title=title, message=message, at=self._clock.now(), data=data,
        ))

    async def _run(self) -> None:
        await self.notifier.start()
        while True:
            try:
                self.check()
            except Exception:  # the watch must outlive one bad look
                log.exception("worker watch check failed")
            await self._clock.sleep(self._poll_s)

    def start(self) -> None:
        """Start watching on the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="worker-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.notifier.stop()


_WATCH: WorkerWatch | None = None
_OFF = False  # this process has no target (or a bad EXECUTOR_NOTIFY_URLS): said once


def watch_worker(feed: Feed, config: Config | None = None, *, down_after_s: float = DOWN_AFTER_S) -> WorkerWatch | None:
    """The process's one watch over ``feed``, started on the running loop; None when
    ``EXECUTOR_NOTIFY_URLS`` names no target."""
    global _WATCH, _OFF
    if _WATCH is None and not _OFF:
        try:
            config = config or load_config()
        except ConfigError as exc:  # names the variable and the URL's position, never the URL
            log.error("worker_down notifications off: %s", exc)
            config = None
        if config is None or not config.notify_urls:
            _OFF = True
            return None
        _WATCH = WorkerWatch(
            lambda: feed.connection.status == LIVE, Notifier(config.notify_urls), down_after_s=down_after_s
        )
    if _WATCH is None:
        return None
    with contextlib.suppress(RuntimeError):  # no running loop (a headless test): not started
        asyncio.get_running_loop()
        _WATCH.start()
    return _WATCH
