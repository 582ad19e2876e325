"""Sports slugs shared by Polymarket and Polymarket US: ``{league}-{away}-{home}-{date}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SLUG_RE = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)-(\d{4})-(\d{2})-(\d{2})(?:-(.+))?$")


@dataclass(frozen=True, slots=True)
class GameSlug:
    """Parts of a game slug: league prefix, away and home codes, local date, suffix."""

    league: str
    away: str
    home: str
    day: date
    suffix: str | None


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
    m = _SLUG_RE.match(s)
    if not m:
        return None
    league, away, home, y, mo, d, suffix = m.groups()
    try:
        day = date(int(y), int(mo), int(d))
    except ValueError:
        return None
    return GameSlug(league, away, home, day, suffix)
