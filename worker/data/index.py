"""Team identity lookups built from the per-league tables in ``worker/data/teams``.

Used by the venues' normalisers (``worker/venues/*/normalize.py``), each through its own
venue's codes.

Every venue code and every name form resolves, *within one league*, to one team id
(``"nba:HOU"``). Names that fit several teams of a league (``Los Angeles`` in the NBA,
``New York`` in the NFL) resolve to nothing rather than to a guess. Text that matches no
exact name goes through rapidfuzz, only against the one league's names (cheap: ~100
strings), and only an unambiguous winner counts; callers mark such a resolution as fuzzy.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process

from worker.data.teams import LEAGUES, LeagueTeams, Team, load_league
from worker.domain.leagues import three_way

_PUNCT = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")

#: Minimum rapidfuzz score for a fuzzy name, and the margin by which it must beat the
#: best name of any *other* team (so "New York" never fuzzily becomes one of two teams).
FUZZY_CUTOFF = 88.0
FUZZY_MARGIN = 6.0
#: How many similarity results an index remembers.
FUZZY_MEMORY = 20_000


#: Words the venues abbreviate differently, each to one form: ``Iowa State``, ``Iowa St.``
#: and ``Iowa St`` are one name, as are ``Saint Mary's`` and ``St. Mary's`` (the place of
#: the word keeps ``Michigan St`` apart from a ``St. Michigan``).
_WORD_FORMS = {"state": "st", "saint": "st", "ste": "st"}


def norm(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed, one form of the
    words of :data:`_WORD_FORMS` (``Montréal`` → ``montreal``; ``Iowa State`` → ``iowa st``)."""
    t = unicodedata.normalize("NFKD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower().replace(".", "").replace("'", "")
    words = _SPACES.sub(" ", _PUNCT.sub(" ", t)).strip().split(" ")
    return " ".join(_WORD_FORMS.get(w, w) for w in words)


@dataclass(frozen=True, slots=True)
class TeamMatch:
    """A resolved team and whether text similarity (not an exact name) was needed."""

    team: Team
    fuzzy: bool = False


class LeagueIndex:
    """Code and name lookups for one league."""

    def __init__(self, table: LeagueTeams) -> None:
        self.league = table.league
        self.timezone = table.timezone
        self.teams = {t.id: t for t in table.teams}
        self.kalshi: dict[str, Team] = {}
        self.polymarket: dict[str, Team] = {}
        self.polymarket_us: dict[str, Team] = {}
        for t in table.teams:
            for c in t.kalshi_codes:
                self.kalshi[c.upper()] = t
            for c in t.polymarket_codes:
                self.polymarket[c.lower()] = t
            for c in t.polymarket_us_codes:
                self.polymarket_us[c.lower()] = t
        names: dict[str, set[str]] = {}

        def add(name: str, team: Team) -> None:
            key = norm(name)
            if key:
                names.setdefault(key, set()).add(team.id)

        # Soccer clubs are not named by their city ("Milan" is not Inter; two clubs share
        # London, Madrid, Lisbon) and names differ little between clubs ("Real Madrid",
        # "Real Betis"; "Sporting CP", "Sporting KC"): a soccer table resolves exact names
        # only, never a city, never by similarity.
        self.fuzzy = not three_way(table.league)
        for t in table.teams:
            for n in (
                t.full_name,
                t.nickname,
                t.city if self.fuzzy else "",
                t.kalshi_name,
                t.polymarket_outcome,
                t.polymarket_us_short_name,
                t.polymarket_us_description,
                f"{t.city} {t.nickname}",
                *t.aliases,
                *t.former_names,
            ):
                add(n, t)
        # A name shared by two teams of the league is ambiguous: it resolves to nothing.
        self.names: dict[str, Team] = {
            k: self.teams[next(iter(v))] for k, v in names.items() if len(v) == 1
        }
        self.ambiguous: frozenset[str] = frozenset(k for k, v in names.items() if len(v) > 1)
        self._choices = list(self.names)
        #: Similarity results already computed (listings repeat the same few names):
        #: at most :data:`FUZZY_MEMORY`, forgotten all at once beyond that.
        self._fuzzy_seen: dict[str, TeamMatch | None] = {}

    def by_kalshi_code(self, code: str) -> Team | None:
        return self.kalshi.get(code.upper())

    def by_polymarket_code(self, code: str) -> Team | None:
        return self.polymarket.get(code.lower())

    def by_polymarket_us_code(self, code: str) -> Team | None:
        return self.polymarket_us.get(code.lower())

    def by_name(self, text: str | None, *, allow_fuzzy: bool = True) -> TeamMatch | None:
        """Exact name → team; else, if allowed, an unambiguous rapidfuzz match."""
        if not text:
            return None
        key = norm(text)
        if not key or key in self.ambiguous:
            return None
        team = self.names.get(key)
        if team is not None:
            return TeamMatch(team)
        if not allow_fuzzy or not self.fuzzy:
            return None
        if key not in self._fuzzy_seen:
            if len(self._fuzzy_seen) >= FUZZY_MEMORY:
                self._fuzzy_seen.clear()
            self._fuzzy_seen[key] = self._fuzzy(key)
        return self._fuzzy_seen[key]

    def _fuzzy(self, key: str) -> TeamMatch | None:
        found = process.extract(key, self._choices, scorer=fuzz.WRatio, limit=8)
        best: Team | None = None
        best_score = 0.0
        runner_up = 0.0
        for choice, score, _ in found:
            team = self.names[choice]
            if best is None:
                best, best_score = team, float(score)
            elif team.id != best.id:
                runner_up = max(runner_up, float(score))
        if best is None or best_score < FUZZY_CUTOFF or best_score - runner_up < FUZZY_MARGIN:
            return None
        return TeamMatch(best, fuzzy=True)


@cache
def league_index(league: str) -> LeagueIndex | None:
    """The index of a league with a team table (nba, nfl, nhl), else ``None``."""
    if league not in LEAGUES:
        return None
    return LeagueIndex(load_league(league))
