"""The worker's alerts to the trader's phone: each ``alert`` on the event bus (an
:class:`~worker.domain.events.AlertRaised`, new or repeated) goes to the notifier.

The bus never waits for a subscriber; if this one falls behind (its queue overflows) it
subscribes again and says so in the log: alerts in between are lost to the phone, never
to the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from worker.domain.events import AlertRaised, EventKind
from worker.engine.event_bus import OVERFLOW, EventBus, Subscription
from worker.notify.message import Notification
from worker.notify.sender import Notifier

log = logging.getLogger(__name__)

SUBSCRIPTION_SIZE = 1000


class AlertNotifications:
    """Forwards every raised alert to ``notifier``; :meth:`start` / :meth:`stop`."""

    def __init__(self, bus: EventBus, notifier: Notifier) -> None:
        self._bus = bus
        self.notifier = notifier
        self._task: asyncio.Task[None] | None = None

    def _subscribe(self) -> Subscription:
        return self._bus.subscribe(maxsize=SUBSCRIPTION_SIZE, types={EventKind.ALERT.value})

    async def start(self) -> None:
        await self.notifier.start()
        if self._task is None:
            # Subscribed now, not when the task first runs: an alert raised right after
            # start is not missed.
            self._task = asyncio.create_task(self._follow(self._subscribe()), name="alerts-notify")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.notifier.stop()

    async def _follow(self, sub: Subscription) -> None:
        while True:
            try:
                while True:
                    event = await sub.get()
                    if event is OVERFLOW:
                        log.warning("alert notifications fell behind the event bus; some alerts were not sent")
                        break
                    if isinstance(event.payload, AlertRaised):
                        self.notifier.notify(Notification.from_alert(event.payload.alert))
            finally:
                sub.close()
            sub = self._subscribe()
