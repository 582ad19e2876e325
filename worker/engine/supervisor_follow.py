"""What the trading supervisor follows on the bus while it runs.

* :class:`PnlPoints` — the cumulative realised P&L, one ``pnl_point`` per realised row.
* :class:`DecisionFollower` — an operator's confirm/reject, applied to the running scanner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

from worker.domain.events import OMIT, EventKind, MappingChanged, PnlPoint, TradeEvent
from worker.domain.mapping import MappingStore
from worker.domain.tradelog import REALISED_STATUSES
from worker.engine.event_bus import EventBus, Subscription
from worker.engine.executor.pipeline import OpportunityPipeline

log = logging.getLogger(__name__)

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
    ) -> None:
        self._bus = bus
        self._realised_total = realised_total
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
                trade = event.payload
                if not isinstance(trade, TradeEvent) or trade.status not in REALISED_STATUSES:
                    continue
                if not isinstance(trade.pnl, Decimal):
                    continue
                self.total += trade.pnl
                trade_id = None if trade.trade_id is OMIT else trade.trade_id
                self._bus.publish(PnlPoint(trade.timestamp, self.total, trade.pnl, trade_id, trade.event))
        finally:
            sub.close()


class DecisionFollower:
    """An operator's confirm/reject reaches the running scanner at once.

    A failure to apply one is logged and the next still applies; after an overflow the
    feed's decisions are read again from the store (none is lost).
    """

    def __init__(
        self, bus: EventBus, store: MappingStore, feed: Callable[[], OpportunityPipeline | None]
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
                    changed = event.payload
                    if feed is None or not isinstance(changed, MappingChanged):
                        continue
                    mapping_id = changed.mapping.id
                    try:
                        feed.decide(mapping_id, changed.mapping.status)
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
