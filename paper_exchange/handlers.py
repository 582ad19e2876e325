"""The base of every HTTP route of the paper exchange: the body read as a stream and
limited before it is read, JSON answers and errors (each venue shapes its own error body),
the latency and the timeout faults, request guards (this machine only, JSON only) and
argument checks.

Every request body is limited to 1 MiB, checked from the headers before the body is read
(413); a body-less route never reads one. See docs/paper-exchange.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import tornado.http1connection
import tornado.httputil
import tornado.web

from paper_exchange.credentials import path_candidates
from paper_exchange.matching import PaperExchange
from paper_exchange.state import ServerState
from paper_exchange.world import World

ONE = Decimal(1)

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
#: One route: URL pattern, handler, the handler's ``initialize`` arguments.
Rule = tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]
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


def reason_phrase(status_code: int, send_error_kwargs: Mapping[str, Any]) -> str:
    """The reason phrase ``RequestHandler.send_error`` puts on the status line (given to
    ``write_error`` with the same arguments): an ``HTTPError``'s ``reason``, else the
    ``reason`` argument, else the standard phrase of the code."""
    reason = send_error_kwargs.get("reason")
    exc = send_error_kwargs.get("exc_info", (None, None, None))[1]
    if isinstance(exc, tornado.web.HTTPError) and exc.reason:
        reason = exc.reason
    return str(reason) if reason is not None else tornado.httputil.responses.get(status_code, "Unknown")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@tornado.web.stream_request_body
class PaperHandler(tornado.web.RequestHandler):
    """Every HTTP route. The body is streamed in (:meth:`data_received`) so that
    :meth:`prepare` decides from the headers alone — route guards (control switch, host,
    content type, header signatures), then the size limit — before a byte of it is read."""

    state: ServerState
    venue_prefix = ""

    def initialize(self, state: ServerState) -> None:
        self.state = state
        self.body_chunks: list[bytes] = []
        self.body_size = 0
        #: True until the request is past :meth:`prepare`: an answer given before then
        #: (a refusal, a scripted read fault) is given before the body was read, so the
        #: connection closes after it — and the answer says so (``Connection: close``),
        #: or a client would send its next request on a connection about to close.
        self.before_body = True
        #: True once the answer is finished (:meth:`on_finish`): a refusal, an injected
        #: fault's answer. A handler that has answered does nothing more.
        self.answered = False

    def on_finish(self) -> None:
        self.answered = True

    @property
    def ex(self) -> PaperExchange[World]:
        return self.state.exchange

    def now(self) -> datetime:
        return self.ex.clock.now()

    def send(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.mark_closing()
        self.finish(json.dumps(payload))

    def mark_closing(self) -> None:
        if self.before_body or self.body_size > MAX_BODY_BYTES:
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
        if self.answered:
            return  # refused already: the rest is discarded and the connection closes
        self.body_size += len(chunk)
        if self.body_size > MAX_BODY_BYTES:  # the server's own limit stops it first
            self.send(self.error_body(413, f"request body exceeds {MAX_BODY_BYTES} bytes"), 413)
            return
        self.body_chunks.append(chunk)
        self.request.body = b"".join(self.body_chunks)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The venue's error body (:meth:`error_body`): an ``HTTPError``'s message, else
        the status line's reason phrase."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, tornado.web.HTTPError) and exc.log_message:
            reason = exc.log_message
        else:
            reason = reason_phrase(status_code, kwargs)
        self.set_header("Content-Type", "application/json")
        self.mark_closing()
        self.finish(json.dumps(self.error_body(status_code, reason)))

    def error_body(self, status: int, message: str) -> Any:
        return {"error": message}

    async def latency(self) -> None:
        if self.state.latency_s > 0:
            await self.state.wall.sleep(self.state.latency_s)

    def paths(self) -> list[str]:
        return path_candidates(self.request.path, self.venue_prefix)

    async def drop(self) -> NoReturn:
        """Hold the request as a venue that timed out would, then drop the connection
        without an answer (the client sees a timeout or a lost connection): the
        connection is taken from Tornado (``detach``, so nothing more is written or
        logged) and closed, and the handler ends (``Finish``)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.state.wall.sleep(self.state.faults.hang)
        self.detach().close()
        raise tornado.web.Finish()

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
        self.before_body = False

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
