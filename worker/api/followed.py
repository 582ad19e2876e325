"""What the console follows on the event bus for the snapshot a client gets on connecting:
the live opportunities (the scanner's ``opportunity_*`` events, sent right after
``init``) and how far the kill switch's flattening got (the last ``kill_switch_progress``,
``init``'s ``kill_switch``: a client that connects or reconnects mid-flatten, or after it,
learns the count it missed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from worker.api import schemas
from worker.domain.events import (
    EngineEvent,
    KillSwitchProgress,
    OpportunityChange,
    OpportunityClosed,
)
from worker.engine.event_bus import OVERFLOW, EventBus

log = logging.getLogger(__name__)

OPPORTUNITY_TYPES = frozenset(
    {schemas.OPPORTUNITY_OPENED, schemas.OPPORTUNITY_UPDATED, schemas.OPPORTUNITY_CLOSED}
)
KILL_TYPES = frozenset({schemas.KILL_SWITCH_PROGRESS})


class OpportunityBook:
    """The live opportunities by id, kept from the bus's ``opportunity_*`` events (each
    written for the wire only when a snapshot asks for it)."""

    def __init__(self) -> None:
        self._by_id: dict[str, OpportunityChange] = {}

    def apply_event(self, event: OpportunityChange) -> None:
        if isinstance(event, OpportunityClosed):
            self._by_id.pop(event.opportunity.id, None)
        else:
            self._by_id[event.opportunity.id] = event

    def clear(self) -> None:
        self._by_id.clear()

    def all(self) -> list[Mapping[str, Any]]:
        """Every live opportunity as the wire writes it; one that cannot be written is
        logged and left out (it never costs a client its ``init``)."""
        written = []
        for kept in self._by_id.values():
            try:
                written.append(schemas.event_message(kept)["data"])
            except Exception:
                log.exception("opportunity %s could not be written; left out of the snapshot", kept.opportunity.id)
        return written


class BusFollower:
    """Follows the bus from :meth:`start` to :meth:`stop`: the opportunities and the kill
    switch's progress each on a subscription of its own (a burst of quotes that overflows
    the first never costs the second its count)."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self.opportunities = OpportunityBook()
        #: The last ``kill_switch_progress`` published in this process (None: none, or
        #: the follower fell behind and may have lost it; the kill switch alert keeps the outcome).
        self.kill_progress: KillSwitchProgress | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._follow(OPPORTUNITY_TYPES, 10_000, self._opportunity, self.opportunities.clear),
                                    name="console-opportunities"),
                asyncio.create_task(self._follow(KILL_TYPES, 1_000, self._progress, self._forget_progress),
                                    name="console-kill-switch"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _opportunity(self, event: EngineEvent) -> None:
        self.opportunities.apply_event(cast(OpportunityChange, event))

    def _progress(self, event: EngineEvent) -> None:
        self.kill_progress = cast(KillSwitchProgress, event)

    def _forget_progress(self) -> None:
        self.kill_progress = None

    async def _follow(self, types: frozenset[str], size: int, apply: Callable[[EngineEvent], None],
                      forget: Callable[[], None]) -> None:
        while True:
            sub = self._bus.subscribe(maxsize=size, types=set(types))
            try:
                while True:
                    event = await sub.get()
                    if event is OVERFLOW:
                        # Fell behind a burst: forget what we had (the scanner's next updates
                        # rebuild the opportunities; a progress possibly missed is not shown
                        # stale: none is). Clients are resynced by the server.
                        forget()
                        break
                    assert event.payload is not None  # only OVERFLOW has none
                    apply(event.payload)
            finally:
                sub.close()
