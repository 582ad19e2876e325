"""Polymarket US payloads → domain. Pure: no I/O.

Follows the Polymarket US API docs (docs.polymarket.us) and the ``polymarket-us`` SDK:
``GET /v1/events`` → ``{"events": [...]}`` with markets nested; market objects carry
``slug``, ``sportsMarketType``, ``marketSides[{long, description, team{name,
abbreviation, league}}]``, quotes as ``{"value","currency"}``; ``GET /v1/markets/{slug}/book``
→ ``{"marketData": {"bids": [{"px": {...}, "qty"}], "offers": [...], "state", …}}``.
The book is the LONG side's; the SHORT side's book is its complement.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeSchedule
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
from worker.domain.money import CENT, ONE
from worker.venues.common.parsing import (
    MARKET_ERRORS,
    MarketRefused,
    PayloadError,
    dec,
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

_STATE = {
    "MARKET_STATE_OPEN": MarketStatus.OPEN,
    "MARKET_STATE_SUSPENDED": MarketStatus.PAUSED,
    "MARKET_STATE_HALTED": MarketStatus.PAUSED,
    "MARKET_STATE_CLOSED": MarketStatus.CLOSED,
    "MARKET_STATE_EXPIRED": MarketStatus.SETTLED,
}


def money(value: Any) -> Decimal | None:
    """``{"value": "0.52", "currency": "USD"}`` (or a bare string) → Decimal."""
    if isinstance(value, Mapping):
        return dec(value.get("value"))
    return dec(value)


def _kind(smt: str) -> MarketKind:
    s = smt.lower()
    if s.endswith("winner") or s == "moneyline":
        return MarketKind.GAME_WINNER
    if "total" in s:
        return MarketKind.TOTAL
    if "spread" in s:
        return MarketKind.SPREAD
    return MarketKind.PROP if s else MarketKind.OTHER


def _status(m: Mapping[str, Any]) -> MarketStatus:
    state = text(m.get("state") or m.get("marketState"))
    if state in _STATE:
        return _STATE[state]
    if m.get("closed"):
        return MarketStatus.CLOSED
    if m.get("active") is False:
        return MarketStatus.PAUSED
    return MarketStatus.OPEN


def parse_market(m: Mapping[str, Any], event: Mapping[str, Any] | None = None) -> Market:
    """One Polymarket US market → :class:`Market` with a LONG and a SHORT outcome.

    Which side is long is read from ``marketSides[].long``, never from slug order.
    """
    ev: Mapping[str, Any] = event or {}
    slug = text(m.get("slug") or m.get("marketSlug"))
    if not slug:
        raise PayloadError("polymarket us market without slug")
    sides = [obj(s, "market side") for s in m.get("marketSides") or []]
    long_side = next((s for s in sides if s.get("long") is True), None)
    short_side = next((s for s in sides if s.get("long") is False), None)
    smt = text(m.get("sportsMarketType"))
    kind = _kind(smt)
    bid = money(m.get("bestBidQuote"))
    ask = money(m.get("bestAskQuote"))

    def team(side: Mapping[str, Any] | None) -> Mapping[str, Any]:
        t = side.get("team") if side else None
        return t if isinstance(t, Mapping) else {}

    long_label = text(long_side.get("description")) if long_side else ""
    short_label = text(short_side.get("description")) if short_side else ""
    long_label = long_label or text(m.get("question")) or slug
    short_label = short_label or f"Not {long_label}"
    outcomes = (
        Outcome(
            Venue.POLYMARKET_US,
            slug,
            slug,
            OutcomeSide.LONG,
            long_label,
            team_code=text(team(long_side).get("abbreviation")) or None,
            team_name=text(team(long_side).get("name")) or None,
            bid=bid,
            ask=ask,
        ),
        Outcome(
            Venue.POLYMARKET_US,
            slug,
            slug,
            OutcomeSide.SHORT,
            short_label,
            team_code=text(team(short_side).get("abbreviation")) or None,
            team_name=text(team(short_side).get("name")) or None,
            bid=None if ask is None else ONE - ask,
            ask=None if bid is None else ONE - bid,
        ),
    )
    event_slug = text(ev.get("slug") or m.get("eventSlug"))
    game = parse_game_slug(event_slug) or parse_game_slug(slug)
    league = League.parse(game.league if game else None)
    if league is League.OTHER:
        league = League.parse(text(team(long_side).get("league")) or None)
    return Market(
        venue=Venue.POLYMARKET_US,
        market_id=slug,
        event_id=text(ev.get("id") or m.get("eventId")) or event_slug or slug,
        event_title=text(ev.get("title")),
        title=text(m.get("question") or m.get("title")) or text(ev.get("title")),
        league=league,
        kind=kind,
        outcomes=outcomes,
        tick_size=dec(m.get("orderPriceMinTickSize"), CENT) or CENT,
        min_size=dec(m.get("minOrderSize") or m.get("orderMinSize"), ONE) or ONE,
        # The exchange-wide schedule of docs.polymarket.us/faqs/fees (30 bps of the fee
        # notional, banker's rounding to the cent). The market object's ``feeCoefficient``
        # is documented only as a field ("Fee coefficient", no unit, no formula) and the
        # FAQ's formula has no place for it, so it is not read (docs/venues-money.md).
        fees=FeeSchedule.polymarket_us(),
        status=_status(m),
        start_time=ts(m.get("gameStartTime")) or ts(ev.get("startTime")),
        close_time=ts(m.get("endDate")) or ts(ev.get("endDate")),
        rules=text(m.get("description") or m.get("rules")),
        volume=dec(m.get("volume")),
        url=f"https://polymarket.us/market/{slug}",
        event_slug=event_slug or None,
        slug=slug,
        sports_market_type=smt or None,
        line=dec(m.get("line")),
        away=TeamRef(game.away) if game else None,
        home=TeamRef(game.home) if game else None,
        game_date=game.day if game else None,
    )


def _events(body: Mapping[str, Any], key: str) -> list[Any]:
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise PayloadError(f"polymarket us response: {key} is not a list")
    return items


def _slug(m: Mapping[str, Any]) -> str:
    return text(m.get("slug") or m.get("marketSlug"))


def parse_events(
    payload: Mapping[str, Any], refused: list[MarketRefused] | None = None
) -> list[Market]:
    """``GET /v1/events`` → markets of every event.

    A market (or event) that cannot be read is left out with its reason
    (:class:`MarketRefused`, appended to ``refused`` when given, logged when not); every
    other market of the page stands. Only a page that is not ``{"events": [...]}`` raises.
    """
    body = obj(payload, "polymarket us events response")
    out: list[Market] = []
    for market_id, m, ev in listing_markets(
        _events(body, "events"), refused, log, "polymarket_us",
        event_id=lambda e: text(e.get("id") or e.get("slug")),
        market_id=_slug,
    ):
        try:
            out.append(parse_market(m, ev))
        except MARKET_ERRORS as exc:
            note_refused(refusal(market_id, exc), refused, log, "polymarket_us")
    return out


def parse_markets(
    payload: Mapping[str, Any], refused: list[MarketRefused] | None = None
) -> tuple[list[Market], bool]:
    """``GET /v1/markets`` → (markets, hasMore); unreadable markets are refused alone."""
    body = obj(payload, "polymarket us markets response")
    markets: list[Market] = []
    for i, m in enumerate(_events(body, "markets")):
        market_id = _slug(m) if isinstance(m, Mapping) else ""
        market_id = market_id or f"market #{i}"
        try:
            markets.append(parse_market(obj(m, "polymarket us market")))
        except MARKET_ERRORS as exc:
            note_refused(refusal(market_id, exc), refused, log, "polymarket_us")
    return markets, bool(body.get("hasMore"))


def _levels(raw: Any) -> list[PriceLevel]:
    out: list[PriceLevel] = []
    for lvl in raw or []:
        lvl = obj(lvl, "book level")
        px = money(lvl.get("px"))
        if px is None:
            raise PayloadError("book level without px")
        out.append(PriceLevel(px, req_dec(lvl.get("qty"), "qty")))
    return out


def parse_book(
    payload: Mapping[str, Any], received_at: datetime, sequence: int | None = None
) -> tuple[OrderBook, OrderBook]:
    """``GET /v1/markets/{slug}/book`` → (LONG book, SHORT book).

    Bids/offers are for the long side; buying SHORT at ``q`` is taking a long bid at
    ``1 − q``, so the SHORT book is the complement of the LONG one.
    """
    body = obj(payload, "polymarket us book response")
    data = obj(body.get("marketData", body), "marketData")
    slug = text(data.get("marketSlug"))
    if not slug:
        raise PayloadError("polymarket us book without marketSlug")
    long_ref = ContractRef(Venue.POLYMARKET_US, slug, slug, OutcomeSide.LONG)
    short_ref = ContractRef(Venue.POLYMARKET_US, slug, slug, OutcomeSide.SHORT)
    long_book = OrderBook.build(
        long_ref, _levels(data.get("bids")), _levels(data.get("offers")), received_at, sequence
    )
    return long_book, long_book.complement(short_ref)
