"""The paper exchange's market-data WebSockets, one per venue (Kalshi ``orderbook_delta``
snapshots and deltas, Polymarket ``book`` and ``price_change``, Polymarket US market data),
and the hub of open sockets the server pushes once per tick. Stream faults (dropped
updates, a disconnect after a gap) are applied here."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import tornado.web
import tornado.websocket

from paper_exchange import kalshi, polymarket, polymarket_us, wire
from paper_exchange.credentials import AuthError, path_candidates
from paper_exchange.handlers import Rule
from paper_exchange.kalshi.auth import verify_kalshi
from paper_exchange.polymarket import wire as poly_wire
from paper_exchange.polymarket_us import wire as pmus_wire
from paper_exchange.polymarket_us.auth import verify_pmus
from paper_exchange.state import ServerState
from paper_exchange.store import iso

ONE = Decimal(1)


class FeedSocket(tornado.websocket.WebSocketHandler):
    """Base of the three market-data sockets: subscriptions and the per-tick push."""

    state: ServerState
    hub: FeedHub
    venue_prefix = ""

    def initialize(self, state: ServerState, hub: FeedHub) -> None:
        self.state = state
        self.hub = hub
        self.close_after_next = False

    def check_origin(self, origin: str) -> bool:
        return True

    def open(self, *args: str, **kwargs: str) -> None:
        self.hub.sockets.add(self)

    def on_close(self) -> None:
        self.hub.sockets.discard(self)

    def emit(self, message: Any, droppable: bool = True) -> bool:
        """Send one update, applying stream faults; False when it was dropped."""
        if self.ws_connection is None or self.ws_connection.is_closing():
            return False
        # After a dropped update the next one is always delivered (so the client sees the
        # gap in ``seq``) and then the socket closes.
        fault = self.state.faults.stream_fault() if droppable and not self.close_after_next else None
        if fault is not None:
            if fault == "disconnect":
                self.close_after_next = True
            return False
        self.write_message(json.dumps(message))
        self.state.updates_sent += 1
        if self.close_after_next:
            self.close(1011, "paper exchange: injected disconnect")
        return True

    def push(self, now: datetime) -> None:
        raise NotImplementedError


class KalshiSocket(FeedSocket):
    async def get(self, *args: Any, **kwargs: Any) -> None:
        try:
            verify_kalshi(self.state.creds, self.request.headers, "GET",
                               path_candidates(self.request.path, kalshi.PREFIX), clock=self.state.wall)
        except AuthError as exc:
            self.set_status(401)
            self.finish(json.dumps({"error": {"code": "authentication_error", "message": str(exc)}}))
            return
        await super().get(*args, **kwargs)

    def open(self, *args: str, **kwargs: str) -> None:
        super().open()
        self.subs: dict[int, list[str]] = {}
        self.seq: dict[int, int] = {}
        self.last: dict[str, dict[tuple[str, Decimal], Decimal]] = {}
        self.next_sid = 1

    def levels(self, ticker: str, now: datetime) -> dict[tuple[str, Decimal], Decimal] | None:
        market = self.state.exchange.world.market(f"kalshi:{ticker}")
        if market is None:
            return None
        bids, asks = self.state.exchange.book(market, now)
        out = {("yes", p): s for p, s in bids}
        out.update({("no", ONE - p): s for p, s in asks})
        return out

    def snapshot(self, sid: int, ticker: str, now: datetime) -> None:
        lv = self.levels(ticker, now)
        if lv is None:
            return
        self.last[ticker] = lv
        self.seq[sid] += 1
        yes = sorted(((p, s) for (side, p), s in lv.items() if side == "yes"))
        no = sorted(((p, s) for (side, p), s in lv.items() if side == "no"))
        yes_l = [[wire.d4(p), wire.fp2(s)] for p, s in yes]
        no_l = [[wire.d4(p), wire.fp2(s)] for p, s in no]
        self.emit({"type": "orderbook_snapshot", "sid": sid, "seq": self.seq[sid],
                   "msg": {"market_ticker": ticker, "yes_dollars_fp": yes_l, "no_dollars_fp": no_l,
                           "yes_dollars": yes_l, "no_dollars": no_l}}, droppable=False)

    def on_message(self, message: str | bytes) -> None:
        try:
            cmd = json.loads(message)
        except json.JSONDecodeError:
            self.write_message(json.dumps({"type": "error", "msg": {"code": 1, "msg": "bad json"}}))
            return
        params = cmd.get("params", {}) or {}
        now = self.state.exchange.clock.now()
        if cmd.get("cmd") == "subscribe":
            tickers = list(params.get("market_tickers") or [])
            if params.get("market_ticker"):
                tickers.append(params["market_ticker"])
            sid = self.next_sid
            self.next_sid += 1
            self.subs[sid] = tickers
            self.seq[sid] = 0
            for channel in params.get("channels", ["orderbook_delta"]):
                self.write_message(json.dumps({"id": cmd.get("id"), "type": "subscribed",
                                               "msg": {"channel": channel, "sid": sid}}))
            for t in tickers:
                self.snapshot(sid, t, now)
        elif cmd.get("cmd") == "unsubscribe":
            for sid in params.get("sids", []):
                self.subs.pop(sid, None)
            self.write_message(json.dumps({"id": cmd.get("id"), "type": "unsubscribed"}))
        elif cmd.get("cmd") == "update_subscription" and params.get("action") == "get_snapshot":
            for sid in params.get("sids", list(self.subs)):
                for t in self.subs.get(sid, []):
                    self.snapshot(sid, t, now)

    def push(self, now: datetime) -> None:
        for sid, tickers in list(self.subs.items()):
            for t in tickers:
                new = self.levels(t, now)
                if new is None:
                    continue
                old = self.last.get(t, {})
                for key in sorted(set(old) | set(new), key=lambda k: (k[0], k[1])):
                    delta = new.get(key, Decimal(0)) - old.get(key, Decimal(0))
                    if delta == 0:
                        continue
                    self.seq[sid] += 1
                    self.emit({"type": "orderbook_delta", "sid": sid, "seq": self.seq[sid],
                               "msg": {"market_ticker": t, "price_dollars": wire.d4(key[1]),
                                       "delta_fp": wire.fp2(delta), "side": key[0], "ts": iso(now)}})
                self.last[t] = new


class PolySocket(FeedSocket):
    def open(self, *args: str, **kwargs: str) -> None:
        super().open()
        self.assets: list[str] = []
        self.last: dict[str, dict[tuple[str, str], str]] = {}

    def book_msg(self, asset: str, now: datetime) -> dict[str, Any] | None:
        inst = self.state.exchange.world.instrument(asset)
        if inst is None or inst.venue != "polymarket":
            return None
        b = poly_wire.clob_book(self.state.exchange, asset, now)
        self.last[asset] = {("BUY", x["price"]): x["size"] for x in b["bids"]} | {
            ("SELL", x["price"]): x["size"] for x in b["asks"]}
        return {"event_type": "book", **b}

    def on_message(self, message: str | bytes) -> None:
        if message in ("PING", b"PING"):
            self.write_message("PONG")
            return
        try:
            cmd = json.loads(message)
        except json.JSONDecodeError:
            return
        assets = cmd.get("assets_ids") or cmd.get("asset_ids") or []
        if cmd.get("operation") == "unsubscribe":
            self.assets = [a for a in self.assets if a not in assets]
            return
        now = self.state.exchange.clock.now()
        books = []
        for a in assets:
            if a not in self.assets:
                self.assets.append(a)
            m = self.book_msg(a, now)
            if m is not None:
                books.append(m)
        if books:
            self.emit(books, droppable=False)

    def push(self, now: datetime) -> None:
        for a in self.assets:
            old = self.last.get(a, {})
            m = self.book_msg(a, now)
            if m is None:
                continue
            new = self.last[a]
            changes = []
            for key in set(old) | set(new):
                if old.get(key) != new.get(key):
                    changes.append({"asset_id": a, "price": key[1], "size": new.get(key, "0"),
                                    "side": key[0], "hash": m["hash"],
                                    "best_bid": m["bids"][-1]["price"] if m["bids"] else "0",
                                    "best_ask": m["asks"][-1]["price"] if m["asks"] else "1"})
            if changes:
                self.emit({"event_type": "price_change", "market": m["market"],
                           "price_changes": changes, "timestamp": m["timestamp"]})


class PmusSocket(FeedSocket):
    async def get(self, *args: Any, **kwargs: Any) -> None:
        try:
            verify_pmus(self.state.creds, self.request.headers, "GET",
                             path_candidates(self.request.path, polymarket_us.PREFIX), clock=self.state.wall)
        except AuthError as exc:
            self.set_status(401)
            self.finish(json.dumps({"code": 401, "message": str(exc)}))
            return
        await super().get(*args, **kwargs)

    def open(self, *args: str, **kwargs: str) -> None:
        super().open()
        self.subs: dict[str, list[str]] = {}
        self.last: dict[str, Any] = {}

    def data(self, slug: str, now: datetime) -> Any:
        inst = self.state.exchange.world.instrument(slug)
        if inst is None or inst.venue != "polymarket_us":
            return None
        return pmus_wire.pmus_book(self.state.exchange, slug, now)["marketData"]

    def on_message(self, message: str | bytes) -> None:
        try:
            cmd = json.loads(message)
        except json.JSONDecodeError:
            return
        now = self.state.exchange.clock.now()
        if "subscribe" in cmd:
            sub = cmd["subscribe"]
            rid = str(sub.get("requestId", ""))
            slugs = list(sub.get("marketSlugs") or [])
            self.subs[rid] = slugs
            for s in slugs:
                d = self.data(s, now)
                if d is None:
                    self.write_message(json.dumps({"requestId": rid, "error": f"unknown market {s}"}))
                    continue
                self.last[s] = {k: v for k, v in d.items() if k != "transactTime"}
                self.emit({"requestId": rid, "subscriptionType": sub.get("subscriptionType"),
                           "marketData": d}, droppable=False)
        elif "unsubscribe" in cmd:
            self.subs.pop(str(cmd["unsubscribe"].get("requestId", "")), None)

    def push(self, now: datetime) -> None:
        for rid, slugs in self.subs.items():
            for s in slugs:
                d = self.data(s, now)
                if d is None:
                    continue
                key = {k: v for k, v in d.items() if k != "transactTime"}
                if key == self.last.get(s):
                    continue
                self.last[s] = key
                self.emit({"requestId": rid, "subscriptionType": "SUBSCRIPTION_TYPE_MARKET_DATA",
                           "marketData": d})


class FeedHub:
    """The open market-data sockets of the exchange: the server pushes each of them once
    per tick (:meth:`paper_exchange.app.PaperServer.step`)."""

    def __init__(self) -> None:
        self.sockets: set[FeedSocket] = set()



def routes(state: ServerState, hub: FeedHub) -> list[Rule]:
    s = {"state": state, "hub": hub}
    return [
        (kalshi.WS, KalshiSocket, s),
        (polymarket.WS, PolySocket, s),
        (polymarket_us.WS, PmusSocket, s),
    ]
