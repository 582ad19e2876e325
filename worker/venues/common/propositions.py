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
_WIN_Q = re.compile(r"^\s*will\s+(.+?)\s+win\b", re.IGNORECASE)
_DRAW_Q = re.compile(r"\b(draw|tie)\b", re.IGNORECASE)
_REGULATION = re.compile(
    r"\b(regulation time only|regulation only|only regulation|in regulation(?: time)?|"
    r"excluding overtime|not including overtime|does not include overtime|overtime (?:does|will) not count)\b",
    re.IGNORECASE,
)
#: Slug suffixes of the three markets of a soccer game: a team's code, or the draw.
DRAW_SUFFIXES = frozenset({"draw", "tie"})


def terms_of(*texts: str | None) -> str:
    """``regulation`` when a text says only regulation time counts, else the full game."""
    return REGULATION if any(t and _REGULATION.search(t) for t in texts) else FULL_GAME


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
    """What a Yes/No market of a game is about (``Will Arsenal win?``, ``… end in a
    draw?``, its slug suffix ``ars`` / ``draw``), or why it cannot be read."""
    suffix = (suffix or "").lower()
    q = question or ""
    asks_win = _WIN_Q.match(q)
    if suffix in DRAW_SUFFIXES or (not asks_win and _DRAW_Q.search(q)):
        if asks_win or (suffix and suffix not in DRAW_SUFFIXES):
            return f"question {q!r} and slug suffix {suffix!r} disagree on the draw"
        return Binary(None)
    named = coded = None
    if asks_win:
        found = index.by_name(asks_win.group(1), allow_fuzzy=False)
        if found is None:
            return f"{asks_win.group(1)!r} is no {index.league} team"
        named = found.team.id
    if suffix:
        team = by_code(suffix)
        coded = team.id if team is not None else None
    if named is not None and coded is not None and named != coded:
        return f"question names {named}, slug suffix {suffix} names {coded}"
    team_id = named or coded
    if team_id is None:
        return f"cannot tell which team {q!r} is about"
    if team_id not in teams:
        return f"{team_id} does not play in this game"
    return Binary(team_id)
