"""The franchises of the paper world, each with the code and name every venue lists it
under, read from the project's team tables (``worker/data/teams/*.json``) as package data
through :mod:`importlib.resources`; the worker's own loader (``worker.data.teams``) is not
used."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class ListedTeam:
    """One franchise as the paper's venues list it: each venue's own code and name for it
    (not ``worker.data.teams.Team``, the worker's matching table of the same files)."""

    id: str
    league: str
    abbreviation: str
    city: str
    nickname: str
    full_name: str
    kalshi_code: str
    kalshi_name: str
    poly_code: str
    poly_outcome: str
    pmus_code: str
    pmus_short: str
    pmus_description: str


@cache
def load_teams(league: str) -> tuple[ListedTeam, ...]:
    """Teams of a league from the project's team tables (``worker/data/teams``)."""
    raw = resources.files("worker.data").joinpath("teams", f"{league}.json").read_text("utf-8")
    data = json.loads(raw)
    teams = []
    for t in data["teams"]:
        teams.append(
            ListedTeam(
                id=t["id"],
                league=league,
                abbreviation=t["abbreviation"],
                city=t["city"],
                nickname=t["nickname"],
                full_name=t["full_name"],
                kalshi_code=t["kalshi"]["codes"][0],
                kalshi_name=t["kalshi"]["name"],
                poly_code=t["polymarket"]["codes"][0],
                poly_outcome=t["polymarket"]["outcome"],
                pmus_code=t["polymarket_us"]["codes"][0],
                pmus_short=t["polymarket_us"]["short_name"],
                pmus_description=t["polymarket_us"]["description"],
            )
        )
    return tuple(teams)


@cache
def league_timezone(league: str) -> ZoneInfo:
    raw = resources.files("worker.data").joinpath("teams", f"{league}.json").read_text("utf-8")
    return ZoneInfo(json.loads(raw).get("timezone", "America/New_York"))
