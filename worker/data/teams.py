"""Loader for the per-league team tables in ``worker/data/teams/*.json``.

The tables are data, not code: every NBA, NFL and NHL team with each venue's codes
(Kalshi tickers, Gamma slugs, Polymarket US slugs), the names each venue shows, aliases
and former names, plus the sources they come from. This module only reads them (through
``importlib.resources``, no other I/O) and imports nothing else of ours but the domain's
league table (:mod:`worker.domain.leagues`: which leagues have a table).

Within one venue and one league a code names exactly one team; the first code of a
venue's list is the one the venue uses today, the others are accepted alternates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from worker.domain.leagues import MATCHED

#: The leagues with a team table (the league table's matched leagues).
LEAGUES: tuple[str, ...] = tuple(league.value for league in MATCHED)


@dataclass(frozen=True, slots=True)
class Team:
    """One franchise as every venue names it. ``id`` (``"nba:HOU"``) is its identity."""

    id: str
    league: str
    abbreviation: str
    city: str
    nickname: str
    full_name: str
    aliases: tuple[str, ...]
    former_names: tuple[str, ...]
    former_codes: tuple[str, ...]
    kalshi_codes: tuple[str, ...]
    kalshi_name: str
    polymarket_codes: tuple[str, ...]
    polymarket_outcome: str
    polymarket_us_codes: tuple[str, ...]
    polymarket_us_short_name: str
    polymarket_us_description: str

    @property
    def kalshi_code(self) -> str:
        """The code Kalshi uses today in tickers (upper case)."""
        return self.kalshi_codes[0]

    @property
    def polymarket_code(self) -> str:
        """The code Gamma uses today in event slugs (lower case)."""
        return self.polymarket_codes[0]

    @property
    def polymarket_us_code(self) -> str:
        """The code Polymarket US uses today in slugs (lower case)."""
        return self.polymarket_us_codes[0]


@dataclass(frozen=True, slots=True)
class LeagueTeams:
    """A league's table: its teams, the local time zone of its schedule, sources, notes."""

    league: str
    timezone: str
    sources: tuple[str, ...]
    notes: tuple[str, ...]
    teams: tuple[Team, ...]

    def by_id(self, team_id: str) -> Team:
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)


def _team(league: str, raw: dict[str, Any]) -> Team:
    kalshi = raw["kalshi"]
    poly = raw["polymarket"]
    pmus = raw["polymarket_us"]
    return Team(
        id=str(raw["id"]),
        league=league,
        abbreviation=str(raw["abbreviation"]),
        city=str(raw["city"]),
        nickname=str(raw["nickname"]),
        full_name=str(raw["full_name"]),
        aliases=tuple(raw.get("aliases", ())),
        former_names=tuple(raw.get("former_names", ())),
        former_codes=tuple(raw.get("former_codes", ())),
        kalshi_codes=tuple(c.upper() for c in kalshi["codes"]),
        kalshi_name=str(kalshi["name"]),
        polymarket_codes=tuple(c.lower() for c in poly["codes"]),
        polymarket_outcome=str(poly["outcome"]),
        polymarket_us_codes=tuple(c.lower() for c in pmus["codes"]),
        polymarket_us_short_name=str(pmus["short_name"]),
        polymarket_us_description=str(pmus["description"]),
    )


def raw_league(league: str) -> dict[str, Any]:
    """The league's JSON document as stored (for tools that want every field)."""
    if league not in LEAGUES:
        raise KeyError(f"unknown league {league!r}; known: {', '.join(LEAGUES)}")
    text = resources.files("worker.data").joinpath("teams", f"{league}.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@cache
def load_league(league: str) -> LeagueTeams:
    """The parsed, cached table of one league (``"nba"``, ``"nfl"`` or ``"nhl"``)."""
    doc = raw_league(league)
    return LeagueTeams(
        league=league,
        timezone=str(doc.get("timezone", "America/New_York")),
        sources=tuple(doc.get("sources", ())),
        notes=tuple(doc.get("notes", ())),
        teams=tuple(_team(league, t) for t in doc["teams"]),
    )


def load_all() -> dict[str, LeagueTeams]:
    """Every league's table, keyed by league."""
    return {league: load_league(league) for league in LEAGUES}
