"""The incremental scanner: books in, opportunity lifecycle events out.

Each tradable mapping becomes a :class:`~worker.engine.scanner.pair.Pair` with two
directions (buy Kalshi YES + the other team's contract, buy Kalshi NO + the same team's
contract). Every contract has one book slot that lists the directions buying it, so a
book update re-evaluates only the directions that use that book (a Polymarket token's
update never re-walks the direction that buys the other token). Every (mapping,
direction) has a stable opportunity id and a lifecycle:

* OPENED when a positive edge appears,
* UPDATED when its price or size changes (an unchanged quote publishes nothing),
* CLOSED when the edge is gone, a market closes, the game starts, or the mapping is
  rejected.

Events go to ``publish`` (the worker's event bus). Concurrency: the scanner runs on the
worker's single asyncio loop and holds no awaits between reading a book and publishing,
so an update is evaluated against a consistent set of books. Time is injected (``now``)
so the lifecycle is testable without sleeping.

Hot path: a direction remembers the two ask ladders it was last evaluated on; books are
immutable, so when both are the same objects (or, for a direction with an open
opportunity, equal ladders) the outcome cannot differ and the walk is skipped. The
worker should call ``gc.freeze()`` once the mappings and first books are loaded (see
``bench/detection.py``): the scanner's long-lived state then no longer costs the
garbage collector anything on the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from worker.domain.books import OrderBook, PriceLevel, complement_levels
from worker.domain.mapping import (
    CloseReason,
    MappingStatus,
    MarketMapping,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import ContractRef, Market, MarketStatus, OutcomeSide, Venue
from worker.domain.marks import Mark
from worker.domain.money import ONE
from worker.domain.slots import slot_setters
from worker.engine.scanner.detect import opportunity_after_top
from worker.engine.scanner.pair import Pair, build_pair
from worker.engine.scanner.state import DirectionState, PairState, Slot

Publish = Callable[[OpportunityEvent], None]

_OPENED = OpportunityEventKind.OPENED
_UPDATED = OpportunityEventKind.UPDATED
_CLOSED = OpportunityEventKind.CLOSED
_new = object.__new__
_ev_kind, _ev_opp, _ev_at, _ev_reason, _ev_extra = slot_setters(
    OpportunityEvent, "kind", "opportunity", "at", "reason", "extra"
)


def _event(
    kind: OpportunityEventKind, opp: Opportunity, at: datetime, reason: CloseReason | None = None
) -> OpportunityEvent:
    """``OpportunityEvent(kind, opp, at, reason)``, built through its slots (hot path)."""
    e = _new(OpportunityEvent)
    _ev_kind(e, kind)
    _ev_opp(e, opp)
    _ev_at(e, at)
    _ev_reason(e, reason)
    _ev_extra(e, {})
    return e


class Scanner:
    """Keeps books and open opportunities for every tradable mapping.

    A rejected mapping is never added (and is closed if it was); the scanner applies no
    operator setting beyond that: ROI bands and bet sizes are the executor's business.
    ``evaluations`` counts (mapping, direction) re-evaluations triggered by inputs.
    """

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._pairs: dict[str, PairState] = {}
        # Book slots by contract id, then matched on venue, market and side: a str key
        # hashes in C, where a ContractRef hashes and compares in Python (hot path).
        self._slots: dict[str, list[Slot]] = {}
        self._by_id: dict[str, DirectionState] = {}
        self._open: dict[str, Opportunity] = {}
        self._closed_markets: set[tuple[Venue, str]] = set()
        self._stamp = 0
        self.evaluations = 0
        #: Prices a new quote's legging risk (:meth:`worker.engine.legging.LeggingPricer.price`)
        #: before it is published; None publishes the locked edge alone.
        self.legging: Callable[[Opportunity, tuple[PriceLevel, ...], tuple[PriceLevel, ...]], Opportunity] | None = None

    # --- set-up -----------------------------------------------------------------------

    def add_mapping(self, mapping: MarketMapping, kalshi: Market, poly: Market) -> None:
        """Track a mapping (ignored if the operator rejected it)."""
        if mapping.status is MappingStatus.REJECTED:
            return
        if mapping.id in self._pairs:
            self.remove_mapping(mapping.id, CloseReason.MAPPING_REJECTED, None)
        pair = build_pair(mapping, kalshi, poly)
        states = tuple(
            DirectionState(
                pair,
                legs,
                pair.opportunity_ids[legs.direction],
                self._slot(legs.kalshi),
                self._slot(legs.poly),
            )
            for legs in pair.directions
        )
        d_yes, d_no = states
        # The two directions buy complementary contracts on each venue (YES/NO, the two
        # tokens): each one's asks give the other's bid, the mark of a held contract.
        d_yes.kalshi.opposite, d_no.kalshi.opposite = d_no.kalshi, d_yes.kalshi
        d_yes.poly.opposite, d_no.poly.opposite = d_no.poly, d_yes.poly
        self._pairs[pair.mapping_id] = PairState(
            pair,
            (d_yes, d_no),
            ((kalshi.venue, kalshi.market_id), (poly.venue, poly.market_id)),
        )
        for d in (d_yes, d_no):
            d.kalshi.set_units(pair.kalshi_units)
            d.poly.set_units(pair.poly_units)
            self._by_id[d.id] = d
            d.kalshi.directions.append(d)
            d.poly.directions.append(d)
            self._derive_short(d.legs.poly)

    def add_mappings(self, items: Iterable[tuple[MarketMapping, Market, Market]]) -> None:
        for mapping, kalshi, poly in items:
            self.add_mapping(mapping, kalshi, poly)

    def remove_mapping(self, mapping_id: str, reason: CloseReason, now: datetime | None) -> None:
        state = self._pairs.pop(mapping_id, None)
        if state is None:
            return
        for d in state.directions:
            for slot in (d.kalshi, d.poly):
                slot.directions[:] = [x for x in slot.directions if x is not d]
            self._by_id.pop(d.id, None)
            self._close(d, reason, now or state.pair.kalshi.start_time)

    def decide(self, mapping_id: str, status: MappingStatus, now: datetime) -> None:
        """Apply an operator decision: a rejection closes and forgets the pair."""
        if status is MappingStatus.REJECTED:
            self.remove_mapping(mapping_id, CloseReason.MAPPING_REJECTED, now)

    # --- inputs -------------------------------------------------------------------------

    def on_book(self, book: OrderBook, now: datetime) -> None:
        """A fresh book for one contract: re-evaluate only the directions buying it."""
        ref = book.contract
        slot = self._find(ref) or self._slot(ref)
        slot.store(book.asks, book.received_at)
        for d in slot.directions:
            self._evaluate(d, now)
        if ref.side is OutcomeSide.LONG and ref.venue is Venue.POLYMARKET_US:
            short = self._store_long(slot, book)
            if short is not None:
                for d in short.directions:
                    self._evaluate(d, now)

    def on_books(self, books: Iterable[OrderBook], now: datetime) -> None:
        """Several books of one venue message (e.g. Kalshi YES and NO) at once.

        All books are stored first, then each affected direction is evaluated once.
        """
        self._stamp += 1
        stamp = self._stamp
        touched: list[DirectionState] = []
        for book in books:
            ref = book.contract
            slot = self._find(ref) or self._slot(ref)
            slot.store(book.asks, book.received_at)
            slots = [slot]
            if ref.side is OutcomeSide.LONG and ref.venue is Venue.POLYMARKET_US:
                short = self._store_long(slot, book)
                if short is not None:
                    slots.append(short)
            for s in slots:
                for d in s.directions:
                    if d.stamp != stamp:
                        d.stamp = stamp
                        touched.append(d)
        for d in touched:
            self._evaluate(d, now)

    def on_market_status(
        self, venue: Venue, market_id: str, status: MarketStatus, now: datetime
    ) -> None:
        """A market stopped (or resumed) trading: close or re-evaluate its pairs."""
        key = (venue, market_id)
        if status.tradable:
            self._closed_markets.discard(key)
        else:
            self._closed_markets.add(key)
        for state in list(self._pairs.values()):
            if key in state.markets:
                for d in state.directions:
                    d.seen_kalshi = d.seen_poly = None
                    self._evaluate(d, now)

    def on_clock(self, now: datetime) -> None:
        """Close the opportunities of games that have started."""
        for opp in list(self._open.values()):
            if opp.expires_at is not None and now >= opp.expires_at:
                d = self._by_id.get(opp.id)
                if d is not None:
                    self._close(d, CloseReason.GAME_STARTED, now)

    # --- state --------------------------------------------------------------------------

    @property
    def open_opportunities(self) -> list[Opportunity]:
        return list(self._open.values())

    def opportunity(self, opportunity_id: str) -> Opportunity | None:
        """The open opportunity of that id as last published, ``None`` when it is closed."""
        return self._open.get(opportunity_id)

    @property
    def pair_count(self) -> int:
        return len(self._pairs)

    def tracks(self, mapping_id: str) -> bool:
        """True while the mapping's pair is evaluated (added and not rejected)."""
        return mapping_id in self._pairs

    def asks(self, contract: ContractRef) -> tuple[PriceLevel, ...] | None:
        """The latest ask ladder the scanner prices ``contract`` from (best first; a
        Polymarket US SHORT side's is derived from its LONG book's bids), ``None`` when no
        book has arrived. The executor's depth check reads it."""
        slot = self._find(contract)
        return None if slot is None else slot.asks

    def book_time(self, contract: ContractRef) -> datetime | None:
        """When the book ``contract``'s asks come from was received (a Polymarket US
        SHORT side's: its LONG book's), ``None`` when no book has arrived."""
        slot = self._find(contract)
        return None if slot is None else slot.received_at

    def mark(self, contract: ContractRef) -> Mark | None:
        """The held ``contract``'s best bid: 1 − the complementary contract's best ask
        (see :mod:`worker.domain.marks`), with when that book was received; ``None``
        while that book is unknown or has no ask."""
        slot = self._find(contract)
        opposite = None if slot is None else slot.opposite
        if opposite is None or not opposite.asks or opposite.received_at is None:
            return None
        return Mark(ONE - opposite.asks[0].price, opposite.received_at)

    def book_times(self) -> Iterator[tuple[ContractRef, datetime]]:
        """Every contract with a book, and when that book was received."""
        for slots in self._slots.values():
            for slot in slots:
                if slot.received_at is not None:
                    yield slot.ref, slot.received_at

    # --- internals ----------------------------------------------------------------------

    def _find(self, ref: ContractRef) -> Slot | None:
        for slot in self._slots.get(ref.contract_id, ()):
            r = slot.ref
            if r.side == ref.side and r.market_id == ref.market_id and r.venue == ref.venue:
                return slot
        return None

    def _slot(self, ref: ContractRef) -> Slot:
        """The slot of ``ref``, created on first use."""
        slot = self._find(ref)
        if slot is None:
            slot = Slot(ref)
            self._slots.setdefault(ref.contract_id, []).append(slot)
        return slot

    def _store_long(self, long: Slot, book: OrderBook) -> Slot | None:
        """One Polymarket US book prices both sides: SHORT asks are 1 − LONG bids.

        Returns the SHORT slot when a mapping buys that side (it then holds fresh asks)."""
        long.long_bids = book.bids
        ref = long.ref
        slot = self._find(ContractRef(ref.venue, ref.market_id, ref.contract_id, OutcomeSide.SHORT))
        if slot is None or not slot.directions:
            return None  # nobody buys the short side: derive it when a mapping needs it
        slot.store(complement_levels(book.bids), book.received_at)
        return slot

    def _derive_short(self, ref: ContractRef) -> None:
        """A new mapping buying a SHORT side whose LONG book is already known."""
        if ref.venue is not Venue.POLYMARKET_US or ref.side is not OutcomeSide.SHORT:
            return
        long = self._find(ContractRef(ref.venue, ref.market_id, ref.contract_id, OutcomeSide.LONG))
        slot = self._slot(ref)
        if long is not None and long.long_bids is not None and slot.asks is None:
            slot.store(complement_levels(long.long_bids), long.received_at)

    def _blocked(
        self, pair: Pair, markets: tuple[tuple[Venue, str], ...], now: datetime
    ) -> CloseReason | None:
        start = pair.expires_at
        if start is not None and now >= start:
            return CloseReason.GAME_STARTED
        closed = self._closed_markets
        if closed and (markets[0] in closed or markets[1] in closed):
            return CloseReason.MARKET_CLOSED
        return None

    def _evaluate(self, d: DirectionState, now: datetime) -> None:
        self.evaluations += 1
        pair = d.pair
        start = pair.expires_at
        if (start is not None and now >= start) or self._closed_markets:
            state = self._pairs.get(pair.mapping_id)
            blocked = None if state is None else self._blocked(pair, state.markets, now)
            if state is not None and blocked is not None:
                # A stopped game or market closes both directions of the pair at once.
                for x in state.directions:
                    x.seen_kalshi = x.seen_poly = None
                    self._close(x, blocked, now)
                return
        ks, ps = d.kalshi, d.poly
        k_asks, p_asks = ks.asks, ps.asks
        seen_k, seen_p = d.seen_kalshi, d.seen_poly
        if k_asks is seen_k and p_asks is seen_p:
            return  # the very same ladders (or still no book): the outcome cannot differ
        prev = d.open
        if prev is not None and k_asks == seen_k and p_asks == seen_p:
            # Equal ladders re-sent: the open quote stands (walking would cost far more).
            d.seen_kalshi, d.seen_poly = k_asks, p_asks
            return
        d.seen_kalshi, d.seen_poly = k_asks, p_asks
        if k_asks is None or p_asks is None:
            self._close(d, CloseReason.EDGE_GONE, now)
            return
        # The top pair's marginal cost, from what each slot computed when its book came:
        # most updates end here, before either ladder is read.
        kt, room = ks.top, ps.room
        if kt is None or room is None or kt >= room:  # kt + pt >= 1
            opp = None
        else:
            opp = opportunity_after_top(pair, d.legs, k_asks, p_asks, now, prev)
        if opp is None:
            if prev is not None:
                self._close(d, CloseReason.EDGE_GONE, now)
            return
        if opp is prev:
            return  # the same quote: the open opportunity stands
        if self.legging is not None:
            opp = self.legging(opp, k_asks, p_asks)
        d.open = self._open[d.id] = opp
        self._publish(_event(_OPENED if prev is None else _UPDATED, opp, now))

    def _close(self, d: DirectionState, reason: CloseReason, now: datetime | None) -> None:
        prev = d.open
        if prev is None:
            return
        d.open = None
        del self._open[d.id]
        self._publish(_event(_CLOSED, prev, now or prev.updated_at, reason))
