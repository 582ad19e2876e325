"""Legging risk in the running engine: the estimates the scanner and the risk manager price
with, and their refresh from new data.

:class:`LeggingPricer` holds the current :class:`~worker.domain.legging.LeggingTable`. The
scanner calls :meth:`LeggingPricer.price` on every new quote it publishes (OPENED or
UPDATED, never on a book update that changes nothing), so each opportunity carries its
expected edge beside the locked one. With ``EXECUTOR_PRICE_LEGGING_RISK=1`` the risk
manager applies ``min_roi`` to the expected ROI of the size it takes
(:meth:`LeggingPricer.expected_roi`).

:class:`LeggingRefresher` replaces the table every ``interval_s`` with what ``refresh``
returns (the composition root's: our fills counted again, the stored counts of recorded
books added, the estimates stored with their sample counts and read back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.books import PriceLevel, depth_to
from worker.domain.legging import (
    EMPTY_TABLE,
    LeggingEstimate,
    LeggingTable,
    cell_of,
    expected_roi_pct,
    leg_order,
    quote,
)
from worker.domain.mapping import Leg, LeggingQuote, Opportunity
from worker.domain.opportunity_template import with_legging

log = logging.getLogger(__name__)

Asks = tuple[PriceLevel, ...]


class LeggingPricer:
    """The legging estimates in use (``table``), and the prices made with them."""

    def __init__(self, table: LeggingTable | None = None) -> None:
        self.table = table if table is not None else EMPTY_TABLE

    def quote_of(self, opp: Opportunity, kalshi_asks: Asks, poly_asks: Asks) -> LeggingQuote:
        """The opportunity's legging quote at its size: leg 2 is the deeper leg up to its
        limit (the risk manager's order); its cell is read at its best ask and the depth
        of its top level."""
        k, p = opp.kalshi_leg, opp.poly_leg
        _, second = leg_order(k, p, depth_to(kalshi_asks, k.price), depth_to(poly_asks, p.price))
        asks = kalshi_asks if second is k else poly_asks
        top = asks[0] if asks else None
        return quote(
            self.table,
            second_venue=second.contract.venue,
            league=opp.league,
            second_price=top.price if top is not None else second.price,
            second_top_depth=top.size if top is not None else None,
            contracts=opp.size,
            edge=opp.edge,
            cost=opp.cost,
        )

    def price(self, opp: Opportunity, kalshi_asks: Asks, poly_asks: Asks) -> Opportunity:
        """``opp`` with its legging quote (the scanner's hook)."""
        return with_legging(opp, self.quote_of(opp, kalshi_asks, poly_asks))

    def estimate_for(self, second: Leg, league: str, price: Decimal, contracts: Decimal,
                     top_depth: Decimal | None) -> LeggingEstimate:
        return self.table.lookup(cell_of(second.contract.venue, league, price, contracts, top_depth))

    def expected_roi(self, second: Leg, league: str, price: Decimal, top_depth: Decimal | None,
                     contracts: Decimal, edge: Decimal, cost: Decimal) -> Decimal:
        """The expected ROI (percent) of buying ``contracts`` pairs for ``cost`` locking ``edge``."""
        est = self.estimate_for(second, league, price, contracts, top_depth)
        return expected_roi_pct(edge, cost, contracts, est)

    def figures(self) -> dict[str, Any]:
        """The table for ``/api/legging`` and ``/charts``: every cell, each venue's pool and
        the pool of every venue, with their sample counts."""
        t = self.table
        return {
            "updated_at": t.updated_at,
            "samples": t.samples,
            "rows": [
                {
                    "venue": e.key.venue,
                    "league": e.key.league,
                    "price_band": e.key.price_band,
                    "depth_band": e.key.depth_band,
                    "samples": e.samples,
                    "failures": e.failures,
                    "raw_p_fail": e.raw_p_fail,
                    "raw_cost": e.raw_cost,
                    "p_fail": e.p_fail,
                    "cost": e.cost,
                    "weight": e.weight,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                }
                for e in (t.rows() if t.samples else ())  # no sample: no row
            ],
        }


class LeggingRefresher:
    """Replaces the pricer's table with ``refresh()``'s every ``interval_s`` (first at once)."""

    def __init__(self, pricer: LeggingPricer, refresh: Callable[[], Awaitable[LeggingTable | None]],
                 interval_s: float, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.pricer = pricer
        self._refresh = refresh
        self.interval_s = interval_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self.refreshes = 0

    async def refresh_once(self) -> bool:
        """One refresh; False (the table in use kept) when it failed or found nothing."""
        try:
            table = await self._refresh()
        except Exception as exc:  # a failed refresh keeps the estimates in use
            log.warning("legging estimates not refreshed (%s)", type(exc).__name__)
            return False
        if table is None:
            return False
        self.pricer.table = table
        self.refreshes += 1
        return True

    async def run(self) -> None:
        while True:
            await self.refresh_once()
            await self._clock.sleep(self.interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="legging-refresh")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
