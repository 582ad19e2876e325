"""The worker's in-process event bus.

Publishers (settings manager, trade logger callers, scanner, executor) publish
:class:`Event` objects whose ``type`` and ``data`` are already the wire protocol's
(``trade_event``, ``settings_changed``, ``opportunity_opened`` …; see
``worker/api/schemas.py``). Subscribers get their own bounded queue: publishing never
blocks, and a subscriber that falls behind loses its subscription (``overflowed`` is set
and its queue yields :data:`OVERFLOW`) instead of slowing the engine — the WebSocket layer
then disconnects that client, which resyncs from ``init``.

Only the kinds of :class:`~worker.domain.events.EventKind` may be published:
:meth:`EventBus.publish` raises :class:`~worker.domain.events.UnknownEventKind` on anything
else, so an event nobody forwards or shows cannot be published by mistake.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker.domain.events import EventKind, event_kind


@dataclass(frozen=True)
class Event:
    type: str
    data: Mapping[str, Any]
    seq: int = 0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


OVERFLOW = Event(type="__overflow__", data={})


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

    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []
        self._seq = itertools.count(1)

    def subscribe(self, *, maxsize: int = 1000, types: set[str] | None = None) -> Subscription:
        sub = Subscription(self, maxsize, frozenset(types) if types is not None else None)
        self._subscribers.append(sub)
        return sub

    def publish(self, type_: EventKind | str, data: Mapping[str, Any]) -> Event:
        """Deliver ``data`` as an event of kind ``type_`` (an :class:`EventKind` or its
        value; anything else raises :class:`~worker.domain.events.UnknownEventKind`)."""
        kind = event_kind(type_)
        event = Event(type=kind.value, data=data, seq=next(self._seq))
        for sub in list(self._subscribers):
            sub._offer(event)
        return event

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
