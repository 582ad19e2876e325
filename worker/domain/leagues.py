"""The leagues: one table of what the worker knows about each.

Every league list and league abbreviation of the worker comes from here: which leagues
the venues are asked for (:data:`LISTED`), which have team tables and so have their game
winners matched (:data:`MATCHED`), which can end in a tie, and the names the venues give
a league (the abbreviations in Kalshi series tickers, the tags and slug prefixes of
Polymarket). How a venue *spells* them (``KX{CODE}GAME``, ``{league}-{away}-{home}-…``)
is that venue's knowledge and lives in its folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class League(StrEnum):
    """Sports leagues, lower-case as they appear in Polymarket slugs."""

    NBA = "nba"
    NFL = "nfl"
    NHL = "nhl"
    MLB = "mlb"
    WNBA = "wnba"
    NCAAF = "ncaaf"
    NCAAB = "ncaab"
    MLS = "mls"
    EPL = "epl"
    UCL = "ucl"
    ATP = "atp"
    WTA = "wta"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str | None) -> League:
        """League from a slug prefix / tag (``"NBA"``, ``"nba"``, ``"cfb"``); unknown → OTHER."""
        if not value:
            return cls.OTHER
        v = value.strip().lower()
        v = _ALIASES.get(v, v)
        try:
            return cls(v)
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True, slots=True)
class LeagueInfo:
    """One league.

    ``codes``: the upper-case abbreviations venues use for it, the usual one first
    (``NBA``; Kalshi's college series say ``NCAAFB``, ``NCAAMB``). ``aliases``: other
    names in tags and slugs (``cfb``). ``listed``: its games are listed when discovery
    asks for no league in particular. ``matched``: it has a team table
    (``worker/data/teams/<league>.json``), so its game winners are paired across venues.
    ``ties``: a game can end level (regular-season NFL, soccer). ``three_way``: the
    venues list a draw as a market of its own, so one team's win is no complement of the
    other's (soccer). ``players``: matches are between players, keyed by their names
    (tennis), not teams of a table. ``game_length``: the
    usual wall-clock length of a game, from start to final whistle, used for the expected
    resolution when a venue gives none.
    """

    league: League
    codes: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    listed: bool = False
    matched: bool = False
    ties: bool = False
    three_way: bool = False
    players: bool = False
    kalshi: str = ""
    game_length: timedelta = timedelta(hours=3)

    @property
    def code(self) -> str:
        """The usual abbreviation (``NBA``)."""
        return self.codes[0]

    @property
    def gamma_tag(self) -> str:
        """The tag slug Gamma lists the league's events under (``nba``; college ``cfb``,
        ``cbb``: the slug prefix its game slugs use)."""
        return self.aliases[0] if self.aliases else self.league.value

    @property
    def kalshi_code(self) -> str:
        """The abbreviation in Kalshi's series tickers (``NBA``; ``NCAAMB``)."""
        return self.kalshi or self.code


LEAGUES: tuple[LeagueInfo, ...] = (
    LeagueInfo(League.NBA, ("NBA",), listed=True, matched=True),
    LeagueInfo(
        League.NFL, ("NFL",), listed=True, matched=True, ties=True, game_length=timedelta(hours=3, minutes=30)
    ),
    LeagueInfo(League.NHL, ("NHL",), listed=True, matched=True),
    LeagueInfo(League.MLB, ("MLB",), listed=True, matched=True),
    LeagueInfo(League.WNBA, ("WNBA",), listed=True, matched=True),
    LeagueInfo(
        League.NCAAF, ("NCAAF", "NCAAFB"), aliases=("cfb", "college-football"), listed=True, matched=True,
        game_length=timedelta(hours=3, minutes=30),
    ),
    LeagueInfo(League.NCAAB, ("NCAAB", "NCAAMB"), aliases=("cbb",), listed=True, matched=True, kalshi="NCAAMB"),
    LeagueInfo(League.MLS, ("MLS",), listed=True, matched=True, ties=True, three_way=True, game_length=timedelta(hours=2)),
    LeagueInfo(League.EPL, ("EPL",), listed=True, matched=True, ties=True, three_way=True, game_length=timedelta(hours=2)),
    LeagueInfo(League.UCL, ("UCL",), listed=True, matched=True, ties=True, three_way=True, game_length=timedelta(hours=2)),
    LeagueInfo(League.ATP, ("ATP",), listed=True, players=True, game_length=timedelta(hours=3)),
    LeagueInfo(League.WTA, ("WTA",), listed=True, players=True, game_length=timedelta(hours=2, minutes=30)),
)

_BY_LEAGUE = {info.league: info for info in LEAGUES}
_ALIASES = {alias: info.league.value for info in LEAGUES for alias in info.aliases}

#: Leagues discovery lists by default, in table order.
LISTED: tuple[League, ...] = tuple(info.league for info in LEAGUES if info.listed)
#: Leagues with a team table: their game winners are matched across venues.
MATCHED: tuple[League, ...] = tuple(info.league for info in LEAGUES if info.matched)
#: Leagues whose games can end in a tie (as lower-case names).
TIE_LEAGUES: frozenset[str] = frozenset(info.league.value for info in LEAGUES if info.ties)


#: Leagues whose draws are markets of their own (as lower-case names).
THREE_WAY_LEAGUES: frozenset[str] = frozenset(info.league.value for info in LEAGUES if info.three_way)


def three_way(league: str) -> bool:
    """Whether ``league``'s venues list the draw as a market of its own (soccer)."""
    return league.lower() in THREE_WAY_LEAGUES


#: Leagues of matches between players (tennis), as lower-case names.
PLAYERS_LEAGUES: frozenset[str] = frozenset(info.league.value for info in LEAGUES if info.players)


def players_league(league: str) -> bool:
    """Whether ``league``'s matches are between players (tennis)."""
    return league.lower() in PLAYERS_LEAGUES


def info(league: League) -> LeagueInfo:
    """The table row of ``league`` (KeyError for OTHER)."""
    return _BY_LEAGUE[league]


def game_length(league: str) -> timedelta:
    """The usual length of a game of ``league`` (three hours for a league not in the table)."""
    row = _BY_LEAGUE.get(League.parse(league))
    return row.game_length if row is not None else timedelta(hours=3)


def matched_names() -> str:
    """``NBA/NFL/NHL``: the matched leagues, as refusals name them."""
    return "/".join(info(league).code for league in MATCHED)


__all__ = [
    "LEAGUES", "LISTED", "MATCHED", "PLAYERS_LEAGUES", "THREE_WAY_LEAGUES", "TIE_LEAGUES", "League", "LeagueInfo",
    "game_length", "info", "matched_names", "players_league", "three_way",
]
