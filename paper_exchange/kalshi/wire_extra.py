"""Kalshi's listing of any paper game: the NBA/NFL/NHL stream's one ``KX…GAME`` event
(:mod:`paper_exchange.kalshi.wire`) or a second-stream game's ``KX{LEAGUE}GAME``,
``…SPREAD`` and ``…TOTAL`` events (:mod:`paper_exchange.world_extra`), worded as the real
captures word them (``KXMLBSPREAD-26SEP231940CWSKC-COL2`` "Colorado wins by over 1.5
runs?", ``KXEPLGAME-26OCT10ARSLEE-TIE`` "Tie is the result")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from paper_exchange.kalshi.wire import kalshi_event, kalshi_market, kalshi_status, quote_fields
from paper_exchange.matching import PaperExchange
from paper_exchange.store import iso
from paper_exchange.wire import best, d4
from paper_exchange.world import Game, ListedMarket
from paper_exchange.world_extra import ET, SPORT, UNIT, ExtraGame

ONE = Decimal(1)
_PARTS = ("GAME", "SPREAD", "TOTAL")


def kalshi_entries(g: Game) -> list[tuple[str, str]]:
    """(series ticker, event ticker) of every Kalshi event of a game."""
    if not isinstance(g, ExtraGame):
        return [(g.kalshi_series, g.kalshi_event_ticker)]
    events = {g.kalshi_event_of(k) for k in g.kalshi_kinds()}
    out = []
    for part in _PARTS:
        event = f"KX{g.league.upper()}{part}-{g.kalshi_middle}"
        if event in events:
            out.append((event.partition("-")[0], event))
    return out


def event_kinds(g: ExtraGame, event_ticker: str) -> list[str]:
    return [k for k in g.kalshi_kinds() if g.kalshi_event_of(k) == event_ticker]


def kalshi_market_items(
    ex: PaperExchange, g: Game, event_ticker: str, now: datetime
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    """(ticker, its renderer) of each market of one event (the first stream: away, home)."""
    if not isinstance(g, ExtraGame):
        return [(g.kalshi_ticker(h), partial(kalshi_market, ex, g, h, now)) for h in (False, True)]
    return [(g.kalshi_market_ticker(k), partial(extra_market, ex, g, k, now)) for k in event_kinds(g, event_ticker)]


def kalshi_markets_any(ex: PaperExchange, g: Game, event_ticker: str, now: datetime) -> list[dict[str, Any]]:
    """The markets of one event."""
    return [render() for _, render in kalshi_market_items(ex, g, event_ticker, now)]


def kalshi_event_any(ex: PaperExchange, g: Game, event_ticker: str, now: datetime, nested: bool) -> dict[str, Any]:
    if not isinstance(g, ExtraGame):
        return kalshi_event(ex, g, now, nested)
    d = g.start.astimezone(ET).date()
    first, second = (g.home, g.away) if g.soccer else (g.away, g.home)
    series = event_ticker.partition("-")[0]
    title = matchup(g)
    if series.endswith("SPREAD"):
        title += ": Spread"
    elif series.endswith("TOTAL"):
        title += ": Total"
    ev: dict[str, Any] = {
        "event_ticker": event_ticker,
        "series_ticker": series,
        "title": title,
        "sub_title": f"{first.kalshi_code} {_word(g)} {second.kalshi_code} ({d:%b} {d.day})",
        "category": "Sports",
        "mutually_exclusive": series.endswith("GAME"),
        "strike_date": iso(g.start),
    }
    if nested:
        ev["markets"] = kalshi_markets_any(ex, g, event_ticker, now)
    return ev


def kalshi_market_any(ex: PaperExchange, g: Game, market: ListedMarket, now: datetime) -> dict[str, Any]:
    if not isinstance(g, ExtraGame):
        return kalshi_market(ex, g, market.yes_is_home, now)
    return extra_market(ex, g, market.kind, now)


def _word(g: ExtraGame) -> str:
    """NBA and NFL events read "Away at Home" (as the first stream's), MLB "Away vs
    Home", EPL "Home vs Away"."""
    return "at" if g.league in ("nba", "nfl") else "vs"


def matchup(g: ExtraGame) -> str:
    first, second = (g.home, g.away) if g.soccer else (g.away, g.home)
    return f"{first.kalshi_name} {_word(g)} {second.kalshi_name}"


def _scheduled(g: ExtraGame) -> str:
    et = g.start.astimezone(ET)
    when = f"{et:%b} {et.day}, {et.year}"
    if g.league != "mlb":
        return when
    hour = et.strftime("%I").lstrip("0")
    return f"{when} at {hour}:{et:%M} {et.strftime('%p')} {et.tzname()}"


def _texts(g: ExtraGame, kind: str) -> tuple[str, str, str, str]:
    """(title, yes_sub_title, no_sub_title, rules_primary) of a market kind."""
    game = f"{matchup(g)} professional {g.league.upper()} {SPORT[g.league]} game"
    game += f" originally scheduled for {_scheduled(g)}"
    if g.soccer:
        game += " after 90 minutes plus stoppage time (does not include extra time or penalties)"
    what = g.proposition(kind)
    unit = UNIT[g.league]
    if what[0] == "win":
        team = (g.home if what[1] else g.away).kalshi_name
        title = f"{matchup(g)} Winner?"
        return title, team, team, f"If {team} wins the {game}, then the market resolves to Yes."
    if what[0] == "draw":
        return "Tie is the result", "Tie", "Tie", f"If Tie is the result of the {game}, then the market resolves to Yes."
    line = g.line_of(kind)
    if what[0] == "spread":
        team = (g.home if what[1] else g.away).kalshi_name
        sub = f"{team} wins by over {line} {unit}"
        return f"{sub}?", sub, sub, f"If {team} wins by more than {line} {unit} in the {game}, then the market resolves to Yes."
    sub = f"Over {line} {unit} scored"
    rules = (
        f"If {g.away.kalshi_name} and {g.home.kalshi_name} collectively score more than {line} {unit} "
        f"in the {game}, then the market resolves to Yes."
    )
    return f"{sub}?", sub, sub, rules


def _secondary(g: ExtraGame) -> str:
    return (
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished. If the game is cancelled entirely, with no make-up game, the market will resolve to $0.50. "
        "Kalshi is not affiliated, associated, authorized, endorsed by, or in any way officially connected with "
        "the Governing League. All trademarks, logos, and brand names are the property of their respective owners."
    )


def extra_market(ex: PaperExchange, g: ExtraGame, kind: str, now: datetime) -> dict[str, Any]:
    ticker = g.kalshi_market_ticker(kind)
    market = ex.world.market(f"kalshi:{ticker}")
    assert market is not None
    resolved = ex.store.resolution(g.index)
    bid, ask = best(ex, market, now)
    title, yes_sub, no_sub, rules = _texts(g, kind)
    out: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": g.kalshi_event_of(kind),
        "market_type": "binary",
        "title": title,
        "yes_sub_title": yes_sub,
        "no_sub_title": no_sub,
        "status": kalshi_status(g, now, resolved is not None),
        "open_time": iso(ex.world.epoch),
        "close_time": iso(g.end),
        "expected_expiration_time": iso(g.resolve_at),
        "expiration_time": iso(g.resolve_at + timedelta(days=7)),
        **quote_fields(ex, market, ticker, bid, ask),
        "rules_primary": rules,
        "rules_secondary": _secondary(g),
        "can_close_early": True,
    }
    if g.proposition(kind)[0] in ("spread", "total"):
        out["strike_type"] = "greater"
        out["floor_strike"] = float(g.line_of(kind))
    if resolved is not None:
        value = ex.settlement_price(market, resolved)
        out["result"] = "yes" if value == ONE else ("no" if value == 0 else "")
        out["settlement_value_dollars"] = d4(value)
        out["settlement_ts"] = iso(ex.store.resolved_at(g.index))
    return out
