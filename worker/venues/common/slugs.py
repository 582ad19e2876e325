"""Sports slugs shared by Polymarket and Polymarket US: ``{league}-{away}-{home}-{date}``."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from worker.domain.leagues import MATCHED, info

_SLUG_RE = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)-(\d{4})-(\d{2})-(\d{2})(?:-(.+))?$")
#: A matched league's slug prefixes (its name and aliases: ``cbb`` is ncaab) → the league.
_MATCHED = {name: league.value for league in MATCHED for name in (league.value, *info(league).aliases)}


@dataclass(frozen=True, slots=True)
class GameSlug:
    """Parts of a game slug: league prefix, away and home codes, local date, suffix."""

    league: str
    away: str
    home: str
    day: date
    suffix: str | None


@dataclass(frozen=True, slots=True)
class SlugParts:
    """A slug's parts as written (the date's digits not checked to be a date)."""

    league: str
    away: str
    home: str
    year: str
    month: str
    day: str
    suffix: str | None

    def date(self) -> date:
        """The local date; ValueError when the digits are no date."""
        return date(int(self.year), int(self.month), int(self.day))


def slug_parts(slug: str) -> SlugParts | None:
    """``nba-hou-sac-2026-01-11[-spread-home-5pt5]`` → its parts, as written; no prefix skipped."""
    m = _SLUG_RE.match(slug)
    return SlugParts(*m.groups()) if m else None


def matched_game_slug(slug: str) -> SlugParts | None:
    """The parts of a bare game slug (no suffix) of a matched league, its prefix read as
    the league's name (``cbb-…`` → ncaab)."""
    parts = slug_parts(slug)
    if parts is None or parts.league not in _MATCHED or parts.suffix is not None:
        return None
    return replace(parts, league=_MATCHED[parts.league])


def parse_game_slug(slug: str | None) -> GameSlug | None:
    """``nba-hou-sac-2026-01-11[-spread-home-5pt5]`` → parts; ``None`` if not a game slug.

    A leading ``aec-``/``tsc-`` market prefix (Polymarket US) is skipped.
    """
    if not slug:
        return None
    s = slug.lower()
    for prefix in ("aec-", "tsc-", "asc-"):
        if s.startswith(prefix):
            s = s[len(prefix) :]
            break
    parts = slug_parts(s)
    if parts is None:
        return None
    try:
        day = parts.date()
    except ValueError:
        return None
    return GameSlug(parts.league, parts.away, parts.home, day, parts.suffix)
