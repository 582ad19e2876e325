"""The replay's venues: the paper exchange's matching engine over the recorded books.

:class:`ReplayExchange` holds one :class:`~paper_exchange.matching.PaperExchange` over one
:class:`~paper_exchange.recorded.RecordedWorld` and an in-memory paper store. The replay
driver feeds it the recording in receive-time order (:meth:`ReplayExchange.apply`): each
listing snapshot opens the venue's markets on the exchange (and closes those that left the
listing or are no longer open), each book update becomes its market's book there and goes
to the book streams subscribed to its contract. The engine trades through
:meth:`ReplayExchange.port`, one :class:`~worker.domain.ports.VenuePort` per venue
(:mod:`worker.replay.venue_port`): an order sent at t waits the venue's latency on the
replay clock and then fills against the book as recorded at t + latency, never the book the
decision saw — a taker walk through the levels, the depth it takes gone for ``refill_s``,
FOK/IOC as on the venues, each venue's fees as the paper exchange charges them.

Each market is kept on the exchange as the paper exchange keeps its own: one book in the
price of its YES-like side (a Kalshi market's YES, a Polymarket market's outcome-0 token, a
Polymarket US market's long side). A recorded book of the other side (a Kalshi NO book, the
outcome-1 token's book, a Polymarket US SHORT book) is mirrored onto it (a bid at ``p`` is a
YES-like ask at ``1 − p``).

:meth:`ReplayExchange.ledger` is the exchange's own account of each venue (cash, positions,
orders, fills, fees), an oracle independent of the engine's books.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from paper_exchange.matching import PaperExchange
from paper_exchange.recorded import RecordedWorld
from paper_exchange.store import Store
from paper_exchange.world_port import Levels
from worker.clock import Clock
from worker.domain.books import OrderBook, PriceLevel
from worker.domain.errors import VenueUnavailable
from worker.domain.markets import ContractRef, Market, MarketResolution, OutcomeSide, Venue
from worker.domain.money import ONE, ZERO
from worker.domain.ports import BookUpdate
from worker.replay.recording import ListingSnapshot, RecordedBook, RecordedEvent
from worker.replay.venue_port import ReplayVenue

log = logging.getLogger(__name__)

#: A contract side as streams and orders name it (the market id is left out: Polymarket
#: books name the condition, listings the Gamma market).
ContractKey = tuple[Venue, str, OutcomeSide]


def contract_key(ref: ContractRef) -> ContractKey:
    return (ref.venue, ref.contract_id, ref.side)


@dataclass(frozen=True, slots=True)
class Route:
    """How one contract side trades on the paper exchange.

    ``flip``: the contract is the other side of the instrument (a Kalshi NO, a Polymarket
    US SHORT): buying it at ``q`` is selling the instrument at ``1 − q``. ``mirrored``: the
    contract's book is the market's YES-like book mirrored (a Kalshi NO, the outcome-1
    token, a Polymarket US SHORT); it is also what the contract pays (``1 − v``) when the
    YES-like side pays ``v``."""

    venue: Venue
    market_id: str
    key: str
    instrument_id: str
    flip: bool
    mirrored: bool


class ReplayExchange:
    """The replay's exchange and its venue ports (see the module's docstring).

    ``latency_s`` is each venue's one-way order latency in replayed seconds, ``balances``
    each venue's opening cash; ``store_path`` keeps the paper store in a file (default:
    in memory)."""

    def __init__(
        self,
        clock: Clock,
        latency_s: Mapping[Venue, float],
        balances: Mapping[Venue, Decimal],
        refill_s: float = 15.0,
        store_path: Path | None = None,
    ) -> None:
        self.clock = clock
        self.latency_s = {Venue(v): float(s) for v, s in latency_s.items()}
        for venue, seconds in self.latency_s.items():
            if seconds < 0:
                raise ValueError(f"latency of {venue.value} must not be negative")
        self.opening = {Venue(v): Decimal(a) for v, a in balances.items()}
        self.world = RecordedWorld()
        self.store = Store(store_path or Path(":memory:"))
        self.paper = PaperExchange(
            self.world, self.store, clock, {v.value: a for v, a in self.opening.items()}, refill_s=refill_s
        )
        self.routes: dict[ContractKey, Route] = {}
        #: (venue, instrument id) -> (market id, the side a long holds, the side a short holds)
        self.holdings: dict[tuple[Venue, str], tuple[str, OutcomeSide, OutcomeSide]] = {}
        self._listing: dict[Venue, tuple[Market, ...]] = {}
        self._listed: dict[Venue, set[str]] = {}
        self._latest: dict[ContractKey, OrderBook] = {}
        self._book_at: dict[str, datetime] = {}
        #: Markets whose latest recorded book the matching engine has not been given yet.
        self._unsynced: dict[str, tuple[OrderBook, bool]] = {}
        self._subscribers: list[tuple[frozenset[ContractKey], asyncio.Queue[BookUpdate]]] = []
        #: Where a subscribed contract's book goes instead of its stream's queue, when set:
        #: a replay hands each book straight to the scanner at the replay clock's time
        #: (what the pipeline's stream task does with it), without a queue, a task switch
        #: and the pipeline's own call per book. The streams still open with the latest
        #: books of their contracts.
        self.direct: Callable[[OrderBook, datetime], None] | None = None
        self._resolutions: dict[str, MarketResolution] = {}
        self._ports: dict[Venue, ReplayVenue] = {}
        #: Markets left off the exchange, and why (a shape the paper cannot trade).
        self.unsupported: dict[str, str] = {}
        #: Markets whose listed fee schedule is not what the exchange charges its venue's
        #: markets (the paper has one schedule per venue), with both.
        self.listings_applied = 0
        self.books_applied = 0
        #: Books of contracts no listing snapshot had registered (streamed, not tradable).
        self.books_unlisted = 0
        self._closed = False

    # -- the recording --------------------------------------------------------------------
    def apply(self, event: RecordedEvent) -> None:
        """One recorded event, at the clock's current time (the driver sets it first)."""
        if isinstance(event, ListingSnapshot):
            self._apply_listing(event)
        else:
            self.apply_book(event)

    def _apply_listing(self, snap: ListingSnapshot) -> None:
        self.listings_applied += 1
        seen: set[str] = set()
        for market in snap.markets:
            if market.venue is not snap.venue:
                continue
            key = self._register(market)
            if key is None:
                continue
            seen.add(key)
            if not market.status.tradable:
                self.world.close_market(key)
        for key in self._listed.get(snap.venue, set()) - seen:
            self.world.close_market(key)
        self._listed[snap.venue] = seen
        self._listing[snap.venue] = snap.markets

    def _register(self, m: Market) -> str | None:
        """Open (or reopen) ``m`` on the exchange; its key, or None when it cannot trade
        there (the reason is kept in :attr:`unsupported`)."""
        venue = m.venue
        # (contract id, side, instrument id, flip, mirrored) of each contract side
        sides: list[tuple[str, OutcomeSide, str, bool, bool]]
        if venue is Venue.POLYMARKET:
            tokens = [o for o in m.outcomes if o.side is OutcomeSide.TOKEN]
            if len(tokens) != 2 or tokens[0].contract_id == tokens[1].contract_id:
                self._refuse(m, f"{len(tokens)} tokens, not a pair")
                return None
            key = f"{venue.value}:{m.market_id}"
            instruments = [(o.contract_id, i == 1, o.label) for i, o in enumerate(tokens)]
            sides = [(o.contract_id, OutcomeSide.TOKEN, o.contract_id, False, i == 1) for i, o in enumerate(tokens)]
            holds = [(o.contract_id, OutcomeSide.TOKEN, OutcomeSide.TOKEN) for o in tokens]
        else:
            # One instrument (the ticker, the slug) whose two sides are its YES-like side
            # and the other, traded on the same book.
            yes, no = (OutcomeSide.YES, OutcomeSide.NO) if venue is Venue.KALSHI else (OutcomeSide.LONG, OutcomeSide.SHORT)
            ids = {o.contract_id for o in m.outcomes if o.side in (yes, no)}
            if len(ids) != 1:
                self._refuse(m, f"{len(ids)} contract ids for {yes}/{no}, not one")
                return None
            instrument = ids.pop()
            key = f"{venue.value}:{instrument}"
            label = next((o.label for o in m.outcomes if o.side is yes), instrument)
            instruments = [(instrument, False, label)]
            sides = [(instrument, yes, instrument, False, False), (instrument, no, instrument, True, True)]
            holds = [(instrument, yes, no)]
        try:
            # The market's own taker rate (a series or schedule that differs from the
            # venue's standard one is charged as listed, by the paper's own arithmetic).
            self.world.add_market(
                key, venue.value, m.tick_size, instruments, m.fees.taker_rate,
                m.fees.exponent if venue is Venue.POLYMARKET else None,
            )
        except ValueError as exc:
            self._refuse(m, str(exc))
            return None
        for contract_id, side, instrument_id, flip, mirrored in sides:
            self.routes[(venue, contract_id, side)] = Route(venue, m.market_id, key, instrument_id, flip, mirrored)
        for instrument_id, long_side, short_side in holds:
            self.holdings[(venue, instrument_id)] = (m.market_id, long_side, short_side)
        self.unsupported.pop(f"{venue.value}:{m.market_id}", None)
        return key

    def _refuse(self, m: Market, reason: str) -> None:
        """Leave ``m`` off the exchange, saying why once."""
        name = f"{m.venue.value}:{m.market_id}"
        if name not in self.unsupported:
            log.info("replay: %s is not traded on the replay exchange: %s", name, reason)
        self.unsupported[name] = reason

    def apply_book(self, rec: RecordedBook) -> None:
        """One recorded book (:meth:`apply` without the dispatch: the replay's hot path)."""
        self.books_applied += 1
        book = rec.book
        ck = contract_key(book.contract)
        self._latest[ck] = book
        route = self.routes.get(ck)
        if route is None:
            self.books_unlisted += 1
        else:
            # Handed to the matching engine only when an order or a quote needs it (sync):
            # most recorded books are replaced before anyone trades on them.
            self._unsynced[route.key] = (book, route.mirrored)
            self._book_at[route.key] = book.received_at
        direct = self.direct
        for keys, queue in self._subscribers:
            if ck in keys:
                if direct is not None:
                    direct(book, self.clock.now())
                    return
                queue.put_nowait(BookUpdate(book, rec.snapshot))

    def sync(self, key: str) -> None:
        """Give the matching engine the market's latest recorded book, if it has not got it."""
        pending = self._unsynced.pop(key, None)
        if pending is None:
            return
        book, mirrored = pending
        bids = [(lv.price, lv.size) for lv in book.bids]
        asks = [(lv.price, lv.size) for lv in book.asks]
        if mirrored:
            bids, asks = _mirror(asks), _mirror(bids)
        self.world.set_book(key, bids, asks)

    # -- what the ports read --------------------------------------------------------------
    def port(self, venue: Venue) -> ReplayVenue:
        """The venue port of ``venue`` (one per venue, made on first use)."""
        venue = Venue(venue)
        if venue not in self._ports:
            self._ports[venue] = ReplayVenue(self, venue)
        return self._ports[venue]

    def latency(self, venue: Venue) -> float:
        return self.latency_s.get(venue, 0.0)

    def listing(self, venue: Venue) -> tuple[Market, ...]:
        """The markets of the venue's latest listing snapshot."""
        return self._listing.get(venue, ())

    def route(self, ref: ContractRef) -> Route | None:
        return self.routes.get(contract_key(ref))

    def book(self, ref: ContractRef) -> OrderBook:
        """The contract's book as the exchange quotes it now: the latest recorded book,
        less the depth paper orders took and has not refilled, in the contract's prices."""
        route = self.route(ref)
        if route is None or route.key not in self._book_at:
            raise VenueUnavailable(ref.venue.value, f"no recorded book for {ref}")
        market = self.world.market(route.key)
        assert market is not None
        self.sync(route.key)
        bids, asks = self.paper.book(market)
        if route.mirrored:
            bids, asks = _mirror(asks), _mirror(bids)
        return OrderBook.build(
            ref,
            [PriceLevel(p, s) for p, s in bids],
            [PriceLevel(p, s) for p, s in asks],
            self._book_at[route.key],
        )

    async def stream(self, venue: Venue, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        """The books ``apply`` receives for ``contracts`` (of ``venue``), after a snapshot
        of the latest recorded book of each; ends only when the consumer stops."""
        keys = frozenset(contract_key(c) for c in contracts if c.venue is venue)
        queue: asyncio.Queue[BookUpdate] = asyncio.Queue()
        sub = (keys, queue)
        self._subscribers.append(sub)
        initial = [self._latest[k] for k in dict.fromkeys(contract_key(c) for c in contracts) if k in keys and k in self._latest]
        try:
            for book in initial:
                yield BookUpdate(book, True)
            while True:
                yield await queue.get()
        finally:
            self._subscribers.remove(sub)

    # -- settlement hook ------------------------------------------------------------------
    def resolve_market(self, venue: Venue, market_id: str, yes_value: Decimal) -> MarketResolution:
        """Settle a market at the clock's time: its YES-like side (Kalshi YES, outcome-0
        token, Polymarket US long) pays ``yes_value``, the other side ``1 − yes_value``.
        The exchange pays Kalshi and Polymarket US holdings in cash and leaves Polymarket
        tokens to redeem; the ports' ``resolution`` answers from then on. A replay settles
        nothing unless told (a recording holds no results)."""
        refs = [(ck, r) for ck, r in self.routes.items() if r.venue is venue and r.market_id == market_id]
        if not refs:
            raise KeyError(f"no {venue.value} market {market_id} on the replay exchange")
        key = refs[0][1].key
        market = self.world.market(key)
        assert market is not None
        self.paper.resolve(self.world.game_of(market), yes_value)
        payouts = {
            ContractRef(venue, market_id, ck[1], ck[2]): (ONE - yes_value if r.mirrored else yes_value)
            for ck, r in refs
        }
        resolution = MarketResolution(venue, market_id, payouts, self.clock.now())
        self._resolutions[key] = resolution
        return resolution

    def resolution(self, ref: ContractRef) -> MarketResolution | None:
        route = self.route(ref)
        return None if route is None else self._resolutions.get(route.key)

    def resolved_any(self) -> bool:
        """Whether any market has been settled (:meth:`resolve_market`)."""
        return bool(self._resolutions)

    # -- the exchange's own account ---------------------------------------------------------
    def ledger(self) -> dict[str, dict[str, Any]]:
        """Per venue (by name), the exchange's own figures: opening and current cash,
        positions by instrument (signed: a short is negative), orders by status, fills,
        contracts and notional traded, fees charged, settlement payouts; and the markets
        of its latest listing on the exchange, those left off and those whose listed fee
        schedule the exchange does not charge. Money is exact Decimal."""
        out: dict[str, dict[str, Any]] = {}
        for venue, opening in self.opening.items():
            name = venue.value
            orders = self.store.orders(name)
            fills = self.store.fills(name)
            statuses: dict[str, int] = {}
            for o in orders:
                statuses[o.status] = statuses.get(o.status, 0) + 1
            settled = self.store.settlements(name)
            out[name] = {
                "opening_cash": opening,
                "cash": self.store.balance(name),
                "positions": {p.instrument_id: p.quantity for p in self.store.positions(name) if p.quantity != 0},
                "orders": len(orders),
                "orders_by_status": statuses,
                "fills": len(fills),
                "contracts": sum((f.quantity for f in fills), ZERO),
                # at the instrument's price (a Kalshi NO bought at q: a YES sold at 1 − q)
                "notional": sum((f.quantity * f.price for f in fills), ZERO),
                "fees": sum((f.fee for f in fills), ZERO),
                "payouts": sum((Decimal(s["payout"]) for s in settled), ZERO),
                "redeemable": sum((Decimal(s["payout"]) for s in settled if s.get("redeemed") is None), ZERO),
                "markets": len(self._listed.get(venue, ())),
                "unsupported": {k: v for k, v in self.unsupported.items() if k.startswith(f"{name}:")},
            }
        return out

    def close(self) -> None:
        """Close the paper store (the ports answer nothing after this); again: nothing."""
        if not self._closed:
            self._closed = True
            self.store.close()


def _mirror(levels: Levels) -> Levels:
    """The other side's levels: ``p`` becomes ``1 − p``, same sizes, same order."""
    return [(ONE - p, s) for p, s in levels]
