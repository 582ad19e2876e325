"""Tornado HTTP + WebSocket server of the paper exchange: each venue under its prefix.

* Kalshi ``/kalshi/trade-api/v2/...`` and WebSocket ``/kalshi/trade-api/ws/v2``
* Polymarket Gamma ``/polymarket/gamma/...``, CLOB ``/polymarket/clob/...``, market
  WebSocket ``/polymarket/ws/market``
* Polymarket US ``/polymarket-us/v1/...`` (gateway and API paths alike), WebSocket
  ``/polymarket-us/v1/ws/markets``
* ``/paper/health``, ``/paper/world``, ``POST /paper/redeem`` (a Polymarket user's "Claim")
* ``/paper/admin/...`` (resolve a game, pin books, script faults, set balances): only when
  started with ``EXECUTOR_PAPER_CONTROL=1``, only from this machine, JSON bodies only

Every request body is limited to 1 MiB, checked from the headers before the body is read
(413); a body-less route never reads one. See docs/paper-exchange.md.

One asyncio loop; every order is matched and committed synchronously inside its handler
(no interleaving inside the engine). A background task steps the world every ``tick_s``:
resting orders fill, due games resolve, and subscribed books are pushed to WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tornado.http1connection
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket

from paper_exchange import credentials, wire
from paper_exchange.credentials import AuthError, PaperCredentials, path_candidates
from paper_exchange.faults import Faults, FaultSpec
from paper_exchange.kalshi import wire as kalshi_wire
from paper_exchange.kalshi.auth import verify_kalshi
from paper_exchange.matching import OrderRejected, PaperExchange, PlaceRequest
from paper_exchange.polymarket import wire as poly_wire
from paper_exchange.polymarket.auth import (
    POLY_EXCHANGES,
    verify_poly_l2,
    verify_poly_l2_headers,
    verify_poly_order,
)
from paper_exchange.polymarket_us import wire as pmus_wire
from paper_exchange.polymarket_us.auth import verify_pmus
from paper_exchange.store import OrderRow, Store, iso
from paper_exchange.world import Game, World, floor_epoch
from worker.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("worker.paper")
ONE = Decimal(1)
KALSHI = "/kalshi/trade-api/v2"
GAMMA = "/polymarket/gamma"
CLOB = "/polymarket/clob"
PMUS = "/polymarket-us"

#: The largest request body any route accepts (the venues' own payloads are a few KB).
#: Checked from ``Content-Length`` before the body is read (413); the HTTP server also
#: refuses any body over it (a chunked one: a bare 400 and the connection closed).
MAX_BODY_BYTES = 1 << 20
#: The most contracts (shares) one order or one pinned book level may carry.
MAX_CONTRACTS = Decimal(1_000_000)
#: Decimal places the venues' order sizes and prices are written with (Kalshi
#: ``count_fp`` "10.00" and ``yes_price_dollars`` "0.5600"; Polymarket US the same).
SIZE_DECIMALS = 2
PRICE_DECIMALS = 4
#: Decimal places and ceiling of a balance set through ``/paper/admin/balance``.
BALANCE_DECIMALS = 6
MAX_BALANCE = Decimal(10) ** 12
#: ``Host`` names that address this machine (any port).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOOPBACK_IPS = frozenset({"127.0.0.1", "::1"})
_HOST_RE = re.compile(r"^(?:\[(?P<v6>[0-9a-f:.]+)\]|(?P<name>[^:\[\]]+))(?::\d{1,5})?$")


def host_name(host: str) -> str | None:
    """The name of a ``Host`` header without its port (``[::1]:8780`` → ``::1``), or None
    when it is malformed."""
    m = _HOST_RE.match(host.strip().lower())
    if m is None:
        return None
    return m.group("v6") or m.group("name")


def is_json_content_type(value: str) -> bool:
    """``application/json``, with or without parameters (``; charset=utf-8``)."""
    return value.split(";", 1)[0].strip().lower() == "application/json"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@dataclass
class ServerState:
    """What every handler shares."""

    exchange: PaperExchange
    creds: PaperCredentials
    faults: Faults
    latency_s: float = 0.0
    tick_s: float = 0.5
    orders_placed: int = 0
    updates_sent: int = 0
    #: The scripting endpoints under ``/paper/admin/`` (pinned books, scripted faults,
    #: balances) exist only when enabled (tests; ``EXECUTOR_PAPER_CONTROL=1``).
    control: bool = False
    #: Real time at the wire: how fresh a request's signed timestamp is, the server time
    #: the exchange reports, latency, hangs and the tick. The market's own time
    #: (``exchange.clock``) may be a test's fake clock; a client's signature and its read
    #: timeout are real time all the same.
    wall: Clock = SYSTEM_CLOCK


class Dropped(Exception):
    """The request was dropped on purpose (a timeout fault)."""


@tornado.web.stream_request_body
class Base(tornado.web.RequestHandler):
    """Every HTTP route. The body is streamed in (:meth:`data_received`) so that
    :meth:`prepare` decides from the headers alone — route guards (control switch, host,
    content type, header signatures), then the size limit — before a byte of it is read."""

    state: ServerState
    venue_prefix = ""

    def initialize(self, state: ServerState) -> None:
        self.state = state
        self._body_parts: list[bytes] = []
        self._body_size = 0
        #: True until the request is past :meth:`prepare`: an answer given before then
        #: (a refusal, a scripted read fault) is given before the body was read, so the
        #: connection closes after it — and the answer says so (``Connection: close``),
        #: or a client would send its next request on a connection about to close.
        self._before_body = True

    @property
    def ex(self) -> PaperExchange:
        return self.state.exchange

    def now(self) -> datetime:
        return self.ex.clock.now()

    def send(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self._mark_closing()
        self.finish(json.dumps(payload))

    def _mark_closing(self) -> None:
        if self._before_body or self._body_size > MAX_BODY_BYTES:
            self.set_header("Connection", "close")

    def body_json(self) -> Any:
        """The body parsed as JSON (an empty body is ``{}``). Numbers with a fraction or
        an exponent become Decimals (``1e309`` stays a finite, out-of-range number, not a
        float infinity); ``NaN``/``Infinity`` are refused as the JSON grammar does."""
        try:
            return json.loads(self.request.body or b"{}", parse_float=Decimal, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, too many digits, NaN
            raise tornado.web.HTTPError(400, "body is not valid JSON") from exc

    def body_object(self, allowed: frozenset[str] | None = None) -> dict[str, Any]:
        """The body as a JSON object; with ``allowed``, a key outside it is refused."""
        body = self.body_json()
        if not isinstance(body, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        if allowed is not None:
            unknown = sorted(set(body) - allowed)
            if unknown:
                raise tornado.web.HTTPError(
                    400, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
                )
        return body

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return  # refused already: the rest is discarded and the connection closes
        self._body_size += len(chunk)
        if self._body_size > MAX_BODY_BYTES:  # the server's own limit stops it first
            self.send(self.error_body(413, f"request body exceeds {MAX_BODY_BYTES} bytes"), 413)
            return
        self._body_parts.append(chunk)
        self.request.body = b"".join(self._body_parts)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.set_header("Content-Type", "application/json")
        self._mark_closing()
        self.finish(json.dumps(self.error_body(status_code, reason)))

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    async def latency(self) -> None:
        if self.state.latency_s > 0:
            await self.state.wall.sleep(self.state.latency_s)

    def paths(self) -> list[str]:
        return path_candidates(self.request.path, self.venue_prefix)

    async def drop(self) -> None:
        """Hold the request as a venue that timed out would, then drop the connection
        without an answer (the client sees a timeout or a lost connection)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.state.wall.sleep(self.state.faults.hang)
        if self.request.connection is not None:
            self.request.connection.close()  # type: ignore[attr-defined]
        self._finished = True
        raise Dropped()

    async def _execute(self, *args: Any, **kwargs: Any) -> None:
        with contextlib.suppress(Dropped):
            await super()._execute(*args, **kwargs)

    def prepare(self) -> None:
        self.guard()
        self.limit_body()
        # A scripted read fault answers a venue GET before it is processed (a 429 is a
        # refusal: nothing was read, nothing changed).
        if self.request.method == "GET" and not self.request.path.startswith("/paper"):
            status = self.state.faults.read_fault()
            if status is not None:
                self.send(self.error_body(status, "injected read fault"), status)
                return
        self._before_body = False

    async def order_fault(self) -> str | None:
        """Draw (or pop the scripted) fault of one order request and apply the ones that
        happen *before* the order reaches the engine. Returns the fault; when the answer
        has already been sent (``reject``/``unauthorized``/``invalid``) the handler must
        return. ``timeout_unfilled`` never returns (the request is dropped)."""
        fault = self.state.faults.order_fault()
        if fault == "reject":
            self.send(self.error_body(503, "order rejected (injected fault)"), 503)
        elif fault == "unauthorized":
            self.send(self.error_body(401, "invalid credentials (injected fault)"), 401)
        elif fault == "invalid":
            self.send(self.error_body(400, "order refused (injected fault)"), 400)
        elif fault == "timeout_unfilled":
            await self.drop()
        return fault

    def guard(self) -> None:
        """Checks a route makes from the headers, before its body is read (raise
        ``HTTPError`` to refuse). None by default."""

    def limit_body(self) -> None:
        """413 when the declared body is over :data:`MAX_BODY_BYTES`: nothing is read."""
        raw = self.request.headers.get("Content-Length")
        if raw is None:
            return
        try:
            declared = int(raw)
        except ValueError:
            raise tornado.web.HTTPError(400, "Content-Length is not a number") from None
        if declared > MAX_BODY_BYTES:
            conn = self.request.connection
            if isinstance(conn, tornado.http1connection.HTTP1Connection):
                # The connection closes once the 413 is written (Tornado closes it when a
                # handler answers before the body was read); lifting its own limit only
                # stops it from writing a second, bare 400 after ours.
                conn.set_max_body_size(declared)
            raise tornado.web.HTTPError(413, f"request body exceeds {MAX_BODY_BYTES} bytes")

    def require_local_json(self) -> None:
        """From this machine only (a loopback peer *and* a loopback ``Host``, so that a
        web page on another site, or a DNS name rebound to 127.0.0.1, cannot reach the
        route), and a body only as ``application/json`` (no cross-site form posts)."""
        if self.request.remote_ip not in LOOPBACK_IPS:
            raise tornado.web.HTTPError(403, "from this machine only")
        name = host_name(self.request.headers.get("Host", ""))
        if name not in LOOPBACK_HOSTS:
            raise tornado.web.HTTPError(403, "the Host header must be 127.0.0.1, localhost or [::1] (any port)")
        if self.request.method in ("POST", "PUT", "PATCH", "DELETE") and not is_json_content_type(
            self.request.headers.get("Content-Type", "")
        ):
            raise tornado.web.HTTPError(415, "send the body as Content-Type: application/json")

    def arg_dec(self, name: str, value: Any) -> Decimal:
        """A required finite number (a JSON number or a numeric string)."""
        if value is None:
            raise tornado.web.HTTPError(400, f"{name} is required")
        if not isinstance(value, (str, int, Decimal)) or isinstance(value, bool):
            raise tornado.web.HTTPError(400, f"{name} must be a number or a numeric string")
        try:
            d = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation as exc:
            raise tornado.web.HTTPError(400, f"{name} is not a number") from exc
        if not d.is_finite():
            raise tornado.web.HTTPError(400, f"{name} is not finite")
        return d

    def arg_bounded(
        self, name: str, value: Any, *, decimals: int, low: Decimal, high: Decimal, low_open: bool = True
    ) -> Decimal:
        """A finite number in ``(low, high]`` (``[low, high]`` with ``low_open=False``)
        written with at most ``decimals`` decimal places (trailing zeros aside)."""
        d = self.arg_dec(name, value)
        if d < low or (low_open and d == low) or d > high:
            bound = "(" if low_open else "["
            raise tornado.web.HTTPError(400, f"{name} must be within {bound}{low}, {high}]")
        if d.normalize().as_tuple().exponent < -decimals:  # type: ignore[operator]
            raise tornado.web.HTTPError(400, f"{name} has more than {decimals} decimal places")
        return d

    def arg_size(self, name: str, value: Any) -> Decimal:
        """An order size in contracts: more than 0, at most :data:`MAX_CONTRACTS`."""
        return self.arg_bounded(name, value, decimals=SIZE_DECIMALS, low=Decimal(0), high=MAX_CONTRACTS)

    def arg_price(self, name: str, value: Any) -> Decimal:
        """A price in dollars per contract, strictly between 0 and 1."""
        d = self.arg_bounded(name, value, decimals=PRICE_DECIMALS, low=Decimal(0), high=ONE)
        if d == ONE:
            raise tornado.web.HTTPError(400, f"{name} must be below 1")
        return d

    def arg_int(self, name: str, default: int, low: int = 0, high: int = 10**9) -> int:
        """An integer query argument within ``[low, high]``."""
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise tornado.web.HTTPError(400, f"{name} must be an integer") from None
        if not low <= value <= high:
            raise tornado.web.HTTPError(400, f"{name} must be within [{low}, {high}]")
        return value


# -- Kalshi ---------------------------------------------------------------------------------
class KalshiBase(Base):
    venue_prefix = "/kalshi"

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
            if series and g.kalshi_series != series:
                continue
            resolved = self.ex.store.resolution(g.index) is not None
            st = kalshi_wire.kalshi_status(g, now, resolved)
            if status == "open" and st != "active":
                continue
            if status == "closed" and st != "closed":
                continue
            if status == "settled" and st != "finalized":
                continue
            games.append(g)
        chunk, cursor = _page(games, self.get_argument("limit", None), self.get_argument("cursor", None))
        self.send({"events": [kalshi_wire.kalshi_event(self.ex, g, now, nested) for g in chunk], "cursor": cursor})


class KalshiEvent(KalshiBase):
    async def get(self, event_ticker: str) -> None:
        await self.latency()
        g = self.ex.world.game_by_kalshi_event(event_ticker)
        if g is None:
            raise tornado.web.HTTPError(404, "event not found")
        ev = kalshi_wire.kalshi_event(self.ex, g, self.now(), True)
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
            if event and g.kalshi_event_ticker != event:
                continue
            if series and g.kalshi_series != series:
                continue
            for home in (False, True):
                if tickers and g.kalshi_ticker(home) not in tickers:
                    continue
                out.append(kalshi_wire.kalshi_market(self.ex, g, home, now))
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
        self.send({"market": kalshi_wire.kalshi_market(self.ex, g, market.yes_is_home, self.now())})


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
        if self._finished:
            return
        slip = self.state.faults.slip_ticks() if self.state.faults.slip() else 0
        req = PlaceRequest("kalshi", ticker, "buy" if side == "bid" else "sell", price, count, tif, cid or None)
        try:
            result = self.ex.place(req, slip_ticks=slip)
        except OrderRejected as exc:
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


# -- Polymarket -----------------------------------------------------------------------------
class GammaEvents(Base):
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
            ev = poly_wire.gamma_event(self.ex, g, now)
            if closed is not None and ev["closed"] != (closed.lower() == "true"):
                continue
            events.append(ev)
        offset = self.arg_int("offset", 0)
        limit = self.arg_int("limit", 500, 0, 10_000)
        self.send(events[offset : offset + limit])


class GammaEvent(Base):
    async def get(self, event_id: str) -> None:
        await self.latency()
        now = self.now()
        for g in self.ex.world.games(now):
            if "polymarket" in g.venues and (g.gamma_event_id == event_id or g.gamma_slug == event_id):
                self.send(poly_wire.gamma_event(self.ex, g, now))
                return
        raise tornado.web.HTTPError(404, "event not found")


class GammaMarkets(Base):
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
            for kind in ("moneyline", "spread", "total"):
                m = poly_wire.gamma_market(self.ex, g, kind, now)
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


class ClobBase(Base):
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
        if self._finished:
            return
        slip = self.state.faults.slip_ticks() if self.state.faults.slip() else 0
        req = PlaceRequest("polymarket", str(order["tokenId"]), side.lower(), price.normalize(), shares,
                           tif, None, order_id, {"owner": body.get("owner"), "maker": order.get("maker")})
        try:
            result = self.ex.place(req, slip_ticks=slip)
        except OrderRejected as exc:
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


# -- Polymarket US --------------------------------------------------------------------------
class PmusBase(Base):
    venue_prefix = PMUS

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
        if self._finished:
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
        except OrderRejected as exc:
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


class PolyDataPositions(Base):
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


class PolyRedeem(Base):
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


# -- admin ----------------------------------------------------------------------------------
class Health(Base):
    async def get(self) -> None:
        self.send({"ok": True, "seed": self.ex.world.seed, "epoch": iso(self.ex.world.epoch)})


class WorldSummary(Base):
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
VENUES = ("kalshi", "polymarket", "polymarket_us")


class AdminControl(Base):
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
    exchange has generated (``/paper/world`` lists them), ``outcome`` home|away|cancelled.
    Resolving a resolved game again with the same outcome answers what was done; with
    another outcome, 409 (a game resolves once)."""

    async def post(self) -> None:
        body = self.body_object(frozenset({"index", "outcome"}))
        index = body.get("index")
        outcome = body.get("outcome")
        if not isinstance(index, int) or isinstance(index, bool):
            raise tornado.web.HTTPError(400, "index must be an integer (a game index from /paper/world)")
        self.ex.world.ensure(self.now())
        known = len(self.ex.world.all_games())
        if not 0 <= index < known:
            raise tornado.web.HTTPError(400, f"index must be a known game, within [0, {known - 1}]")
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise tornado.web.HTTPError(400, "outcome must be one of home, away, cancelled")
        game = self.ex.world.game(index)
        value = OUTCOMES[outcome]
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


# -- WebSockets -----------------------------------------------------------------------------
class FeedSocket(tornado.websocket.WebSocketHandler):
    """Base of the three market-data sockets: subscriptions and the per-tick push."""

    state: ServerState
    hub: Hub
    venue_prefix = ""

    def initialize(self, state: ServerState, hub: Hub) -> None:
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
                               path_candidates(self.request.path, "/kalshi"), clock=self.state.wall)
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
                             path_candidates(self.request.path, PMUS), clock=self.state.wall)
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


class Hub:
    """The open market-data sockets, pushed once per tick."""

    def __init__(self) -> None:
        self.sockets: set[FeedSocket] = set()


def make_app(state: ServerState, hub: Hub) -> tornado.web.Application:
    s = {"state": state}
    w = {"state": state, "hub": hub}
    k, c, u = KALSHI, CLOB, PMUS
    routes: list[Any] = [
        (rf"{k}/events", KalshiEvents, s),
        (rf"{k}/events/([^/]+)", KalshiEvent, s),
        (rf"{k}/markets", KalshiMarkets, s),
        (rf"{k}/markets/([^/]+)/orderbook", KalshiOrderbook, s),
        (rf"{k}/markets/([^/]+)", KalshiMarket, s),
        (rf"{k}/portfolio/events/orders", KalshiCreateOrder, s),
        (rf"{k}/portfolio/orders", KalshiOrders, s),
        (rf"{k}/portfolio/orders/([^/]+)", KalshiOrder, s),
        (rf"{k}/portfolio/events/orders/([^/]+)", KalshiOrder, s),
        (rf"{k}/portfolio/balance", KalshiBalance, s),
        (rf"{k}/portfolio/positions", KalshiPositions, s),
        (rf"{k}/portfolio/fills", KalshiFills, s),
        (rf"{k}/portfolio/settlements", KalshiSettlements, s),
        (r"/kalshi/trade-api/ws/v2", KalshiSocket, w),
        (rf"{GAMMA}/events", GammaEvents, s),
        (rf"{GAMMA}/events/([^/]+)", GammaEvent, s),
        (rf"{GAMMA}/markets", GammaMarkets, s),
        (rf"{GAMMA}/markets/([^/]+)", GammaMarkets, s),
        (rf"{c}/book", ClobBook, s),
        (rf"{c}/books", ClobBooks, s),
        (rf"{c}/midpoint", ClobMidpoint, s),
        (rf"{c}/tick-size", ClobTickSize, s),
        (rf"{c}/neg-risk", ClobNegRisk, s),
        (rf"{c}/markets-by-token/([^/]+)", ClobMarketByToken, s),
        (rf"{c}/clob-markets/([^/]+)", ClobMarketInfo, s),
        (rf"{c}/time", ClobTime, s),
        (rf"{c}/order", ClobOrder, s),
        (rf"{c}/data/orders", ClobDataOrders, s),
        (rf"{c}/data/order/([^/]+)", ClobDataOrders, s),
        (rf"{c}/data/trades", ClobDataTrades, s),
        (rf"{c}/balance-allowance", ClobBalance, s),
        (r"/polymarket/ws/market", PolySocket, w),
        (rf"{u}/v1/events", PmusEvents, s),
        (rf"{u}/v1/markets", PmusMarkets, s),
        (rf"{u}/v1/markets/([^/]+)/book", PmusBook, s),
        (rf"{u}/v1/markets/([^/]+)/bbo", PmusBbo, s),
        (rf"{u}/v1/markets/([^/]+)/settlement", PmusSettlement, s),
        (rf"{u}/v1/market/slug/([^/]+)", PmusMarketBySlug, s),
        (rf"{u}/v1/orders", PmusOrders, s),
        (rf"{u}/v1/orders/open", PmusOpenOrders, s),
        (rf"{u}/v1/order/([^/]+)", PmusOrder, s),
        (rf"{u}/v1/order/([^/]+)/cancel", PmusCancel, s),
        (rf"{u}/v1/portfolio/positions", PmusPositions, s),
        (rf"{u}/v1/portfolio/activities", PmusActivities, s),
        (rf"{u}/v1/account/balances", PmusBalances, s),
        (rf"{u}/v1/ws/markets", PmusSocket, w),
        (r"/paper/health", Health, s),
        (r"/paper/world", WorldSummary, s),
        (r"/paper/admin/resolve", AdminResolve, s),
        (r"/paper/admin/book", AdminBook, s),
        (r"/paper/admin/faults", AdminFaults, s),
        (r"/paper/admin/balance", AdminBalance, s),
        (r"/paper/admin/orders", AdminOrders, s),
        (r"/polymarket/data/positions", PolyDataPositions, s),
        (r"/paper/redeem", PolyRedeem, s),
    ]
    return tornado.web.Application(routes, websocket_ping_interval=20, log_function=_log_request)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Request lines at debug: the exchange serves many book polls a second.
    if handler.get_status() >= 500:
        log.warning("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())
    else:
        log.debug("%s %s -> %s", handler.request.method, handler.request.path, handler.get_status())


class PaperServer:
    """The running exchange: HTTP server bound to 127.0.0.1 plus the tick task."""

    def __init__(self, state: ServerState, port: int = 0, host: str = "127.0.0.1") -> None:
        self.state = state
        self.hub = Hub()
        self.app = make_app(state, self.hub)
        self.host = host
        self.requested_port = port
        self.port = 0
        self._server: tornado.httpserver.HTTPServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.on_tick: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> int:
        sockets = tornado.netutil.bind_sockets(self.requested_port, self.host)
        self.port = sockets[0].getsockname()[1]
        # The server refuses any body over the limit; the handlers answer 413 first when
        # the length is declared (``Base.limit_body``).
        self._server = tornado.httpserver.HTTPServer(self.app, xheaders=False, max_body_size=MAX_BODY_BYTES)
        self._server.add_sockets(sockets)
        self._ticker = asyncio.create_task(self._tick_loop())
        return self.port

    def step(self) -> None:
        """Advance the world once: resting fills, resolutions, WebSocket pushes."""
        self.state.exchange.step()
        now = self.state.exchange.clock.now()
        for sock in list(self.hub.sockets):
            try:
                sock.push(now)
            except tornado.websocket.WebSocketClosedError:
                self.hub.sockets.discard(sock)

    async def _tick_loop(self) -> None:
        while True:
            await self.state.wall.sleep(self.state.tick_s)
            try:
                self.step()
            except Exception:  # a bug: log it loudly but keep the exchange serving
                log.exception("paper exchange tick failed")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for sock in list(self.hub.sockets):
            sock.close()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()


def store_path(data_dir: Path, seed: int) -> Path:
    """One store per seed: a different seed is a different world."""
    return data_dir / "paper" / f"exchange-seed{seed}.db"


def build_exchange(
    data_dir: Path,
    seed: int,
    balances: Mapping[str, Decimal],
    faults: Faults | None = None,
    clock: Clock | None = None,
) -> PaperExchange:
    """Open (or create) the persisted exchange of a seed; its epoch is kept in the store
    so that a restart lists the same games under the same identifiers."""
    clock = clock or SYSTEM_CLOCK
    store = Store(store_path(data_dir, seed))
    raw = store.get_meta("epoch")
    if raw is None:
        epoch = floor_epoch(clock.now())
        store.set_meta("epoch", epoch.isoformat())
        store.set_meta("seed", str(seed))
    else:
        epoch = datetime.fromisoformat(raw)
    world = World(seed, epoch)
    return PaperExchange(world, store, clock, balances, faults)


def build_state(
    data_dir: Path,
    seed: int,
    balances: Mapping[str, Decimal],
    fault_spec: FaultSpec | None = None,
    clock: Clock | None = None,
    latency_ms: int = 0,
    tick_s: float = 0.5,
    control: bool | None = None,
) -> ServerState:
    """Everything a server needs; ``control`` defaults to ``EXECUTOR_PAPER_CONTROL=1``."""
    faults = Faults(fault_spec or FaultSpec(), seed)
    exchange = build_exchange(data_dir, seed, balances, faults, clock)
    creds = credentials.ensure_credentials(data_dir)
    if control is None:
        control = os.environ.get("EXECUTOR_PAPER_CONTROL", "").strip() == "1"
    return ServerState(exchange, creds, faults, latency_ms / 1000, tick_s, control=control)
