"""The executor as one service for a composition root: feed + executor, start and stop.

``start`` lists and matches markets, reads balances and reconciles every attempt left in
flight **before** the feed may submit anything; ``stop`` (SIGTERM) stops the feed, then
lets attempts in flight finish or unwind within ``shutdown_s``. The operator actions are
the :class:`Executor`'s (it implements ``ExecutionControl``): pass ``service.executor``
to the server.
"""

from __future__ import annotations

import logging

from worker.engine.executor.executor import Executor
from worker.engine.executor.feed import OpportunityFeed

log = logging.getLogger(__name__)


class ExecutorService:
    """Owns the start/stop order of the opportunity feed and the executor."""

    def __init__(self, executor: Executor, feed: OpportunityFeed, shutdown_s: float = 30.0) -> None:
        self.executor = executor
        self.feed = feed
        self.shutdown_s = shutdown_s
        self.started = False

    async def start(self) -> None:
        await self.feed.discover()
        await self.executor.start()  # reconciliation first: no trade before it
        self.feed.start()
        self.started = True

    async def stop(self) -> bool:
        """Returns True when no attempt was left in flight."""
        if not self.started:
            return True
        await self.feed.stop()
        clean = await self.executor.shutdown(self.shutdown_s)
        self.started = False
        return clean
