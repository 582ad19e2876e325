"""What a live client does with the markets its listing parser refused.

A listing is read again on every discovery; a market refused each time is logged once
(when it first becomes refused, or its reason changes), not on every read. The refusals of
the latest listing are kept for the engine (:meth:`RefusalLog.last`), counted, and the
count of the latest listing is logged when it changes.
"""

from __future__ import annotations

import logging

from worker.domain.discovery import ListingRefusal
from worker.domain.markets import Venue
from worker.venues.common.parsing import MarketRefused


class RefusalLog:
    """The refusals of one client's latest listing; see the module docstring."""

    def __init__(self, venue: Venue, logger: logging.Logger) -> None:
        self.venue = venue
        self._log = logger
        self._last: tuple[ListingRefusal, ...] = ()
        #: Every refusal logged so far by this client (a market refused on every read counts once).
        self.logged = 0

    def record(self, refused: list[MarketRefused]) -> tuple[ListingRefusal, ...]:
        """Take one complete listing's refusals: log the new ones, keep them all."""
        before = {(r.id, r.reason) for r in self._last}
        out: list[ListingRefusal] = []
        seen: set[tuple[str, str]] = set()
        for exc in refused:
            key = (exc.market_id, exc.reason)
            if key in seen:
                continue
            seen.add(key)
            out.append(ListingRefusal(self.venue, exc.market_id, exc.reason))
            if key not in before:
                self.logged += 1
                self._log.warning("%s: market %s refused: %s", self.venue.value, exc.market_id, exc.reason)
        if len(out) != len(self._last):
            self._log.info("%s listing: %d markets refused", self.venue.value, len(out))
        self._last = tuple(out)
        return self._last

    def last(self) -> tuple[ListingRefusal, ...]:
        return self._last
