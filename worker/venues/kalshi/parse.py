"""Kalshi payloads (2026 string formats: ``*_dollars`` prices, ``*_fp`` counts) → domain.

Follows docs.kalshi.com "Get Events" (``with_nested_markets=true``), "Get Market
Orderbook" (``orderbook_fp`` with ``yes_dollars``/``no_dollars`` bid ladders, best last)
and the V2 event-orders responses. Pure: no I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.fees import KALSHI_MAKER_RATE, FeeSchedule
from worker.domain.markets import (
    ContractRef,
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
    listing_markets,
    note_refused,
    obj,
    refusal,
    req_dec,
    text,
    ts,
)
from worker.venues.kalshi.tickers import (
    kind_of_series,
    league_of_series,
    market_suffix,
    split_event_ticker,
    split_teams,
)

log = logging.getLogger(__name__)

_STATUS = {
    "initialized": MarketStatus.UNOPENED,
    "unopened": MarketStatus.UNOPENED,
    "active": MarketStatus.OPEN,
    "open": MarketStatus.OPEN,
    "paused": MarketStatus.PAUSED,
    "inactive": MarketStatus.PAUSED,
    "closed": MarketStatus.CLOSED,
    "determined": MarketStatus.CLOSED,
    "disputed": MarketStatus.CLOSED,
    "amended": MarketStatus.CLOSED,
    "settled": MarketStatus.SETTLED,
    "finalized": MarketStatus.SETTLED,
}


def _tick(m: Mapping[str, Any]) -> Decimal:
    # 2026 markets may carry a dollar tick; older ones an integer cent tick.
    raw = m.get("tick_size_dollars")
    if raw is not None:
        return req_dec(raw, "tick_size_dollars")
    cents = m.get("tick_size")
    if isinstance(cents, int) and cents > 0:
        return Decimal(cents) * CENT
    return CENT


def parse_market(m: Mapping[str, Any], event: Mapping[str, Any]) -> Market:
    """One nested Kalshi market (one per team: YES = that team wins) → :class:`Market`."""
    ticker = text(m.get("ticker"))
    if not ticker:
        raise PayloadError("kalshi market without ticker")
    event_ticker = text(m.get("event_ticker") or event.get("event_ticker"))
    series = text(event.get("series_ticker")) or event_ticker.partition("-")[0]
    _, game_date, glued = split_event_ticker(event_ticker)
    suffix = market_suffix(ticker, event_ticker)
    sibling_codes = [
        market_suffix(text(s.get("ticker")), event_ticker)
        for s in event.get("markets") or []
        if isinstance(s, Mapping)
    ]
    teams = split_teams(glued, sibling_codes or [suffix])
    away = home = None
    if teams:
        away, home = TeamRef(teams[0]), TeamRef(teams[1])
        title = text(event.get("title"))
        if " at " in title:
            away_name, _, home_name = title.partition(" at ")
            away = TeamRef(teams[0], away_name.strip())
            home = TeamRef(teams[1], home_name.strip())
    yes_label = text(m.get("yes_sub_title")) or suffix
    no_label = text(m.get("no_sub_title")) or yes_label
    yes_bid = dec(m.get("yes_bid_dollars"))
    yes_ask = dec(m.get("yes_ask_dollars"))
    no_bid = dec(m.get("no_bid_dollars"), None if yes_ask is None else ONE - yes_ask)
    no_ask = dec(m.get("no_ask_dollars"), None if yes_bid is None else ONE - yes_bid)
    kind = kind_of_series(series)
    outcomes = (
        Outcome(
            Venue.KALSHI,
            ticker,
            ticker,
            OutcomeSide.YES,
            yes_label,
            team_code=suffix if kind is MarketKind.GAME_WINNER else None,
            team_name=yes_label if kind is MarketKind.GAME_WINNER else None,
            bid=yes_bid,
            ask=yes_ask,
        ),
        Outcome(Venue.KALSHI, ticker, ticker, OutcomeSide.NO, no_label, bid=no_bid, ask=no_ask),
    )
    maker_rate = KALSHI_MAKER_RATE if m.get("maker_fees") or event.get("maker_fees") else ZERO
    rules = text(m.get("rules_primary"))
    if m.get("rules_secondary"):
        rules = f"{rules}\n\n{text(m.get('rules_secondary'))}"
    start = ts(m.get("occurrence_datetime")) or ts(event.get("strike_date"))
    return Market(
        venue=Venue.KALSHI,
        market_id=ticker,
        event_id=event_ticker,
        event_title=text(event.get("title")),
        title=text(m.get("title")) or text(event.get("title")),
        league=league_of_series(series),
        kind=kind,
        outcomes=outcomes,
        tick_size=_tick(m),
        min_size=ONE,
        fees=FeeSchedule.kalshi(maker_rate),
        status=_STATUS.get(text(m.get("status")).lower(), MarketStatus.CLOSED),
        start_time=start,
        close_time=ts(m.get("expected_expiration_time")) or ts(m.get("close_time")),
        rules=rules,
        volume=dec(m.get("volume_fp")),
        url=f"https://kalshi.com/markets/{series.lower()}/{event_ticker.lower()}",
        series=series,
        line=dec(m.get("floor_strike")),
        away=away,
        home=home,
        game_date=game_date,
        # The names of the event's markets (a tennis match's two players): ``SUFFIX=name``
        # joined by ``|``.
        extra={
            "sub_title": text(event.get("sub_title")),
            "strike_type": text(m.get("strike_type")),
            "cap_strike": text(m.get("cap_strike")),
            "names": "|".join(
                f"{market_suffix(text(s.get('ticker')), event_ticker)}={text(s.get('yes_sub_title'))}"
                for s in event.get("markets") or []
                if isinstance(s, Mapping) and s.get("yes_sub_title")
            ),
        },
    )


def parse_events(
    payload: Mapping[str, Any], refused: list[MarketRefused] | None = None
) -> tuple[list[Market], str | None]:
    """``GET /events?with_nested_markets=true`` → (markets, next cursor or None).

    A market (or event) that cannot be read is left out with its reason
    (:class:`MarketRefused`, appended to ``refused`` when given, logged when not); every
    other market of the page stands. Only a page that is not ``{"events": [...]}`` raises.
    """
    body = obj(payload, "kalshi events response")
    events = body.get("events")
    if events is None:
        events = []
    if not isinstance(events, list):
        raise PayloadError("kalshi events response: events is not a list")
    markets: list[Market] = []
    for market_id, m, ev in listing_markets(
        events, refused, log, "kalshi",
        event_id=lambda e: text(e.get("event_ticker")),
        market_id=lambda mk: text(mk.get("ticker")),
    ):
        try:
            markets.append(parse_market(m, ev))
        except MARKET_ERRORS as exc:
            note_refused(refusal(market_id, exc), refused, log, "kalshi")
    cursor = text(body.get("cursor")) or None
    return markets, cursor


def _levels(raw: Any) -> list[PriceLevel]:
    out: list[PriceLevel] = []
    for pair in raw or []:
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise PayloadError(f"kalshi book level is not [price, count]: {pair!r}")
        out.append(PriceLevel(req_dec(pair[0], "price"), req_dec(pair[1], "count")))
    return out


def parse_orderbook(
    ticker: str,
    payload: Mapping[str, Any],
    received_at: datetime,
    sequence: int | None = None,
) -> tuple[OrderBook, OrderBook]:
    """``GET /markets/{ticker}/orderbook`` → (YES book, NO book) with derived asks.

    Kalshi sends bids only, best last; the YES ask ladder is ``1 − NO bids`` and the NO
    ask ladder ``1 − YES bids``.
    """
    body = obj(payload, "kalshi orderbook response")
    book = body.get("orderbook_fp")
    if book is None:
        book = body.get("orderbook") or {}
    book = obj(book, "kalshi orderbook")
    yes_ref = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.YES)
    no_ref = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.NO)
    return two_sided_from_bids(
        yes_ref,
        no_ref,
        _levels(book.get("yes_dollars")),
        _levels(book.get("no_dollars")),
        received_at,
        sequence,
    )
