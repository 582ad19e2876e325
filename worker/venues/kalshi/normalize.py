"""Kalshi markets of a game as listings (:class:`worker.domain.listings.VenueNormaliser`).

A market of a ``KX{LEAGUE}GAME``, ``…SPREAD`` or ``…TOTAL`` event of a league with a team
table offers one proposition, its YES (NO is the complement):

* a game market ``…-HOU``: that team wins; ``…-TIE`` (soccer): the game is a draw;
* a spread ``…-PHI8``: PHI wins by more than ``floor_strike`` (7.5), i.e. covers −7.5;
* a total ``…-45``: the total is over ``floor_strike`` (44.5);
* a tennis match ``KXATPMATCH-…-ZVE``: the player of its ``yes_sub_title`` wins (players
  are keyed by name, :mod:`worker.venues.common.players`).

The teams come from the event ticker's glued codes (cross-checked with the event title),
else from the title; the date from the event ticker, else from the start time; MLB's
start from the ticker. A ``yes_sub_title`` naming the other team puts polarity in doubt:
the market is refused rather than guessed. A line is read from ``floor_strike`` and must
agree with the ticker's rounded-up suffix; an integer line is refused (Kalshi settles a
score landing on it as NO; Polymarket lists half-point lines only: see docs/matching.md,
"Pushes").
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from worker.data.index import LeagueIndex, league_index
from worker.domain.leagues import three_way
from worker.domain.listings import Contract, Listing, NotNormalised, Offer
from worker.domain.markets import Market, MarketKind, OutcomeSide, Venue
from worker.domain.propositions import DRAW, FULL_GAME, PropKind, Proposition, line_text, win
from worker.venues.common.listing import Refuse, local_date, team_names, teams_from_title
from worker.venues.common.players import players_listing
from worker.venues.common.propositions import terms_of
from worker.venues.kalshi.tickers import (
    matched_event,
    matched_series,
    split_event_ticker,
    tennis_series,
)

HALF = Decimal("0.5")
#: A line's YES as Kalshi words it: "PHI Eagles wins by over 7.5 points", "Over 44.5 …".
_WORDED = re.compile(r"^(?:.+? wins (?:the game )?by over |over )(\d+(?:\.\d+)?)", re.IGNORECASE)
_UNDER = re.compile(r"\b(under|less than|fewer than)\b", re.IGNORECASE)
_SPREAD_SUFFIX = re.compile(r"^([A-Z][A-Z-]*?)(\d+)$")
TIE_SUFFIX = "TIE"


class KalshiNormaliser:
    """Kalshi's :class:`~worker.domain.listings.VenueNormaliser`."""

    @property
    def venue(self) -> Venue:
        return Venue.KALSHI

    def normalize(self, market: Market) -> Listing | NotNormalised:
        return normalize(market)


def _line(market: Market, digits: str) -> Decimal | str:
    """``floor_strike`` checked against the ticker's rounded-up suffix, or why not."""
    line = market.line
    if line is None:
        return f"no floor_strike on {market.market_id}"
    fraction = line - line.to_integral_value(rounding=ROUND_FLOOR)
    if fraction == 0:
        return f"integer line {line_text(line)}: a score can land on it (Kalshi settles that NO) and Polymarket lists half points only: refused, never paired"
    if fraction != HALF:
        return f"line {line} is not a half point"
    if int(digits) != int(line.to_integral_value(rounding=ROUND_CEILING)):
        return f"ticker suffix {digits} is not floor_strike {line} rounded up"
    return line


def _proposition(market: Market, kind: MarketKind, suffix: str, league: str, index: LeagueIndex) -> Proposition | str:
    """The proposition YES pays on, or why it cannot be read."""
    if kind is MarketKind.GAME_WINNER:
        if suffix == TIE_SUFFIX:
            return DRAW if three_way(league) else f"a tie market in {league}, whose venues list no draw"
        team = index.by_kalshi_code(suffix)
        return win(team.id) if team is not None else f"ticker suffix {suffix} is no {league} team code"
    terms = FULL_GAME if three_way(league) else terms_of(market.rules)
    if terms is None:
        return f"settlement terms unclear (overtime, regulation): {market.rules[:120]!r}"
    strike, cap = market.extra.get("strike_type", ""), market.extra.get("cap_strike", "")
    if strike not in ("", "greater") or cap:
        return f"strike_type {strike!r}{f' with cap_strike {cap}' if cap else ''}: not 'more than' a line"
    label = next((o.label for o in market.outcomes if o.side is OutcomeSide.YES), "")
    worded = _WORDED.match(label)
    if _UNDER.search(label) or (worded and market.line is not None and Decimal(worded.group(1)) != market.line):
        return f"yes_sub_title {label!r} is not over floor_strike {market.line}"
    if kind is MarketKind.TOTAL:
        if not suffix.isdigit():
            return f"total suffix {suffix} is not a number"
        line = _line(market, suffix)
        return line if isinstance(line, str) else Proposition(PropKind.TOTAL, line=line, terms=terms)
    m = _SPREAD_SUFFIX.match(suffix)
    if m is None:
        return f"spread suffix {suffix} is not a team code and a number"
    team = index.by_kalshi_code(m.group(1))
    if team is None:
        return f"spread suffix {suffix}: {m.group(1)} is no {league} team code"
    line = _line(market, m.group(2))
    # YES: the team wins by more than the line, i.e. covers minus the line.
    return line if isinstance(line, str) else Proposition(PropKind.SPREAD, team.id, -line, terms)


def _teams(
    market: Market, glued: str | None, index: LeagueIndex, must: str, evidence: list[str], text: list[str],
    notes: list[str],
) -> tuple[str, str] | str:
    """(away, home) from the glued codes (one split of two known codes, including ``must``
    when given), cross-checked with the title; else from the title; or why not."""
    first = second = None
    if glued:
        splits = set()
        for i in range(1, len(glued)):
            a, h = index.by_kalshi_code(glued[:i]), index.by_kalshi_code(glued[i:])
            if a is not None and h is not None and a.id != h.id and (not must or must in (a.id, h.id)):
                splits.add((a.id, h.id))
        if len(splits) == 1:
            first, second = splits.pop()
            evidence.append(f"teams {glued} from event ticker codes")
    found = teams_from_title(market.event_title, index)
    if first is None or second is None:
        if found is None or (must and must not in found[:2]):
            return f"cannot identify both teams of {market.event_id}"
        first, second = found[0], found[1]
        text.append("teams from event title")
    elif found is not None and not found[2]:
        # A contradiction on *which* teams play is fatal, an order difference is noted.
        if {found[0], found[1]} != {first, second}:
            return f"title {market.event_title!r} names other teams than {market.event_id}"
        if found[0] != first:
            notes.append("title lists home/away the other way round")
    # Soccer tickers and titles name the home club first.
    return (second, first) if three_way(index.league) else (first, second)


def _match(market: Market, league: str, refuse: Refuse) -> Listing | NotNormalised:
    """A tennis match market (``KXATPMATCH-26SEP13ZVESHE-ZVE``): YES pays if the player
    of its ``yes_sub_title`` wins; the opponent is the name of the event's other market."""
    names = dict(p.split("=", 1) for p in market.extra.get("names", "").split("|") if "=" in p)
    suffix = market.market_id[len(market.event_id) + 1 :]
    if len(names) != 2 or suffix not in names:
        return refuse(f"{len(names)} named markets in {market.event_id}: a match has two players")
    _, day, _ = split_event_ticker(market.event_id)
    if day is None:
        return refuse(f"no date in {market.event_id}")
    ticker = market.market_id
    yes = names[suffix]
    other = next(n for s, n in names.items() if s != suffix)
    found = players_listing(
        market, Venue.KALSHI, league, day,
        {yes: Contract(ticker, OutcomeSide.YES, f"YES {ticker}"), other: Contract(ticker, OutcomeSide.NO, f"NO {ticker}")},
        yes=yes,
    )
    return refuse(found) if isinstance(found, str) else found


def normalize(market: Market) -> Listing | NotNormalised:
    """A Kalshi market of a game, spread or total event: YES pays on its proposition."""

    def refuse(reason: str) -> NotNormalised:
        return NotNormalised(Venue.KALSHI, market.market_id, reason)

    series = (market.series or market.event_id.partition("-")[0]).upper()
    tour = tennis_series(series)
    if tour is not None:
        return _match(market, tour.value, refuse)
    matched = matched_series(series)
    if matched is None:
        return refuse(f"series {series or '?'} is not a game, spread or total series of a matched league")
    league, kind = matched[0].value, matched[1]
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    ticker, event = market.market_id, market.event_id
    if not ticker.startswith(event + "-"):
        return refuse(f"ticker {ticker} is not a market of event {event}")
    suffix = ticker[len(event) + 1 :]
    prop = _proposition(market, kind, suffix, league, index)
    if isinstance(prop, str):
        return refuse(prop)
    evidence: list[str] = []
    text_fields: list[str] = []
    notes: list[str] = []
    parts = matched_event(event)
    teams = _teams(market, parts.glued if parts else None, index, prop.team, evidence, text_fields, notes)
    if isinstance(teams, str):
        return refuse(teams)
    away, home = teams
    if prop.team and prop.team not in teams:
        return refuse(f"{prop.team} does not play in {event}")
    game_date: date | None = parts.day if parts else None
    date_source = "identifier"
    if game_date is None:
        game_date = local_date(market, index)
        if game_date is None:
            return refuse(f"no date in {event} and no start time")
        date_source = "start_time"
        text_fields.append("date from start time")
    # yes_sub_title names the team YES pays on: if it names the *other* team, polarity is
    # in doubt and the market is refused rather than guessed.
    yes_outcome = next((o for o in market.outcomes if o.side is OutcomeSide.YES), None)
    if prop.kind is PropKind.WIN and yes_outcome is not None and yes_outcome.label:
        named = index.by_name(yes_outcome.label, allow_fuzzy=False)
        if named is not None and named.team.id != prop.team:
            return refuse(f"yes_sub_title {yes_outcome.label!r} names {named.team.id}, suffix {suffix} names {prop.team}")
        if named is None and index.by_name(yes_outcome.label) is None:
            # The code names a team the name does not (a code two schools share): the
            # pair then rests on the code alone, never at HIGH confidence.
            notes.append(f"yes_sub_title {yes_outcome.label!r} is no name of {prop.team}")
    offer = Offer(prop, Contract(ticker, OutcomeSide.YES, f"YES {ticker}"), Contract(ticker, OutcomeSide.NO, f"NO {ticker}"))
    evidence.append(f"YES {ticker} pays if {prop.key} (suffix {suffix})")
    return Listing(
        market=market,
        venue=Venue.KALSHI,
        league=league,
        game_date=game_date,
        away=away,
        home=home,
        offers={prop.key: offer},
        date_source=date_source,
        text_fields=text_fields,
        notes=notes,
        evidence=evidence,
        names=team_names(index, (away, home)),
        start=parts.start if parts else None,
        start_day=parts.day if parts and parts.start else None,
        game_number=parts.game_number if parts else None,
    )
