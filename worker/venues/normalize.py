"""Every venue's normaliser, keyed by venue: what the composition root gives the matcher.

Each lives in its venue's folder (``worker/venues/<venue>/normalize.py``) and implements
:class:`worker.domain.listings.VenueNormaliser`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from worker.domain.listings import VenueNormaliser
from worker.domain.markets import Venue
from worker.venues.kalshi.normalize import KalshiNormaliser
from worker.venues.polymarket.normalize import PolymarketNormaliser
from worker.venues.polymarket_us.normalize import PolymarketUsNormaliser

NORMALISERS: Mapping[Venue, VenueNormaliser] = MappingProxyType(
    {n.venue: n for n in (KalshiNormaliser(), PolymarketNormaliser(), PolymarketUsNormaliser())}
)

__all__ = ["NORMALISERS"]
