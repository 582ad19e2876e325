"""The worker's in-process event bus.

Publishers (settings changes, alerts, the executor, the scanner's feed, the server's
heartbeat) publish one of the typed events of :mod:`worker.domain.events` (one frozen
dataclass per :class:`~worker.domain.events.EventKind`); the bus wraps it in an
:class:`Event` (its kind, a sequence number, the time it was published) and the server
writes it on the wire with :func:`worker.api.schemas.event_message`. Subscribers get their
own bounded queue: publishing never blocks, and a subscriber that falls behind loses its
subscription (``overflowed`` is set and its queue yields :data:`OVERFLOW`) instead of
slowing the engine — the WebSocket layer then disconnects that client, which resyncs from
``init``.

Only the events of :data:`~worker.domain.events.EVENT_CLASSES` may be published:
:meth:`EventBus.publish` raises :class:`~worker.domain.events.UnknownEventKind` on anything
else, so an event nobody forwards or shows cannot be published by mistake.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.events import EngineEvent, event_class


@dataclass(frozen=True)
class Event:
    """One published event: ``payload`` is the typed event, ``type`` its kind's wire type,
    ``at`` when the bus took it. Only :data:`OVERFLOW` has no payload."""

    type: str
    at: datetime
    seq: int = 0
    payload: EngineEvent | None = None


OVERFLOW = Event(type="__overflow__", at=datetime(1970, 1, 1, tzinfo=UTC))


class Subscription:
    """One subscriber's bounded queue of events."""

    def __init__(self, bus: EventBus, maxsize: int, types: frozenset[str] | None) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize + 1)
        self._maxsize = maxsize
        self.types = types
        self.overflowed = False

    def _offer(self, event: Event) -> None:
        if self.overflowed:
            return
        if self.types is not None and event.type not in self.types:
            return
        if self._queue.qsize() >= self._maxsize:
            self.overflowed = True
            self._queue.put_nowait(OVERFLOW)  # the one extra slot is reserved for this
            self._bus._remove(self)
            return
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event | None:
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def close(self) -> None:
        self._bus._remove(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self.get()
            if event is OVERFLOW:
                return
            yield event


class EventBus:
    """Fan-out of events to subscribers; publish is synchronous and never blocks."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._subscribers: list[Subscription] = []
        self._seq = itertools.count(1)
        self._clock = clock

    def subscribe(self, *, maxsize: int = 1000, types: set[str] | None = None) -> Subscription:
        sub = Subscription(self, maxsize, frozenset(types) if types is not None else None)
        self._subscribers.append(sub)
        return sub

    def publish(self, event: EngineEvent) -> Event:
        """Deliver ``event``, one of :data:`~worker.domain.events.EVENT_CLASSES`; anything
        else raises :class:`~worker.domain.events.UnknownEventKind`."""
        kind = event_class(event).kind
        published = Event(type=kind.value, at=self._clock.now(), seq=next(self._seq), payload=event)
        for sub in list(self._subscribers):
            sub._offer(published)
        return published

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
