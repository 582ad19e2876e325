"""In-memory fake venues served through ``httpx.MockTransport``.

Each fake speaks its venue's paths and payload shapes (fixtures in ``fixtures/``), keeps
one market's ask ladder for the contract side under test, matches FOK/IOC/GTC orders
against it (consuming liquidity), and can be scripted with faults: a timeout after
which the order *was* placed, a timeout after which it was not, 429s, auth failures.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from worker.venues.polymarket.signing import UnsignedOrder, order_hash

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["payload"]


@dataclass
class FakeOrder:
    order_id: str
    client_order_id: str | None
    price: Decimal  # in the bought side's terms
    size: Decimal
    filled: Decimal
    tif: str
    status: str


@dataclass
class FakeVenue:
    """Venue-neutral state; subclasses translate HTTP in and out."""

    asks: list[list[Decimal]] = field(default_factory=list)  # [[price, size]] best first
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)  # consumed one per order POST / read
    read_faults: list[int] = field(default_factory=list)  # status codes for the next reads
    requests: list[httpx.Request] = field(default_factory=list)
    balance: Decimal = Decimal("100")  # cash the account may spend, in dollars

    def match(self, price: Decimal, size: Decimal, tif: str) -> Decimal:
        available = sum((s for p, s in self.asks if p <= price), Decimal(0))
        if tif == "fok" and available < size:
            return Decimal(0)
        want = size
        for level in self.asks:
            if want == 0 or level[0] > price:
                break
            take = min(want, level[1])
            level[1] -= take
            want -= take
        self.asks = [lvl for lvl in self.asks if lvl[1] > 0]
        return size - want

    def execute(self, client_id: str | None, price: Decimal, size: Decimal, tif: str) -> FakeOrder:
        filled = self.match(price, size, tif)
        status = "executed" if filled == size else ("resting" if tif == "gtc" else "canceled")
        o = FakeOrder(str(uuid.uuid4()), client_id, price, size, filled, tif, status)
        self.orders[o.order_id] = o
        return o

    def by_client_id(self, client_id: str) -> FakeOrder | None:
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


class FakeKalshi(FakeVenue):
    """Kalshi Trade API v2: YES book as bids only; V2 orders on the YES book."""

    ticker = "KXNBAGAME-26JAN11HOUSAC-HOU"

    def is_order_path(self, path: str) -> bool:
        return path.endswith("/portfolio/events/orders")

    def _record(self, o: FakeOrder) -> dict[str, Any]:
        return {
            "order_id": o.order_id,
            "client_order_id": o.client_order_id,
            "ticker": self.ticker,
            "side": "yes",
            "action": "buy",
            "status": o.status,
            "yes_price_dollars": f"{o.price:.4f}",
            "no_price_dollars": f"{1 - o.price:.4f}",
            "fill_count_fp": f"{o.filled:.2f}",
            "remaining_count_fp": f"{o.size - o.filled:.2f}" if o.status == "resting" else "0.00",
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
                    "order_id": o.order_id,
                    "client_order_id": o.client_order_id,
                    "fill_count": f"{o.filled:.2f}",
                    "remaining_count": f"{o.size - o.filled:.2f}" if tif == "gtc" else "0.00",
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


class FakePolymarket(FakeVenue):
    """Polymarket Gamma + CLOB: token books, signed order POST with order hash as id."""

    token = "71321045679252212594626385532706912750332728571942532289631379312455583992563"

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
            o = self.execute(None, price, size, tif)
            # The venue's order id is the EIP-712 hash of the signed order.
            del self.orders[o.order_id]
            o.order_id = order_hash(
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
            self.orders[o.order_id] = o
            return httpx.Response(
                200,
                json={
                    "success": True,
                    "errorMsg": "",
                    "orderID": o.order_id,
                    "status": "matched" if o.filled else ("live" if tif == "gtc" else "unmatched"),
                    "makingAmount": str(o.filled * price),
                    "takingAmount": str(o.filled),
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
                    if o.filled == o.size
                    else ("LIVE" if o.tif == "gtc" else "CANCELED"),
                    "asset_id": self.token,
                    "market": "0xabc1",
                    "side": "BUY",
                    "original_size": str(o.size),
                    "size_matched": str(o.filled),
                    "price": str(o.price),
                    "order_type": o.tif.upper(),
                },
            )
        if path == "/balance-allowance":
            # Integer micro-USDC (6 decimals).
            micro = int(self.balance * 10**6)
            return httpx.Response(200, json={"balance": str(micro), "allowance": "0"})
        return httpx.Response(404, json={"error": "no route"})


class FakePolymarketUs(FakeVenue):
    """Polymarket US gateway + API: one long book per market, intent-based orders."""

    slug = "aec-nba-nyk-bos-2026-10-08"

    def is_order_path(self, path: str) -> bool:
        return path == "/v1/orders"

    def _record(self, o: FakeOrder) -> dict[str, Any]:
        return {
            "id": o.order_id,
            "marketSlug": self.slug,
            "intent": "ORDER_INTENT_BUY_LONG",
            "price": {"value": str(o.price), "currency": "USD"},
            "quantity": int(o.size),
            "cumQuantity": int(o.filled),
            "leavesQuantity": int(o.size - o.filled),
            "state": "ORDER_STATE_FILLED"
            if o.filled == o.size
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
                        "id": "ex-" + o.order_id,
                        "lastShares": str(o.filled),
                        "lastPx": {"value": str(o.price), "currency": "USD"},
                        "type": "EXECUTION_TYPE_FILL",
                    }
                ]
                if o.filled
                else []
            )
            return httpx.Response(200, json={"id": o.order_id, "executions": execs})
        if path == "/v1/orders/open":
            return httpx.Response(
                200,
                json={
                    "orders": [
                        self._record(o) for o in self.orders.values() if o.status == "resting"
                    ]
                },
            )
        if path == "/v1/portfolio/activities":
            acts = [
                {
                    "type": "ACTIVITY_TYPE_TRADE",
                    "trade": {"orderId": o.order_id, "marketSlug": self.slug},
                }
                for o in self.orders.values()
                if o.filled
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
