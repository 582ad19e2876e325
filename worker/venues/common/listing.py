"""What the venues' normalisers share: teams from an event title, the local date from a
start time, and a game from a slug's team codes and date (Polymarket and Polymarket US).

The contract of a normaliser is :class:`worker.domain.listings.VenueNormaliser`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from worker.data.index import LeagueIndex
from worker.data.teams import Team
from worker.domain.leagues import three_way
from worker.domain.listings import NotNormalised
from worker.domain.markets import Market, Outcome
from worker.venues.common.slugs import SlugParts

#: A normaliser's refusal of the market it reads, with the reason.
Refuse = Callable[[str], NotNormalised]


@dataclass(frozen=True, slots=True)
class GameOf:
    """The game a market belongs to: league, its team index, away, home, local date."""

    league: str
    index: LeagueIndex
    away: str
    home: str
    day: date


def team_names(index: LeagueIndex, team_ids: Iterable[str]) -> dict[str, str]:
    """Display names of the game's teams (their full names), for propositions."""
    return {t: index.teams[t].full_name for t in team_ids if t in index.teams}


def is_yes_no(outcomes: list[Outcome]) -> bool:
    """The two outcomes are ``Yes`` and ``No`` (a binary market of one proposition)."""
    return sorted(o.label.strip().lower() for o in outcomes) == ["no", "yes"]


def yes_no(outcomes: list[Outcome]) -> tuple[Outcome, Outcome]:
    """(the Yes outcome, the No outcome) of a Yes/No market."""
    yes = next(o for o in outcomes if o.label.strip().lower() == "yes")
    no = next(o for o in outcomes if o.label.strip().lower() == "no")
    return yes, no

_AT = re.compile(r"^(.+?)\s+(?:at|@)\s+(.+?)(?:\s+winner\??)?$", re.IGNORECASE)
_VS = re.compile(r"^(.+?)\s+(?:vs\.?|v\.?)\s+(.+?)$", re.IGNORECASE)


def local_date(market: Market, index: LeagueIndex) -> date | None:
    """The date of the market's start time in the league's time zone."""
    if market.start_time is None:
        return None
    return market.start_time.astimezone(ZoneInfo(index.timezone)).date()


def split_title(title: str) -> tuple[str, str] | None:
    """``Rockets at Kings`` / ``Rockets vs. Kings`` → (``Rockets``, ``Kings``)."""
    t = title.strip()
    m = _AT.match(t)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    m = _VS.match(t)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return None


def teams_from_title(title: str, index: LeagueIndex, fuzzy: bool = True) -> tuple[str, str, bool] | None:
    """(first team id, second team id, whether a name matched only by similarity).

    The title, else one of its parts around a colon (``Game 5: New York at San Antonio``,
    ``Boston at Los Angeles L: Spread``), by exact names first, then (when ``fuzzy``) by
    similarity."""
    segments = [title, *(part.strip() for part in title.split(":"))] if ":" in title else [title]
    for similar in (False, True) if fuzzy else (False,):
        for segment in segments:
            parts = split_title(segment)
            if not parts:
                continue
            a = index.by_name(parts[0], allow_fuzzy=similar)
            h = index.by_name(parts[1], allow_fuzzy=similar)
            if a is not None and h is not None and a.team.id != h.team.id:
                return a.team.id, h.team.id, a.fuzzy or h.fuzzy
    return None


def slug_game(
    slug: str,
    parts: SlugParts,
    by_code: Callable[[str], Team | None],
    teams: Collection[str] | None,
    what: str,
    market: Market,
    index: LeagueIndex,
    evidence: list[str],
    text_fields: list[str],
) -> tuple[str, str, date] | str:
    """Away and home team ids from the slug's codes (``by_code``: the venue's lookup), else
    from the event title (both name the home club first in soccer), and the slug's date; or why not (a refusal's reason, naming the
    market by ``slug``).

    ``parts`` are the game slug's; ``teams`` the team ids the market's ``what`` (outcomes,
    sides) name: the slug's (or title's) two teams must be those (``None``: the market's
    outcomes name no team, as a total's Over and Under).
    """
    a_code, h_code = parts.away, parts.home
    a_team, h_team = by_code(a_code), by_code(h_code)
    if a_team is not None and h_team is not None and a_team.id != h_team.id:
        away, home = a_team.id, h_team.id
        if teams is not None and {away, home} != set(teams):
            return f"{what} {sorted(teams)} are not the slug's teams {a_code}/{h_code}"
        evidence.append(f"teams {a_code}@{h_code} from slug codes")
    else:
        found = teams_from_title(market.event_title, index)
        if found is None or (teams is not None and {found[0], found[1]} != set(teams)):
            return f"slug codes {a_code}/{h_code} unknown and title does not settle away/home"
        away, home = found[0], found[1]
        text_fields.append("away/home from event title")
    if three_way(parts.league):
        # Soccer slugs and titles name the home club first ("Everton FC vs. Arsenal FC").
        away, home = home, away
    try:
        return away, home, parts.date()
    except ValueError:
        return f"slug date of {slug} is not a date"
