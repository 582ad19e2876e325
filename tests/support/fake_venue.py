"""The in-memory venue of the unit tests: the venue port, with scripted faults.

It is a small exchange, not a mock: books with levels that orders consume, FOK / IOC /
GTC semantics, fees from the project's fee module, orders findable by id and client id,
balances and positions that move with fills. Faults are scripted per order
(``script``) so a test says exactly which order misbehaves and how. The engine tests use
it as the venue port; the contract suite's HTTP fakes (``tests/worker/venues/contract/
fakes.py``) serve it in each venue's API. The paper exchange is the other simulator, for
tests that need real HTTP and a whole world of games.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.api import schemas
from worker.domain.books import OrderBook, PriceLevel
from worker.domain.errors import OrderNotFound, OrderRejected, OrderUnknown, VenueUnavailable
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import (
    Confidence,
    CurvePoint,
    Direction,
    Leg,
    MappingStatus,
    Opportunity,
    RulesCheck,
)
from worker.domain.markets import ContractRef, League, Market, MarketResolution, OutcomeSide, Venue
from worker.domain.orders import (
    Balance,
    Fill,
    Order,
    OrderAction,
    OrderIntent,
    OrderState,
    Position,
    PreparedOrder,
    TimeInForce,
)
from worker.domain.ports import BookUpdate
from worker.engine.executor.risk import Candidate

D = Decimal
ZERO = D(0)
_ids = itertools.count(1)


@dataclass
class Fault:
    """What happens to one order: ``reject``, ``timeout_filled``, ``timeout_unfilled``,
    ``partial`` (fills ``ratio`` of it), ``slip`` (fills ``ticks`` worse), ``gate`` (waits
    for ``event`` before matching)."""

    kind: str
    ratio: Decimal = D("0.5")
    ticks: int = 1
    event: asyncio.Event | None = None
    reached: asyncio.Event = field(default_factory=asyncio.Event)  # set when the gated order arrives


@dataclass
class FakeVenue:
    venue: Venue
    cash: Decimal = D(1000)
    fees: FeeSchedule = field(default_factory=FeeSchedule.kalshi)
    books: dict[ContractRef, tuple[list[PriceLevel], list[PriceLevel]]] = field(default_factory=dict)
    script: list[Fault | None] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    fill_log: list[Fill] = field(default_factory=list)
    held: dict[ContractRef, Decimal] = field(default_factory=dict)
    resolved: list[MarketResolution] = field(default_factory=list)
    sends: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    down: bool = False
    sells_fail: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    records_without_price: bool = False  # look-ups answer like an order record: no average price
    pays_on_redemption: bool = False  # resolved holdings pay only when redeemed (Polymarket)
    lookups: int = 0  # order look-ups answered or refused (get_order, find_order)
    lookups_down: bool = False  # look-ups fail as if the venue could not be reached; orders still go
    fills_lag: int = 0  # order_fills answers nothing this many more times (a venue behind)
    answer_fee_error: Decimal = Decimal(0)  # what an order answer's fee is off by
    to_redeem: dict[str, Decimal] = field(default_factory=dict)

    # -- test helpers ------------------------------------------------------------------
    def set_book(self, ref: ContractRef, bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> None:
        self.books[ref] = (
            [PriceLevel(D(p), D(s)) for p, s in bids],
            [PriceLevel(D(p), D(s)) for p, s in asks],
        )

    def client_ids(self) -> list[str]:
        return [o.client_order_id or "" for o in self.orders.values()]

    # -- the port ----------------------------------------------------------------------
    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        return []

    async def get_book(self, contract: ContractRef) -> OrderBook:
        if self.down:
            raise VenueUnavailable(self.venue.value, "down")
        bids, asks = self.books.get(contract, ([], []))
        return OrderBook.build(contract, bids, asks, datetime.now(UTC))

    def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        raise NotImplementedError("engine tests feed opportunities directly")

    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        vid = f"0x{next(_ids):08x}" if self.venue is Venue.POLYMARKET else None
        return PreparedOrder(intent=intent, venue_order_id=vid, body={})

    async def send_order(self, prepared: PreparedOrder) -> Order:
        intent = prepared.intent
        self.sends += 1
        if any(o.client_order_id == intent.client_order_id for o in self.orders.values()):
            raise OrderRejected(self.venue.value, "duplicate client_order_id", "duplicate")
        fault = self.script.pop(0) if self.script else None
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.arrived.set()
        try:
            if fault is not None and fault.kind == "gate" and fault.event is not None:
                fault.reached.set()
                await fault.event.wait()
            else:
                await asyncio.sleep(0)
            if self.down:
                raise OrderUnknown(self.venue.value, "connection lost", intent.client_order_id)
            if fault is not None and fault.kind == "reject":
                raise OrderRejected(self.venue.value, "injected reject", "injected")
            if fault is not None and fault.kind == "timeout_unfilled":
                raise OrderUnknown(self.venue.value, "timed out", intent.client_order_id, prepared.venue_order_id)
            order = self.match(prepared, fault)
            if fault is not None and fault.kind == "timeout_filled":
                raise OrderUnknown(self.venue.value, "timed out", intent.client_order_id, prepared.venue_order_id)
            return order
        finally:
            self.in_flight -= 1

    def match(self, prepared: PreparedOrder, fault: Fault | None = None) -> Order:
        """Match an order against the book now: FOK all or nothing, IOC what it can, GTC
        what it can with the rest resting (it never joins the book)."""
        intent = prepared.intent
        if intent.action is OrderAction.SELL and self.sells_fail:
            raise OrderRejected(self.venue.value, "market halted", "halted")
        bids, asks = self.books.setdefault(intent.contract, ([], []))
        levels = asks if intent.action is OrderAction.BUY else bids
        slip = D("0.01") * (fault.ticks if fault is not None and fault.kind == "slip" else 0)
        want = intent.size
        if fault is not None and fault.kind == "partial":
            want = (intent.size * fault.ratio).to_integral_value()
        fills: list[tuple[Decimal, Decimal]] = []
        left = want
        for lvl in levels:
            if left <= 0:
                break
            price = lvl.price + slip if intent.action is OrderAction.BUY else lvl.price - slip
            ok = price <= intent.price if intent.action is OrderAction.BUY else price >= intent.price
            if not ok:
                break
            q = min(lvl.size, left)
            fills.append((price, q))
            left -= q
        filled = sum((q for _, q in fills), ZERO)
        if intent.tif is TimeInForce.FOK and filled < intent.size:
            fills, filled = [], ZERO
        vid = prepared.venue_order_id or f"{self.venue.value}-{next(_ids)}"
        # consume liquidity
        remaining = filled
        for lvl in list(levels):
            if remaining <= 0:
                break
            q = min(lvl.size, remaining)
            levels[levels.index(lvl)] = PriceLevel(lvl.price, lvl.size - q)
            remaining -= q
        levels[:] = [lvl for lvl in levels if lvl.size > 0]
        notional = sum((p * q for p, q in fills), ZERO)
        fee = self.fees.taker_fee(filled, notional / filled) if filled > 0 else ZERO
        now = datetime.now(UTC)
        fill_objs = tuple(
            Fill(self.venue, f"f{next(_ids)}", vid, intent.contract, intent.action, p, q,
                 fee if i == 0 else ZERO, now, True, intent.client_order_id)
            for i, (p, q) in enumerate(fills)
        )
        self.fill_log.extend(fill_objs)
        sign = 1 if intent.action is OrderAction.BUY else -1
        self.cash -= sign * notional + fee
        self.held[intent.contract] = self.held.get(intent.contract, ZERO) + sign * filled
        state = OrderState.FILLED if filled == intent.size else OrderState.CANCELED
        if filled == 0 and intent.tif is TimeInForce.FOK:
            state = OrderState.CANCELED
        if intent.tif is TimeInForce.GTC and filled < intent.size:
            state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
        order = Order(
            venue=self.venue, venue_order_id=vid, client_order_id=intent.client_order_id,
            contract=intent.contract, action=intent.action, price=intent.price, size=intent.size,
            tif=intent.tif, state=state, filled_size=filled,
            avg_fill_price=notional / filled if filled > 0 else None,
            fee_paid=fee + (self.answer_fee_error if filled > 0 else ZERO),
            updated_at=now, fills=fill_objs,
        )
        self.orders[vid] = order
        return order

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.send_order(await self.prepare_order(intent))

    async def get_order(self, venue_order_id: str) -> Order:
        self.lookups += 1
        if self.down or self.lookups_down:
            raise VenueUnavailable(self.venue.value, "down")
        try:
            return self._record(self.orders[venue_order_id])
        except KeyError:
            raise OrderNotFound(self.venue.value, venue_order_id) from None

    def _record(self, order: Order) -> Order:
        if not self.records_without_price:
            return order
        return replace(order, avg_fill_price=None, fee_paid=ZERO, fills=())

    async def find_order(self, intent: OrderIntent) -> Order | None:
        self.lookups += 1
        if self.down or self.lookups_down:
            raise VenueUnavailable(self.venue.value, "down")
        for o in self.orders.values():
            if o.client_order_id == intent.client_order_id:
                return self._record(o)
        return None

    async def cancel_order(self, venue_order_id: str) -> Order:
        return self.orders[venue_order_id]

    async def balance(self) -> Balance:
        if self.down:
            raise VenueUnavailable(self.venue.value, "down")
        return Balance(self.venue, self.cash)

    async def positions(self) -> list[Position]:
        return [Position(self.venue, ref, q) for ref, q in self.held.items() if q]

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        if self.down:
            raise VenueUnavailable(self.venue.value, "down")
        return list(self.fill_log)

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        if self.down:
            raise VenueUnavailable(self.venue.value, "down")
        if self.fills_lag > 0:
            self.fills_lag -= 1
            return []
        return [f for f in self.fill_log if f.venue_order_id == venue_order_id]

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Like Polymarket when ``pays_on_redemption``: what is resolved but not redeemed."""
        if not self.pays_on_redemption:
            return None
        return dict(self.to_redeem)

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        if self.down:
            raise VenueUnavailable(self.venue.value, "down")
        for res in self.resolved:
            if any(ref.contract_id == contract.contract_id for ref in res.payouts):
                return res
        return None

    async def aclose(self) -> None:
        return None


# --- opportunities ------------------------------------------------------------------------

KALSHI_FEES = FeeSchedule.kalshi()
POLY_FEES = FeeSchedule.polymarket(D("0.03"))  # a sports feeSchedule, 2026


def kalshi_ref(game: str, team: str = "HOU", side: OutcomeSide = OutcomeSide.YES) -> ContractRef:
    ticker = f"KXNBAGAME-{game}-{team}"
    return ContractRef(Venue.KALSHI, ticker, ticker, side)


def poly_ref(game: str, outcome: str = "Kings") -> ContractRef:
    token = f"tok-{game}-{outcome}"
    return ContractRef(Venue.POLYMARKET, f"cond-{game}", token, OutcomeSide.TOKEN)


def make_curve(k_price: Decimal, p_price: Decimal, sizes: Sequence[int]) -> tuple[CurvePoint, ...]:
    out = []
    for n in sizes:
        size = D(n)
        cost = (k_price + p_price) * size + KALSHI_FEES.taker_fee(size, k_price) + POLY_FEES.taker_fee(size, p_price)
        edge = size - cost
        out.append(CurvePoint(size, cost, edge, (edge / cost * 100).quantize(D("0.0001"))))
    return tuple(out)


def make_candidate(
    game: str = "26JAN11HOUSAC",
    *,
    k_price: str = "0.45",
    p_price: str = "0.50",
    sizes: Sequence[int] = (5, 10, 20),
    now: datetime | None = None,
    confidence: Confidence = Confidence.HIGH,
    status: MappingStatus = MappingStatus.CANDIDATE,
    start_in: timedelta = timedelta(hours=5),
    book_age: timedelta = timedelta(0),
    kalshi_first: bool = False,
) -> Candidate:
    now = now or datetime.now(UTC)
    kp, pp = D(k_price), D(p_price)
    curve = make_curve(kp, pp, sizes)
    top = curve[-1]
    kref, pref = kalshi_ref(game), poly_ref(game)
    opp = Opportunity(
        id=f"opp_{game}_kalshi_yes",
        mapping_id=f"map_{game}",
        direction=Direction.KALSHI_YES,
        league="nba",
        event_title=f"Houston at Sacramento ({game})",
        game_date=date(2026, 1, 11),
        confidence=confidence,
        kalshi_leg=Leg(kref, f"YES {kref.contract_id}", kp, kp, top.size, ZERO),
        poly_leg=Leg(pref, "Kings", pp, pp, top.size, ZERO),
        size=top.size,
        cost=top.cost,
        edge=top.edge,
        roi_pct=top.roi_pct,
        roi_per_day_pct=top.roi_pct,
        curve=curve,
        volume=D(1000),
        expires_at=now + start_in,
        expected_resolution=now + start_in + timedelta(hours=3),
        rules=RulesCheck("", ""),
        updated_at=now - book_age,
    )
    return Candidate(
        opportunity=opp,
        game_key=f"KXNBAGAME-{game}",
        confidence=confidence,
        mapping_status=status,
        start_time=now + start_in,
        # Thinner leg first: a shallower Kalshi book puts Kalshi first.
        depth={kref: D(1), pref: D(2)} if kalshi_first else {},
    )


def stock_books(kalshi: FakeVenue, poly: FakeVenue, game: str, *, k_price: str = "0.45",
                p_price: str = "0.50", depth: str = "100") -> None:
    """Deep asks at the candidate's prices and bids a cent under, on both venues."""
    kp, pp = D(k_price), D(p_price)
    kalshi.set_book(kalshi_ref(game), [(str(kp - D("0.01")), depth)], [(k_price, depth)])
    poly.set_book(poly_ref(game), [(str(pp - D("0.01")), depth)], [(p_price, depth)])


def bus_message(event: Any, data: Mapping[str, Any] | None = None) -> tuple[str, Mapping[str, Any]]:
    """What a test's stand-in for the bus's ``publish`` records: (type, data). A typed
    engine event is recorded as the wire writes it; a (type, data) pair as given."""
    if data is not None:
        return event, data
    message = schemas.event_message(event)
    return message["type"], message["data"]
