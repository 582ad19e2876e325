"""What the trading supervisor follows on the bus while it runs.

* :class:`PnlPoints` — the cumulative realised P&L, one ``pnl_point`` per realised row.
* :class:`DecisionFollower` — an operator's confirm/reject, applied to the running scanner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.events import EventKind
from worker.domain.mapping import MappingStatus, MappingStore
from worker.domain.tradelog import REALISED_STATUSES
from worker.engine.event_bus import EventBus, Subscription
from worker.engine.executor.feed import OpportunityFeed

log = logging.getLogger(__name__)

REALISED = {str(s) for s in REALISED_STATUSES}
FOLLOW_QUEUE = 10_000


class PnlPoints:
    """Publishes ``pnl_point`` (cumulative realised P&L) for every realised trade row.

    The total so far is read once, before trading starts; every later realised row
    reaches us as a ``trade_event``, so the running total never double counts.
    """

    def __init__(
        self,
        bus: EventBus,
        realised_total: Callable[[], Awaitable[Decimal]],
        wire_time: Callable[[datetime], Any],
    ) -> None:
        self._bus = bus
        self._realised_total = realised_total
        self._wire_time = wire_time
        self.total = Decimal(0)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the total so far and follow the trade log (once: later calls do nothing)."""
        if self._task is not None:
            return
        self.total = await self._realised_total()
        sub = self._bus.subscribe(maxsize=FOLLOW_QUEUE, types={EventKind.TRADE_EVENT})
        self._task = asyncio.create_task(self._follow(sub), name="pnl-points")

    async def stop(self) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, sub: Subscription) -> None:
        try:
            async for event in sub:
                status, delta = event.data.get("status"), event.data.get("pnl")
                if status not in REALISED or not isinstance(delta, Decimal):
                    continue
                self.total += delta
                self._bus.publish(
                    EventKind.PNL_POINT,
                    {
                        "t": event.data.get("timestamp") or self._wire_time(event.at),
                        "pnl": self.total,
                        "delta": delta,
                        "trade_id": event.data.get("trade_id"),
                    },
                )
        finally:
            sub.close()


class DecisionFollower:
    """An operator's confirm/reject reaches the running scanner at once.

    A failure to apply one is logged and the next still applies; after an overflow the
    feed's decisions are read again from the store (none is lost).
    """

    def __init__(
        self, bus: EventBus, store: MappingStore, feed: Callable[[], OpportunityFeed | None]
    ) -> None:
        self._bus = bus
        self._store = store
        self._feed = feed

    async def follow(self) -> None:
        while True:
            sub = self._bus.subscribe(maxsize=FOLLOW_QUEUE, types={EventKind.MAPPING_CHANGED})
            try:
                async for event in sub:
                    feed = self._feed()
                    mapping_id, status = event.data.get("id"), event.data.get("status")
                    if feed is None or not isinstance(mapping_id, str) or not isinstance(status, str):
                        continue
                    try:
                        feed.decide(mapping_id, MappingStatus(status))
                    except ValueError:
                        continue
                    except Exception:
                        log.exception("decision on %s not applied to the running scanner", mapping_id)
            finally:
                sub.close()
            await self.resync()

    async def resync(self) -> None:
        """Apply every stored decision the running feed does not have yet (one made while
        the feed was being built, or lost in an overflow)."""
        feed = self._feed()
        if feed is None:
            return
        try:
            stored = await self._store.list()
        except Exception as exc:
            log.warning("stored decisions not re-read (%s)", type(exc).__name__)
            return
        for mapping in stored:
            known = feed.mappings.get(mapping.id)
            if known is not None and known.status is not mapping.status:
                try:
                    feed.decide(mapping.id, mapping.status)
                except Exception:
                    log.exception("decision on %s not applied to the running scanner", mapping.id)
