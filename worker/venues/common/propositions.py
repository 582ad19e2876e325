"""Reading a proposition from a Polymarket or Polymarket US market's own fields: the team
a "Will X win?" market names, a draw market, a spread's team and line, a total's line,
and whether only regulation time counts. Shared by both Polymarket normalisers.

Lines come from the market's ``line`` field, cross-checked with the number its question
shows; a team from its name in the question, cross-checked with the slug's code when
there is one. Any disagreement is a refusal (the caller's reason), never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from worker.data.index import LeagueIndex
from worker.data.teams import Team
from worker.domain.propositions import FULL_GAME, REGULATION

_NUMBER = r"([+-]?\d+(?:\.\d+)?)"
_SPREAD_Q = re.compile(rf"^\s*spread:\s*(.+?)\s*\(\s*{_NUMBER}\s*\)\s*$", re.IGNORECASE)
_TOTAL_Q = re.compile(rf"o/u\s*{_NUMBER}", re.IGNORECASE)
#: The two questions of a game's Yes/No markets, whole ("Will Arsenal FC win on
#: 2025-12-20?", "Will Everton FC vs. Arsenal FC end in a draw?"): anything else ("… win
#: or draw?", "… win the first half?", "… win by 2 or more goals?") is another proposition.
_WIN_Q = re.compile(r"^\s*will\s+(.+?)\s+win(?:\s+on\s+\d{4}-\d{2}-\d{2})?\s*\?\s*$", re.IGNORECASE)
_DRAW_Q = re.compile(r"^\s*will\s+(.+?)\s+end\s+in\s+a\s+(?:draw|tie)\s*\?\s*$", re.IGNORECASE)
_REGULATION = re.compile(
    r"\b(regulation time only|regulation only|regulation play only|only regulation|in regulation(?: time)?|"
    r"excluding overtime|not including overtime|(?:does|will) not include overtime|overtime (?:does|will) not count|"
    r"overtime is not included|(?:ot|overtime) not included)\b",
    re.IGNORECASE,
)
_FULL = re.compile(
    r"\b(includes (?:any )?overtime|including (?:any )?overtime|overtime (?:is )?included|overtime counts|overtime will count)\b",
    re.IGNORECASE,
)
_MENTIONS = re.compile(r"\b(overtime|regulation|ot|extra time|extra innings)\b", re.IGNORECASE)
#: Slug suffixes of the three markets of a soccer game: a team's code, or the draw.
DRAW_SUFFIXES = frozenset({"draw", "tie"})


def terms_of(*texts: str | None) -> str | None:
    """What counts, from the market's texts: ``regulation`` when they say only regulation
    time does, the full game when they say overtime counts or say nothing of it, and
    None when they speak of it in words not read here (the caller refuses: never a
    guess). Soccer's results are the 90 minutes on every venue: callers do not ask."""
    said = " ".join(t for t in texts if t)
    regulation, full = _REGULATION.search(said), _FULL.search(said)
    if regulation and not full:
        return REGULATION
    if full and not regulation:
        return FULL_GAME
    if regulation or _MENTIONS.search(said):
        return None
    return FULL_GAME


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def spread_of(question: str, line: Decimal | None, index: LeagueIndex) -> tuple[str, Decimal] | str:
    """(team id, line as applied to that team) of ``Spread: Miami (FL) (-19.5)``, or why not."""
    m = _SPREAD_Q.match(question or "")
    if m is None:
        return f"question {question!r} does not name the spread's team and line"
    shown = _number(m.group(2))
    if line is None:
        line = shown
    elif shown is not None and shown != line:
        return f"question says {m.group(2)}, the line field {line}"
    if line is None:
        return f"no line in {question!r}"
    team = index.by_name(m.group(1), allow_fuzzy=False)
    if team is None:
        return f"spread team {m.group(1)!r} is no {index.league} team"
    return team.team.id, line


def total_of(question: str, line: Decimal | None) -> Decimal | str:
    """The line of an over/under market (``… O/U 50.5``), or why not."""
    m = _TOTAL_Q.search(question or "")
    shown = _number(m.group(1)) if m else None
    if line is not None and shown is not None and line != shown:
        return f"question says {m.group(1) if m else '?'}, the line field {line}"
    found = line if line is not None else shown
    return found if found is not None else f"no line in {question!r}"


@dataclass(frozen=True, slots=True)
class Binary:
    """A Yes/No market of a game: about ``team``'s win, or the draw (``team`` None)."""

    team: str | None


def binary_of(
    question: str, suffix: str | None, index: LeagueIndex, by_code: Callable[[str], Team | None], teams: frozenset[str]
) -> Binary | str:
    """What a Yes/No market of a game is about (``Will Arsenal win?`` with slug suffix
    ``ars``, ``… end in a draw?`` with ``draw``), or why it cannot be read: the question
    must be one of the two, whole, and the suffix the team's code or the draw."""
    suffix = (suffix or "").lower()
    q = question or ""
    if _DRAW_Q.match(q):
        if suffix not in DRAW_SUFFIXES:
            return f"question {q!r} is the draw, slug suffix {suffix!r} is not"
        return Binary(None)
    asks_win = _WIN_Q.match(q)
    if asks_win is None:
        return f"question {q!r} is neither a team's win nor the draw"
    found = index.by_name(asks_win.group(1), allow_fuzzy=False)
    if found is None:
        return f"{asks_win.group(1)!r} is no {index.league} team"
    coded = by_code(suffix) if suffix else None
    if coded is None:
        return f"slug suffix {suffix!r} is no {index.league} team code"
    if coded.id != found.team.id:
        return f"question names {found.team.id}, slug suffix {suffix} names {coded.id}"
    if coded.id not in teams:
        return f"{coded.id} does not play in this game"
    return Binary(coded.id)
