"""Order books kept best-first, whatever order the venue sent.

Venues disagree on order: Polymarket's CLOB and Kalshi send the best level *last*, and
Kalshi sends bids only (a YES ask is ``1 − best NO bid``). Books are therefore built only
through :meth:`OrderBook.build`, which sorts, merges duplicate prices and drops empty
levels, so consumers can always read ``bids[0]`` / ``asks[0]`` as the best.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from worker.domain.markets import ContractRef
from worker.domain.money import ONE, ZERO
from worker.domain.slots import slot_setters


@dataclass(frozen=True, slots=True)
class PriceLevel:
    """One price level: ``size`` contracts available at ``price`` (both Decimal)."""

    price: Decimal
    size: Decimal


_new = object.__new__
_set_price, _set_size = slot_setters(PriceLevel, "price", "size")


def _level(price: Decimal, size: Decimal) -> PriceLevel:
    """``PriceLevel(price, size)``, filled through its slots (books are built per message)."""
    lvl = _new(PriceLevel)
    _set_price(lvl, price)
    _set_size(lvl, size)
    return lvl


#: Prices books have used, each kept once: prices lie on a venue's tick grid (a few
#: hundred values on [0, 1]), so all books share the same Decimal objects instead of each
#: holding its own. A book then holds fewer objects of its own, which matters when it is
#: replaced: the scanner drops the previous ladder, long out of the CPU caches, and every
#: object of its own costs a cache miss to free, where a shared price costs a reference
#: count on an object that stays in the cache. Bounded: past the limit a new price is
#: used as given. A price is shared only with an equal one of the same exponent (``0.56``
#: and ``0.5600`` stay distinct), so a book's prices read exactly as the venue sent them.
_PRICES: dict[Decimal, Decimal] = {}
_PRICES_LIMIT = 20_000


def _merge(levels: Iterable[PriceLevel], *, descending: bool) -> tuple[PriceLevel, ...]:
    by_price: dict[Decimal, Decimal] = {}
    for lvl in levels:
        if lvl.size < 0:
            raise ValueError(f"negative size at {lvl.price}")
        if not (ZERO <= lvl.price <= ONE):
            raise ValueError(f"price {lvl.price} outside [0, 1]")
        by_price[lvl.price] = by_price.get(lvl.price, ZERO) + lvl.size
    # Prices are unique keys, so sorting the (price, size) pairs orders by price alone.
    # Built inline (a call per level would cost more): each price shared through _PRICES,
    # each level filled through its slots as in _level.
    prices, new, set_price, set_size = _PRICES, _new, _set_price, _set_size
    out = []
    for price, size in sorted(by_price.items(), reverse=descending):
        if size > 0:
            known = prices.get(price)
            if known is None:
                if price and len(prices) < _PRICES_LIMIT:  # zero keeps its sign and exponent
                    prices[price] = price
            elif known.same_quantum(price):  # an equal price with the same exponent
                price = known
            lvl = new(PriceLevel)
            set_price(lvl, price)
            set_size(lvl, size)
            out.append(lvl)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Bids (highest first) and asks (lowest first) for buying/selling one contract side.

    ``sequence`` is the venue's sequence/nonce when it has one (a gap means the book is
    stale until a fresh snapshot), ``received_at`` the aware-UTC time we got it; ``age``
    tells how old the quote is.
    """

    contract: ContractRef
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    received_at: datetime
    sequence: int | None = None

    @classmethod
    def build(
        cls,
        contract: ContractRef,
        bids: Iterable[PriceLevel],
        asks: Iterable[PriceLevel],
        received_at: datetime,
        sequence: int | None = None,
    ) -> OrderBook:
        """Sort best-first, merge equal prices, drop zero sizes."""
        if received_at.utcoffset() is None:
            raise ValueError("received_at must be timezone-aware")
        return cls(
            contract,
            _merge(bids, descending=True),
            _merge(asks, descending=False),
            received_at,
            sequence,
        )

    @property
    def best_bid(self) -> PriceLevel | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> PriceLevel | None:
        return self.asks[0] if self.asks else None

    def age(self, now: datetime) -> timedelta:
        return now - self.received_at

    @property
    def crossed(self) -> bool:
        return bool(self.bids and self.asks and self.bids[0].price >= self.asks[0].price)

    def complement(self, contract: ContractRef) -> OrderBook:
        """The book of the opposite side of a binary contract.

        A bid for this side at ``p`` is an offer of the other side at ``1 − p`` and vice
        versa (Kalshi NO from YES, Polymarket US SHORT from LONG).
        """
        return OrderBook(
            contract,
            bids=complement_levels(self.asks),
            asks=complement_levels(self.bids),
            received_at=self.received_at,
            sequence=self.sequence,
        )

    def depth_to(self, limit_price: Decimal) -> Decimal:
        """Contracts purchasable at or below ``limit_price`` (walks the asks)."""
        return depth_to(self.asks, limit_price)

    def with_received_at(self, received_at: datetime) -> OrderBook:
        return OrderBook(self.contract, self.bids, self.asks, received_at, self.sequence)


def complement_levels(levels: tuple[PriceLevel, ...]) -> tuple[PriceLevel, ...]:
    """The other side of a binary contract's levels: ``p`` becomes ``1 − p``, same sizes
    and order (best bids for one side are the best asks for the other)."""
    return tuple(_level(ONE - lvl.price, lvl.size) for lvl in levels)


def depth_to(asks: tuple[PriceLevel, ...], limit_price: Decimal) -> Decimal:
    """Contracts purchasable at or below ``limit_price`` on a best-first ask ladder."""
    total = ZERO
    for lvl in asks:
        if lvl.price > limit_price:
            break
        total += lvl.size
    return total


def two_sided_from_bids(
    yes: ContractRef,
    no: ContractRef,
    yes_bids: Iterable[PriceLevel],
    no_bids: Iterable[PriceLevel],
    received_at: datetime,
    sequence: int | None = None,
) -> tuple[OrderBook, OrderBook]:
    """Kalshi-style books from bids only: YES ask = 1 − NO bid, NO ask = 1 − YES bid."""
    yb = list(yes_bids)
    nb = list(no_bids)
    yes_book = OrderBook.build(
        yes, yb, [_level(ONE - lvl.price, lvl.size) for lvl in nb], received_at, sequence
    )
    no_book = OrderBook.build(
        no, nb, [_level(ONE - lvl.price, lvl.size) for lvl in yb], received_at, sequence
    )
    return yes_book, no_book


class BookSequencer:
    """Tracks a stream's sequence numbers; a gap marks the book untrusted.

    ``accept(seq)`` returns True when ``seq`` follows the last one; on a gap it returns
    False and stays untrusted until ``reset(seq)`` is called with a fresh snapshot's
    sequence. Pure state, no I/O.
    """

    def __init__(self) -> None:
        self.last: int | None = None
        self.trusted = False

    def reset(self, seq: int | None) -> None:
        self.last = seq
        self.trusted = True

    def accept(self, seq: int) -> bool:
        if not self.trusted or self.last is None or seq != self.last + 1:
            self.trusted = False
            return False
        self.last = seq
        return True
