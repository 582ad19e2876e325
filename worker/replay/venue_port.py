"""One venue of the replay exchange, as the engine sees a venue: the venue port.

Orders are converted exactly as the paper exchange's own routes convert each venue's wire
order (and as our clients build it from the domain's intent):

* Kalshi: one YES book. Buying YES at ``p`` is a YES bid at ``p``; buying NO at ``q`` is a
  YES ask (a sale of YES) at ``1 − q``; a NO sale is a YES purchase at ``1 − q``.
* Polymarket: an order names its token at the token's own price; the exchange trades the
  outcome-1 token against the market's book mirrored.
* Polymarket US: the price is always the long side's; BUY_SHORT at ``q`` is a sale of the
  long side at ``1 − q``, SELL_SHORT a purchase.

What comes back is in the contract's own terms again (a NO bought at 0.40 reports 0.40).
The contract side and action of each order are kept on the paper order (``extra``), so every
look-up answers from the paper store alone. Order ids are the exchange's, made up front
from a counter (a Polymarket order's id, its hash on the venue, is known before sending, as
there), so a replay's ids do not depend on chance.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from paper_exchange.matching import PaperRejection, PlaceRequest
from paper_exchange.store import FillRow, OrderRow
from worker.domain.books import OrderBook
from worker.domain.errors import InsufficientBalance, OrderNotFound, OrderRejected
from worker.domain.markets import ContractRef, League, Market, MarketResolution, OutcomeSide, Venue
from worker.domain.money import ONE, ZERO
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

if TYPE_CHECKING:
    from worker.replay.venue import ReplayExchange

_TIF = {TimeInForce.FOK: "FOK", TimeInForce.IOC: "IOC", TimeInForce.GTC: "GTC"}


class ReplayVenue:
    """The :class:`~worker.domain.ports.VenuePort` of one venue on a replay exchange."""

    def __init__(self, exchange: ReplayExchange, venue: Venue) -> None:
        self.exchange = exchange
        self._venue = venue
        self._name = venue.value
        self._ids = itertools.count(1)
        #: Order ids prepared up front, by client order id (Polymarket: the order hash).
        self._prepared: dict[str, str] = {}

    @property
    def venue(self) -> Venue:
        return self._venue

    # -- market data ----------------------------------------------------------------------
    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        """The markets of the venue's latest listing snapshot (of these leagues)."""
        wanted = set(leagues) if leagues else None
        return [m for m in self.exchange.listing(self._venue) if wanted is None or m.league in wanted]

    async def get_book(self, contract: ContractRef) -> OrderBook:
        """The latest recorded book, less the depth our orders took (not yet refilled)."""
        return self.exchange.book(contract)

    def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        return self.exchange.stream(self._venue, contracts)

    # -- orders ---------------------------------------------------------------------------
    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        c = intent.contract
        if c.venue is not self._venue:
            raise ValueError(f"not a {self._name} contract: {c}")
        order_id = None
        if self._venue is Venue.POLYMARKET:
            order_id = self._prepared.setdefault(intent.client_order_id, self._new_id())
        return PreparedOrder(intent, order_id, {})

    async def send_order(self, prepared: PreparedOrder) -> Order:
        """Wait the venue's latency on the replay clock, then place on the exchange at the
        clock's time (against the book as recorded then)."""
        intent = prepared.intent
        if intent.contract.venue is not self._venue:
            raise ValueError(f"not a {self._name} contract: {intent.contract}")
        await self.exchange.clock.sleep(self.exchange.latency(self._venue))
        route = self.exchange.route(intent.contract)
        if route is None:
            raise OrderRejected(self._name, f"no market {intent.contract} in the recording", "unknown_instrument")
        buy = intent.action is OrderAction.BUY
        req = PlaceRequest(
            venue=self._name,
            instrument_id=route.instrument_id,
            side="buy" if buy != route.flip else "sell",
            price=ONE - intent.price if route.flip else intent.price,
            quantity=intent.size,
            tif=_TIF[intent.tif],
            client_order_id=intent.client_order_id,
            order_id=prepared.venue_order_id or self._new_id(),
            extra={
                "market_id": intent.contract.market_id,
                "contract_id": intent.contract.contract_id,
                "contract_side": intent.contract.side.value,
                "action": intent.action.value,
                "price": str(intent.price),
                "flip": route.flip,
            },
        )
        self.exchange.sync(route.key)
        try:
            result = self.exchange.paper.place(req)
        except PaperRejection as exc:
            if exc.code == "duplicate_client_order_id" and self._venue is Venue.KALSHI:
                # Kalshi's idempotent retry: the order with that client id is the answer.
                found = await self.find_order(intent)
                if found is not None:
                    return found
            kind = InsufficientBalance if exc.code == "insufficient_balance" else OrderRejected
            raise kind(self._name, exc.message, exc.code) from None
        return self._order(result.order, result.fills)

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.send_order(await self.prepare_order(intent))

    async def get_order(self, venue_order_id: str) -> Order:
        return self._order(self._row(venue_order_id))

    async def find_order(self, intent: OrderIntent) -> Order | None:
        """By our client order id, else by the id prepared for the intent."""
        row = self.exchange.store.order_by_client_id(self._name, intent.client_order_id)
        prepared = self._prepared.get(intent.client_order_id)
        if row is None and prepared is not None:
            row = self.exchange.store.get_order(self._name, prepared)
        return None if row is None else self._order(row)

    async def cancel_order(self, venue_order_id: str) -> Order:
        row = self.exchange.paper.cancel(self._name, venue_order_id)
        if row is None:
            raise OrderNotFound(self._name, f"no order {venue_order_id}")
        return self._order(row)

    # -- portfolio ------------------------------------------------------------------------
    async def balance(self) -> Balance:
        return Balance(self._venue, self.exchange.store.balance(self._name))

    async def positions(self) -> list[Position]:
        out: list[Position] = []
        for p in self.exchange.store.positions(self._name):
            if p.quantity == 0:
                continue
            held = self.exchange.holdings.get((self._venue, p.instrument_id))
            if held is None:
                continue
            market_id, long_side, short_side = held
            side = long_side if p.quantity > 0 else short_side
            size = abs(p.quantity)
            # The position's net cash paid is what the held side cost (a short: 1 − p each).
            avg = p.cost / size if p.cost > 0 else None
            out.append(Position(self._venue, ContractRef(self._venue, market_id, p.instrument_id, side), size, avg))
        return out

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        rows = self.exchange.store.fills(self._name)
        orders: dict[str, OrderRow] = {}
        out: list[Fill] = []
        for f in rows:
            if since is not None and f.created < since:
                continue
            row = orders.get(f.order_id) or self.exchange.store.get_order(self._name, f.order_id)
            if row is None:
                continue
            orders[f.order_id] = row
            out.append(self._fill(row, f))
        return out

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        """The order's fills with the fee each was charged (they add up to the order's)."""
        row = self._row(venue_order_id)
        return [
            self._fill(row, f)
            for f in self.exchange.store.fills(self._name, order_id=venue_order_id)
            if since is None or f.created >= since
        ]

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Polymarket: resolved tokens not yet redeemed (token → quantity); the other
        venues pay cash at settlement (None)."""
        if self._venue is not Venue.POLYMARKET:
            return None
        return {r["instrument_id"]: Decimal(r["quantity"]) for r in self.exchange.store.unredeemed(self._name)}

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        """None unless the replay settled the market (:meth:`ReplayExchange.resolve_market`):
        a recording holds no results."""
        return self.exchange.resolution(contract)

    def resolved_nothing(self) -> bool:
        """True while the replay has settled no market (the settlement pass then need not
        read every position to find none)."""
        return not self.exchange.resolved_any()

    async def aclose(self) -> None:
        """Nothing to close: the exchange owns the store."""

    # -- conversions ----------------------------------------------------------------------
    def _new_id(self) -> str:
        digest = hashlib.sha256(f"replay:{self._name}:{next(self._ids)}".encode()).hexdigest()
        return "0x" + digest if self._venue is Venue.POLYMARKET else str(uuid.UUID(digest[:32]))

    def _row(self, venue_order_id: str) -> OrderRow:
        row = self.exchange.store.get_order(self._name, venue_order_id)
        if row is None:
            raise OrderNotFound(self._name, f"no order {venue_order_id}")
        return row

    def _contract(self, row: OrderRow) -> tuple[ContractRef, OrderAction, bool]:
        x = row.extra
        ref = ContractRef(self._venue, str(x["market_id"]), str(x["contract_id"]), OutcomeSide(str(x["contract_side"])))
        return ref, OrderAction(str(x["action"])), bool(x["flip"])

    def _fill(self, row: OrderRow, f: FillRow) -> Fill:
        ref, action, flip = self._contract(row)
        return Fill(
            venue=self._venue,
            fill_id=f.fill_id,
            venue_order_id=f.order_id,
            contract=ref,
            action=action,
            price=ONE - f.price if flip else f.price,
            size=f.quantity,
            fee=f.fee,
            ts=f.created,
            is_taker=f.is_taker,
            client_order_id=row.client_order_id,
        )

    def _order(self, row: OrderRow, fills: Sequence[FillRow] | None = None) -> Order:
        ref, action, _ = self._contract(row)
        rows = list(fills) if fills is not None else self.exchange.store.fills(self._name, order_id=row.order_id)
        domain_fills = tuple(self._fill(row, f) for f in rows)
        if row.status == "filled":
            state = OrderState.FILLED
        elif row.status == "canceled":
            state = OrderState.CANCELED
        else:
            state = OrderState.PARTIALLY_FILLED if row.filled > 0 else OrderState.OPEN
        avg = None
        if row.filled > 0:
            cost = sum((f.price * f.size for f in domain_fills), ZERO)
            avg = cost / row.filled
        return Order(
            venue=self._venue,
            venue_order_id=row.order_id,
            client_order_id=row.client_order_id,
            contract=ref,
            action=action,
            price=Decimal(str(row.extra["price"])),
            size=row.quantity,
            tif={"FOK": TimeInForce.FOK, "IOC": TimeInForce.IOC}.get(row.tif, TimeInForce.GTC),
            state=state,
            filled_size=row.filled,
            avg_fill_price=avg,
            fee_paid=row.fees,
            updated_at=row.updated,
            fills=domain_fills,
        )
