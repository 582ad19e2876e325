"""Kalshi's identifiers: series, event and market tickers. Pure.

A game-winner series is ``KX{CODE}GAME`` (``KXNBAGAME``; the codes are the league
table's, :mod:`worker.domain.leagues`), an event ticker ``{SERIES}-{YYMONDD}{AWAY}{HOME}``
(``KXNBAGAME-26JAN11HOUSAC``: the game's *local* date, then the two team codes glued
together) and a market ticker ``{EVENT}-{TEAM}`` (``…-HOU``: YES pays if that team wins).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from worker.domain.leagues import LEAGUES, LISTED, MATCHED, League, info
from worker.domain.markets import MarketKind

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DATE = r"(\d{2})([A-Z]{3})(\d{2})"
_DATE_RE = re.compile(rf"^{_DATE}(.*)$")

#: A series ticker's prefix per league abbreviation: ``KXNBA`` → nba (``KXNCAAMB`` → ncaab).
_SERIES_LEAGUE = {f"KX{code}": row.league for row in LEAGUES for code in row.codes}
_MATCHED_CODES = "|".join(info(league).code for league in MATCHED)
#: The game-winner series of a matched league (``KXNBAGAME``), the league's code in group 1.
_MATCHED_SERIES_RE = re.compile(rf"^KX({_MATCHED_CODES})GAME$")
#: An event of such a series with a date and two glued team codes.
_MATCHED_EVENT_RE = re.compile(rf"^KX({_MATCHED_CODES})GAME-{_DATE}([A-Z]+)$")


def game_series(league: League) -> str:
    """``KXNBAGAME``: the series of ``league``'s game winners."""
    return f"KX{info(league).code}GAME"


#: The game-winner series listed by default, per league.
LISTED_SERIES: dict[League, str] = {league: game_series(league) for league in LISTED}


def league_of_series(series: str) -> League:
    """``KXNBAGAME`` → nba; the longest known prefix wins (``KXWNBA`` before ``KXNBA``)."""
    s = series.upper()
    for prefix in sorted(_SERIES_LEAGUE, key=len, reverse=True):
        if s.startswith(prefix):
            return _SERIES_LEAGUE[prefix]
    return League.OTHER


def kind_of_series(series: str) -> MarketKind:
    s = series.upper()
    if s.endswith("GAME"):
        return MarketKind.GAME_WINNER
    if "SPREAD" in s:
        return MarketKind.SPREAD
    if "TOTAL" in s:
        return MarketKind.TOTAL
    return MarketKind.OTHER


def _day(yy: str, mon: str, dd: str) -> date | None:
    if mon not in _MONTHS:
        return None
    try:
        return date(2000 + int(yy), _MONTHS[mon], int(dd))
    except ValueError:
        return None


def split_event_ticker(event_ticker: str) -> tuple[str, date | None, str]:
    """``KXNBAGAME-26JAN11HOUSAC`` → (``KXNBAGAME``, 2026-01-11, ``HOUSAC``).

    The date is the game's local date (``YYMONDD``); the rest is AWAY+HOME codes glued
    together (split it with the market suffixes, see :func:`split_teams`).
    """
    series, _, tail = event_ticker.partition("-")
    m = _DATE_RE.match(tail)
    if not m or m.group(2) not in _MONTHS:
        return series, None, tail
    yy, mon, dd, teams = m.groups()
    return series, _day(yy, mon, dd), teams


def matched_series_league(series: str) -> League | None:
    """The matched league whose game-winner series ``series`` is (``KXNHLGAME`` → nhl)."""
    m = _MATCHED_SERIES_RE.match(series)
    return League(m.group(1).lower()) if m else None


def matched_game_event(event_ticker: str) -> tuple[date | None, str] | None:
    """A matched league's game event ticker → (its local date, the glued team codes).

    ``None`` unless the ticker has the date and the codes (upper-case letters only); the
    date is ``None`` when those digits and month are no date.
    """
    m = _MATCHED_EVENT_RE.match(event_ticker)
    if not m:
        return None
    return _day(m.group(2), m.group(3), m.group(4)), m.group(5)


def split_teams(glued: str, codes: Sequence[str]) -> tuple[str, str] | None:
    """Split ``HOUSAC`` into (away, home) using the market ticker suffixes ``HOU``, ``SAC``."""
    for a in codes:
        for h in codes:
            if a != h and glued == a + h:
                return a, h
    return None


def market_suffix(ticker: str, event_ticker: str) -> str:
    """``KXNBAGAME-26JAN11HOUSAC-HOU`` → ``HOU`` (the team whose win YES pays)."""
    if ticker.startswith(event_ticker + "-"):
        return ticker[len(event_ticker) + 1 :]
    return ticker.rsplit("-", 1)[-1]
