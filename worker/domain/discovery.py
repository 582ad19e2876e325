"""Listings refused at discovery: what the operator is shown on ``/mappings``.

Two kinds of refusal reach here, each naming the venue, the market (or event) and why:

* a venue's listing parser could not read a market (no ``clobTokenIds``, outcomes that
  do not pair with tokens, a number that is not one, fees without a rate …): the rest of
  the listing stood (:mod:`worker.venues.common.parsing`);
* the venue's normaliser, for the matcher, refused a market it read (a spread, total or
  prop, a polarity in doubt …: :mod:`worker.domain.listings`).

:class:`DiscoveryRefusals` keeps the refusals of the latest discovery, each with the time
it was first seen (kept while the listing stays refused across discoveries), bounded in
memory: at most ``limit`` are kept, the count is always the full one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.domain.markets import Venue

#: How many refusals the wire carries (latest first); the count is always the full one.
WIRE_LIMIT = 200
#: How many refusals are kept in memory.
KEPT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class ListingRefusal:
    """One market (or event) of a venue's listing left out at discovery, and why."""

    venue: Venue
    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Seen:
    refusal: ListingRefusal
    at: datetime
    order: int


def _latest_first(s: _Seen) -> tuple[float, int]:
    """Latest first seen first; listings first seen together keep their listing order."""
    return (-s.at.timestamp(), s.order)


class DiscoveryRefusals:
    """The refusals of the latest discovery, with the time each was first seen."""

    def __init__(self, limit: int = KEPT_LIMIT) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._seen: dict[tuple[Venue, str], _Seen] = {}
        self.count = 0
        self.discovered_at: datetime | None = None
        self._order = 0

    def update(self, refusals: Iterable[ListingRefusal], now: datetime) -> bool:
        """Replace the set with this discovery's refusals; True when it changed (always
        on the first discovery).

        A listing refused before keeps its first-seen time (its reason may change); one no
        longer refused is dropped. Of more than ``limit``, the latest seen are kept.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        fresh: dict[tuple[Venue, str], _Seen] = {}
        for r in refusals:
            key = (r.venue, r.id)
            if key in fresh:
                continue  # the first reason a discovery gave for a listing stands
            old = self._seen.get(key)
            if old is not None:
                fresh[key] = _Seen(r, old.at, old.order)
            else:
                self._order += 1
                fresh[key] = _Seen(r, now, self._order)
        count = len(fresh)
        if count > self.limit:
            kept = sorted(fresh.values(), key=_latest_first)[: self.limit]
            fresh = {(s.refusal.venue, s.refusal.id): s for s in kept}
        changed = self.discovered_at is None or count != self.count or {k: s.refusal for k, s in fresh.items()} != {
            k: s.refusal for k, s in self._seen.items()
        }
        self._seen = fresh
        self.count = count
        self.discovered_at = now
        return changed

    def latest(self, limit: int = WIRE_LIMIT) -> list[tuple[ListingRefusal, datetime]]:
        """The refusals, latest first seen first (then in listing order), at most ``limit``."""
        ordered = sorted(self._seen.values(), key=_latest_first)
        return [(s.refusal, s.at) for s in ordered[: max(limit, 0)]]

    def to_wire(self, limit: int = WIRE_LIMIT) -> dict[str, Any]:
        """``{"refused_count", "refused": [{"venue","id","reason","at"}, ...], "discovered_at"}``."""
        return {
            "refused_count": self.count,
            "refused": [
                {"venue": r.venue.value, "id": r.id, "reason": r.reason, "at": at}
                for r, at in self.latest(limit)
            ],
            "discovered_at": self.discovered_at,
        }


def empty_wire() -> dict[str, Any]:
    """The ``discovery`` data before any discovery ran (``discovered_at`` null)."""
    return {"refused_count": 0, "refused": [], "discovered_at": None}


__all__ = ["KEPT_LIMIT", "WIRE_LIMIT", "DiscoveryRefusals", "ListingRefusal", "empty_wire"]
