"""Kalshi's REST routes on the paper exchange (``/kalshi/trade-api/v2/...``): events,
markets and books (public), orders, balance, positions, fills and settlements (signed)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import tornado.web

from paper_exchange import wire
from paper_exchange.credentials import AuthError
from paper_exchange.handlers import PaperHandler, Rule
from paper_exchange.kalshi import API, PREFIX
from paper_exchange.kalshi import wire as kalshi_wire
from paper_exchange.kalshi import wire_extra as kalshi_extra
from paper_exchange.kalshi.auth import verify_kalshi
from paper_exchange.matching import PaperRejection, PlaceRequest
from paper_exchange.state import ServerState
from paper_exchange.world import Game

ONE = Decimal(1)


class KalshiBase(PaperHandler):
    venue_prefix = PREFIX

    def error_body(self, status: int, message: str) -> Any:
        code = {400: "bad_request", 401: "authentication_error", 403: "forbidden", 404: "not_found",
                409: "conflict", 413: "request_too_large", 415: "unsupported_media_type"}.get(
            status, "internal_server_error"
        )
        return {"error": {"code": code, "message": message}}

    def authenticate(self) -> None:
        try:
            verify_kalshi(self.state.creds, self.request.headers, self.request.method or "GET", self.paths(),
                               clock=self.state.wall)
        except AuthError as exc:
            raise tornado.web.HTTPError(401, str(exc)) from exc

    def kalshi_games(self) -> list[Game]:
        return [g for g in self.ex.world.games(self.now()) if "kalshi" in g.venues]


def _page(items: list[Any], limit: str | None, cursor: str | None) -> tuple[list[Any], str]:
    try:
        n = max(1, min(int(limit or 200), 1000))
        start = int(cursor or 0)
    except ValueError:
        raise tornado.web.HTTPError(400, "limit and cursor must be integers") from None
    if start < 0:
        raise tornado.web.HTTPError(400, "cursor must not be negative")
    chunk = items[start : start + n]
    nxt = str(start + n) if start + n < len(items) else ""
    return chunk, nxt


class KalshiEvents(KalshiBase):
    async def get(self) -> None:
        await self.latency()
        now = self.now()
        series = self.get_argument("series_ticker", None)
        status = self.get_argument("status", None)
        nested = self.get_argument("with_nested_markets", "false").lower() == "true"
        games = []
        for g in self.kalshi_games():
            for event_series, event in kalshi_extra.kalshi_entries(g):
                if series and event_series != series:
                    continue
                resolved = self.ex.store.resolution(g.index) is not None
                st = kalshi_wire.kalshi_status(g, now, resolved)
                if status == "open" and st != "active":
                    continue
                if status == "closed" and st != "closed":
                    continue
                if status == "settled" and st != "finalized":
                    continue
                games.append((g, event))
        chunk, cursor = _page(games, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"events": [kalshi_extra.kalshi_event_any(self.ex, g, e, now, nested) for g, e in chunk],
                   "cursor": cursor})


class KalshiEvent(KalshiBase):
    async def get(self, event_ticker: str) -> None:
        await self.latency()
        g = self.ex.world.game_by_kalshi_event(event_ticker)
        if g is None:
            raise tornado.web.HTTPError(404, "event not found")
        ev = kalshi_extra.kalshi_event_any(self.ex, g, event_ticker, self.now(), True)
        markets = ev.pop("markets")
        self.send({"event": ev, "markets": markets})


class KalshiMarkets(KalshiBase):
    async def get(self) -> None:
        await self.latency()
        now = self.now()
        event = self.get_argument("event_ticker", None)
        series = self.get_argument("series_ticker", None)
        tickers = set(filter(None, self.get_argument("tickers", "").split(",")))
        out = []
        for g in self.kalshi_games():
            for event_series, event_ticker in kalshi_extra.kalshi_entries(g):
                if event and event_ticker != event:
                    continue
                if series and event_series != series:
                    continue
                for ticker, render in kalshi_extra.kalshi_market_items(self.ex, g, event_ticker, now):
                    if tickers and ticker not in tickers:
                        continue
                    out.append(render())
        chunk, cursor = _page(out, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"markets": chunk, "cursor": cursor})


class KalshiMarket(KalshiBase):
    async def get(self, ticker: str) -> None:
        await self.latency()
        inst = self.ex.world.instrument(ticker)
        if inst is None or inst.venue != "kalshi":
            raise tornado.web.HTTPError(404, "market not found")
        market = self.ex.world.market(inst.market_key)
        assert market is not None
        g = self.ex.world.game_of(market)
        self.send({"market": kalshi_extra.kalshi_market_any(self.ex, g, market, self.now())})


class KalshiOrderbook(KalshiBase):
    async def get(self, ticker: str) -> None:
        await self.latency()
        market = self.ex.world.market(f"kalshi:{ticker}")
        if market is None:
            raise tornado.web.HTTPError(404, "market not found")
        depth = self.arg_int("depth", 0, 0, 1000)
        self.send(kalshi_wire.kalshi_orderbook(self.ex, market, self.now(), depth))


KALSHI_TIF = {"fill_or_kill": "FOK", "immediate_or_cancel": "IOC", "good_till_canceled": "GTC"}


class KalshiCreateOrder(KalshiBase):
    def guard(self) -> None:
        if self.request.method == "POST":
            self.authenticate()  # header-signed: checked before the body is read

    async def post(self) -> None:
        await self.latency()
        body = self.body_object()
        ticker = body.get("ticker")
        side = body.get("side")
        tif = KALSHI_TIF.get(str(body.get("time_in_force", "good_till_canceled")))
        if not isinstance(ticker, str) or side not in ("bid", "ask") or tif is None:
            raise tornado.web.HTTPError(400, "ticker, side (bid|ask) and time_in_force are required")
        count = self.arg_size("count", body.get("count", body.get("count_fp")))
        price = self.arg_price("price", body.get("price", body.get("yes_price_dollars")))
        cid = body.get("client_order_id")
        if cid is not None and not isinstance(cid, str):
            raise tornado.web.HTTPError(400, "client_order_id must be a string")
        if cid:
            existing = self.ex.store.order_by_client_id("kalshi", cid)
            if existing is not None:
                # Idempotent retry: the same client_order_id never trades twice.
                self.send({"error": {"code": "order_already_exists", "message": "client_order_id already used",
                                     "order_id": existing.order_id}}, 409)
                return
        fault = await self.order_fault()
        if self.answered:
            return
        slip = self.state.faults.slip_ticks() if self.state.faults.slip() else 0
        req = PlaceRequest("kalshi", ticker, "buy" if side == "bid" else "sell", price, count, tif, cid or None)
        try:
            result = self.ex.place(req, slip_ticks=slip)
        except PaperRejection as exc:
            status = 404 if exc.code == "unknown_instrument" else 400
            self.send({"error": {"code": exc.code, "message": exc.message}}, status)
            return
        self.state.orders_placed += 1
        if fault == "timeout_filled":
            await self.drop()
        o = result.order
        self.send({
            "order_id": o.order_id,
            "client_order_id": o.client_order_id or "",
            "fill_count": wire.fp2(o.filled),
            "remaining_count": wire.fp2(o.remaining),
            "average_fill_price": wire.d4(o.avg_price) if o.avg_price is not None else None,
            "average_fee_paid": wire.d4(o.fees / o.filled) if o.filled else "0.0000",
            "status": kalshi_wire.KALSHI_STATUS.get(o.status, o.status),
            "ts_ms": int(self.now().timestamp() * 1000),
        }, 201)


class KalshiOrders(KalshiBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        ticker = self.get_argument("ticker", None)
        cid = self.get_argument("client_order_id", None)
        status = self.get_argument("status", None)
        rows = self.ex.store.orders("kalshi", ticker)
        if cid:
            rows = [o for o in rows if o.client_order_id == cid]
        out = [kalshi_wire.kalshi_order(o) for o in reversed(rows)]
        if status:
            out = [o for o in out if o["status"] == status]
        chunk, cursor = _page(out, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"orders": chunk, "cursor": cursor})


class KalshiOrder(KalshiBase):
    def guard(self) -> None:
        if self.request.method == "DELETE":
            self.authenticate()

    async def get(self, order_id: str) -> None:
        self.authenticate()
        await self.latency()
        o = self.ex.store.get_order("kalshi", order_id)
        if o is None:
            raise tornado.web.HTTPError(404, "order not found")
        self.send({"order": kalshi_wire.kalshi_order(o)})

    async def delete(self, order_id: str) -> None:
        await self.latency()  # signature checked in guard(), before any body
        o = self.ex.cancel("kalshi", order_id)
        if o is None:
            raise tornado.web.HTTPError(404, "order not found")
        self.send({"order": kalshi_wire.kalshi_order(o), "reduced_by_fp": wire.fp2(o.quantity - o.filled)})


class KalshiBalance(KalshiBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        bal = self.ex.store.balance("kalshi")
        cents = int((bal * 100).to_integral_value(rounding="ROUND_FLOOR"))
        self.send({"balance": cents, "balance_dollars": wire.d4(bal), "portfolio_value": cents,
                   "updated_ts": int(self.state.wall.now().timestamp())})


class KalshiPositions(KalshiBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        ticker = self.get_argument("ticker", None)
        rows = [p for p in self.ex.positions("kalshi") if (ticker is None or p.instrument_id == ticker)]
        if self.get_argument("count_filter", None):
            rows = [p for p in rows if p.quantity != 0]
        self.send({"market_positions": [kalshi_wire.kalshi_position(p) for p in rows], "event_positions": [], "cursor": ""})


class KalshiFills(KalshiBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        fills = self.ex.store.fills("kalshi", self.get_argument("order_id", None), self.get_argument("ticker", None))
        cids = {o.order_id: o.client_order_id for o in self.ex.store.orders("kalshi")}
        out = [kalshi_wire.kalshi_fill(f, cids.get(f.order_id)) for f in reversed(fills)]
        chunk, cursor = _page(out, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"fills": chunk, "cursor": cursor})


class KalshiSettlements(KalshiBase):
    async def get(self) -> None:
        self.authenticate()
        await self.latency()
        out = []
        for row in self.ex.store.settlements("kalshi"):
            qty = Decimal(row["quantity"])
            value = Decimal(row["price"])  # what one YES paid
            out.append({
                "ticker": row["instrument_id"],
                "market_result": "yes" if value == ONE else ("no" if value == 0 else "void"),
                "yes_count_fp": wire.fp2(max(qty, Decimal(0))),
                "no_count_fp": wire.fp2(max(-qty, Decimal(0))),
                "revenue": int((Decimal(row["payout"]) * 100).to_integral_value()),
                "revenue_dollars": wire.d4(Decimal(row["payout"])),
                "settlement_value_dollars": wire.d4(value),
                "settled_time": row["settled"],
            })
        out.reverse()
        chunk, cursor = _page(out, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"settlements": chunk, "cursor": cursor})



def routes(state: ServerState) -> list[Rule]:
    s = {"state": state}
    return [
        (rf"{API}/events", KalshiEvents, s),
        (rf"{API}/events/([^/]+)", KalshiEvent, s),
        (rf"{API}/markets", KalshiMarkets, s),
        (rf"{API}/markets/([^/]+)/orderbook", KalshiOrderbook, s),
        (rf"{API}/markets/([^/]+)", KalshiMarket, s),
        (rf"{API}/portfolio/events/orders", KalshiCreateOrder, s),
        (rf"{API}/portfolio/orders", KalshiOrders, s),
        (rf"{API}/portfolio/orders/([^/]+)", KalshiOrder, s),
        (rf"{API}/portfolio/events/orders/([^/]+)", KalshiOrder, s),
        (rf"{API}/portfolio/balance", KalshiBalance, s),
        (rf"{API}/portfolio/positions", KalshiPositions, s),
        (rf"{API}/portfolio/fills", KalshiFills, s),
        (rf"{API}/portfolio/settlements", KalshiSettlements, s),
    ]
