"""Kalshi's identifiers: series, event and market tickers. Pure.

A game-winner series is ``KX{CODE}GAME`` (``KXNBAGAME``; the codes are the league
table's, :mod:`worker.domain.leagues`), a line series ``KX{CODE}SPREAD`` or
``KX{CODE}TOTAL``. An event ticker is ``{SERIES}-{YYMONDD}[HHMM]{CODE1}{CODE2}[G{n}]``
(``KXNBAGAME-26JAN11HOUSAC``: the game's US Eastern date, MLB's start time, the two team
codes glued together — away first in US leagues, home first in soccer — and a
doubleheader's game number: ``KXMLBGAME-26SEP041915DETCLEG2``). A market ticker is
``{EVENT}-{SUFFIX}``: a team (``…-HOU``: YES pays if it wins), ``TIE`` (soccer's draw),
a team and its spread rounded up (``…-PHI8``: PHI wins by more than 7.5), or a total
rounded up (``…-45``: over 44.5). Lines are read from ``floor_strike``, never from the
suffix alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

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
_MATCHED_CODES = "|".join(sorted({info(league).kalshi_code for league in MATCHED}, key=len, reverse=True))
#: The game-winner, spread and total series of a matched league (``KXNBAGAME``,
#: ``KXNFLSPREAD``, ``KXEPLTOTAL``): the league's code in group 1, the kind in group 2.
_MATCHED_SERIES_RE = re.compile(rf"^KX({_MATCHED_CODES})(GAME|SPREAD|TOTAL)$")
#: An event of such a series: its date, the start (``HHMM`` US Eastern, MLB only), the two
#: team codes glued (letters; a hyphen in ``M-OH``), and a doubleheader's ``G1``/``G2``.
_MATCHED_EVENT_RE = re.compile(
    rf"^KX({_MATCHED_CODES})(GAME|SPREAD|TOTAL)-{_DATE}(\d{{4}})?([A-Z][A-Z-]*?)(?:G(\d))?$"
)
#: Tennis match series (the tour's, and its Challenger tour's): the tour in group 1.
_TENNIS_SERIES_RE = re.compile(r"^KX(ATP|WTA)(?:CHALLENGER)?MATCH$")
_KINDS = {"GAME": MarketKind.GAME_WINNER, "SPREAD": MarketKind.SPREAD, "TOTAL": MarketKind.TOTAL}
#: The time zone of a ticker's date and start time.
TICKER_ZONE = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class EventParts:
    """A matched league's game, spread or total event ticker, read."""

    league: League
    kind: MarketKind
    day: date | None
    start: datetime | None
    glued: str
    game_number: int | None


def listed_series(league: League) -> tuple[str, ...]:
    """The series a league's games are listed in: game winners, spreads and totals of a
    team league (``KXNFLGAME``, ``KXNFLSPREAD``, ``KXNFLTOTAL``); a tour's matches."""
    row = info(league)
    if row.players:
        return (f"KX{row.kalshi_code}MATCH",)
    return tuple(f"KX{row.kalshi_code}{kind}" for kind in ("GAME", "SPREAD", "TOTAL"))


#: The series listed by default, per league.
LISTED_SERIES: dict[League, tuple[str, ...]] = {league: listed_series(league) for league in LISTED}


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


def matched_series(series: str) -> tuple[League, MarketKind] | None:
    """The matched league and kind of a game, spread or total series (``KXNFLSPREAD``)."""
    m = _MATCHED_SERIES_RE.match(series)
    return (_SERIES_LEAGUE[f"KX{m.group(1)}"], _KINDS[m.group(2)]) if m else None


def tennis_series(series: str) -> League | None:
    """The tour of a tennis match series (``KXATPMATCH``, ``KXWTACHALLENGERMATCH``)."""
    m = _TENNIS_SERIES_RE.match(series)
    return League(m.group(1).lower()) if m else None


def matched_event(event_ticker: str) -> EventParts | None:
    """A matched league's game, spread or total event ticker, read; ``None`` unless it
    has a date and the team codes. ``day`` is ``None`` when its digits are no date."""
    m = _MATCHED_EVENT_RE.match(event_ticker)
    if not m:
        return None
    code, kind, yy, mon, dd, hhmm, glued, game = m.groups()
    day = _day(yy, mon, dd)
    start = None
    if day is not None and hhmm is not None and int(hhmm[:2]) < 24 and int(hhmm[2:]) < 60:
        start = datetime.combine(day, time(int(hhmm[:2]), int(hhmm[2:])), TICKER_ZONE).astimezone(UTC)
    return EventParts(
        _SERIES_LEAGUE[f"KX{code}"], _KINDS[kind], day, start, glued, int(game) if game else None
    )


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
