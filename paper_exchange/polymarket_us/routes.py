"""Polymarket US's routes on the paper exchange (``/polymarket-us/v1/...``, the gateway
and API paths alike): events, markets, books and settlements (public), orders, positions,
activities and balances (signed)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import tornado.web

from paper_exchange import wire
from paper_exchange.credentials import AuthError
from paper_exchange.handlers import PaperHandler, Rule
from paper_exchange.matching import PaperRejection, PlaceRequest
from paper_exchange.polymarket_us import PREFIX
from paper_exchange.polymarket_us import wire as pmus_wire
from paper_exchange.polymarket_us.auth import verify_pmus
from paper_exchange.state import ServerState
from paper_exchange.store import iso
from paper_exchange.world import Game

ONE = Decimal(1)


class PmusBase(PaperHandler):
    venue_prefix = PREFIX

    def error_body(self, status: int, message: str) -> Any:
        return {"code": status, "message": message}

    def authenticate(self) -> None:
        try:
            verify_pmus(self.state.creds, self.request.headers, self.request.method or "GET", self.paths(),
                             clock=self.state.wall)
        except AuthError as exc:
            raise tornado.web.HTTPError(401, str(exc)) from exc

    def pmus_games(self) -> list[Game]:
        return [g for g in self.ex.world.games(self.now()) if "polymarket_us" in g.venues]

    def slug_market(self, slug: str) -> Any:
        inst = self.ex.world.instrument(slug)
        if inst is None or inst.venue != "polymarket_us":
            raise tornado.web.HTTPError(404, "market not found")
        market = self.ex.world.market(inst.market_key)
        assert market is not None
        return market


class PmusEvents(PmusBase):
    async def get(self) -> None:
        await self.latency()
        now = self.now()
        events = [pmus_wire.pmus_event(self.ex, g, now) for g in self.pmus_games()]
        closed = self.get_argument("closed", None)
        if closed is not None:
            events = [e for e in events if e["closed"] == (closed.lower() == "true")]
        offset = self.arg_int("offset", 0)
        limit = self.arg_int("limit", 500, 0, 10_000)
        chunk = events[offset : offset + limit]
        self.send({"events": chunk, "hasMore": offset + limit < len(events)})


class PmusMarkets(PmusBase):
    async def get(self) -> None:
        await self.latency()
        now = self.now()
        out = []
        for g in self.pmus_games():
            out.append(pmus_wire.pmus_market(self.ex, g, False, now))
            out.append(pmus_wire.pmus_market(self.ex, g, True, now))
        for key in ("active", "closed"):
            v = self.get_argument(key, None)
            if v is not None:
                out = [m for m in out if m[key] == (v.lower() == "true")]
        offset = self.arg_int("offset", 0)
        limit = self.arg_int("limit", 500, 0, 10_000)
        self.send({"markets": out[offset : offset + limit], "hasMore": offset + limit < len(out)})


class PmusMarketBySlug(PmusBase):
    async def get(self, slug: str) -> None:
        await self.latency()
        market = self.slug_market(slug)
        g = self.ex.world.game_of(market)
        self.send({"market": pmus_wire.pmus_market(self.ex, g, market.kind == "total", self.now())})


class PmusBook(PmusBase):
    async def get(self, slug: str) -> None:
        await self.latency()
        self.slug_market(slug)
        self.send(pmus_wire.pmus_book(self.ex, slug, self.now()))


class PmusBbo(PmusBase):
    async def get(self, slug: str) -> None:
        await self.latency()
        market = self.slug_market(slug)
        bids, asks = self.ex.book(market, self.now())
        self.send({"marketData": {"marketSlug": slug,
                                  "bestBid": wire.amount(bids[0][0]) if bids else None,
                                  "bestAsk": wire.amount(asks[0][0]) if asks else None,
                                  "bidDepth": wire.fp2(bids[0][1]) if bids else "0",
                                  "askDepth": wire.fp2(asks[0][1]) if asks else "0"}})


PMUS_TIF_IN = {v: k for k, v in pmus_wire.PMUS_TIF.items()}
PMUS_INTENTS = ("ORDER_INTENT_BUY_LONG", "ORDER_INTENT_SELL_LONG", "ORDER_INTENT_BUY_SHORT", "ORDER_INTENT_SELL_SHORT")


class PmusOrders(PmusBase):
    def guard(self) -> None:
        if self.request.method == "POST":
            self.authenticate()  # header-signed: checked before the body is read

    async def post(self) -> None:
        await self.latency()
        body = self.body_object()
        slug = body.get("marketSlug")
        intent = body.get("intent")
        tif = PMUS_TIF_IN.get(str(body.get("tif", "TIME_IN_FORCE_GOOD_TILL_CANCEL")))
        if not isinstance(slug, str) or intent not in PMUS_INTENTS or tif is None:
            raise tornado.web.HTTPError(400, "marketSlug, intent and tif are required")
        price_obj = body.get("price")
        raw_price = price_obj.get("value") if isinstance(price_obj, dict) else price_obj
        price = self.arg_price("price", raw_price)
        qty = self.arg_size("quantity", body.get("quantity"))
        self.slug_market(slug)
        fault = await self.order_fault()
        if self.answered:
            return
        # Buying short is selling the long side: it hits the long bids. The price is the
        # long side's whatever the intent ("The price.value field always represents the
        # long side's price, regardless of which order intent you use": docs.polymarket.us,
        # Retail API, Orders overview). A BUY_SHORT at 0.40 costs 0.60 a contract.
        buy_long_side = intent in ("ORDER_INTENT_BUY_LONG", "ORDER_INTENT_SELL_SHORT")
        long_price = price
        slip = self.state.faults.slip_ticks() if self.state.faults.slip() else 0
        req = PlaceRequest("polymarket_us", slug, "buy" if buy_long_side else "sell", long_price, qty, tif,
                           None, None, {"intent": intent})
        try:
            result = self.ex.place(req, slip_ticks=slip)
        except PaperRejection as exc:
            self.send({"code": 400, "message": exc.message, "reason": exc.code}, 400)
            return
        self.state.orders_placed += 1
        if fault == "timeout_filled":
            await self.drop()
        o = result.order
        self.send({"id": o.order_id, "executions": [pmus_wire.pmus_execution(o, f) for f in result.fills]})


class PmusOpenOrders(PmusBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        slugs = set(self.get_arguments("slugs"))
        rows = [o for o in self.ex.store.orders("polymarket_us", status="open") if not slugs or o.instrument_id in slugs]
        self.send({"orders": [pmus_wire.pmus_order(o) for o in rows]})


class PmusOrder(PmusBase):
    async def get(self, order_id: str) -> None:
        self.authenticate()
        await self.latency()
        o = self.ex.store.get_order("polymarket_us", order_id)
        if o is None:
            raise tornado.web.HTTPError(404, "order not found")
        self.send({"order": pmus_wire.pmus_order(o)})


class PmusCancel(PmusBase):
    def guard(self) -> None:
        self.authenticate()  # header-signed: checked before any body is read

    async def post(self, order_id: str) -> None:
        if self.ex.cancel("polymarket_us", order_id) is None:
            raise tornado.web.HTTPError(404, "order not found")
        self.send({})


class PmusPositions(PmusBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        market = self.get_argument("market", None)
        rows = [p for p in self.ex.positions("polymarket_us") if market is None or p.instrument_id == market]
        self.send({"positions": {p.instrument_id: pmus_wire.pmus_position(p) for p in rows}, "eof": True})


class PmusActivities(PmusBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        slug = self.get_argument("marketSlug", None)
        orders = {o.order_id: o for o in self.ex.store.orders("polymarket_us")}
        acts = []
        for f in self.ex.store.fills("polymarket_us", None, slug):
            o = orders[f.order_id]
            short = str(o.extra.get("intent", "")).endswith("SHORT")
            # Trade prices are the long side's, like order prices (see pmus_wire.pmus_order).
            acts.append({"type": "ACTIVITY_TYPE_TRADE", "trade": {
                "id": f.fill_id, "marketSlug": f.instrument_id, "state": "TRADE_STATE_CLEARED",
                "createTime": iso(f.created), "updateTime": iso(f.created),
                "price": wire.amount(f.price), "qty": str(int(f.quantity)),
                "qtyDecimal": wire.fp2(f.quantity), "isAggressor": f.is_taker,
                "orderId": f.order_id, "intent": o.extra.get("intent"),
                "costBasis": wire.amount(f.quantity * (ONE - f.price if short else f.price)),
                "realizedPnl": wire.amount(Decimal(0))}})
        for s in self.ex.store.settlements("polymarket_us"):
            if slug and s["instrument_id"] != slug:
                continue
            acts.append({"type": "ACTIVITY_TYPE_POSITION_RESOLUTION", "positionResolution": {
                "marketSlug": s["instrument_id"], "updateTime": s["settled"],
                "side": "long" if Decimal(s["quantity"]) > 0 else "short",
                "afterPosition": {"netPosition": "0"},
                "beforePosition": {"netPosition": str(int(Decimal(s["quantity"])))}}})
        if self.get_argument("sortOrder", "SORT_ORDER_DESCENDING") == "SORT_ORDER_DESCENDING":
            acts.reverse()
        self.send({"activities": acts, "eof": True})


class PmusBalances(PmusBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        bal = self.ex.store.balance("polymarket_us")
        # The SDK types these as numbers; we send JSON numbers rendered from the exact
        # Decimal string so no float arithmetic happens here.
        num = json.loads(str(bal))
        self.send({"balances": [{"currentBalance": num, "currency": "USD", "buyingPower": num,
                                 "availableToWithdraw": num, "openOrders": 0,
                                 "lastUpdated": iso(self.now())}]})


class PmusSettlement(PmusBase):
    """``GET /v1/markets/{slug}/settlement`` (SDK ``MarketSettlement``: slug, settlement)."""

    async def get(self, slug: str) -> None:
        await self.latency()
        market = self.slug_market(slug)
        resolved = self.ex.store.resolution(market.game_index)
        if resolved is None:
            raise tornado.web.HTTPError(404, "market not settled")
        value = self.ex.settlement_price(market, resolved)
        # The SDK types ``settlement`` as a number: rendered from the exact Decimal string.
        self.send({"slug": slug, "settlement": json.loads(str(value))})



def routes(state: ServerState) -> list[Rule]:
    s = {"state": state}
    return [
        (rf"{PREFIX}/v1/events", PmusEvents, s),
        (rf"{PREFIX}/v1/markets", PmusMarkets, s),
        (rf"{PREFIX}/v1/markets/([^/]+)/book", PmusBook, s),
        (rf"{PREFIX}/v1/markets/([^/]+)/bbo", PmusBbo, s),
        (rf"{PREFIX}/v1/markets/([^/]+)/settlement", PmusSettlement, s),
        (rf"{PREFIX}/v1/market/slug/([^/]+)", PmusMarketBySlug, s),
        (rf"{PREFIX}/v1/orders", PmusOrders, s),
        (rf"{PREFIX}/v1/orders/open", PmusOpenOrders, s),
        (rf"{PREFIX}/v1/order/([^/]+)", PmusOrder, s),
        (rf"{PREFIX}/v1/order/([^/]+)/cancel", PmusCancel, s),
        (rf"{PREFIX}/v1/portfolio/positions", PmusPositions, s),
        (rf"{PREFIX}/v1/portfolio/activities", PmusActivities, s),
        (rf"{PREFIX}/v1/account/balances", PmusBalances, s),
    ]
