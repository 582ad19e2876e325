"""The incremental scanner: books in, opportunity lifecycle events out.

Each tradable mapping becomes a :class:`~worker.engine.scanner.detect.Pair`; an index
from contract to pairs makes a book update re-evaluate only the pairs that use that
book. Every (mapping, direction) has a stable opportunity id and a lifecycle:

* OPENED when a positive edge appears,
* UPDATED when its price or size changes (an unchanged quote publishes nothing),
* CLOSED when the edge is gone, a market closes, the game starts, or the mapping is
  rejected.

Events go to ``publish`` (the worker's event bus). Concurrency: the scanner runs on the
worker's single asyncio loop and holds no awaits between reading a book and publishing,
so an update is evaluated against a consistent set of books. Time is injected (``now``)
so the lifecycle is testable without sleeping.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from worker.domain.books import OrderBook
from worker.domain.mapping import (
    CloseReason,
    Direction,
    MappingStatus,
    MarketMapping,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import ContractRef, Market, MarketStatus, OutcomeSide, Venue
from worker.engine.scanner.detect import Pair, build_pair, evaluate_direction

Publish = Callable[[OpportunityEvent], None]


class Scanner:
    """Keeps books and open opportunities for every tradable mapping.

    A rejected mapping is never added (and is closed if it was); the scanner applies no
    operator setting beyond that: ROI bands and bet sizes are the executor's business.
    """

    def __init__(self, publish: Publish) -> None:
        self._publish = publish
        self._pairs: dict[str, Pair] = {}
        self._by_contract: dict[ContractRef, list[Pair]] = defaultdict(list)
        self._books: dict[ContractRef, OrderBook] = {}
        self._open: dict[str, Opportunity] = {}
        self._closed_markets: set[tuple[Venue, str]] = set()
        self.evaluations = 0

    # --- set-up -----------------------------------------------------------------------

    def add_mapping(self, mapping: MarketMapping, kalshi: Market, poly: Market) -> None:
        """Track a mapping (ignored if the operator rejected it)."""
        if mapping.status is MappingStatus.REJECTED:
            return
        if mapping.id in self._pairs:
            self.remove_mapping(mapping.id, CloseReason.MAPPING_REJECTED, None)
        pair = build_pair(mapping, kalshi, poly)
        self._pairs[mapping.id] = pair
        for c in pair.contracts:
            self._by_contract[c].append(pair)

    def add_mappings(self, items: Iterable[tuple[MarketMapping, Market, Market]]) -> None:
        for mapping, kalshi, poly in items:
            self.add_mapping(mapping, kalshi, poly)

    def remove_mapping(self, mapping_id: str, reason: CloseReason, now: datetime | None) -> None:
        pair = self._pairs.pop(mapping_id, None)
        if pair is None:
            return
        for c in pair.contracts:
            lst = self._by_contract.get(c)
            if lst is not None:
                lst[:] = [p for p in lst if p.mapping_id != mapping_id]
        for d in pair.directions:
            self._close(pair, d.direction, reason, now or pair.kalshi.start_time)

    def decide(self, mapping_id: str, status: MappingStatus, now: datetime) -> None:
        """Apply an operator decision: a rejection closes and forgets the pair."""
        if status is MappingStatus.REJECTED:
            self.remove_mapping(mapping_id, CloseReason.MAPPING_REJECTED, now)

    # --- inputs -------------------------------------------------------------------------

    def on_book(self, book: OrderBook, now: datetime) -> None:
        """A fresh book for one contract: re-evaluate only the pairs using it."""
        self._books[book.contract] = book
        touched = list(self._by_contract.get(book.contract, ()))
        ref = book.contract
        if ref.venue is Venue.POLYMARKET_US and ref.side is OutcomeSide.LONG:
            # One Polymarket US book prices both sides: SHORT asks are 1 − LONG bids.
            short = ContractRef(ref.venue, ref.market_id, ref.contract_id, OutcomeSide.SHORT)
            self._books[short] = book.complement(short)
            touched.extend(p for p in self._by_contract.get(short, ()) if p not in touched)
        for pair in touched:
            self._evaluate(pair, now)

    def on_books(self, books: Iterable[OrderBook], now: datetime) -> None:
        """Several books of one venue message (e.g. Kalshi YES and NO) at once."""
        touched: list[Pair] = []
        for book in books:
            self._books[book.contract] = book
            for p in self._by_contract.get(book.contract, ()):
                if p not in touched:
                    touched.append(p)
        for pair in touched:
            self._evaluate(pair, now)

    def on_market_status(
        self, venue: Venue, market_id: str, status: MarketStatus, now: datetime
    ) -> None:
        """A market stopped (or resumed) trading: close or re-evaluate its pairs."""
        key = (venue, market_id)
        if status.tradable:
            self._closed_markets.discard(key)
        else:
            self._closed_markets.add(key)
        for pair in list(self._pairs.values()):
            if (pair.kalshi.venue, pair.kalshi.market_id) == key or (
                pair.poly.venue,
                pair.poly.market_id,
            ) == key:
                self._evaluate(pair, now)

    def on_clock(self, now: datetime) -> None:
        """Close the opportunities of games that have started."""
        for opp in list(self._open.values()):
            if opp.expires_at is not None and now >= opp.expires_at:
                pair = self._pairs.get(opp.mapping_id)
                if pair is not None:
                    self._close(pair, opp.direction, CloseReason.GAME_STARTED, now)

    # --- state --------------------------------------------------------------------------

    @property
    def open_opportunities(self) -> list[Opportunity]:
        return list(self._open.values())

    @property
    def pair_count(self) -> int:
        return len(self._pairs)

    # --- internals ----------------------------------------------------------------------

    def _blocked(self, pair: Pair, now: datetime) -> CloseReason | None:
        start = pair.mapping.start_time or pair.kalshi.start_time or pair.poly.start_time
        if start is not None and now >= start:
            return CloseReason.GAME_STARTED
        if (pair.kalshi.venue, pair.kalshi.market_id) in self._closed_markets or (
            pair.poly.venue,
            pair.poly.market_id,
        ) in self._closed_markets:
            return CloseReason.MARKET_CLOSED
        return None

    def _evaluate(self, pair: Pair, now: datetime) -> None:
        self.evaluations += 1
        blocked = self._blocked(pair, now)
        for legs in pair.directions:
            if blocked is not None:
                self._close(pair, legs.direction, blocked, now)
                continue
            opp = evaluate_direction(pair, legs, self._books, now)
            if opp is None:
                self._close(pair, legs.direction, CloseReason.EDGE_GONE, now)
                continue
            prev = self._open.get(opp.id)
            if prev is None:
                self._open[opp.id] = opp
                self._publish(OpportunityEvent(OpportunityEventKind.OPENED, opp, now))
            elif not prev.same_quote(opp):
                self._open[opp.id] = opp
                self._publish(OpportunityEvent(OpportunityEventKind.UPDATED, opp, now))

    def _close(
        self, pair: Pair, direction: Direction, reason: CloseReason, now: datetime | None
    ) -> None:

        oid = pair.opportunity_ids[direction]
        prev = self._open.pop(oid, None)
        if prev is not None:
            at = now or prev.updated_at
            self._publish(OpportunityEvent(OpportunityEventKind.CLOSED, prev, at, reason))
