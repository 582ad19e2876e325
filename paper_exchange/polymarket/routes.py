"""Polymarket's routes on the paper exchange: Gamma (``/polymarket/gamma/...``), the
Data API's positions (``/polymarket/data/positions``), a user's "Claim" of resolved
positions (``POST /paper/redeem``), and the CLOB's routes (:mod:`paper_exchange.polymarket.clob`)."""

from __future__ import annotations

from decimal import Decimal

import tornado.web

from paper_exchange.handlers import PaperHandler, Rule
from paper_exchange.polymarket import CLOB, DATA, GAMMA, clob
from paper_exchange.polymarket import wire_extra as poly_extra
from paper_exchange.state import ServerState


class GammaEvents(PaperHandler):
    async def get(self) -> None:
        await self.latency()
        now = self.now()
        closed = self.get_argument("closed", None)
        tag = self.get_argument("tag_slug", None)
        slug = self.get_argument("slug", None)
        events = []
        for g in self.ex.world.games(now):
            if "polymarket" not in g.venues:
                continue
            if tag and tag != g.league:
                continue
            if slug and slug != g.gamma_slug:
                continue
            ev = poly_extra.gamma_event_any(self.ex, g, now)
            if closed is not None and ev["closed"] != (closed.lower() == "true"):
                continue
            events.append(ev)
        offset = self.arg_int("offset", 0)
        limit = self.arg_int("limit", 500, 0, 10_000)
        self.send(events[offset : offset + limit])


class GammaEvent(PaperHandler):
    async def get(self, event_id: str) -> None:
        await self.latency()
        now = self.now()
        for g in self.ex.world.games(now):
            if "polymarket" in g.venues and (g.gamma_event_id == event_id or g.gamma_slug == event_id):
                self.send(poly_extra.gamma_event_any(self.ex, g, now))
                return
        raise tornado.web.HTTPError(404, "event not found")


class GammaMarkets(PaperHandler):
    async def get(self, market_id: str | None = None) -> None:
        await self.latency()
        now = self.now()
        slug = self.get_argument("slug", None)
        closed = self.get_argument("closed", None)
        token = self.get_argument("clob_token_ids", None)
        conditions = {c for arg in self.get_arguments("condition_ids") for c in arg.split(",") if c}
        out = []
        # Gamma keeps settled markets: asked for by id, token or condition, every game
        # generated so far is searched, not only those listed now.
        asked = market_id is not None or token or conditions
        for g in self.ex.world.all_games() if asked else self.ex.world.games(now):
            if "polymarket" not in g.venues:
                continue
            for kind in poly_extra.gamma_kinds(g):
                m = poly_extra.gamma_market_any(self.ex, g, kind, now)
                if market_id is not None and m["id"] != market_id:
                    continue
                if slug and m["slug"] != slug:
                    continue
                if token and token not in g.token_ids(kind):
                    continue
                if conditions and m["conditionId"] not in conditions:
                    continue
                if closed is not None and m["closed"] != (closed.lower() == "true"):
                    continue
                out.append(m)
        if market_id is not None:
            if not out:
                raise tornado.web.HTTPError(404, "market not found")
            self.send(out[0])
            return
        offset = self.arg_int("offset", 0)
        limit = self.arg_int("limit", 500, 0, 10_000)
        self.send(out[offset : offset + limit])


class PolyDataPositions(PaperHandler):
    """Polymarket Data API ``GET /positions?user=`` (public, by wallet address)."""

    async def get(self) -> None:
        await self.latency()
        user = self.get_argument("user", "")
        if user.lower() != self.state.creds.poly_address.lower():
            self.send([])
            return
        out = []
        redeemable = self.ex.redeemable("polymarket")
        only_redeemable = self.get_argument("redeemable", "").lower() == "true"
        for p in self.ex.positions("polymarket"):
            if p.quantity == 0:
                continue
            inst = self.ex.world.instrument(p.instrument_id)
            if inst is None:
                continue
            cond = inst.market_key.split(":", 1)[1]
            avg = p.cost / p.quantity if p.quantity else Decimal(0)
            value = redeemable.get(p.instrument_id)
            if only_redeemable and value is None:
                continue
            row = {"proxyWallet": self.state.creds.poly_address, "asset": p.instrument_id,
                   "conditionId": cond, "size": float(p.quantity), "avgPrice": float(avg),
                   "outcome": inst.label, "initialValue": float(p.cost),
                   "redeemable": value is not None}
            if value is not None:
                row["curPrice"] = float(value)
            out.append(row)
        self.send(out)


class PolyRedeem(PaperHandler):
    """``POST /paper/redeem {"condition_id"?}``: the operator's "Claim" of resolved
    Polymarket positions (on the real venue ``redeemPositions`` on the conditional-tokens
    contract, or the website's Claim button). A user's action, not a control endpoint: on
    whatever ``EXECUTOR_PAPER_CONTROL`` says, but from this machine and as JSON only."""

    def guard(self) -> None:
        self.require_local_json()

    async def post(self) -> None:
        body = self.body_object(frozenset({"condition_id"}))
        cond = body.get("condition_id")
        if cond is not None:
            if not isinstance(cond, str):
                raise tornado.web.HTTPError(400, "condition_id must be a string")
            if self.ex.world.market(f"polymarket:{cond}") is None:
                raise tornado.web.HTTPError(400, "condition_id is not a Polymarket market of this exchange")
        done = self.ex.redeem("polymarket", cond)
        self.send({"redeemed": [{"asset": r["instrument_id"], "conditionId": r["condition_id"],
                                 "size": r["quantity"], "payout": r["payout"]} for r in done],
                   "balance": str(self.ex.store.balance("polymarket"))})



def routes(state: ServerState) -> list[Rule]:
    s = {"state": state}
    return [
        (rf"{GAMMA}/events", GammaEvents, s),
        (rf"{GAMMA}/events/([^/]+)", GammaEvent, s),
        (rf"{GAMMA}/markets", GammaMarkets, s),
        (rf"{GAMMA}/markets/([^/]+)", GammaMarkets, s),
        (rf"{CLOB}/book", clob.ClobBook, s),
        (rf"{CLOB}/books", clob.ClobBooks, s),
        (rf"{CLOB}/midpoint", clob.ClobMidpoint, s),
        (rf"{CLOB}/tick-size", clob.ClobTickSize, s),
        (rf"{CLOB}/neg-risk", clob.ClobNegRisk, s),
        (rf"{CLOB}/markets-by-token/([^/]+)", clob.ClobMarketByToken, s),
        (rf"{CLOB}/clob-markets/([^/]+)", clob.ClobMarketInfo, s),
        (rf"{CLOB}/time", clob.ClobTime, s),
        (rf"{CLOB}/order", clob.ClobOrder, s),
        (rf"{CLOB}/data/orders", clob.ClobDataOrders, s),
        (rf"{CLOB}/data/order/([^/]+)", clob.ClobDataOrders, s),
        (rf"{CLOB}/data/trades", clob.ClobDataTrades, s),
        (rf"{CLOB}/balance-allowance", clob.ClobBalance, s),
        (rf"{DATA}/positions", PolyDataPositions, s),
        (r"/paper/redeem", PolyRedeem, s),
    ]
