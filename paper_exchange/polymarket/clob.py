"""Polymarket's CLOB routes on the paper exchange (``/polymarket/clob/...``): books,
market info and server time (public), orders, trades and the balance (L2-signed; each
order also carries its own EIP-712 signature)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import tornado.web

from paper_exchange.credentials import AuthError
from paper_exchange.handlers import MAX_CONTRACTS, PaperHandler
from paper_exchange.matching import PaperRejection, PlaceRequest
from paper_exchange.polymarket import CLOB
from paper_exchange.polymarket import wire as poly_wire
from paper_exchange.polymarket.auth import (
    POLY_EXCHANGES,
    verify_poly_l2,
    verify_poly_l2_headers,
    verify_poly_order,
)
from paper_exchange.store import OrderRow

ONE = Decimal(1)


class ClobBase(PaperHandler):
    venue_prefix = CLOB

    def token(self, token_id: str | None) -> Any:
        inst = self.ex.world.instrument(token_id or "")
        if inst is None or inst.venue != "polymarket":
            raise tornado.web.HTTPError(404, "No orderbook exists for the requested token id")
        return inst

    def authenticate(self) -> None:
        try:
            verify_poly_l2(self.state.creds, self.request.headers, self.request.method or "GET",
                                self.paths(), self.request.body or b"", clock=self.state.wall)
        except AuthError as exc:
            raise tornado.web.HTTPError(401, str(exc)) from exc

    def authenticate_headers(self) -> None:
        """The L2 checks that need no body (key, passphrase, address, timestamp); the
        HMAC covers the body, so it is checked once the (size-limited) body is in."""
        try:
            verify_poly_l2_headers(self.state.creds, self.request.headers, clock=self.state.wall)
        except AuthError as exc:
            raise tornado.web.HTTPError(401, str(exc)) from exc

    def outcome_of(self, token_id: str) -> tuple[str, str]:
        inst = self.ex.world.instrument(token_id)
        assert inst is not None
        return inst.label, inst.market_key.split(":", 1)[1]


class ClobBook(ClobBase):
    async def get(self) -> None:
        await self.latency()
        inst = self.token(self.get_argument("token_id", None))
        self.send(poly_wire.clob_book(self.ex, inst.id, self.now()))


class ClobBooks(ClobBase):
    async def post(self) -> None:
        await self.latency()
        body = self.body_json()
        if not isinstance(body, list) or not all(isinstance(b, dict) for b in body) or len(body) > 500:
            raise tornado.web.HTTPError(400, "expected a list of at most 500 {token_id}")
        now = self.now()
        self.send([poly_wire.clob_book(self.ex, self.token(b.get("token_id")).id, now) for b in body])


class ClobMidpoint(ClobBase):
    async def get(self) -> None:
        inst = self.token(self.get_argument("token_id", None))
        bids, asks = self.ex.instrument_book(inst, self.now())
        mid = (bids[0][0] + asks[0][0]) / 2 if bids and asks else Decimal("0.5")
        self.send({"mid": str(mid)})


class ClobTickSize(ClobBase):
    async def get(self) -> None:
        self.token(self.get_argument("token_id", None))
        self.send({"minimum_tick_size": 0.01})


class ClobNegRisk(ClobBase):
    async def get(self) -> None:
        self.token(self.get_argument("token_id", None))
        self.send({"neg_risk": False})


class ClobMarketByToken(ClobBase):
    async def get(self, token_id: str) -> None:
        inst = self.token(token_id)
        self.send({"condition_id": inst.market_key.split(":", 1)[1]})


class ClobMarketInfo(ClobBase):
    async def get(self, condition_id: str) -> None:
        market = self.ex.world.market(f"polymarket:{condition_id}")
        if market is None:
            raise tornado.web.HTTPError(404, "market not found")
        g = self.ex.world.game_of(market)
        t0, t1 = g.token_ids(market.kind)
        o0, o1 = g.gamma_outcomes(market.kind)
        self.send({"c": condition_id, "t": [{"t": t0, "o": o0}, {"t": t1, "o": o1}],
                   "mts": 0.01, "nr": False, "fd": {"r": 0.05, "e": 1}})


class ClobTime(ClobBase):
    async def get(self) -> None:
        self.send(int(self.state.wall.now().timestamp()))


CLOB_TIF = {"FOK": "FOK", "FAK": "IOC", "GTC": "GTC", "GTD": "GTC"}
MICRO = Decimal("0.000001")


class ClobOrder(ClobBase):
    def guard(self) -> None:
        if self.request.method in ("POST", "DELETE"):
            self.authenticate_headers()

    def reject(self, message: str, order_id: str = "") -> None:
        self.send({"errorMsg": message, "orderID": order_id, "takingAmount": "", "makingAmount": "",
                   "status": "", "success": False, "transactionsHashes": [], "tradeIDs": []}, 400)

    async def post(self) -> None:
        self.authenticate()
        await self.latency()
        body = self.body_json()
        order = body.get("order") if isinstance(body, dict) else None
        if not isinstance(order, dict):
            raise tornado.web.HTTPError(400, "order is required")
        if body.get("owner") != self.state.creds.poly_api_key:
            raise tornado.web.HTTPError(401, "owner does not match the API key")
        try:
            order_id = verify_poly_order(self.state.creds, order)
        except (AuthError, KeyError, ValueError, TypeError) as exc:
            self.reject(f"invalid signature: {exc}" if isinstance(exc, AuthError) else "malformed order")
            return
        tif = CLOB_TIF.get(str(body.get("orderType", "GTC")))
        side = str(order.get("side", "")).upper()
        if tif is None or side not in ("BUY", "SELL"):
            self.reject("invalid order type or side")
            return
        try:
            maker = int(order["makerAmount"])
            taker = int(order["takerAmount"])
        except (KeyError, ValueError, TypeError):
            self.reject("malformed order")
            return
        # BUY: maker = USDC offered, taker = shares wanted; SELL the reverse (6 decimals).
        micro_shares, micro_usdc = (taker, maker) if side == "BUY" else (maker, taker)
        if micro_shares <= 0 or micro_usdc <= 0:
            self.reject("invalid amounts")
            return
        if micro_shares > MAX_CONTRACTS * 10**6 or micro_usdc > micro_shares:
            # A price above 1 or more shares than any order may carry.
            self.reject(f"invalid amounts: at most {MAX_CONTRACTS} shares at a price below 1")
            return
        shares = Decimal(micro_shares) * MICRO
        usdc = Decimal(micro_usdc) * MICRO
        price = (usdc / shares).quantize(Decimal("0.0001"))
        existing = self.ex.store.get_order("polymarket", order_id)
        if existing is not None:
            self.reject("order already exists", order_id)
            return
        fault = await self.order_fault()
        if self.answered:
            return
        slip = self.state.faults.slip_ticks() if self.state.faults.slip() else 0
        req = PlaceRequest("polymarket", str(order["tokenId"]), side.lower(), price.normalize(), shares,
                           tif, None, order_id, {"owner": body.get("owner"), "maker": order.get("maker")})
        try:
            result = self.ex.place(req, slip_ticks=slip)
        except PaperRejection as exc:
            msg = {"insufficient_balance": "not enough balance / allowance",
                   "insufficient_position": "not enough balance / allowance",
                   "market_closed": "the market is not yet ready to process new orders"}.get(exc.code, exc.message)
            self.reject(msg, order_id)
            return
        self.state.orders_placed += 1
        if fault == "timeout_filled":
            await self.drop()
        o = result.order
        if tif == "FOK" and o.filled == 0:
            self.reject("order couldn't be fully filled. FOK orders are fully filled or killed.", order_id)
            return
        if tif == "IOC" and o.filled == 0:
            self.reject("no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.", order_id)
            return
        making = o.cost if side == "BUY" else o.filled
        taking = o.filled if side == "BUY" else o.cost
        self.send({
            "errorMsg": "", "orderID": order_id, "success": True,
            "status": "matched" if o.filled else "live",
            "makingAmount": str(making.normalize()) if o.filled else "",
            "takingAmount": str(taking.normalize()) if o.filled else "",
            "tradeIDs": [f.fill_id for f in result.fills], "transactionsHashes": [],
        })

    async def delete(self) -> None:
        self.authenticate()
        body = self.body_json()
        oid = body.get("orderID") if isinstance(body, dict) else None
        o = self.ex.cancel("polymarket", str(oid))
        if o is None or o.status != "canceled":
            self.send({"canceled": [], "not_canceled": {str(oid): "order not found or not open"}})
            return
        self.send({"canceled": [o.order_id], "not_canceled": {}})


class ClobDataOrders(ClobBase):
    def render_order(self, o: OrderRow) -> dict[str, Any]:
        outcome, cond = self.outcome_of(o.instrument_id)
        return poly_wire.clob_order(o, outcome, cond, self.state.creds.poly_api_key, self.state.creds.poly_address)

    async def get(self, order_id: str | None = None) -> None:
        self.authenticate()
        await self.latency()
        if order_id is not None:
            o = self.ex.store.get_order("polymarket", order_id)
            if o is None:
                raise tornado.web.HTTPError(404, "order not found")
            self.send(self.render_order(o))
            return
        oid = self.get_argument("id", None)
        asset = self.get_argument("asset_id", None)
        market = self.get_argument("market", None)
        rows = self.ex.store.orders("polymarket", asset)
        if oid:
            rows = [o for o in rows if o.order_id == oid]
        out = [self.render_order(o) for o in rows]
        if market:
            out = [o for o in out if o["market"] == market]
        self.send({"data": out, "next_cursor": "LTE=", "limit": len(out), "count": len(out)})


class ClobDataTrades(ClobBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        oid = self.get_argument("id", None)
        asset = self.get_argument("asset_id", None)
        market = self.get_argument("market", None)
        fills = self.ex.store.fills("polymarket", None, asset)
        out = []
        for f in fills:
            if oid and f.fill_id != oid and f.order_id != oid:
                continue
            outcome, cond = self.outcome_of(f.instrument_id)
            if market and cond != market:
                continue
            out.append(poly_wire.clob_trade(f, outcome, cond, self.state.creds.poly_api_key, self.state.creds.poly_address))
        self.send({"data": out, "next_cursor": "LTE=", "limit": len(out), "count": len(out)})


class ClobBalance(ClobBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        asset_type = self.get_argument("asset_type", "COLLATERAL")
        if asset_type.upper() == "COLLATERAL":
            amount = self.ex.store.balance("polymarket")
        else:
            token = self.get_argument("token_id", "")
            amount = self.ex.store.position("polymarket", token).quantity
        micro = int((amount / MICRO).to_integral_value(rounding="ROUND_FLOOR"))
        big = str(2**256 - 1)
        self.send({"balance": str(micro), "allowances": {a: big for a in POLY_EXCHANGES}})
