"""Kalshi live client (Trade API v2) implementing :class:`worker.domain.ports.VenuePort`.

Environment (read by :meth:`KalshiClient.from_env`):

* ``KALSHI_BASE_URL`` — REST base, default ``https://external-api.kalshi.com/trade-api/v2``
  (paper mode: ``http://127.0.0.1:8780/kalshi/trade-api/v2``).
* ``KALSHI_WS_URL`` — market WebSocket, default ``wss://external-api.kalshi.com/trade-api/ws/v2``.
* ``KALSHI_KEY_ID``, ``KALSHI_PRIVATE_KEY_PATH`` — API key id and RSA private key (PEM).

Orders use the V2 endpoint ``POST /portfolio/events/orders`` on the single YES book:
buying YES is a ``bid`` at the YES price, buying NO is an ``ask`` at ``1 − NO price``.
``client_order_id`` makes a re-send idempotent, so (only) Kalshi orders are retried on
timeout/5xx/429; a retry answered "duplicate" is resolved by looking the order up.
Rate limits (Basic tier): 20 reads/s, 10 writes/s.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.books import OrderBook
from worker.domain.discovery import ListingRefusal
from worker.domain.errors import OrderNotFound, OrderRejected
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketResolution,
    OutcomeSide,
    Venue,
)
from worker.domain.money import ONE, ZERO
from worker.domain.orders import (
    Balance,
    Fill,
    Order,
    OrderAction,
    OrderIntent,
    OrderState,
    Position,
    PreparedOrder,
    TimeInForce,
    apportion_fee,
)
from worker.domain.ports import BookUpdate
from worker.rate_limit import TokenBucket
from worker.venues.common.env import require
from worker.venues.common.http import Backoff, VenueHttp
from worker.venues.common.parsing import MarketRefused, dec, obj, text, ts
from worker.venues.common.refusals import RefusalLog
from worker.venues.kalshi.parse import parse_events, parse_orderbook
from worker.venues.kalshi.signing import KalshiSigner, load_private_key
from worker.venues.kalshi.tickers import LISTED_SERIES

DEFAULT_BASE_URL = "https://external-api.kalshi.com/trade-api/v2"
DEFAULT_WS_URL = "wss://external-api.kalshi.com/trade-api/ws/v2"
READS_PER_SECOND = 20
WRITES_PER_SECOND = 10

_TIF = {
    TimeInForce.FOK: "fill_or_kill",
    TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.GTC: "good_till_canceled",
}
_TIF_BACK = {v: k for k, v in _TIF.items()}


def signed_path(url_path: str) -> str:
    """The path Kalshi verifies: from ``/trade-api/`` on, without the query string.

    docs.kalshi.com ("API Keys", "Quick start: create order") sign the full path from the
    root of the API host, e.g. ``/trade-api/v2/portfolio/events/orders``. A base URL with
    a path before it (the paper exchange's ``/kalshi`` prefix, a proxy) is not part of
    what the venue sees, so it is not signed either.
    """
    bare = url_path.split("?", 1)[0]
    at = bare.find("/trade-api/")
    return bare[at:] if at > 0 else bare


def _fmt_price(p: Decimal) -> str:
    return f"{p:.4f}"


def _fmt_count(c: Decimal) -> str:
    return f"{c:.2f}"


def _count(m: Mapping[str, Any], *names: str) -> Decimal | None:
    for n in names:
        v = dec(m.get(n))
        if v is not None:
            return v
    return None


class KalshiClient:
    """Kalshi REST client. ``signer`` may be None for public market data only."""

    venue_name = Venue.KALSHI

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        signer: KalshiSigner | None = None,
        ws_url: str = DEFAULT_WS_URL,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        clock: Clock = SYSTEM_CLOCK,
        read_rate: float = READS_PER_SECOND,
        write_rate: float = WRITES_PER_SECOND,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = ws_url
        self.signer = signer
        self._own_http = http is None
        self.http = VenueHttp(
            Venue.KALSHI,
            http or httpx.AsyncClient(timeout=httpx.Timeout(5.0)),
            read_limit=TokenBucket(read_rate, clock=clock),
            write_limit=TokenBucket(write_rate, clock=clock),
            backoff=backoff,
            clock=clock,
            rng=rng,
        )
        self.clock = clock
        self.refusals = RefusalLog(Venue.KALSHI, logging.getLogger(__name__))

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> KalshiClient:
        """Build from the environment; raises MissingCredentials naming what is missing."""
        creds = require(env, Venue.KALSHI, ["KALSHI_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"])
        signer = KalshiSigner(
            creds["KALSHI_KEY_ID"], load_private_key(creds["KALSHI_PRIVATE_KEY_PATH"]),
            clock=kwargs.get("clock", SYSTEM_CLOCK),
        )
        return cls(
            env.get("KALSHI_BASE_URL") or DEFAULT_BASE_URL,
            signer=signer,
            ws_url=env.get("KALSHI_WS_URL") or DEFAULT_WS_URL,
            **kwargs,
        )

    @property
    def venue(self) -> Venue:
        return Venue.KALSHI

    # -- plumbing ---------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.base_url + path

    async def _get(
        self, path: str, params: Mapping[str, Any] | None = None, auth: bool = False
    ) -> Any:
        return await self.http.request(
            "GET", self._url(path), params=params, signer=self._headers if auth else None
        )

    def _headers(self, method: str, path: str, body: str) -> Mapping[str, str]:
        if self.signer is None:
            from worker.domain.errors import AuthFailed

            raise AuthFailed(Venue.KALSHI, "no credentials configured")
        return self.signer.headers(method, signed_path(path), body)

    # -- market data ------------------------------------------------------------------
    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        wanted = list(leagues) if leagues else list(LISTED_SERIES)
        out: list[Market] = []
        refused: list[MarketRefused] = []
        for series in (s for league in wanted for s in LISTED_SERIES.get(league, ())):
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {
                    "series_ticker": series,
                    "with_nested_markets": "true",
                    "status": "open",
                    "limit": 200,
                }
                if cursor:
                    params["cursor"] = cursor
                markets, cursor = parse_events(await self._get("/events", params), refused)
                out.extend(markets)
                if not cursor:
                    break
        self.refusals.record(refused)
        return out

    def listing_refusals(self) -> Sequence[ListingRefusal]:
        """The markets the last :meth:`list_markets` left out, and why."""
        return self.refusals.last()

    async def get_books(self, ticker: str) -> tuple[OrderBook, OrderBook]:
        payload = await self._get(f"/markets/{ticker}/orderbook")
        return parse_orderbook(ticker, payload, self.clock.now())

    async def get_book(self, contract: ContractRef) -> OrderBook:
        yes, no = await self.get_books(contract.contract_id)
        return no if contract.side is OutcomeSide.NO else yes

    async def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        from worker.venues.kalshi.ws import stream_books

        async for update in stream_books(self, contracts):
            yield update

    # -- orders -----------------------------------------------------------------------
    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        c = intent.contract
        if c.venue is not Venue.KALSHI or c.side not in (OutcomeSide.YES, OutcomeSide.NO):
            raise ValueError(f"not a Kalshi contract: {c}")
        buy = intent.action is OrderAction.BUY
        yes_side = c.side is OutcomeSide.YES
        # One YES book: buy YES / sell NO are bids, sell YES / buy NO are asks; a NO
        # price p is the YES price 1 − p.
        book_side = "bid" if buy == yes_side else "ask"
        yes_price = intent.price if yes_side else ONE - intent.price
        body: dict[str, object] = {
            "ticker": c.contract_id,
            "side": book_side,
            "count": _fmt_count(intent.size),
            "price": _fmt_price(yes_price),
            "time_in_force": _TIF[intent.tif],
            "client_order_id": intent.client_order_id,
        }
        return PreparedOrder(intent, None, body)

    async def send_order(self, prepared: PreparedOrder) -> Order:
        intent = prepared.intent
        try:
            payload = await self.http.request(
                "POST",
                self._url("/portfolio/events/orders"),
                json_body=prepared.body,
                signer=self._headers,
                write=True,
                idempotent=True,  # client_order_id de-duplicates on the venue
                ids=(intent.client_order_id, None),
            )
        except OrderRejected as exc:
            # A retried send whose first attempt did land is refused as a duplicate
            # client_order_id: the order exists, return it.
            if exc.code == "409":
                found = await self.find_order(intent)
                if found is not None:
                    return found
            raise
        return self._order_from_create(intent, obj(payload, "kalshi order response"))

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.send_order(await self.prepare_order(intent))

    def _order_from_create(self, intent: OrderIntent, p: Mapping[str, Any]) -> Order:
        p = p.get("order", p) if isinstance(p.get("order"), Mapping) else p
        filled = _count(p, "fill_count_fp", "fill_count") or ZERO
        remaining = _count(p, "remaining_count_fp", "remaining_count")
        avg = dec(p.get("average_fill_price_dollars") or p.get("average_fill_price"))
        if avg is not None and intent.contract.side is OutcomeSide.NO:
            avg = ONE - avg  # venue reports YES-book prices
        fee = dec(p.get("average_fee_paid_dollars") or p.get("average_fee_paid"), ZERO) or ZERO
        if filled >= intent.size:
            state = OrderState.FILLED
        elif intent.tif in (TimeInForce.IOC, TimeInForce.FOK) or remaining == 0:
            state = OrderState.CANCELED
        elif filled > 0:
            state = OrderState.PARTIALLY_FILLED
        else:
            state = OrderState.OPEN
        return Order(
            venue=Venue.KALSHI,
            venue_order_id=text(p.get("order_id")) or None,
            client_order_id=text(p.get("client_order_id")) or intent.client_order_id,
            contract=intent.contract,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            tif=intent.tif,
            state=state,
            filled_size=filled,
            avg_fill_price=avg if filled > 0 else None,
            # average_fee_paid is per contract
            fee_paid=fee * filled,
            updated_at=ts(p.get("ts_ms")) or self.clock.now(),
        )

    def _order_from_record(self, o: Mapping[str, Any]) -> Order:
        ticker = text(o.get("ticker"))
        raw_side = text(o.get("side")).lower()
        action_raw = text(o.get("action")).lower()
        if raw_side in ("bid", "ask"):
            side = OutcomeSide.YES
            action = OrderAction.BUY if raw_side == "bid" else OrderAction.SELL
        else:
            side = OutcomeSide.NO if raw_side == "no" else OutcomeSide.YES
            action = OrderAction.SELL if action_raw == "sell" else OrderAction.BUY
        yes_price = dec(o.get("yes_price_dollars") or o.get("price"))
        no_price = dec(o.get("no_price_dollars"))
        if side is OutcomeSide.NO:
            price = no_price if no_price is not None else ONE - (yes_price or ZERO)
        else:
            price = yes_price if yes_price is not None else ONE - (no_price or ZERO)
        filled = _count(o, "fill_count_fp", "fill_count") or ZERO
        remaining = _count(o, "remaining_count_fp", "remaining_count") or ZERO
        initial = _count(o, "initial_count_fp", "initial_count") or (filled + remaining)
        status = text(o.get("status")).lower()
        if status == "executed" or (initial > 0 and filled >= initial):
            state = OrderState.FILLED
        elif status == "canceled":
            state = OrderState.CANCELED
        elif status == "resting":
            state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
        else:
            state = OrderState.OPEN
        fees = (dec(o.get("taker_fees_dollars"), ZERO) or ZERO) + (
            dec(o.get("maker_fees_dollars"), ZERO) or ZERO
        )
        tif = _TIF_BACK.get(text(o.get("time_in_force")), TimeInForce.GTC)
        avg = dec(o.get("average_fill_price_dollars"))
        return Order(
            venue=Venue.KALSHI,
            venue_order_id=text(o.get("order_id")) or None,
            client_order_id=text(o.get("client_order_id")) or None,
            contract=ContractRef(Venue.KALSHI, ticker, ticker, side),
            action=action,
            price=price or ZERO,
            size=max(initial, filled),
            tif=tif,
            state=state,
            filled_size=filled,
            avg_fill_price=avg if filled > 0 else None,
            fee_paid=fees,
            updated_at=ts(o.get("last_update_time") or o.get("created_time")),
        )

    async def get_order(self, venue_order_id: str) -> Order:
        payload = await self._get(f"/portfolio/orders/{venue_order_id}", auth=True)
        return self._order_from_record(obj(obj(payload, "kalshi").get("order"), "kalshi order"))

    async def find_order(self, intent: OrderIntent) -> Order | None:
        """Find by our ``client_order_id`` among the market's orders."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"ticker": intent.contract.contract_id, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            payload = obj(await self._get("/portfolio/orders", params, auth=True), "kalshi")
            for o in payload.get("orders") or []:
                if text(o.get("client_order_id")) == intent.client_order_id:
                    return self._order_from_record(o)
            cursor = text(payload.get("cursor")) or None
            if not cursor:
                return None

    async def cancel_order(self, venue_order_id: str) -> Order:
        payload = await self.http.request(
            "DELETE",
            self._url(f"/portfolio/orders/{venue_order_id}"),
            signer=self._headers,
            write=True,
            idempotent=True,  # cancelling twice is harmless
            ids=(None, venue_order_id),
        )
        order = obj(payload, "kalshi").get("order")
        if not isinstance(order, Mapping):
            raise OrderNotFound(Venue.KALSHI, "cancel answered without an order")
        return self._order_from_record(order)

    # -- portfolio --------------------------------------------------------------------
    async def balance(self) -> Balance:
        p = obj(await self._get("/portfolio/balance", auth=True), "kalshi balance")
        dollars = dec(p.get("balance_dollars"))
        if dollars is None:
            cents = dec(p.get("balance"), ZERO) or ZERO
            dollars = cents / 100
        value = dec(p.get("portfolio_value_dollars"))
        return Balance(Venue.KALSHI, dollars, None if value is None else dollars + value)

    async def positions(self) -> list[Position]:
        p = obj(await self._get("/portfolio/positions", auth=True), "kalshi positions")
        out: list[Position] = []
        for mp in p.get("market_positions") or []:
            ticker = text(mp.get("ticker"))
            qty = _count(mp, "position_fp", "position") or ZERO
            if qty == 0:
                continue
            side = OutcomeSide.YES if qty > 0 else OutcomeSide.NO
            out.append(
                Position(Venue.KALSHI, ContractRef(Venue.KALSHI, ticker, ticker, side), abs(qty))
            )
        return out

    def _fill(self, f: Mapping[str, Any]) -> Fill:
        ticker = text(f.get("ticker"))
        side = OutcomeSide.NO if text(f.get("side")).lower() == "no" else OutcomeSide.YES
        price = dec(f.get("no_price_dollars") if side is OutcomeSide.NO else f.get("yes_price_dollars"))
        return Fill(
            venue=Venue.KALSHI,
            fill_id=text(f.get("fill_id") or f.get("trade_id")),
            venue_order_id=text(f.get("order_id")),
            contract=ContractRef(Venue.KALSHI, ticker, ticker, side),
            action=OrderAction.SELL if text(f.get("action")) == "sell" else OrderAction.BUY,
            price=price or ZERO,
            size=_count(f, "count_fp", "count") or ZERO,
            fee=dec(f.get("fee_cost_dollars") or f.get("fee_cost"), ZERO) or ZERO,
            ts=ts(f.get("created_time")) or self.clock.now(),
            is_taker=bool(f.get("is_taker", True)),
            client_order_id=text(f.get("client_order_id")) or None,
        )

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        params: dict[str, Any] = {"limit": 200}
        if since is not None:
            params["min_ts"] = int(since.timestamp())
        p = obj(await self._get("/portfolio/fills", params, auth=True), "kalshi fills")
        return [self._fill(f) for f in p.get("fills") or []]

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        """``GET /portfolio/fills?order_id=`` (every page), the fee from the order itself.

        Kalshi rounds the fee once per order: the order's ``taker_fees_dollars`` (plus
        ``maker_fees_dollars``) is what left the account, so the fills' fees are made to
        add up to it (``apportion_fee``).
        """
        order = await self.get_order(venue_order_id)
        out: list[Fill] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"order_id": venue_order_id, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            p = obj(await self._get("/portfolio/fills", params, auth=True), "kalshi fills")
            out.extend(self._fill(f) for f in p.get("fills") or [])
            cursor = text(p.get("cursor")) or None
            if not cursor:
                break
        mine = sorted((f for f in out if f.venue_order_id == venue_order_id), key=lambda f: (f.ts, f.fill_id))
        return apportion_fee(mine, order.fee_paid)

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Nothing to redeem: a settled market pays cash into the account."""
        return None

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        """``GET /markets/{ticker}``: settled once ``status`` is ``settled``/``finalized``;
        ``settlement_value_dollars`` is what one YES paid (a void game's fair value too)."""
        ticker = contract.market_id or contract.contract_id
        m = obj(obj(await self._get(f"/markets/{ticker}"), "kalshi market").get("market"), "kalshi market")
        if text(m.get("status")).lower() not in ("settled", "finalized"):
            return None
        yes_value = dec(m.get("settlement_value_dollars"))
        if yes_value is None:
            result = text(m.get("result")).lower()
            if result not in ("yes", "no"):
                return None
            yes_value = ONE if result == "yes" else ZERO
        yes = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.YES)
        no = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.NO)
        when = ts(m.get("settlement_ts") or m.get("expiration_time")) or self.clock.now()
        return MarketResolution(Venue.KALSHI, ticker, {yes: yes_value, no: ONE - yes_value}, when)

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.client.aclose()
