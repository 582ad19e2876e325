"""Normalise each venue's markets into (league, local game date, away, home, proposition).

Only game-winner markets normalise: a Kalshi ``KX{NBA,NFL,NHL}GAME`` market, a Gamma
``moneyline`` market whose slug is the bare game slug, a Polymarket US ``aec-`` full-game
winner. Spreads, totals, props and futures are refused here, with the reason, so they can
never be paired with a game winner downstream.

Dates are the game's *local* date as the venues encode it in tickers and slugs (a late
game's UTC date is the next day: the UTC start time is only a fallback, converted to the
league's time zone). Teams come from venue codes first (structured), then from exact
names, then from rapidfuzz (marked as text, which caps confidence at MEDIUM).

Polarity: a listing maps each team id to the contract that pays when that team wins —
Kalshi YES of the market's own team (NO pays on the other team), the Gamma token whose
outcome name is that team, the Polymarket US side (long/short, read from ``long``, never
from slug order) whose team is that team. Anything that leaves polarity in doubt (labels
naming the wrong team, two sides with one team, codes and names disagreeing) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from worker.domain.markets import League, Market, OutcomeSide, Venue
from worker.engine.scanner.teams import LeagueIndex, league_index

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_KALSHI_SERIES = re.compile(r"^KX(NBA|NFL|NHL)GAME$")
_KALSHI_EVENT = re.compile(r"^KX(NBA|NFL|NHL)GAME-(\d{2})([A-Z]{3})(\d{2})([A-Z]+)$")
_GAME_SLUG = re.compile(r"^(nba|nfl|nhl)-([a-z0-9]+)-([a-z0-9]+)-(\d{4})-(\d{2})-(\d{2})$")
_SLUG_ANY = re.compile(r"^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)-(\d{4})-(\d{2})-(\d{2})(-.+)?$")
_AT = re.compile(r"^(.+?)\s+(?:at|@)\s+(.+?)(?:\s+winner\??)?$", re.IGNORECASE)
_VS = re.compile(r"^(.+?)\s+(?:vs\.?|v\.?)\s+(.+?)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Contract:
    """The contract paying when a team wins, as the venue names it."""

    contract_id: str
    side: OutcomeSide
    label: str


@dataclass(slots=True)
class Listing:
    """One game-winner market reduced to what matching needs.

    ``contracts`` maps each of the two team ids to the contract paying on that team's
    win. ``text_fields`` lists fields resolved from free text (fuzzy or titles);
    ``notes`` lists tolerated disagreements inside this venue's own fields.
    """

    market: Market
    venue: Venue
    league: str
    game_date: date
    away: str
    home: str
    contracts: dict[str, Contract]
    yes_team: str | None = None
    date_source: str = "identifier"
    text_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    @property
    def teams(self) -> frozenset[str]:
        return frozenset((self.away, self.home))


@dataclass(frozen=True, slots=True)
class Refusal:
    """A market that does not normalise, and why."""

    venue: Venue
    market_id: str
    reason: str


def _local_date(market: Market, index: LeagueIndex) -> date | None:
    if market.start_time is None:
        return None
    return market.start_time.astimezone(ZoneInfo(index.timezone)).date()


def _split_title(title: str) -> tuple[str, str] | None:
    t = title.strip()
    m = _AT.match(t)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    m = _VS.match(t)
    if m:
        return m.group(1).strip(), m.group(2).strip()
    return None


def _teams_from_title(title: str, index: LeagueIndex) -> tuple[str, str, bool] | None:
    parts = _split_title(title)
    if not parts:
        return None
    a = index.by_name(parts[0])
    h = index.by_name(parts[1])
    if a is None or h is None or a.team.id == h.team.id:
        return None
    return a.team.id, h.team.id, a.fuzzy or h.fuzzy


# --- Kalshi --------------------------------------------------------------------------------


def normalize_kalshi(market: Market) -> Listing | Refusal:
    """A Kalshi market of a ``KX{LEAGUE}GAME`` event: YES pays if the suffix team wins."""

    def refuse(reason: str) -> Refusal:
        return Refusal(Venue.KALSHI, market.market_id, reason)

    series = (market.series or market.event_id.partition("-")[0]).upper()
    ms = _KALSHI_SERIES.match(series)
    if not ms:
        return refuse(f"series {series or '?'} is not a game-winner series")
    league = ms.group(1).lower()
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    ticker = market.market_id
    event = market.event_id
    if not ticker.startswith(event + "-"):
        return refuse(f"ticker {ticker} is not a market of event {event}")
    suffix = ticker[len(event) + 1 :]
    yes_team = index.by_kalshi_code(suffix)
    if yes_team is None:
        return refuse(f"ticker suffix {suffix} is no {league} team code")
    evidence: list[str] = []
    text_fields: list[str] = []
    notes: list[str] = []
    me = _KALSHI_EVENT.match(event)
    game_date: date | None = None
    date_source = "identifier"
    away = home = None
    if me:
        yy, mon, dd, glued = me.group(2), me.group(3), me.group(4), me.group(5)
        if mon in _MONTHS:
            try:
                game_date = date(2000 + int(yy), _MONTHS[mon], int(dd))
            except ValueError:
                game_date = None
        splits = []
        for i in range(1, len(glued)):
            a, h = index.by_kalshi_code(glued[:i]), index.by_kalshi_code(glued[i:])
            if a is not None and h is not None and a.id != h.id and yes_team.id in (a.id, h.id):
                splits.append((a.id, h.id))
        if len(set(splits)) == 1:
            away, home = splits[0]
            evidence.append(f"teams {glued} from event ticker codes")
    if away is None or home is None:
        found = _teams_from_title(market.event_title, index)
        if found is None or yes_team.id not in found[:2]:
            return refuse(f"cannot identify both teams of {event}")
        away, home = found[0], found[1]
        text_fields.append("teams from event title")
    else:
        # Cross-check the title; a contradiction on *which* teams play is fatal, an
        # order difference is only noted.
        found = _teams_from_title(market.event_title, index)
        if found is not None and not found[2]:
            if {found[0], found[1]} != {away, home}:
                return refuse(f"title {market.event_title!r} names other teams than {event}")
            if found[0] != away:
                notes.append("title lists home/away the other way round")
    if game_date is None:
        game_date = _local_date(market, index)
        if game_date is None:
            return refuse(f"no date in {event} and no start time")
        date_source = "start_time"
        text_fields.append("date from start time")
    # yes_sub_title names the team YES pays on: if it names the *other* team, polarity is
    # in doubt and the market is refused rather than guessed.
    yes_outcome = next((o for o in market.outcomes if o.side is OutcomeSide.YES), None)
    if yes_outcome is not None and yes_outcome.label:
        named = index.by_name(yes_outcome.label, allow_fuzzy=False)
        if named is not None and named.team.id != yes_team.id:
            return refuse(
                f"yes_sub_title {yes_outcome.label!r} names {named.team.id}, suffix {suffix} "
                f"names {yes_team.id}"
            )
    other = home if yes_team.id == away else away
    contracts = {
        yes_team.id: Contract(ticker, OutcomeSide.YES, f"YES {ticker}"),
        other: Contract(ticker, OutcomeSide.NO, f"NO {ticker}"),
    }
    evidence.append(f"YES {ticker} pays if {yes_team.id} wins (suffix {suffix})")
    return Listing(
        market=market,
        venue=Venue.KALSHI,
        league=league,
        game_date=game_date,
        away=away,
        home=home,
        contracts=contracts,
        yes_team=yes_team.id,
        date_source=date_source,
        text_fields=text_fields,
        notes=notes,
        evidence=evidence,
    )


# --- Polymarket (Gamma) ----------------------------------------------------------------------


def normalize_polymarket(market: Market) -> Listing | Refusal:
    """A Gamma moneyline market: one token per team, outcome names are the team names."""

    def refuse(reason: str) -> Refusal:
        return Refusal(Venue.POLYMARKET, market.market_id, reason)

    smt = (market.sports_market_type or "").lower()
    if smt and smt != "moneyline":
        return refuse(f"sportsMarketType {smt} is not moneyline")
    event_slug = (market.event_slug or "").lower()
    slug = (market.slug or "").lower()
    ev = _SLUG_ANY.match(event_slug)
    if slug:
        sm = _SLUG_ANY.match(slug)
        if sm and sm.group(7):
            return refuse(f"market slug {slug} has a suffix ({sm.group(7)[1:]}): not the winner")
        if not smt and slug != event_slug:
            return refuse(f"market slug {slug} is not the game slug {event_slug}")
    if not smt and not slug:
        return refuse("no sportsMarketType and no slug: cannot tell it is the game winner")
    base = _GAME_SLUG.match(slug) or _GAME_SLUG.match(event_slug)
    if base is None:
        if ev is None or ev.group(1) not in (League.NBA, League.NFL, League.NHL):
            return refuse(f"slug {event_slug or slug} is not an NBA/NFL/NHL game slug")
        return refuse(f"event slug {event_slug} is not a bare game slug")
    league = base.group(1)
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    tokens = [o for o in market.outcomes if o.side is OutcomeSide.TOKEN]
    if len(tokens) != 2:
        return refuse(f"{len(tokens)} outcomes: a game winner has two")
    text_fields: list[str] = []
    evidence: list[str] = []
    notes: list[str] = []
    resolved = []
    for o in tokens:
        r = index.by_name(o.label)
        if r is None:
            return refuse(f"outcome {o.label!r} is no {league} team")
        if r.fuzzy:
            text_fields.append(f"outcome {o.label!r} matched {r.team.id} by similarity")
        resolved.append((r.team.id, o))
    if resolved[0][0] == resolved[1][0]:
        return refuse("both outcomes name the same team")
    a_code, h_code = base.group(2), base.group(3)
    a_team, h_team = index.by_polymarket_code(a_code), index.by_polymarket_code(h_code)
    outcome_teams = {resolved[0][0], resolved[1][0]}
    if a_team is not None and h_team is not None and a_team.id != h_team.id:
        away, home = a_team.id, h_team.id
        if {away, home} != outcome_teams:
            return refuse(
                f"outcomes {sorted(outcome_teams)} are not the slug's teams {a_code}/{h_code}"
            )
        evidence.append(f"teams {a_code}@{h_code} from slug codes")
    else:
        found = _teams_from_title(market.event_title, index)
        if found is None or {found[0], found[1]} != outcome_teams:
            return refuse(
                f"slug codes {a_code}/{h_code} unknown and title does not settle away/home"
            )
        away, home = found[0], found[1]
        text_fields.append("away/home from event title")
    try:
        game_date = date(int(base.group(4)), int(base.group(5)), int(base.group(6)))
    except ValueError:
        return refuse(f"slug date of {slug or event_slug} is not a date")
    contracts = {tid: Contract(o.contract_id, OutcomeSide.TOKEN, o.label) for tid, o in resolved}
    for tid, o in resolved:
        evidence.append(f"token {o.contract_id[:12]}… outcome {o.label!r} = {tid}")
    return Listing(
        market=market,
        venue=Venue.POLYMARKET,
        league=league,
        game_date=game_date,
        away=away,
        home=home,
        contracts=contracts,
        text_fields=text_fields,
        notes=notes,
        evidence=evidence,
    )


# --- Polymarket US ---------------------------------------------------------------------------


def normalize_polymarket_us(market: Market) -> Listing | Refusal:
    """A Polymarket US ``aec-`` full-game winner: long pays if the side marked long wins."""

    def refuse(reason: str) -> Refusal:
        return Refusal(Venue.POLYMARKET_US, market.market_id, reason)

    smt = (market.sports_market_type or "").lower()
    if smt and not (smt.endswith("full_game_winner") or smt == "moneyline"):
        return refuse(f"sportsMarketType {smt} is not a full-game winner")
    slug = (market.slug or market.market_id).lower()
    if not slug.startswith("aec-"):
        return refuse(f"slug {slug} is not a game-winner (aec-) market")
    base = _GAME_SLUG.match(slug[4:])
    if base is None:
        return refuse(f"slug {slug} is not an NBA/NFL/NHL game-winner slug")
    league = base.group(1)
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    text_fields: list[str] = []
    evidence: list[str] = []
    sides = {o.side: o for o in market.outcomes if o.side in (OutcomeSide.LONG, OutcomeSide.SHORT)}
    if set(sides) != {OutcomeSide.LONG, OutcomeSide.SHORT}:
        return refuse("market lacks a long and a short side")
    resolved: dict[OutcomeSide, str] = {}
    for side, o in sides.items():
        by_code = index.by_polymarket_us_code(o.team_code) if o.team_code else None
        by_name = index.by_name(o.team_name, allow_fuzzy=False) if o.team_name else None
        by_label = index.by_name(o.label) if o.label else None
        ids = {r.id for r in (by_code,) if r is not None}
        ids |= {r.team.id for r in (by_name,) if r is not None}
        exact_label = by_label is not None and not by_label.fuzzy
        if exact_label and by_label is not None:
            ids.add(by_label.team.id)
        if len(ids) > 1:
            return refuse(f"{side} side names several teams ({', '.join(sorted(ids))})")
        if not ids and by_label is not None:
            ids.add(by_label.team.id)
            text_fields.append(f"{side} side {o.label!r} matched {by_label.team.id} by similarity")
        if not ids:
            return refuse(f"{side} side {o.label!r} is no {league} team")
        resolved[side] = next(iter(ids))
    if resolved[OutcomeSide.LONG] == resolved[OutcomeSide.SHORT]:
        return refuse("long and short sides name the same team")
    side_teams = set(resolved.values())
    a_code, h_code = base.group(2), base.group(3)
    a_team, h_team = index.by_polymarket_us_code(a_code), index.by_polymarket_us_code(h_code)
    if a_team is not None and h_team is not None and a_team.id != h_team.id:
        away, home = a_team.id, h_team.id
        if {away, home} != side_teams:
            return refuse(f"sides {sorted(side_teams)} are not the slug's teams {a_code}/{h_code}")
        evidence.append(f"teams {a_code}@{h_code} from slug codes")
    else:
        found = _teams_from_title(market.event_title, index)
        if found is None or {found[0], found[1]} != side_teams:
            return refuse(
                f"slug codes {a_code}/{h_code} unknown and title does not settle away/home"
            )
        away, home = found[0], found[1]
        text_fields.append("away/home from event title")
    try:
        game_date = date(int(base.group(4)), int(base.group(5)), int(base.group(6)))
    except ValueError:
        return refuse(f"slug date of {slug} is not a date")
    contracts = {
        resolved[side]: Contract(slug, side, f"{side.value.upper()} {sides[side].label}")
        for side in (OutcomeSide.LONG, OutcomeSide.SHORT)
    }
    evidence.append(
        f"long = {resolved[OutcomeSide.LONG]}, short = {resolved[OutcomeSide.SHORT]} (marketSides)"
    )
    return Listing(
        market=market,
        venue=Venue.POLYMARKET_US,
        league=league,
        game_date=game_date,
        away=away,
        home=home,
        contracts=contracts,
        text_fields=text_fields,
        evidence=evidence,
    )


def normalize(market: Market) -> Listing | Refusal:
    """Dispatch on the market's venue."""
    if market.venue is Venue.KALSHI:
        return normalize_kalshi(market)
    if market.venue is Venue.POLYMARKET:
        return normalize_polymarket(market)
    return normalize_polymarket_us(market)
