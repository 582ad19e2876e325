"""Venue balances: the last figures read from the venues, minus what attempts reserved.

Money rule: an attempt reserves, per venue, the cost of its leg there (price × size plus
a fee bound) when the risk manager admits it, and releases it when it ends; a new
attempt is admitted only if ``available − reserved`` covers its legs on both venues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.errors import VenueError
from worker.domain.events import BalanceUpdate, Publish
from worker.domain.ledger import BooksFigures
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.ports import VenuePort

log = logging.getLogger(__name__)

#: Called with the cash just read per venue; what it returns goes out as ``books``.
OnRefresh = Callable[[Mapping[Venue, Decimal]], Awaitable[BooksFigures | None]]


class BalanceBook:
    """Known balances and per-attempt reservations, per venue (single event loop)."""

    def __init__(self) -> None:
        self.available: dict[Venue, Decimal] = {}
        self.updated_at: dict[Venue, datetime] = {}
        self._reserved: dict[str, dict[Venue, Decimal]] = {}

    def set(self, venue: Venue, amount: Decimal, at: datetime) -> None:
        self.available[venue] = amount
        self.updated_at[venue] = at

    def reserved(self, venue: Venue) -> Decimal:
        return sum((r.get(venue, ZERO) for r in self._reserved.values()), ZERO)

    def free(self, venue: Venue) -> Decimal | None:
        """What a new attempt may use on ``venue``; None when no balance was ever read."""
        if venue not in self.available:
            return None
        return self.available[venue] - self.reserved(venue)

    def reserve(self, attempt_id: str, amounts: Mapping[Venue, Decimal]) -> None:
        self._reserved[attempt_id] = dict(amounts)

    def release(self, attempt_id: str) -> None:
        self._reserved.pop(attempt_id, None)


class BalanceRefresher:
    """Reads every venue's balance after each trade and every ``interval_s``; publishes it."""

    def __init__(
        self,
        venues: Mapping[Venue, VenuePort],
        book: BalanceBook,
        publish: Publish,
        interval_s: float = 30.0,
        on_refresh: OnRefresh | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._venues = venues
        self._clock = clock
        self._book = book
        self._publish = publish
        self._interval = interval_s
        self._lock = asyncio.Lock()
        self.on_refresh = on_refresh

    async def refresh(self) -> None:
        async with self._lock:
            read: dict[Venue, Decimal] = {}
            for venue, port in self._venues.items():
                try:
                    bal = await port.balance()
                except VenueError as exc:
                    log.warning("balance of %s not refreshed: %s", venue.value, exc)
                    continue
                self._book.set(venue, bal.available, self._clock.now())
                read[venue] = bal.available
            books: BooksFigures | None = None
            if self.on_refresh is not None:
                try:
                    books = await self.on_refresh(read)
                except Exception:
                    # The books are a report: failing to compute them never stops the
                    # balances (which the risk manager needs) from being published.
                    log.exception("books not computed")
                    books = None
            self._publish(BalanceUpdate(*self.sides(), books=books))

    def sides(self) -> tuple[Decimal, Decimal]:
        """The plan's ``balance_update`` figures: (poly, kalshi) in dollars, zero while
        never read (the Polymarket side is whichever Polymarket venue was read)."""
        poly = ZERO
        for venue in (Venue.POLYMARKET, Venue.POLYMARKET_US):
            if venue in self._book.available:
                poly = self._book.available[venue]
        kalshi = self._book.available.get(Venue.KALSHI, ZERO)
        return poly, kalshi

    async def run(self) -> None:
        while True:
            await self._clock.sleep(self._interval)
            await self.refresh()
