"""Reachability of the local paper exchange while no executor runs (the worker's monitor)."""

from __future__ import annotations

import asyncio
import contextlib

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.events import VenueStatus, venue_feeds
from worker.domain.operator import VenueConnection, VenueState
from worker.engine.event_bus import EventBus


class PaperExchangeMonitor:
    """Reachability of the local paper exchange, as each venue's state while no executor runs.

    Checks with a TCP connect to 127.0.0.1 only (never a real venue); publishes
    ``venue_status`` on every change so dashboards show "down" at once.
    """

    def __init__(
        self, port: int, venues: tuple[str, ...], bus: EventBus, interval_s: float = 2.0, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._port = port
        self._venues = venues
        self._bus = bus
        self._interval = interval_s
        self._clock = clock
        self._state = VenueConnection.CONNECTING
        self._since = clock.now()
        self._task: asyncio.Task[None] | None = None

    def states(self) -> list[VenueState]:
        detail = None if self._state == VenueConnection.UP else f"paper exchange at 127.0.0.1:{self._port} not reachable"
        return [VenueState(v, self._state, None, detail, self._since) for v in self._venues]

    async def check_once(self) -> str:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self._port), timeout=1.0)
        except (OSError, TimeoutError):
            state = VenueConnection.DOWN
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            state = VenueConnection.UP
        if state != self._state:
            self._state = state
            self._since = self._clock.now()
            self._bus.publish(VenueStatus(venue_feeds(self.states())))
        return state

    async def run(self) -> None:
        while True:
            await self.check_once()
            await self._clock.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="paper-exchange-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
