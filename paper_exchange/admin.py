"""The paper exchange's own routes: ``/paper/health``, ``/paper/world`` (games, phases,
counters) and the control endpoints under ``/paper/admin/`` (resolve a game, pin books,
script faults, set balances, list orders) for tests and scripts: only when started with
``EXECUTOR_PAPER_CONTROL=1``, only from this machine, JSON bodies only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import tornado.web

from paper_exchange.handlers import BALANCE_DECIMALS, MAX_BALANCE, PaperHandler, Rule
from paper_exchange.state import ServerState
from paper_exchange.store import iso

ONE = Decimal(1)


class Health(PaperHandler):
    async def get(self) -> None:
        self.send({"ok": True, "seed": self.ex.world.seed, "epoch": iso(self.ex.world.epoch)})


class WorldSummary(PaperHandler):
    async def get(self) -> None:
        now = self.now()
        games = self.ex.world.games(now)
        self.send({
            "seed": self.ex.world.seed,
            "epoch": iso(self.ex.world.epoch),
            "games": [{"id": g.game_id, "index": g.index, "league": g.league, "home": g.home.id,
                       "away": g.away.id, "start": iso(g.start), "phase": g.phase(now),
                       "venues": sorted(g.venues), "kalshi_event": g.kalshi_event_ticker,
                       "gamma_slug": g.gamma_slug, "pmus_slug": g.pmus_winner_slug} for g in games],
            "orders_placed": self.state.orders_placed,
            "updates_sent": self.state.updates_sent,
        })


#: What ``POST /paper/admin/resolve`` pays one home-team YES per outcome.
OUTCOMES = {"home": ONE, "away": Decimal(0), "cancelled": Decimal("0.5")}
#: A soccer game's fourth outcome (``EXECUTOR_PAPER_LEAGUES``' EPL games).
DRAW = "draw"
VENUES = ("kalshi", "polymarket", "polymarket_us")


class AdminControl(PaperHandler):
    """The control endpoints under ``/paper/admin/`` (tests and scripts). Refused with
    404 unless the exchange was started with ``EXECUTOR_PAPER_CONTROL=1``; then from this
    machine only (loopback peer and ``Host``, else 403) and with JSON bodies only (else
    415); every field is checked (400) before anything changes."""

    def guard(self) -> None:
        if not self.state.control:
            raise tornado.web.HTTPError(
                404, "control endpoints are disabled (start the paper exchange with EXECUTOR_PAPER_CONTROL=1)"
            )
        self.require_local_json()

    def instrument(self, raw: Any) -> Any:
        if not isinstance(raw, str) or not raw:
            raise tornado.web.HTTPError(400, "instrument (a ticker, token id or slug) is required")
        inst = self.ex.world.instrument(raw)
        if inst is None:
            raise tornado.web.HTTPError(400, f"unknown instrument {raw[:80]!r}")
        return inst

    def levels(self, raw: Any, name: str) -> list[tuple[Decimal, Decimal]]:
        if not isinstance(raw, list):
            raise tornado.web.HTTPError(400, f"{name} must be a list of [price, size]")
        if len(raw) > 100:
            raise tornado.web.HTTPError(400, f"{name}: at most 100 levels")
        out = []
        for i, lv in enumerate(raw):
            if not isinstance(lv, list) or len(lv) != 2:
                raise tornado.web.HTTPError(400, f"{name}[{i}] must be [price, size]")
            out.append((self.arg_price(f"{name}[{i}] price", lv[0]), self.arg_size(f"{name}[{i}] size", lv[1])))
        return out

    def flag(self, body: dict[str, Any], name: str) -> bool:
        value = body.get(name, False)
        if not isinstance(value, bool):
            raise tornado.web.HTTPError(400, f"{name} must be true or false")
        return value


class AdminResolve(AdminControl):
    """``POST {"index", "outcome"}`` resolves a game now: ``index`` one of the games the
    exchange has generated (``/paper/world`` lists them), ``outcome`` home|away|cancelled,
    or draw for a soccer game.
    Resolving a resolved game again with the same outcome answers what was done; with
    another outcome, 409 (a game resolves once)."""

    async def post(self) -> None:
        body = self.body_object(frozenset({"index", "outcome"}))
        index = body.get("index")
        outcome = body.get("outcome")
        if not isinstance(index, int) or isinstance(index, bool):
            raise tornado.web.HTTPError(400, "index must be an integer (a game index from /paper/world)")
        self.ex.world.ensure(self.now())
        games = self.ex.world.all_games()
        known = sum(1 for g in games if g.index < len(games))  # the first stream's 0 … n-1
        if not 0 <= index < known and index not in {g.index for g in games}:
            raise tornado.web.HTTPError(400, f"index must be a known game, within [0, {known - 1}]")
        if not isinstance(outcome, str) or (outcome not in OUTCOMES and outcome != DRAW):
            raise tornado.web.HTTPError(400, "outcome must be one of home, away, cancelled, draw")
        game = self.ex.world.game(index)
        if outcome == DRAW and not getattr(game, "soccer", False):
            raise tornado.web.HTTPError(400, f"game {index} is no soccer game: only soccer ends in a draw here")
        # A draw pays the home team's win nothing, as an away win does; the store keeps
        # that it was a draw (the markets of the draw and the lines read it).
        value = OUTCOMES["away" if outcome == DRAW else outcome]
        if outcome == DRAW and self.ex.store.resolution(index) is None:
            self.ex.store.set_meta(f"draw:{index}", "1")
        before = self.ex.store.resolution(index)
        if before is not None and before != value:
            raise tornado.web.HTTPError(
                409, f"game {index} is already resolved (home_settlement {before}); a game resolves once"
            )
        self.ex.resolve(game, value)
        self.send({"resolved": game.game_id, "index": index, "home_settlement": str(value),
                   "already": before is not None})


class AdminBook(AdminControl):
    """``POST {"instrument", "bids": [[p, s]], "asks": [[p, s]]}`` pins a book (instrument
    prices); ``{"instrument", "clear": true}`` gives it back to the simulated makers."""

    async def post(self) -> None:
        body = self.body_object(frozenset({"instrument", "bids", "asks", "clear"}))
        inst = self.instrument(body.get("instrument"))
        if self.flag(body, "clear"):
            self.ex.unpin_book(inst)
        else:
            bids = self.levels(body.get("bids"), "bids")
            asks = self.levels(body.get("asks"), "asks")
            self.ex.pin_book(inst, bids, asks)
        bids, asks = self.ex.instrument_book(inst)
        self.send({"bids": [[str(p), str(q)] for p, q in bids], "asks": [[str(p), str(q)] for p, q in asks]})

    async def get(self) -> None:
        inst = self.instrument(self.get_argument("instrument", ""))
        bids, asks = self.ex.instrument_book(inst)
        self.send({"bids": [[str(p), str(q)] for p, q in bids], "asks": [[str(p), str(q)] for p, q in asks]})


class AdminFaults(AdminControl):
    """``POST {"orders": [kind…], "reads": [status…], "streams": [kind…], "hang": s}``
    scripts the next faults; ``{"clear": true}`` drops what is still queued."""

    def names(self, body: dict[str, Any], name: str) -> list[Any]:
        raw = body.get(name)
        if raw is None:
            return []
        if not isinstance(raw, list) or len(raw) > 1000:
            raise tornado.web.HTTPError(400, f"{name} must be a list (at most 1000 entries)")
        return raw

    async def post(self) -> None:
        body = self.body_object(frozenset({"orders", "reads", "streams", "hang", "clear"}))
        if self.flag(body, "clear"):
            self.state.faults.clear_script()
        else:
            orders = self.names(body, "orders")
            reads = self.names(body, "reads")
            streams = self.names(body, "streams")
            if not all(isinstance(x, str) for x in orders + streams):
                raise tornado.web.HTTPError(400, "orders and streams must be lists of fault names")
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in reads):
                raise tornado.web.HTTPError(400, "reads must be a list of HTTP status codes")
            raw_hang = body.get("hang")
            hang = None if raw_hang is None else self.arg_bounded(
                "hang", raw_hang, decimals=3, low=Decimal(0), high=Decimal(600), low_open=False)
            try:  # checks every entry before queueing any
                self.state.faults.script(orders, reads, None if hang is None else float(hang), streams)
            except ValueError as exc:
                raise tornado.web.HTTPError(400, str(exc)) from exc
        f = self.state.faults
        self.send({"orders": list(f.scripted_orders), "reads": list(f.scripted_reads),
                   "streams": list(f.scripted_streams), "hang": f.hang})


class AdminBalance(AdminControl):
    """``POST {"venue", "amount"}`` sets an account's cash balance (0 … 10^12, at most 6
    decimals)."""

    async def post(self) -> None:
        body = self.body_object(frozenset({"venue", "amount"}))
        venue = body.get("venue")
        if venue not in VENUES:
            raise tornado.web.HTTPError(400, f"venue must be one of {', '.join(VENUES)}")
        amount = self.arg_bounded("amount", body.get("amount"), decimals=BALANCE_DECIMALS,
                                  low=Decimal(0), high=MAX_BALANCE, low_open=False)
        self.ex.store.ensure_account(venue, amount)
        self.ex.store.add_balance(venue, amount - self.ex.store.balance(venue))
        self.send({"venue": venue, "balance": str(self.ex.store.balance(venue))})


class AdminOrders(AdminControl):
    """``GET ?venue=&instrument=``: the ids of the orders the exchange holds."""

    async def get(self) -> None:
        venue = self.get_argument("venue", None)
        if venue is not None and venue not in VENUES:
            raise tornado.web.HTTPError(400, f"venue must be one of {', '.join(VENUES)}")
        rows = self.ex.store.orders(venue, self.get_argument("instrument", None))
        self.send({"count": len(rows), "orders": [o.order_id for o in rows]})



def routes(state: ServerState) -> list[Rule]:
    s = {"state": state}
    return [
        (r"/paper/health", Health, s),
        (r"/paper/world", WorldSummary, s),
        (r"/paper/admin/resolve", AdminResolve, s),
        (r"/paper/admin/book", AdminBook, s),
        (r"/paper/admin/faults", AdminFaults, s),
        (r"/paper/admin/balance", AdminBalance, s),
        (r"/paper/admin/orders", AdminOrders, s),
    ]
