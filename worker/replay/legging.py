"""Legging counts from a recording: how often leg 2's quote would have gone before its
order arrived, and what that would have cost (``docs/legging.md``).

Mappings are discovered as the replay discovers them: from the first listing snapshot of
Kalshi and of the Polymarket venue, with the worker's own matcher and pair builder. Then
the books of the mapped contracts are walked in receive-time order, each contract's latest
book kept. For each direction of each pair, at most once per ``sample_every_s`` of
recorded time (so a venue that sends more updates does not weigh more) and only while
both legs have asks, a *sample* is taken at t:

* leg 2 is the deeper leg at the top level (:func:`worker.domain.legging.leg_order`, the
  top levels' sizes as depths); its best ask ``a2`` is the quoted price and its top size
  ``d2`` the depth; leg 1's best ask is ``a1``;
* for each size of :data:`FRACTIONS` × ``d2`` (whole contracts, at least 1) its *quote*:
  ``a2`` for a size within the top level, else the size's average price on leg 2's book at
  t (a size the book cannot fill is not sampled); a check at t + H, H = leg 1's latency +
  leg 2's (leg 2 is sent once leg 1 has come back), succeeds when leg 2's book then fills
  the whole size at its quote or better on average; otherwise it fails, at a cost per
  contract of the cheaper of hedging (the size's average price on leg 2's book then, less
  its quote; impossible when the book is too thin) and unwinding (``a1`` less leg 1's best
  bid then: ``1 −`` the best ask of leg 1's complementary contract, or its own best bid if
  better; no bid: ``a1``), floored at 0.

Each check is counted in the cell ``cell_of(leg 2's venue, league, a2, size, d2)``.
:class:`LeggingSampler` is the pure part (books in, counts out); :func:`count_recording`
feeds it a recording.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from worker.domain.books import OrderBook, PriceLevel, depth_to
from worker.domain.legging import CellCount, CellKey, cell_of, leg_order
from worker.domain.mapping import Leg, MarketMapping
from worker.domain.markets import ContractRef, Market, OutcomeSide, Venue
from worker.domain.money import ONE, ZERO
from worker.engine.scanner.matcher import match_markets
from worker.engine.scanner.pair import build_pair
from worker.replay.recording import BookFilter, ListingSnapshot, Recording
from worker.venues.normalize import NORMALISERS

#: The sizes sampled, as fractions of leg 2's top-level depth: one per depth band.
FRACTIONS: tuple[Decimal, ...] = (Decimal("0.2"), Decimal("0.45"), Decimal("0.9"), Decimal("1.5"))
#: A book is keyed by what identifies it on every path (the recorded market id of a
#: Polymarket token need not be the mapping's).
BookKey = tuple[str, OutcomeSide]


def book_key(ref: ContractRef) -> BookKey:
    return ref.contract_id, ref.side


@dataclass(frozen=True, slots=True)
class Side:
    """One leg of a direction: the contract bought and its complement (whose asks give
    the contract's bids: Kalshi YES and NO, Polymarket's two tokens or sides)."""

    contract: ContractRef
    complement: ContractRef


@dataclass(slots=True)
class Watch:
    """One direction of one mapped pair: its league, its Kalshi and Polymarket legs."""

    league: str
    kalshi: Side
    poly: Side
    last: datetime | None = None
    kalshi_leg: Leg = field(init=False)
    poly_leg: Leg = field(init=False)

    def __post_init__(self) -> None:
        self.kalshi_leg = Leg(self.kalshi.contract, "", ZERO, ZERO, ZERO, ZERO)
        self.poly_leg = Leg(self.poly.contract, "", ZERO, ZERO, ZERO, ZERO)


@dataclass(frozen=True, slots=True)
class Check:
    """What a sample checks at t + H: leg 2's book against its quote, and the cost."""

    leg2: BookKey
    a2: Decimal
    leg1: BookKey
    leg1_complement: BookKey
    a1: Decimal
    #: (size, its average price on leg 2's book at t, its cell): the quote of each size.
    sizes: tuple[tuple[Decimal, Decimal, CellKey], ...]


def sizes_for(top_depth: Decimal) -> list[Decimal]:
    """Whole contracts, at least 1: :data:`FRACTIONS` of ``top_depth`` (rounded down up
    to the whole depth, up above it), each size once."""
    out: list[Decimal] = []
    for f in FRACTIONS:
        raw = f * top_depth
        size = raw.to_integral_value(ROUND_FLOOR if f <= ONE else ROUND_CEILING)
        size = max(size, ONE)
        if size not in out:
            out.append(size)
    return out


def vwap(asks: tuple[PriceLevel, ...], size: Decimal) -> Decimal | None:
    """The average price of buying ``size`` on ``asks`` (None when they hold less)."""
    left, paid = size, ZERO
    for lvl in asks:
        take = lvl.size if lvl.size < left else left
        paid += take * lvl.price
        left -= take
        if left <= 0:
            return paid / size
    return None


def failure_cost(leg2_asks: tuple[PriceLevel, ...], quote: Decimal, size: Decimal, a1: Decimal,
                 leg1_bid: Decimal | None) -> Decimal:
    """Per contract, the cheaper of hedging at leg 2's worse prices (their average less the
    size's quote) and unwinding leg 1, floored at 0."""
    unwind = a1 - leg1_bid if leg1_bid is not None else a1
    average = vwap(leg2_asks, size)
    cost = unwind if average is None else min(average - quote, unwind)
    return max(cost, ZERO)


class LeggingSampler:
    """Books in (:meth:`on_book`, in receive-time order), counts out (:meth:`finish`)."""

    def __init__(self, watches: Iterable[Watch], latency_ms: Mapping[Venue, int], sample_every_s: float = 1.0,
                 *, start: datetime | None = None) -> None:
        self.every = timedelta(seconds=sample_every_s)
        #: No sample before it (the books as they stood at a window's start come first).
        self.start = start
        self.latency = {v: timedelta(milliseconds=ms) for v, ms in latency_ms.items()}
        self.books: dict[BookKey, OrderBook] = {}
        self.by_book: dict[BookKey, list[Watch]] = {}
        for w in watches:
            for ref in (w.kalshi.contract, w.kalshi.complement, w.poly.contract, w.poly.complement):
                watching = self.by_book.setdefault(book_key(ref), [])
                if w not in watching:
                    watching.append(w)
        self.pending: list[tuple[datetime, int, Check]] = []
        self._order = itertools.count()
        self.counts: dict[CellKey, CellCount] = {}
        #: Each sample's sizes and cells, by (leg 2's venue, league, a2, d2): computed once.
        self._cells: dict[tuple[Venue, str, Decimal, Decimal], tuple[tuple[Decimal, CellKey], ...]] = {}
        self.samples = 0
        self.last: datetime | None = None

    def on_book(self, book: OrderBook) -> None:
        at = book.received_at
        pending = self.pending
        while pending and pending[0][0] < at:  # the books as they stood at its time
            self._check(heapq.heappop(pending)[2])
        self.last = at
        contract = book.contract
        key = (contract.contract_id, contract.side)
        watching = self.by_book.get(key)
        if watching is None:
            return
        self.books[key] = book
        if self.start is not None and at < self.start:
            return
        for w in watching:
            if (w.last is None or at - w.last >= self.every) and self._sample(w, at):
                w.last = at

    def finish(self) -> dict[CellKey, CellCount]:
        """Checks due by the last book are made (later ones are dropped: the recording
        does not say what the book was then); returns the counts per cell."""
        pending = self.pending
        while pending and self.last is not None and pending[0][0] <= self.last:
            self._check(heapq.heappop(pending)[2])
        pending.clear()
        return dict(self.counts)

    def _sample(self, w: Watch, at: datetime) -> bool:
        books = self.books
        kb = books.get(book_key(w.kalshi.contract))
        pb = books.get(book_key(w.poly.contract))
        if kb is None or pb is None or not kb.asks or not pb.asks:
            return False
        first, second = leg_order(w.kalshi_leg, w.poly_leg, kb.asks[0].size, pb.asks[0].size)
        if second is w.kalshi_leg:
            leg1, leg2, b1, b2 = w.poly, w.kalshi, pb, kb
        else:
            leg1, leg2, b1, b2 = w.kalshi, w.poly, kb, pb
        a2, d2 = b2.asks[0].price, b2.asks[0].size
        venue2 = leg2.contract.venue
        cells = self._cells.get((venue2, w.league, a2, d2))
        if cells is None:
            cells = self._cells[(venue2, w.league, a2, d2)] = tuple(
                (s, cell_of(venue2, w.league, a2, s, d2)) for s in sizes_for(d2)
            )
        # Each size is quoted at its average price on leg 2's book at t: the top price
        # within the top level; beyond it, the levels it would take (none: not sampled).
        sizes = tuple(
            (size, quote, key)
            for size, key in cells
            if (quote := a2 if size <= d2 else vwap(b2.asks, size)) is not None
        )
        check = Check(book_key(leg2.contract), a2, book_key(leg1.contract), book_key(leg1.complement),
                      b1.asks[0].price, sizes)
        due = at + self.latency[leg1.contract.venue] + self.latency[venue2]
        heapq.heappush(self.pending, (due, next(self._order), check))
        self.samples += 1
        return True

    def _bid(self, key: BookKey, complement: BookKey) -> Decimal | None:
        own = self.books.get(key)
        other = self.books.get(complement)
        bids = [own.bids[0].price] if own is not None and own.bids else []
        if other is not None and other.asks:
            bids.append(ONE - other.asks[0].price)
        return max(bids) if bids else None

    def _check(self, c: Check) -> None:
        book = self.books.get(c.leg2)
        asks: tuple[PriceLevel, ...] = book.asks if book is not None else ()
        within_quote = depth_to(asks, c.a2)
        bid: Decimal | None = None
        bid_known = False
        counts = self.counts
        for size, quote, key in c.sizes:
            # Filled at its quote: the whole size at the top price (or better), or, for a
            # size beyond the top level, at an average no worse than at t.
            if size <= within_quote:
                filled = True
            else:
                average = vwap(asks, size)
                filled = average is not None and average <= quote
            if filled:
                add = CellCount(1, 0, ZERO)
            else:
                if not bid_known:
                    bid, bid_known = self._bid(c.leg1, c.leg1_complement), True
                add = CellCount(1, 1, failure_cost(asks, quote, size, c.a1, bid))
            counts[key] = counts[key] + add if key in counts else add


def watches_of(mapping: MarketMapping, kalshi: Market, poly: Market) -> list[Watch]:
    """Both directions of a mapped pair (as :func:`build_pair` gives them)."""
    pair = build_pair(mapping, kalshi, poly)
    complement = {
        mapping.kalshi_yes: mapping.kalshi_no, mapping.kalshi_no: mapping.kalshi_yes,
        mapping.poly_same: mapping.poly_other, mapping.poly_other: mapping.poly_same,
    }
    return [
        Watch(mapping.league, Side(d.kalshi, complement[d.kalshi]), Side(d.poly, complement[d.poly]))
        for d in pair.directions
    ]


def discover(kalshi_markets: Iterable[Market], poly_markets: Iterable[Market]) -> list[Watch]:
    """Every direction of every pair the matcher finds (as the pipeline's discovery)."""
    kalshi_list, poly_list = list(kalshi_markets), list(poly_markets)
    result = match_markets(kalshi_list, poly_list, NORMALISERS)
    k_by_id = {m.market_id: m for m in kalshi_list}
    p_by_id: dict[str, Market] = {}
    for m in poly_list:
        p_by_id[m.market_id] = m
        for o in m.outcomes:
            p_by_id.setdefault(o.contract_id, m)
    watches: list[Watch] = []
    for mapping in result.mappings:
        k = k_by_id.get(mapping.kalshi_ticker)
        p = p_by_id.get(mapping.poly_market_id) or p_by_id.get(mapping.poly_market)
        if k is not None and p is not None:
            watches.extend(watches_of(mapping, k, p))
    return watches


@dataclass
class BookCounts:
    """What :func:`count_recording` found: the counts and how they came about."""

    counts: dict[CellKey, CellCount]
    mappings: int = 0
    book_updates: int = 0
    samples: int = 0


def count_recording(
    recording: Recording,
    *,
    poly_venue: Venue,
    latency_ms: Mapping[Venue, int],
    start: datetime | None = None,
    end: datetime | None = None,
    sample_every_s: float = 1.0,
) -> BookCounts:
    """Counts per cell of the legging checks of a recording (see the module's rules), with
    the number of pairs watched, book updates read and samples taken (moments sampled; each
    checks several sizes)."""
    traded = (Venue.KALSHI, poly_venue)
    listings: dict[Venue, tuple[Market, ...]] = {}
    wanted = BookFilter()
    sampler: LeggingSampler | None = None
    out = BookCounts({})
    for event in recording.events(start, end, venues=traded, books=wanted):
        if isinstance(event, ListingSnapshot):
            if sampler is None:
                listings.setdefault(event.venue, event.markets)
                if len(listings) == len(traded):
                    watches = discover(listings[Venue.KALSHI], listings[poly_venue])
                    out.mappings = len(watches) // 2
                    sampler = LeggingSampler(watches, latency_ms, sample_every_s, start=start)
                    kalshi_ids = {r.contract_id for w in watches for r in (w.kalshi.contract, w.kalshi.complement)}
                    poly_ids = {r.contract_id for w in watches for r in (w.poly.contract, w.poly.complement)}
                    wanted.keep_only(Venue.KALSHI, frozenset(kalshi_ids))
                    wanted.keep_only(poly_venue, frozenset(poly_ids))
            continue
        if sampler is not None:
            out.book_updates += 1
            sampler.on_book(event.book)
    if sampler is not None:
        out.counts = sampler.finish()
        out.samples = sampler.samples
    return out
