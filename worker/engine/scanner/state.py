"""What the scanner keeps per contract and per (mapping, direction).

A :class:`Slot` holds one contract's latest ask ladder and the directions that buy it;
a :class:`DirectionState` holds one direction's two slots, its open opportunity and the
ladders it was last evaluated on; a :class:`PairState` groups a mapping's two directions
with the markets whose status can close them. Only :class:`~worker.engine.scanner.scanner.Scanner`
reads and writes them, on the worker's single event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from worker.domain.books import PriceLevel
from worker.domain.mapping import Opportunity
from worker.domain.markets import ContractRef, Venue
from worker.engine.scanner.pair import Pair, PairLegs
from worker.engine.scanner.units import FeeUnits


@dataclass(slots=True, eq=False)
class Slot:
    """The latest ask ladder of one contract and the directions that buy it.

    A slot keeps what pricing needs and nothing else: ``asks`` (``None`` until a book
    arrives), ``top``, the marginal cost of the best level (price plus fee unit), and
    ``room``, what that leaves under $1 (both ``None`` without asks), set when the book
    is stored, while it is hot in the cache. The usual update, whose top pair does not
    pay, is then rejected by comparing one slot's ``top`` with the other's ``room``,
    without reading the other venue's ladder. The rest of a book (its bids, the book
    object; ``received_at`` aside) is not retained, so it is freed by whoever drops the
    book, right after the update, instead of when the next book replaces it long after.
    Only a Polymarket US LONG slot keeps its bids (``long_bids``): its SHORT side's asks
    are derived from them when a mapping starts buying that side. ``units`` is the fee-unit
    table of the contract's venue rate (set by the first mapping that buys it).
    ``received_at`` is when the book the asks come from was received (a SHORT side's:
    its LONG book's), the age the risk manager checks. ``opposite`` is the slot of the
    complementary contract, set when a mapping pairs them (both directions buy one each).
    """

    ref: ContractRef
    asks: tuple[PriceLevel, ...] | None = None
    top: Decimal | None = None
    room: Decimal | None = None
    units: FeeUnits | None = None
    long_bids: tuple[PriceLevel, ...] | None = None
    received_at: datetime | None = None
    directions: list[DirectionState] = field(default_factory=list)
    #: The complementary contract's slot (Kalshi NO for YES, the market's other
    #: Polymarket token, SHORT for LONG): its best ask is 1 − this contract's best bid.
    opposite: Slot | None = None

    def store(self, asks: tuple[PriceLevel, ...], received_at: datetime | None) -> None:
        self.asks = asks
        self.received_at = received_at
        units = self.units
        if asks and units is not None:
            _, self.top, self.room = units[asks[0].price]
        else:
            self.top = self.room = None

    def set_units(self, units: FeeUnits) -> None:
        if self.units is None:
            self.units = units
            if self.asks is not None:
                self.store(self.asks, self.received_at)


@dataclass(slots=True, eq=False)
class DirectionState:
    """One (mapping, direction): its books, its open opportunity, what it last saw.

    ``seen_kalshi``/``seen_poly`` are the ask ladders of the last evaluation (``None``
    forces the next one); ``stamp`` de-duplicates a direction within one update.
    """

    pair: Pair
    legs: PairLegs
    id: str
    kalshi: Slot
    poly: Slot
    open: Opportunity | None = None
    seen_kalshi: tuple[PriceLevel, ...] | None = None
    seen_poly: tuple[PriceLevel, ...] | None = None
    stamp: int = 0


@dataclass(slots=True, eq=False)
class PairState:
    pair: Pair
    directions: tuple[DirectionState, DirectionState]
    markets: tuple[tuple[Venue, str], tuple[Venue, str]]
