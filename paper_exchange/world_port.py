"""What the matching engine needs of a world: its markets, instruments, games and books.

Two worlds plug into :class:`~paper_exchange.matching.PaperExchange`: the seeded
simulation (:class:`paper_exchange.world.World`, what the paper-exchange server runs) and a
world rebuilt from recorded listings and books (:class:`paper_exchange.recorded.RecordedWorld`,
what a replay runs). The engine reads a world only through these two protocols.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from paper_exchange.world import Instrument, ListedMarket

Levels = list[tuple[Decimal, Decimal]]


class WorldGame(Protocol):
    """The event a market belongs to: when it trades and when (and how) it resolves."""

    @property
    def index(self) -> int: ...

    @property
    def resolve_at(self) -> datetime: ...

    def tradable(self, now: datetime) -> bool: ...

    def home_settlement(self) -> Decimal:
        """What one "home wins" (YES-like) contract pays at resolution."""
        ...

    def token_ids(self, kind: str) -> tuple[str, str]:
        """The two Polymarket tokens (outcome 0, outcome 1) of the game's market ``kind``."""
        ...


class MarketWorld(Protocol):
    """The markets, instruments and makers' books the matching engine trades against."""

    def ensure(self, now: datetime) -> None:
        """Make the world current up to ``now`` (list what is due)."""
        ...

    def instrument(self, instrument_id: str) -> Instrument | None: ...

    def market(self, key: str) -> ListedMarket | None: ...

    def markets(self) -> list[ListedMarket]: ...

    def game_of(self, market: ListedMarket) -> WorldGame: ...

    def all_games(self) -> Sequence[WorldGame]: ...

    def base_levels(self, market: ListedMarket, now: datetime) -> tuple[Levels, Levels]:
        """YES-side bids and asks (best first) before any liquidity paper orders took;
        empty when the market is not trading."""
        ...
