"""Polymarket US live client implementing the venue port.

Environment (read by :meth:`PolymarketUsClient.from_env`):

* ``POLYMARKET_US_GATEWAY_URL`` — public gateway, default ``https://gateway.polymarket.us``.
* ``POLYMARKET_US_API_URL`` — authenticated API, default ``https://api.polymarket.us``.
* ``POLYMARKET_US_WS_URL`` — market WebSocket, default ``wss://api.polymarket.us/v1/ws/markets``.
* ``POLYMARKET_US_KEY_ID``, ``POLYMARKET_US_SECRET_KEY`` — Ed25519 API key.

Orders: ``POST /v1/orders`` with an intent (BUY_LONG/BUY_SHORT/…). **No idempotency
key**: sent once; a timeout raises OrderUnknown and :meth:`find_order` searches the
market's orders for one matching the intent. Prices are sent and read in the *long*
side's terms whatever the intent: buying SHORT at ``q`` is sent as price ``1 − q``, and
order ``price``/``avgPx``, execution ``lastPx`` and trade ``price`` come back as long
prices. Source: docs.polymarket.us, Retail API, Orders overview, "Understanding Price
with Order Intent": "Only the long side (YES) is directly tradable ... The price.value
field always represents the long side's price, regardless of which order intent you use."
(The SDK's ``CreateOrderParams`` only types ``price`` as an ``Amount``.)
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.books import OrderBook
from worker.domain.discovery import ListingRefusal
from worker.domain.errors import AuthFailed, OrderNotFound
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
    apportion_fee,
)
from worker.domain.ports import BookUpdate
from worker.rate_limit import TokenBucket
from worker.venues.common.env import require
from worker.venues.common.http import Backoff, VenueHttp
from worker.venues.common.parsing import MarketRefused, dec, obj, text, ts
from worker.venues.common.refusals import RefusalLog
from worker.venues.polymarket_us.parse import money, parse_book, parse_events
from worker.venues.polymarket_us.signing import PolymarketUsSigner, load_secret

DEFAULT_GATEWAY_URL = "https://gateway.polymarket.us"
DEFAULT_API_URL = "https://api.polymarket.us"
# The SDK's MarketsWebSocket connects to the API host's ``/v1/ws/markets``.
DEFAULT_WS_URL = "wss://api.polymarket.us/v1/ws/markets"

_TIF = {
    TimeInForce.GTC: "TIME_IN_FORCE_GOOD_TILL_CANCEL",
    TimeInForce.IOC: "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "TIME_IN_FORCE_FILL_OR_KILL",
}
_TIF_BACK = {v: k for k, v in _TIF.items()}
_INTENT = {
    (OrderAction.BUY, OutcomeSide.LONG): "ORDER_INTENT_BUY_LONG",
    (OrderAction.BUY, OutcomeSide.SHORT): "ORDER_INTENT_BUY_SHORT",
    (OrderAction.SELL, OutcomeSide.LONG): "ORDER_INTENT_SELL_LONG",
    (OrderAction.SELL, OutcomeSide.SHORT): "ORDER_INTENT_SELL_SHORT",
}
_INTENT_BACK = {v: k for k, v in _INTENT.items()}
#: How far the venue's clock may run behind ours when matching an order by creation time.
CLOCK_SKEW = timedelta(seconds=5)


class PolymarketUsClient:
    """Polymarket US REST client; ``signer`` may be None for public market data."""

    def __init__(
        self,
        gateway_url: str = DEFAULT_GATEWAY_URL,
        api_url: str = DEFAULT_API_URL,
        *,
        ws_url: str = DEFAULT_WS_URL,
        signer: PolymarketUsSigner | None = None,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.ws_url = ws_url
        self.signer = signer
        self._own_http = http is None
        self.http = VenueHttp(
            Venue.POLYMARKET_US,
            http or httpx.AsyncClient(timeout=httpx.Timeout(5.0)),
            read_limit=TokenBucket(20, clock=clock),
            write_limit=TokenBucket(10, clock=clock),
            backoff=backoff,
            clock=clock,
            rng=rng,
        )
        self.clock = clock
        self.refusals = RefusalLog(Venue.POLYMARKET_US, logging.getLogger(__name__))
        # When each intent was prepared (by client id): an order created before it cannot
        # be the one a timed-out send placed.
        self._prepared_at: dict[str, datetime] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> PolymarketUsClient:
        c = require(env, Venue.POLYMARKET_US, ["POLYMARKET_US_KEY_ID", "POLYMARKET_US_SECRET_KEY"])
        signer = PolymarketUsSigner(
            c["POLYMARKET_US_KEY_ID"], load_secret(c["POLYMARKET_US_SECRET_KEY"]),
            clock=kwargs.get("clock", SYSTEM_CLOCK),
        )
        return cls(
            env.get("POLYMARKET_US_GATEWAY_URL") or DEFAULT_GATEWAY_URL,
            env.get("POLYMARKET_US_API_URL") or DEFAULT_API_URL,
            ws_url=env.get("POLYMARKET_US_WS_URL") or DEFAULT_WS_URL,
            signer=signer,
            **kwargs,
        )

    @property
    def venue(self) -> Venue:
        return Venue.POLYMARKET_US

    def _auth(self, method: str, path: str, body: str) -> Mapping[str, str]:
        if self.signer is None:
            raise AuthFailed(Venue.POLYMARKET_US, "no credentials configured")
        return self.signer.headers(method, path, body)

    async def _api(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        write: bool = False,
        idempotent: bool | None = None,
        ids: tuple[str | None, str | None] = (None, None),
    ) -> Any:
        return await self.http.request(
            method,
            self.api_url + path,
            params=params,
            json_body=body,
            signer=self._auth,
            sign_path=path,
            write=write,
            idempotent=idempotent,
            ids=ids,
        )

    # -- market data ------------------------------------------------------------------
    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        out: list[Market] = []
        refused: list[MarketRefused] = []
        offset = 0
        while True:
            page = await self.http.request(
                "GET",
                self.gateway_url + "/v1/events",
                params={"limit": 100, "offset": offset, "active": "true", "closed": "false"},
            )
            markets = parse_events(page, refused)
            out.extend(m for m in markets if not leagues or m.league in leagues)
            events = obj(page, "events").get("events") or []
            if len(events) < 100:
                break
            offset += len(events)
        self.refusals.record(refused)
        return out

    def listing_refusals(self) -> Sequence[ListingRefusal]:
        """The markets the last :meth:`list_markets` left out, and why."""
        return self.refusals.last()

    async def get_book(self, contract: ContractRef) -> OrderBook:
        payload = await self.http.request(
            "GET", self.gateway_url + f"/v1/markets/{contract.contract_id}/book"
        )
        long_book, short_book = parse_book(obj(payload, "book"), self.clock.now())
        return short_book if contract.side is OutcomeSide.SHORT else long_book

    async def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        """Full books from the market WebSocket (see :mod:`worker.venues.polymarket_us.ws`)."""
        from worker.venues.polymarket_us.ws import stream_books

        async for update in stream_books(self, contracts):
            yield update

    # -- orders -----------------------------------------------------------------------
    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        c = intent.contract
        if c.venue is not Venue.POLYMARKET_US or c.side not in (
            OutcomeSide.LONG,
            OutcomeSide.SHORT,
        ):
            raise ValueError(f"not a Polymarket US contract: {c}")
        long_price = intent.price if c.side is OutcomeSide.LONG else ONE - intent.price
        if intent.size != intent.size.to_integral_value():
            raise ValueError("Polymarket US quantities are whole contracts")
        body: dict[str, object] = {
            "marketSlug": c.contract_id,
            "intent": _INTENT[(intent.action, c.side)],
            "type": "ORDER_TYPE_LIMIT",
            "price": {"value": f"{long_price:.4f}", "currency": "USD"},
            "quantity": int(intent.size),
            "tif": _TIF[intent.tif],
        }
        self._prepared_at.setdefault(intent.client_order_id, self.clock.now())
        return PreparedOrder(intent, None, body)

    async def send_order(self, prepared: PreparedOrder) -> Order:
        intent = prepared.intent
        p = obj(
            await self._api(
                "POST",
                "/v1/orders",
                body=prepared.body,
                write=True,
                idempotent=False,
                ids=(intent.client_order_id, None),
            ),
            "create order response",
        )
        filled = ZERO
        notional = ZERO
        for ex in p.get("executions") or []:
            qty = dec(ex.get("lastShares"), ZERO) or ZERO
            px = money(ex.get("lastPx"))
            if qty > 0 and px is not None:
                filled += qty
                notional += qty * px
        avg_long = notional / filled if filled > 0 else None
        avg = None
        if avg_long is not None:
            avg = avg_long if intent.contract.side is OutcomeSide.LONG else ONE - avg_long
        if filled >= intent.size:
            state = OrderState.FILLED
        elif intent.tif in (TimeInForce.IOC, TimeInForce.FOK):
            state = OrderState.CANCELED
        else:
            state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
        return Order(
            venue=Venue.POLYMARKET_US,
            venue_order_id=text(p.get("id")) or None,
            client_order_id=intent.client_order_id,
            contract=intent.contract,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            tif=intent.tif,
            state=state,
            filled_size=filled,
            avg_fill_price=avg,
            updated_at=self.clock.now(),
        )

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.send_order(await self.prepare_order(intent))

    def _order_from_record(self, o: Mapping[str, Any]) -> Order:
        slug = text(o.get("marketSlug"))
        action, side = _INTENT_BACK.get(text(o.get("intent")), (OrderAction.BUY, OutcomeSide.LONG))
        long_price = money(o.get("price")) or ZERO
        price = long_price if side is OutcomeSide.LONG else ONE - long_price
        qty = dec(o.get("quantity"), ZERO) or ZERO
        cum = dec(o.get("cumQuantity"), ZERO) or ZERO
        state_raw = text(o.get("state")).upper()
        if cum >= qty > 0:
            state = OrderState.FILLED
        elif "CANCEL" in state_raw or "EXPIRED" in state_raw:
            state = OrderState.CANCELED
        elif "REJECT" in state_raw:
            state = OrderState.REJECTED
        else:
            state = OrderState.PARTIALLY_FILLED if cum > 0 else OrderState.OPEN
        avg_long = money(o.get("avgPx"))
        avg = None
        if avg_long is not None and cum > 0:
            avg = avg_long if side is OutcomeSide.LONG else ONE - avg_long
        return Order(
            venue=Venue.POLYMARKET_US,
            venue_order_id=text(o.get("id")) or None,
            client_order_id=None,
            contract=ContractRef(Venue.POLYMARKET_US, slug, slug, side),
            action=action,
            price=price,
            size=qty,
            tif=_TIF_BACK.get(text(o.get("tif")), TimeInForce.GTC),
            state=state,
            filled_size=cum,
            avg_fill_price=avg,
            fee_paid=money(o.get("commissionNotionalTotalCollected")) or ZERO,
            updated_at=ts(o.get("insertTime") or o.get("createTime")),
        )

    async def get_order(self, venue_order_id: str) -> Order:
        p = obj(await self._api("GET", f"/v1/order/{venue_order_id}"), "order")
        order = p.get("order")
        if not isinstance(order, Mapping):
            raise OrderNotFound(Venue.POLYMARKET_US, "no such order")
        return self._order_from_record(order)

    async def find_order(
        self, intent: OrderIntent, not_before: datetime | None = None
    ) -> Order | None:
        """No client id on this venue: match market, intent, (long) price and quantity,
        among orders created no earlier than ``not_before`` (default: when this process
        prepared the intent, less :data:`CLOCK_SKEW` for the venue's clock).

        Searches open orders and then the orders behind the market's fills (a filled
        FOK/IOC order is no longer open). Ambiguous when two identical orders were sent
        inside that window — the caller must not have two such in flight.
        """
        prepared = await self.prepare_order(intent)
        body = prepared.body
        want_price = dec(body["price"]["value"])  # type: ignore[index]
        since = not_before or self._prepared_at.get(intent.client_order_id)
        if since is not None:
            since -= CLOCK_SKEW

        def matches(o: Mapping[str, Any]) -> bool:
            created = ts(o.get("createTime") or o.get("insertTime"))
            return (
                text(o.get("intent")) == body["intent"]
                and money(o.get("price")) == want_price
                and dec(o.get("quantity")) == intent.size
                and (since is None or created is None or created >= since)
            )

        p = obj(
            await self._api(
                "GET", "/v1/orders/open", params={"slugs": intent.contract.contract_id}
            ),
            "open orders",
        )
        for o in p.get("orders") or []:
            if matches(o):
                return self._order_from_record(o)
        acts = obj(
            await self._api(
                "GET",
                "/v1/portfolio/activities",
                params={"marketSlug": intent.contract.contract_id},
            ),
            "activities",
        )
        seen: set[str] = set()
        for a in acts.get("activities") or []:
            trade = a.get("trade") if isinstance(a.get("trade"), Mapping) else a
            order_id = text(trade.get("orderId"))
            if not order_id or order_id in seen:
                continue
            seen.add(order_id)
            record = obj(await self._api("GET", f"/v1/order/{order_id}"), "order").get("order")
            if isinstance(record, Mapping) and matches(record):
                return self._order_from_record(record)
        return None

    async def cancel_order(self, venue_order_id: str) -> Order:
        current = await self.get_order(venue_order_id)
        await self._api(
            "POST",
            f"/v1/order/{venue_order_id}/cancel",
            body={"marketSlug": current.contract.contract_id},
            write=True,
            idempotent=True,
            ids=(None, venue_order_id),
        )
        return await self.get_order(venue_order_id)

    # -- portfolio --------------------------------------------------------------------
    async def balance(self) -> Balance:
        p = obj(await self._api("GET", "/v1/account/balances"), "balances")
        rows = p.get("balances") or [p]
        row = rows[0] if rows else {}
        available = (
            dec(row.get("buyingPower"), None) or dec(row.get("currentBalance"), ZERO) or ZERO
        )
        return Balance(Venue.POLYMARKET_US, available, dec(row.get("currentBalance")))

    async def positions(self) -> list[Position]:
        p = obj(await self._api("GET", "/v1/portfolio/positions"), "positions")
        raw = p.get("positions") or {}
        items = (
            raw.items()
            if isinstance(raw, Mapping)
            else ((text(r.get("marketSlug")), r) for r in raw)
        )
        out: list[Position] = []
        for slug, pos in items:
            net = dec(pos.get("netPosition") or pos.get("quantity"), ZERO) or ZERO
            if net == 0:
                continue
            side = OutcomeSide.LONG if net > 0 else OutcomeSide.SHORT
            out.append(
                Position(
                    Venue.POLYMARKET_US,
                    ContractRef(Venue.POLYMARKET_US, slug, slug, side),
                    abs(net),
                )
            )
        return out

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        p = obj(await self._api("GET", "/v1/portfolio/activities"), "activities")
        out: list[Fill] = []
        for a in p.get("activities") or []:
            t = a.get("trade") if isinstance(a.get("trade"), Mapping) else None
            if t is None:
                continue
            when = ts(t.get("createTime") or t.get("transactTime")) or self.clock.now()
            if since is not None and when < since:
                continue
            slug = text(t.get("marketSlug"))
            action, side = _INTENT_BACK.get(
                text(t.get("intent")), (OrderAction.BUY, OutcomeSide.LONG)
            )
            px = money(t.get("price")) or ZERO
            out.append(
                Fill(
                    venue=Venue.POLYMARKET_US,
                    fill_id=text(t.get("tradeId") or t.get("id")),
                    venue_order_id=text(t.get("orderId")),
                    contract=ContractRef(Venue.POLYMARKET_US, slug, slug, side),
                    action=action,
                    price=px if side is OutcomeSide.LONG else ONE - px,
                    size=dec(t.get("qtyDecimal") or t.get("qty"), ZERO) or ZERO,
                    fee=money(t.get("commission")) or ZERO,
                    ts=when,
                )
            )
        return out

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        """The order's executions (portfolio activities of type trade), their commissions
        made to add up to the order's ``commissionNotionalTotalCollected``."""
        order = await self.get_order(venue_order_id)
        fills = sorted(
            (f for f in await self.fills(since) if f.venue_order_id == venue_order_id),
            key=lambda f: (f.ts, f.fill_id),
        )
        return apportion_fee(fills, order.fee_paid)

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Nothing to redeem: a settled market pays cash into the account."""
        return None

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        """``GET /v1/markets/{slug}/settlement``: the LONG side's settlement price (the
        SHORT side pays the rest); not found while the market has not settled."""
        slug = contract.market_id or contract.contract_id
        try:
            s = obj(await self.http.request("GET", self.gateway_url + f"/v1/markets/{slug}/settlement"), "settlement")
        except OrderNotFound:
            return None
        price = money(s.get("settlement") if s.get("settlement") is not None else s.get("settlementPrice"))
        if price is None:
            return None
        long_ref = ContractRef(Venue.POLYMARKET_US, slug, contract.contract_id, OutcomeSide.LONG)
        short_ref = ContractRef(Venue.POLYMARKET_US, slug, contract.contract_id, OutcomeSide.SHORT)
        when = ts(s.get("settledAt")) or self.clock.now()
        return MarketResolution(Venue.POLYMARKET_US, slug, {long_ref: price, short_ref: ONE - price}, when)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.client.aclose()
