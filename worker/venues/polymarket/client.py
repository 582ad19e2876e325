"""Polymarket live client (Gamma + CLOB V2) implementing the venue port.

Environment (read by :meth:`PolymarketClient.from_env`):

* ``POLYMARKET_GAMMA_URL`` — default ``https://gamma-api.polymarket.com``.
* ``POLYMARKET_CLOB_URL`` — default ``https://clob.polymarket.com``.
* ``POLYMARKET_DATA_URL`` — Data API for positions, default ``https://data-api.polymarket.com``.
* ``POLYMARKET_WS_URL`` — market WebSocket, default
  ``wss://ws-subscriptions-clob.polymarket.com/ws/market``.
* ``POLYMARKET_PRIVATE_KEY``, ``POLYMARKET_API_KEY``, ``POLYMARKET_API_SECRET``,
  ``POLYMARKET_API_PASSPHRASE`` — wallet key and L2 API credentials.

Orders have **no idempotency key**: ``send_order`` posts exactly once. A timeout raises
:class:`OrderUnknown` carrying the order hash computed in :meth:`prepare_order`, and the
caller looks it up with :meth:`get_order` — never re-signs and resends.
Client-side limits: 50 reads/s and 20 writes/s, well under the CLOB's documented
per-10-second budgets.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.books import OrderBook
from worker.domain.discovery import ListingRefusal
from worker.domain.errors import AuthFailed, OrderNotFound, OrderRejected
from worker.domain.fees import FeeSchedule
from worker.domain.leagues import LISTED, info
from worker.domain.markets import ContractRef, League, Market, MarketResolution, OutcomeSide, Venue
from worker.domain.money import ZERO, from_micro
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
)
from worker.domain.ports import BookUpdate
from worker.rate_limit import TokenBucket
from worker.venues.common.env import require
from worker.venues.common.http import Backoff, VenueHttp
from worker.venues.common.parsing import MarketRefused, dec, json_list, obj, text, ts
from worker.venues.common.refusals import RefusalLog
from worker.venues.polymarket.parse import parse_book, parse_events
from worker.venues.polymarket.signing import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    PolymarketSigner,
    UnsignedOrder,
    amounts,
)

DEFAULT_GAMMA_URL = "https://gamma-api.polymarket.com"
DEFAULT_CLOB_URL = "https://clob.polymarket.com"
DEFAULT_DATA_URL = "https://data-api.polymarket.com"
DEFAULT_WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/market"

# FAK (fill-and-kill) is Polymarket's IOC.
_ORDER_TYPE = {TimeInForce.FOK: "FOK", TimeInForce.IOC: "FAK", TimeInForce.GTC: "GTC"}


class PolymarketClient:
    """Polymarket REST client; ``signer`` may be None for public market data only."""

    def __init__(
        self,
        gamma_url: str = DEFAULT_GAMMA_URL,
        clob_url: str = DEFAULT_CLOB_URL,
        *,
        data_url: str = DEFAULT_DATA_URL,
        ws_url: str = DEFAULT_WS_URL,
        signer: PolymarketSigner | None = None,
        http: httpx.AsyncClient | None = None,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.gamma_url = gamma_url.rstrip("/")
        self.clob_url = clob_url.rstrip("/")
        self.data_url = data_url.rstrip("/")
        self.ws_url = ws_url
        self.signer = signer
        self._own_http = http is None
        self.http = VenueHttp(
            Venue.POLYMARKET,
            http or httpx.AsyncClient(timeout=httpx.Timeout(5.0)),
            read_limit=TokenBucket(50, clock=clock),
            write_limit=TokenBucket(20, clock=clock),
            backoff=backoff,
            clock=clock,
            rng=rng,
        )
        self.clock = clock
        self.refusals = RefusalLog(Venue.POLYMARKET, logging.getLogger(__name__))
        self._neg_risk: dict[str, bool] = {}
        self._market_of_token: dict[str, str] = {}
        self._hash_by_client_id: dict[str, str] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str], **kwargs: Any) -> PolymarketClient:
        names = [
            "POLYMARKET_PRIVATE_KEY",
            "POLYMARKET_API_KEY",
            "POLYMARKET_API_SECRET",
            "POLYMARKET_API_PASSPHRASE",
        ]
        c = require(env, Venue.POLYMARKET, names)
        signer = PolymarketSigner(
            c["POLYMARKET_PRIVATE_KEY"],
            c["POLYMARKET_API_KEY"],
            c["POLYMARKET_API_SECRET"],
            c["POLYMARKET_API_PASSPHRASE"],
        )
        return cls(
            env.get("POLYMARKET_GAMMA_URL") or DEFAULT_GAMMA_URL,
            env.get("POLYMARKET_CLOB_URL") or DEFAULT_CLOB_URL,
            data_url=env.get("POLYMARKET_DATA_URL") or DEFAULT_DATA_URL,
            ws_url=env.get("POLYMARKET_WS_URL") or DEFAULT_WS_URL,
            signer=signer,
            **kwargs,
        )

    @property
    def venue(self) -> Venue:
        return Venue.POLYMARKET

    def _l2(self, method: str, path: str, body: str) -> Mapping[str, str]:
        if self.signer is None:
            raise AuthFailed(Venue.POLYMARKET, "no credentials configured")
        return self.signer.l2_headers(int(self.clock.now().timestamp()), method, path, body)

    async def _clob_get(
        self, path: str, params: Mapping[str, Any] | None = None, auth: bool = False
    ) -> Any:
        return await self.http.request(
            "GET",
            self.clob_url + path,
            params=params,
            signer=self._l2 if auth else None,
            sign_path=path,
        )

    # -- market data ------------------------------------------------------------------
    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        wanted = list(leagues) if leagues else list(LISTED)
        out: list[Market] = []
        refused: list[MarketRefused] = []
        for league in wanted:
            offset = 0
            while True:
                page = await self.http.request(
                    "GET",
                    self.gamma_url + "/events",
                    params={
                        "closed": "false",
                        "tag_slug": info(league).gamma_tag,
                        "limit": 100,
                        "offset": offset,
                    },
                )
                markets = parse_events(page, refused)
                for m in markets:
                    for o in m.outcomes:
                        self._market_of_token[o.contract_id] = m.market_id
                        self._neg_risk[o.contract_id] = m.neg_risk
                out.extend(markets)
                count = len(page) if isinstance(page, list) else 0
                if count < 100:
                    break
                offset += count
        self.refusals.record(refused)
        return out

    def listing_refusals(self) -> Sequence[ListingRefusal]:
        """The markets the last :meth:`list_markets` left out, and why."""
        return self.refusals.last()

    async def get_book(self, contract: ContractRef) -> OrderBook:
        payload = await self._clob_get("/book", {"token_id": contract.contract_id})
        return parse_book(obj(payload, "clob book"), self.clock.now(), contract.market_id)

    async def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        from worker.venues.polymarket.ws import stream_books

        async for update in stream_books(self, contracts):
            yield update

    # -- orders -----------------------------------------------------------------------
    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        if self.signer is None:
            raise AuthFailed(Venue.POLYMARKET, "no credentials configured")
        c = intent.contract
        if c.venue is not Venue.POLYMARKET:
            raise ValueError(f"not a Polymarket contract: {c}")
        side = "BUY" if intent.action is OrderAction.BUY else "SELL"
        maker_amount, taker_amount = amounts(side, intent.price, intent.size)
        unsigned = UnsignedOrder(
            salt=PolymarketSigner.new_salt(),
            maker=self.signer.address,
            signer=self.signer.address,
            token_id=c.contract_id,
            maker_amount=maker_amount,
            taker_amount=taker_amount,
            side=side,
            timestamp_ms=int(self.clock.now().timestamp() * 1000),
        )
        exchange = NEG_RISK_EXCHANGE_V2 if self._neg_risk.get(c.contract_id) else EXCHANGE_V2
        order_hash, signature = self.signer.sign_order(unsigned, exchange)
        body: dict[str, object] = {
            "deferExec": False,
            "order": {
                "builder": unsigned.builder,
                "expiration": str(unsigned.expiration),
                "maker": unsigned.maker,
                "makerAmount": str(maker_amount),
                "metadata": unsigned.metadata,
                "salt": unsigned.salt,
                "side": side,
                "signature": signature,
                "signatureType": unsigned.signature_type,
                "signer": unsigned.signer,
                "takerAmount": str(taker_amount),
                "timestamp": str(unsigned.timestamp_ms),
                "tokenId": c.contract_id,
            },
            "orderType": _ORDER_TYPE[intent.tif],
            "owner": self.signer.api_key,
        }
        self._hash_by_client_id[intent.client_order_id] = order_hash
        return PreparedOrder(intent, order_hash, body)

    async def send_order(self, prepared: PreparedOrder) -> Order:
        intent = prepared.intent
        payload = await self.http.request(
            "POST",
            self.clob_url + "/order",
            json_body=prepared.body,
            signer=self._l2,
            sign_path="/order",
            write=True,
            idempotent=False,  # no idempotency key: send exactly once
            ids=(intent.client_order_id, prepared.venue_order_id),
        )
        p = obj(payload, "clob order response")
        if p.get("success") is False or text(p.get("errorMsg")):
            raise OrderRejected(Venue.POLYMARKET, text(p.get("errorMsg")) or "rejected")
        status = text(p.get("status")).lower()
        side_buy = intent.action is OrderAction.BUY
        making = dec(p.get("makingAmount"), ZERO) or ZERO
        taking = dec(p.get("takingAmount"), ZERO) or ZERO
        # BUY: making = USDC paid, taking = shares got; SELL: the reverse.
        shares = taking if side_buy else making
        usdc = making if side_buy else taking
        if status == "unmatched" and intent.tif is not TimeInForce.GTC:
            state = OrderState.CANCELED
        elif shares >= intent.size:
            state = OrderState.FILLED
        elif intent.tif in (TimeInForce.FOK, TimeInForce.IOC):
            state = OrderState.CANCELED
        elif status == "delayed":
            state = OrderState.SUBMITTED
        else:
            state = OrderState.PARTIALLY_FILLED if shares > 0 else OrderState.OPEN
        if state is OrderState.SUBMITTED:
            return Order.from_intent(intent, prepared.venue_order_id).transition(
                OrderState.SUBMITTED
            )
        return Order(
            venue=Venue.POLYMARKET,
            venue_order_id=text(p.get("orderID")) or prepared.venue_order_id,
            client_order_id=intent.client_order_id,
            contract=intent.contract,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            tif=intent.tif,
            state=state,
            filled_size=min(shares, intent.size),
            avg_fill_price=(usdc / shares) if shares > 0 else None,
            updated_at=self.clock.now(),
        )

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.send_order(await self.prepare_order(intent))

    def _order_from_record(self, o: Mapping[str, Any]) -> Order:
        token = text(o.get("asset_id"))
        size = dec(o.get("original_size"), ZERO) or ZERO
        matched = dec(o.get("size_matched"), ZERO) or ZERO
        status = text(o.get("status")).upper()
        order_type = text(o.get("order_type")).upper()
        tif = {"FOK": TimeInForce.FOK, "FAK": TimeInForce.IOC}.get(order_type, TimeInForce.GTC)
        if matched >= size > 0:
            state = OrderState.FILLED
        elif status in ("CANCELED", "CANCELLED", "INVALID", "UNMATCHED"):
            state = OrderState.CANCELED
        elif status == "MATCHED":
            state = OrderState.FILLED if matched >= size else OrderState.CANCELED
        else:
            state = OrderState.PARTIALLY_FILLED if matched > 0 else OrderState.OPEN
        price = dec(o.get("price"), ZERO) or ZERO
        return Order(
            venue=Venue.POLYMARKET,
            venue_order_id=text(o.get("id")),
            client_order_id=None,
            contract=ContractRef(
                Venue.POLYMARKET,
                text(o.get("market")) or self._market_of_token.get(token, ""),
                token,
                OutcomeSide.TOKEN,
            ),
            action=OrderAction.SELL if text(o.get("side")).upper() == "SELL" else OrderAction.BUY,
            price=price,
            size=size,
            tif=tif,
            state=state,
            filled_size=matched,
            avg_fill_price=price if matched > 0 else None,
            updated_at=ts(o.get("created_at")),
        )

    async def get_order(self, venue_order_id: str) -> Order:
        payload = await self._clob_get(f"/data/order/{venue_order_id}", auth=True)
        if not payload:
            raise OrderNotFound(Venue.POLYMARKET, "no such order")
        return self._order_from_record(obj(payload, "clob order"))

    async def find_order(self, intent: OrderIntent) -> Order | None:
        """By the order hash this process prepared for ``intent`` (persist it to survive restarts)."""
        order_hash = self._hash_by_client_id.get(intent.client_order_id)
        if order_hash is None:
            return None
        try:
            order = await self.get_order(order_hash)
        except OrderNotFound:
            return None
        return replace(order, client_order_id=intent.client_order_id)

    async def cancel_order(self, venue_order_id: str) -> Order:
        await self.http.request(
            "DELETE",
            self.clob_url + "/order",
            json_body={"orderID": venue_order_id},
            signer=self._l2,
            sign_path="/order",
            write=True,
            idempotent=True,
            ids=(None, venue_order_id),
        )
        return await self.get_order(venue_order_id)

    # -- portfolio --------------------------------------------------------------------
    async def balance(self) -> Balance:
        p = obj(
            await self._clob_get(
                "/balance-allowance", {"asset_type": "COLLATERAL", "signature_type": 0}, auth=True
            ),
            "balance-allowance",
        )
        # Integer micro-USDC (6 decimals).
        return Balance(Venue.POLYMARKET, from_micro(text(p.get("balance")) or "0"))

    async def positions(self) -> list[Position]:
        if self.signer is None:
            raise AuthFailed(Venue.POLYMARKET, "no credentials configured")
        rows = await self.http.request(
            "GET", self.data_url + "/positions", params={"user": self.signer.address}
        )
        out: list[Position] = []
        for r in rows or []:
            size = dec(r.get("size"), ZERO) or ZERO
            if size == 0:
                continue
            token = text(r.get("asset"))
            ref = ContractRef(
                Venue.POLYMARKET, text(r.get("conditionId")), token, OutcomeSide.TOKEN
            )
            out.append(Position(Venue.POLYMARKET, ref, size, dec(r.get("avgPrice"))))
        return out

    def _fill(self, t: Mapping[str, Any]) -> Fill:
        """One ``/data/trades`` row. The venue reports the fee as ``fee_rate_bps``, the rate
        its fee formula applied to this trade; the amount is that formula's (taker only)."""
        token = text(t.get("asset_id"))
        price = dec(t.get("price"), ZERO) or ZERO
        size = dec(t.get("size"), ZERO) or ZERO
        taker = text(t.get("trader_side")).upper() != "MAKER"
        rate = (dec(t.get("fee_rate_bps"), ZERO) or ZERO) / BPS
        fee = FeeSchedule.polymarket(rate).taker_fee(size, price) if taker and rate > 0 else ZERO
        return Fill(
            venue=Venue.POLYMARKET,
            fill_id=text(t.get("id")),
            venue_order_id=text(t.get("taker_order_id")),
            contract=ContractRef(Venue.POLYMARKET, text(t.get("market")), token, OutcomeSide.TOKEN),
            action=OrderAction.SELL if text(t.get("side")).upper() == "SELL" else OrderAction.BUY,
            price=price,
            size=size,
            fee=fee,
            ts=ts(t.get("match_time")) or self.clock.now(),
            is_taker=taker,
        )

    async def _trades(self, params: Mapping[str, Any]) -> list[Fill]:
        """Every page of ``GET /data/trades`` (``next_cursor`` ``LTE=`` marks the end)."""
        out: list[Fill] = []
        cursor: str | None = None
        for _ in range(1000):
            query = dict(params)
            if cursor:
                query["next_cursor"] = cursor
            p = await self._clob_get("/data/trades", query, auth=True)
            rows = p.get("data", []) if isinstance(p, Mapping) else p or []
            out.extend(self._fill(t) for t in rows)
            cursor = text(p.get("next_cursor")) if isinstance(p, Mapping) else ""
            if not cursor or cursor == END_CURSOR or not rows:
                break
        return out

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        params: dict[str, Any] = {}
        if since is not None:
            params["after"] = int(since.timestamp())
        return await self._trades(params)

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        """Our order's trades (it is the taker: ``taker_order_id``), fees by ``fee_rate_bps``."""
        params: dict[str, Any] = {}
        if since is not None:
            params["after"] = int(since.timestamp())
        fills = [f for f in await self._trades(params) if f.venue_order_id == venue_order_id]
        return sorted(fills, key=lambda f: (f.ts, f.fill_id))

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Resolved positions waiting to be redeemed: Data API ``/positions?user=…&redeemable=true``
        (token → size). A resolved position pays only once redeemed (``redeemPositions`` on
        the conditional-tokens contract, or Claim on polymarket.com)."""
        if self.signer is None:
            raise AuthFailed(Venue.POLYMARKET, "no credentials configured")
        rows = await self.http.request(
            "GET", self.data_url + "/positions", params={"user": self.signer.address, "redeemable": "true"}
        )
        out: dict[str, Decimal] = {}
        for r in rows or []:
            size = dec(r.get("size"), ZERO) or ZERO
            if size > 0 and r.get("redeemable") is not False:
                out[text(r.get("asset"))] = size
        return out

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        """Gamma's market of the outcome token (``clob_token_ids``): resolved once
        ``umaResolutionStatus`` is ``resolved``; ``outcomePrices`` is what each token pays.

        Asked by the token, which is what settles (the condition's outcome), whatever id our
        leg keeps as its market. The payouts are keyed as the caller's contract is.
        """
        rows = await self.http.request(
            "GET",
            self.gamma_url + "/markets",
            params={"clob_token_ids": contract.contract_id, "closed": "true"},
        )
        for m in rows or []:
            tokens = [text(t) for t in json_list(m.get("clobTokenIds"))]
            if contract.contract_id not in tokens or not m.get("closed"):
                continue
            if text(m.get("umaResolutionStatus")).lower() != "resolved":
                return None
            prices = [dec(p) for p in json_list(m.get("outcomePrices"))]
            if len(prices) != len(tokens) or any(p is None for p in prices):
                return None
            payouts: dict[ContractRef, Decimal] = {
                ContractRef(Venue.POLYMARKET, contract.market_id, tok, OutcomeSide.TOKEN): pr
                for tok, pr in zip(tokens, prices, strict=True)
                if pr is not None
            }
            when = ts(m.get("closedTime") or m.get("umaEndDate")) or self.clock.now()
            return MarketResolution(Venue.POLYMARKET, text(m.get("conditionId")) or contract.market_id, payouts, when)
        return None

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.client.aclose()


#: ``fee_rate_bps`` is in basis points.
BPS = Decimal(10_000)
#: The cursor ``/data/trades`` answers on its last page.
END_CURSOR = "LTE="
