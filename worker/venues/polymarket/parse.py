"""Polymarket payloads → domain. Pure: no I/O.

Follows docs.polymarket.com: Gamma ``GET /events`` (markets nested; ``outcomes``,
``outcomePrices`` and ``clobTokenIds`` are JSON-encoded strings) and CLOB ``GET /book``
(``bids``/``asks`` of ``{"price","size"}`` strings, best level **last**).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeModel, FeeSchedule
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    TeamRef,
    Venue,
)
from worker.domain.money import CENT, ONE, ZERO
from worker.venues.common.parsing import (
    MARKET_ERRORS,
    MarketRefused,
    PayloadError,
    dec,
    json_list,
    listing_markets,
    note_refused,
    obj,
    refusal,
    req_dec,
    text,
    ts,
)
from worker.venues.common.slugs import parse_game_slug

log = logging.getLogger(__name__)

_KIND = {
    "moneyline": MarketKind.GAME_WINNER,
    "spreads": MarketKind.SPREAD,
    "spread": MarketKind.SPREAD,
    "totals": MarketKind.TOTAL,
    "total": MarketKind.TOTAL,
}


def _kind(smt: str, market_slug: str, event_slug: str) -> MarketKind:
    if smt:
        if smt in _KIND:
            return _KIND[smt]
        return MarketKind.PROP
    # Without sportsMarketType only the event's own slug is the game-winner market;
    # suffixed slugs (``…-spread-home-5pt5``, ``…-total-224pt5``) are not.
    if market_slug and market_slug == event_slug and parse_game_slug(event_slug):
        return MarketKind.GAME_WINNER
    return MarketKind.OTHER


def _status(m: Mapping[str, Any]) -> MarketStatus:
    if m.get("closed"):
        return MarketStatus.CLOSED
    if m.get("active") is False:
        return MarketStatus.PAUSED
    if m.get("enableOrderBook") is False or m.get("acceptingOrders") is False:
        return MarketStatus.PAUSED
    return MarketStatus.OPEN


_MAX_EXPONENT = 4


def _fees(m: Mapping[str, Any], market_id: str) -> FeeSchedule:
    """The market's own fees (docs.polymarket.com/market-data/market-details, "Trading
    Fees": ``feesEnabled`` and ``feeSchedule`` {``rate``, ``exponent``, ``takerOnly``,
    ``rebateRate``}; fee = C × rate × (p(1 − p))^exponent).

    ``feesEnabled: false`` is a fee-free market. Fees enabled, or not stated, without a
    schedule's rate: the market is refused (:class:`MarketRefused`) — rates differ by
    category and have changed (0.0175, 0.05, 0.03 for sports in 2026), so guessing one
    could show an arbitrage that fees eat. A schedule that is not ``takerOnly`` charges
    makers the same curve; the maker rebate (paid daily from a pool) is not modelled.
    """
    if m.get("feesEnabled") is False:
        return FeeSchedule.none(FeeModel.POLYMARKET)
    sched = m.get("feeSchedule")
    if not isinstance(sched, Mapping) or sched.get("rate") is None:
        raise MarketRefused(
            market_id, "fees are enabled (or not stated) and the market has no feeSchedule rate"
        )
    try:
        rate = req_dec(sched.get("rate"), "feeSchedule.rate")
        exponent = dec(sched.get("exponent"), Decimal(1)) or ZERO
    except PayloadError as exc:
        raise MarketRefused(market_id, f"unreadable feeSchedule: {exc}") from exc
    if rate < 0:
        raise MarketRefused(market_id, f"feeSchedule.rate {rate} is negative")
    # Published exponents are 1 and 2; a fractional one has no exact Decimal power, and
    # past a few the fee is not exact in Decimal's 28 digits.
    if not (0 <= exponent <= _MAX_EXPONENT) or exponent != exponent.to_integral_value():
        raise MarketRefused(
            market_id, f"feeSchedule.exponent {sched.get('exponent')!r} is not a whole number 0-4"
        )
    maker_rate = rate if sched.get("takerOnly") is False else ZERO
    return FeeSchedule.polymarket(rate, int(exponent), maker_rate)


def _list_field(m: Mapping[str, Any], key: str) -> list[Any]:
    try:
        return json_list(m.get(key))
    except PayloadError as exc:
        raise PayloadError(f"{key} is garbled ({exc})") from None


def _outcomes_and_tokens(m: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The outcome names and their CLOB token ids, paired one to one, or PayloadError."""
    names = [text(n) for n in _list_field(m, "outcomes")]
    if m.get("clobTokenIds") in (None, "", "[]", []):
        # Real listings carry such markets (not yet, or no longer, on the order book).
        raise PayloadError("no clobTokenIds: the market has no CLOB tokens to trade")
    tokens = [text(t) for t in _list_field(m, "clobTokenIds")]
    if not names:
        raise PayloadError("no outcomes")
    if len(names) != len(tokens):
        raise PayloadError(f"{len(names)} outcomes but {len(tokens)} clobTokenIds")
    if any(not t.strip() for t in tokens) or len(set(tokens)) != len(tokens):
        raise PayloadError(f"clobTokenIds are empty or repeated: {tokens!r}")
    if m.get("outcomePrices") not in (None, ""):
        prices = _list_field(m, "outcomePrices")
        if len(prices) != len(names):
            raise PayloadError(f"{len(names)} outcomes but {len(prices)} outcomePrices")
    return names, tokens


def parse_market(m: Mapping[str, Any], event: Mapping[str, Any]) -> Market:
    """One Gamma market (with its event) → :class:`Market`, one outcome per CLOB token.

    Raises :class:`MarketRefused` for a market whose fees cannot be known (see
    :func:`_fees`), :class:`PayloadError` for a malformed one (no ``clobTokenIds``,
    outcomes, tokens and prices that do not pair up, unreadable numbers or times).
    """
    market_id = text(m.get("id"))
    if not market_id:
        raise PayloadError("gamma market without id")
    names, tokens = _outcomes_and_tokens(m)
    fees = _fees(m, market_id)
    event_slug = text(event.get("slug"))
    market_slug = text(m.get("slug"))
    smt = text(m.get("sportsMarketType")).lower()
    kind = _kind(smt, market_slug, event_slug)
    game = parse_game_slug(event_slug)
    best_bid = dec(m.get("bestBid"))
    best_ask = dec(m.get("bestAsk"))
    outcomes: list[Outcome] = []
    for i, (name, token) in enumerate(zip(names, tokens, strict=True)):
        bid = ask = None
        # Gamma's bestBid/bestAsk quote the first outcome; the second is its complement.
        if i == 0:
            bid, ask = best_bid, best_ask
        elif i == 1 and len(names) == 2:
            bid = None if best_ask is None else ONE - best_ask
            ask = None if best_bid is None else ONE - best_bid
        outcomes.append(
            Outcome(
                Venue.POLYMARKET,
                market_id,
                token,
                OutcomeSide.TOKEN,
                name,
                team_name=name if kind is MarketKind.GAME_WINNER else None,
                bid=bid,
                ask=ask,
            )
        )
    league = League.parse(game.league if game else None)
    if league is League.OTHER:
        league = League.parse(text(event.get("seriesSlug")) or None)
    return Market(
        venue=Venue.POLYMARKET,
        market_id=market_id,
        event_id=text(event.get("id")) or event_slug,
        event_title=text(event.get("title")),
        title=text(m.get("question")) or text(event.get("title")),
        league=league,
        kind=kind,
        outcomes=tuple(outcomes),
        tick_size=dec(m.get("orderPriceMinTickSize"), CENT) or CENT,
        min_size=dec(m.get("orderMinSize"), Decimal(5)) or Decimal(5),
        fees=fees,
        status=_status(m),
        start_time=ts(m.get("gameStartTime")) or ts(event.get("startTime")),
        close_time=ts(m.get("endDate")) or ts(event.get("endDate")),
        rules=text(m.get("description")) or text(event.get("description")),
        volume=dec(m.get("volume")),
        url=f"https://polymarket.com/event/{event_slug}" if event_slug else None,
        event_slug=event_slug or None,
        slug=market_slug or None,
        condition_id=text(m.get("conditionId")) or None,
        sports_market_type=smt or None,
        line=dec(m.get("line")),
        neg_risk=bool(m.get("negRisk") or event.get("negRisk")),
        away=TeamRef(game.away) if game else None,
        home=TeamRef(game.home) if game else None,
        game_date=game.day if game else None,
    )


def parse_events(payload: Any, refused: list[MarketRefused] | None = None) -> list[Market]:
    """Gamma ``GET /events`` (a JSON list of events with nested markets) → markets.

    Markets without an order book (``enableOrderBook: false``) are kept but not OPEN. A
    market that cannot be read or traded (:class:`MarketRefused` with its reason: no
    ``clobTokenIds``, fees without a rate, a garbled field …) is left out and appended to
    ``refused`` when given (logged when not); every other market of the page stands. Only a
    page that is not a list of events raises :class:`PayloadError`.
    """
    if isinstance(payload, Mapping):
        payload = payload.get("events") or payload.get("data") or []
    if not isinstance(payload, list):
        raise PayloadError("gamma events response is not a list")
    out: list[Market] = []
    for market_id, m, ev in listing_markets(
        payload, refused, log, "polymarket",
        event_id=lambda e: text(e.get("id")) or text(e.get("slug")),
        market_id=lambda mk: text(mk.get("id")),
    ):
        try:
            out.append(parse_market(m, ev))
        except MARKET_ERRORS as exc:
            note_refused(refusal(market_id, exc), refused, log, "polymarket")
    return out


def _levels(raw: Any) -> list[PriceLevel]:
    out: list[PriceLevel] = []
    for lvl in raw or []:
        lvl = obj(lvl, "clob level")
        out.append(PriceLevel(req_dec(lvl.get("price"), "price"), req_dec(lvl.get("size"), "size")))
    return out


def parse_book(
    payload: Mapping[str, Any],
    received_at: datetime,
    market_id: str = "",
    sequence: int | None = None,
) -> OrderBook:
    """CLOB ``GET /book?token_id=…`` (or a WS ``book`` message) → the token's book, best-first."""
    body = obj(payload, "clob book")
    token = text(body.get("asset_id") or body.get("token_id"))
    if not token:
        raise PayloadError("clob book without asset_id")
    ref = ContractRef(
        Venue.POLYMARKET, market_id or text(body.get("market")), token, OutcomeSide.TOKEN
    )
    return OrderBook.build(
        ref, _levels(body.get("bids")), _levels(body.get("asks")), received_at, sequence
    )
