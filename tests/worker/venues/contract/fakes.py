"""The venues' HTTP APIs over the in-memory venue, served through ``httpx.MockTransport``.

Each fake speaks its venue's paths and payload shapes (fixtures in ``fixtures/``) and
translates them to and from :class:`tests.support.fake_venue.FakeVenue`, the one
in-memory venue of the unit tests: it holds the contract's book and the orders, and
matches FOK/IOC/GTC orders against the asks (consuming liquidity). What happens on the
wire is scripted here: a timeout after which the order *was* placed, a timeout after
which it was not, HTTP statuses (429s, auth failures) for order posts and for reads.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx

from tests.support.fake_venue import FakeVenue
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import (
    Order,
    OrderAction,
    OrderIntent,
    OrderState,
    PreparedOrder,
    TimeInForce,
)
from worker.venues.polymarket.signing import UnsignedOrder, order_hash

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["payload"]


def status(o: Order) -> str:
    """The order's state in the fakes' words: executed, resting or canceled."""
    if o.state is OrderState.FILLED:
        return "executed"
    return "resting" if o.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED) else "canceled"


class WireVenue:
    """One contract of one venue over HTTP; subclasses translate requests and answers."""

    venue_id: ClassVar[Venue]

    def __init__(self, asks: list[list[Decimal]], balance: Decimal = Decimal("100")) -> None:
        self.venue = FakeVenue(self.venue_id, cash=balance)
        self.contract = self.contract_ref()
        self.venue.set_book(self.contract, [], [(str(p), str(s)) for p, s in asks])
        self.faults: list[str] = []  # consumed one per order POST
        self.read_faults: list[int] = []  # status codes for the next reads
        self.requests: list[httpx.Request] = []

    def contract_ref(self) -> ContractRef:
        raise NotImplementedError

    @property
    def asks(self) -> list[list[Decimal]]:
        """The contract's asks as the venue holds them now, ``[[price, size]]`` best first."""
        return [[lvl.price, lvl.size] for lvl in self.venue.books[self.contract][1]]

    @property
    def orders(self) -> dict[str, Order]:
        return self.venue.orders

    @property
    def balance(self) -> Decimal:
        """Cash the account may spend, in dollars."""
        return self.venue.cash

    @balance.setter
    def balance(self, amount: Decimal) -> None:
        self.venue.cash = amount

    def execute(self, client_id: str | None, price: Decimal, size: Decimal, tif: str, order_id: str | None = None) -> Order:
        """A buy of the contract at worst ``price``, matched by the in-memory venue."""
        intent = OrderIntent(self.contract, OrderAction.BUY, price, size, TimeInForce(tif), client_id or "no-client-id")
        order = self.venue.match(PreparedOrder(intent=intent, venue_order_id=order_id, body={}))
        if client_id is None:  # a venue without client order ids
            order = self.venue.orders[str(order.venue_order_id)] = replace(order, client_order_id=None)
        return order

    def by_client_id(self, client_id: str) -> Order | None:
        return next((o for o in self.orders.values() if o.client_order_id == client_id), None)

    def transport(self) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            is_order_post = request.method == "POST" and self.is_order_path(request.url.path)
            if not is_order_post and self.read_faults:
                return httpx.Response(self.read_faults.pop(0), json={"error": "scripted"})
            if is_order_post and self.faults:
                fault = self.faults.pop(0)
                if fault == "timeout_filled":
                    self.handle(request)  # the venue did take the order...
                    raise httpx.ReadTimeout("scripted", request=request)  # ...we never hear
                if fault == "timeout_unfilled":
                    raise httpx.ReadTimeout("scripted", request=request)
                if fault.isdigit():
                    return httpx.Response(int(fault), json={"error": "scripted failure"})
            return self.handle(request)

        return httpx.MockTransport(handler)

    def is_order_path(self, path: str) -> bool:
        raise NotImplementedError

    def handle(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError


D = Decimal


class FakeKalshi(WireVenue):
    """Kalshi Trade API v2: YES book as bids only; V2 orders on the YES book."""

    venue_id = Venue.KALSHI
    ticker = "KXNBAGAME-26JAN11HOUSAC-HOU"

    def contract_ref(self) -> ContractRef:
        return ContractRef(Venue.KALSHI, self.ticker, self.ticker, OutcomeSide.YES)

    def is_order_path(self, path: str) -> bool:
        return path.endswith("/portfolio/events/orders")

    def _record(self, o: Order) -> dict[str, Any]:
        return {
            "order_id": o.venue_order_id,
            "client_order_id": o.client_order_id,
            "ticker": self.ticker,
            "side": "yes",
            "action": "buy",
            "status": status(o),
            "yes_price_dollars": f"{o.price:.4f}",
            "no_price_dollars": f"{1 - o.price:.4f}",
            "fill_count_fp": f"{o.filled_size:.2f}",
            "remaining_count_fp": f"{o.size - o.filled_size:.2f}" if status(o) == "resting" else "0.00",
            "initial_count_fp": f"{o.size:.2f}",
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/events"):
            return httpx.Response(200, json=fixture("kalshi_events.json"))
        if path.endswith("/orderbook"):
            return httpx.Response(200, json=fixture("kalshi_orderbook.json"))
        if self.is_order_path(path):
            body = json.loads(request.content)
            if self.by_client_id(body["client_order_id"]):
                return httpx.Response(
                    409,
                    json={
                        "error": {
                            "code": "order_already_exists",
                            "message": "duplicate client_order_id",
                        }
                    },
                )
            assert body["side"] == "bid", "contract tests buy YES"
            tif = {
                "fill_or_kill": "fok",
                "immediate_or_cancel": "ioc",
                "good_till_canceled": "gtc",
            }[body["time_in_force"]]
            o = self.execute(body["client_order_id"], D(body["price"]), D(body["count"]), tif)
            return httpx.Response(
                201,
                json={
                    "order_id": o.venue_order_id,
                    "client_order_id": o.client_order_id,
                    "fill_count": f"{o.filled_size:.2f}",
                    "remaining_count": f"{o.size - o.filled_size:.2f}" if tif == "gtc" else "0.00",
                    "average_fill_price": f"{o.price:.4f}",
                    "average_fee_paid": "0.0000",
                    "ts_ms": 1768180000000,
                },
            )
        if path.endswith("/portfolio/orders") and request.method == "GET":
            return httpx.Response(
                200, json={"orders": [self._record(o) for o in self.orders.values()], "cursor": ""}
            )
        if "/portfolio/orders/" in path:
            oid = path.rsplit("/", 1)[-1]
            if oid not in self.orders:
                return httpx.Response(404, json={"error": "not_found"})
            return httpx.Response(200, json={"order": self._record(self.orders[oid])})
        if path.endswith("/portfolio/balance"):
            # Kalshi's balance is integer cents.
            return httpx.Response(200, json={"balance": int(self.balance * 100)})
        return httpx.Response(404, json={"error": "no route"})


class FakePolymarket(WireVenue):
    """Polymarket Gamma + CLOB: token books, signed order POST with order hash as id."""

    venue_id = Venue.POLYMARKET
    token = "71321045679252212594626385532706912750332728571942532289631379312455583992563"

    def contract_ref(self) -> ContractRef:
        return ContractRef(Venue.POLYMARKET, "555001", self.token, OutcomeSide.TOKEN)

    def is_order_path(self, path: str) -> bool:
        return path == "/order"

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/events":
            return httpx.Response(200, json=fixture("gamma_events.json"))
        if path == "/book":
            return httpx.Response(200, json=fixture("clob_book.json"))
        if path == "/order" and request.method == "POST":
            body = json.loads(request.content)
            order = body["order"]
            assert request.headers["POLY_API_KEY"] and request.headers["POLY_SIGNATURE"]
            maker, taker = D(order["makerAmount"]), D(order["takerAmount"])
            price, size = maker / taker, taker / D(10**6)
            tif = {"FOK": "fok", "FAK": "ioc", "GTC": "gtc"}[body["orderType"]]
            if size < 5:  # the fixture book's min_order_size
                return httpx.Response(
                    400, json={"error": "Size (4) lower than the minimum: 5"}
                )
            depth = sum((s for p, s in self.asks if p <= price), Decimal(0))
            if tif == "fok" and depth < size:
                return httpx.Response(
                    400,
                    json={
                        "error": "order couldn't be fully filled. FOK orders are fully filled or killed."
                    },
                )
            # The venue's order id is the EIP-712 hash of the signed order.
            order_id = order_hash(
                UnsignedOrder(
                    salt=int(order["salt"]),
                    maker=order["maker"],
                    signer=order["signer"],
                    token_id=order["tokenId"],
                    maker_amount=int(order["makerAmount"]),
                    taker_amount=int(order["takerAmount"]),
                    side=order["side"],
                    timestamp_ms=int(order["timestamp"]),
                    signature_type=order["signatureType"],
                )
            )
            o = self.execute(None, price, size, tif, order_id)
            return httpx.Response(
                200,
                json={
                    "success": True,
                    "errorMsg": "",
                    "orderID": o.venue_order_id,
                    "status": "matched" if o.filled_size else ("live" if tif == "gtc" else "unmatched"),
                    "makingAmount": str(o.filled_size * price),
                    "takingAmount": str(o.filled_size),
                },
            )
        if path.startswith("/data/order/"):
            oid = path.rsplit("/", 1)[-1]
            o = self.orders.get(oid)
            if o is None:
                return httpx.Response(200, json=None)
            return httpx.Response(
                200,
                json={
                    "id": oid,
                    "status": "MATCHED"
                    if o.filled_size == o.size
                    else ("LIVE" if o.tif == "gtc" else "CANCELED"),
                    "asset_id": self.token,
                    "market": "0xabc1",
                    "side": "BUY",
                    "original_size": str(o.size),
                    "size_matched": str(o.filled_size),
                    "price": str(o.price),
                    "order_type": o.tif.upper(),
                },
            )
        if path == "/balance-allowance":
            # Integer micro-USDC (6 decimals).
            micro = int(self.balance * 10**6)
            return httpx.Response(200, json={"balance": str(micro), "allowance": "0"})
        return httpx.Response(404, json={"error": "no route"})


class FakePolymarketUs(WireVenue):
    """Polymarket US gateway + API: one long book per market, intent-based orders."""

    venue_id = Venue.POLYMARKET_US
    slug = "aec-nba-nyk-bos-2026-10-08"

    def contract_ref(self) -> ContractRef:
        return ContractRef(Venue.POLYMARKET_US, self.slug, self.slug, OutcomeSide.LONG)

    def is_order_path(self, path: str) -> bool:
        return path == "/v1/orders"

    def _record(self, o: Order) -> dict[str, Any]:
        return {
            "id": o.venue_order_id,
            "marketSlug": self.slug,
            "intent": "ORDER_INTENT_BUY_LONG",
            "price": {"value": str(o.price), "currency": "USD"},
            "quantity": int(o.size),
            "cumQuantity": int(o.filled_size),
            "leavesQuantity": int(o.size - o.filled_size),
            "state": "ORDER_STATE_FILLED"
            if o.filled_size == o.size
            else ("ORDER_STATE_NEW" if o.tif == "gtc" else "ORDER_STATE_CANCELED"),
            "tif": {
                "fok": "TIME_IN_FORCE_FILL_OR_KILL",
                "ioc": "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL",
                "gtc": "TIME_IN_FORCE_GOOD_TILL_CANCEL",
            }[o.tif],
            "avgPx": {"value": str(o.price), "currency": "USD"},
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/events":
            return httpx.Response(200, json=fixture("pmus_events.json"))
        if path.endswith("/book"):
            return httpx.Response(200, json=fixture("pmus_book.json"))
        if path == "/v1/orders" and request.method == "POST":
            assert request.headers["X-PM-Signature"]
            body = json.loads(request.content)
            assert body["intent"] == "ORDER_INTENT_BUY_LONG"
            tif = {
                "TIME_IN_FORCE_FILL_OR_KILL": "fok",
                "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL": "ioc",
                "TIME_IN_FORCE_GOOD_TILL_CANCEL": "gtc",
            }[body["tif"]]
            o = self.execute(None, D(body["price"]["value"]), D(body["quantity"]), tif)
            execs = (
                [
                    {
                        "id": f"ex-{o.venue_order_id}",
                        "lastShares": str(o.filled_size),
                        "lastPx": {"value": str(o.price), "currency": "USD"},
                        "type": "EXECUTION_TYPE_FILL",
                    }
                ]
                if o.filled_size
                else []
            )
            return httpx.Response(200, json={"id": o.venue_order_id, "executions": execs})
        if path == "/v1/orders/open":
            return httpx.Response(
                200,
                json={
                    "orders": [
                        self._record(o) for o in self.orders.values() if status(o) == "resting"
                    ]
                },
            )
        if path == "/v1/portfolio/activities":
            acts = [
                {
                    "type": "ACTIVITY_TYPE_TRADE",
                    "trade": {"orderId": o.venue_order_id, "marketSlug": self.slug},
                }
                for o in self.orders.values()
                if o.filled_size
            ]
            return httpx.Response(200, json={"activities": acts})
        if path.startswith("/v1/order/"):
            oid = path.split("/")[3]
            if oid not in self.orders:
                return httpx.Response(404, json={"message": "order not found"})
            return httpx.Response(200, json={"order": self._record(self.orders[oid])})
        if path == "/v1/account/balances":
            return httpx.Response(
                200,
                json={
                    "balances": [
                        {
                            "currentBalance": f"{self.balance + 20:.2f}",
                            "buyingPower": f"{self.balance:.2f}",
                            "currency": "USD",
                        }
                    ]
                },
            )
        return httpx.Response(404, json={"message": "no route"})
