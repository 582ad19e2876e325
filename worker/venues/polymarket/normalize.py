"""Gamma markets of a game as listings (:class:`worker.domain.listings.VenueNormaliser`).

* A ``moneyline`` market whose slug is the bare game slug ``{league}-{away}-{home}-{date}``:
  one token per team, the outcome names are the team names, each team's win is bought
  with its token and against the other's. Never in a league whose draws are markets of
  their own (soccer): there a draw makes both teams' tokens lose.
* A soccer game's Yes/No markets (``…-ars``, ``…-draw``: "Will Arsenal win?", "… end
  in a draw?"): one proposition each, Yes pays when it holds, No when it does not.
* A tennis match (``atp-…``, ``wta-…``): one token per player, keyed by name.
* ``spreads``: the team the question names (``Spread: Miami (FL) (-19.5)``) covers the
  ``line``; ``totals``: the total is over the ``line`` (outcomes Over and Under).
"""

from __future__ import annotations

import re
from decimal import Decimal

from worker.data.index import league_index
from worker.domain.leagues import MATCHED, matched_names, three_way
from worker.domain.listings import Contract, Listing, NotNormalised, Offer, two_way_offers
from worker.domain.markets import Market, Outcome, OutcomeSide, Venue
from worker.domain.propositions import DRAW, FULL_GAME, PropKind, Proposition, line_text
from worker.venues.common.listing import (
    GameOf,
    Refuse,
    is_yes_no,
    local_date,
    slug_game,
    team_names,
    yes_no,
)
from worker.venues.common.players import players_listing
from worker.venues.common.propositions import binary_of, spread_of, terms_of, total_of
from worker.venues.common.slugs import SlugParts, matched_game_slug, slug_parts

#: sportsMarketType values of line markets.
LINE_TYPES = frozenset({"spreads", "spread", "totals", "total"})
#: Soccer's spreads and totals sit in a sibling event ``{game slug}-more-markets``.
MORE_MARKETS = "-more-markets"
#: A line market's slug after its event's: ``-spread-home-5pt5``, ``-total-221pt5``.
_LINE_SLUG = re.compile(r"^-(?:spread-(?:home|away)|total)-(\d+)pt(\d+)$")
#: Slug prefixes of tennis matches (players, not teams).
TOURS = frozenset({"atp", "wta"})


class PolymarketNormaliser:
    """Polymarket's (Gamma) :class:`~worker.domain.listings.VenueNormaliser`."""

    @property
    def venue(self) -> Venue:
        return Venue.POLYMARKET

    def normalize(self, market: Market) -> Listing | NotNormalised:
        return normalize(market)


def normalize(market: Market) -> Listing | NotNormalised:
    """A Gamma market of a game of a matched league: a moneyline (two team tokens, or a
    soccer Yes/No market of one team's win or the draw), a spread or a total."""

    def refuse(reason: str) -> NotNormalised:
        return NotNormalised(Venue.POLYMARKET, market.market_id, reason)

    smt = (market.sports_market_type or "").lower()
    if smt in LINE_TYPES:
        return _line(market, smt, refuse)
    if smt and smt != "moneyline":
        return refuse(f"sportsMarketType {smt} is not moneyline, spreads or totals")
    event_slug = (market.event_slug or "").lower()
    slug = (market.slug or "").lower()
    ev = slug_parts(event_slug)
    sm = slug_parts(slug) if slug else None
    tokens = [o for o in market.outcomes if o.side is OutcomeSide.TOKEN]
    if len(tokens) != 2:
        return refuse(f"{len(tokens)} outcomes: a game market has two")
    if is_yes_no(tokens):
        return _binary(market, tokens, sm.suffix if sm else None, refuse)
    if ev is not None and ev.league in TOURS:
        if slug and slug != event_slug:
            return refuse(f"market slug {slug} is not the match slug {event_slug}")
        return _match(market, ev, tokens, refuse)
    if slug:
        if sm and sm.suffix:
            return refuse(f"market slug {slug} has a suffix ({sm.suffix}): not the winner")
        if not smt and slug != event_slug:
            return refuse(f"market slug {slug} is not the game slug {event_slug}")
    if not smt and not slug:
        return refuse("no sportsMarketType and no slug: cannot tell it is the game winner")
    base = matched_game_slug(slug) or matched_game_slug(event_slug)
    if base is None:
        if ev is None or ev.league not in MATCHED:
            return refuse(f"slug {event_slug or slug} is not an {matched_names()} game slug")
        return refuse(f"event slug {event_slug} is not a bare game slug")
    league = base.league
    if three_way(league):
        return refuse(f"two team outcomes in {league}, where a draw is a market of its own: not complements")
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    text_fields: list[str] = []
    evidence: list[str] = []
    resolved: list[tuple[str, Outcome]] = []
    for o in tokens:
        r = index.by_name(o.label)
        if r is None:
            return refuse(f"outcome {o.label!r} is no {league} team")
        if r.fuzzy:
            text_fields.append(f"outcome {o.label!r} matched {r.team.id} by similarity")
        resolved.append((r.team.id, o))
    if resolved[0][0] == resolved[1][0]:
        return refuse("both outcomes name the same team")
    teams = {resolved[0][0], resolved[1][0]}
    game = slug_game(
        slug or event_slug, base, index.by_polymarket_code, teams, "outcomes", market, index,
        evidence, text_fields,
    )
    if isinstance(game, str):
        return refuse(game)
    away, home, game_date = game
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
        offers=two_way_offers(contracts),
        text_fields=text_fields,
        notes=[],
        evidence=evidence,
        names=team_names(index, (away, home)),
        start=market.start_time,
        start_day=local_date(market, index),
    )


def _match(market: Market, ev: SlugParts, tokens: list[Outcome], refuse: Refuse) -> Listing | NotNormalised:
    """A tennis match (``atp-bolt-simakin-2026-04-19``): one token per player, outcomes
    the players' full names."""
    if ev.suffix:
        return refuse(f"event slug {market.event_slug} has a suffix ({ev.suffix}): not the match winner")
    try:
        day = ev.date()
    except ValueError:
        return refuse(f"slug date of {market.event_slug} is not a date")
    found = players_listing(
        market, Venue.POLYMARKET, ev.league, day,
        {o.label: Contract(o.contract_id, OutcomeSide.TOKEN, o.label) for o in tokens},
    )
    if isinstance(found, str):
        return refuse(found)
    found.start = market.start_time
    return found


def _game(market: Market, refuse: Refuse) -> tuple[GameOf, list[str], list[str]] | NotNormalised:
    """The game of a market of a bare event slug (its teams from the slug's codes, else
    the event title), for the markets whose outcomes are not the teams."""
    event_slug = (market.event_slug or "").lower()
    base = matched_game_slug(event_slug.removesuffix(MORE_MARKETS))
    if base is not None and event_slug.endswith(MORE_MARKETS) and not three_way(base.league):
        base = None  # only soccer's lines sit in a "-more-markets" event
    if base is None:
        return refuse(f"event slug {event_slug or '?'} is not an {matched_names()} game slug")
    index = league_index(base.league)
    if index is None:
        return refuse(f"league {base.league} has no team table")
    evidence: list[str] = []
    text_fields: list[str] = []
    game = slug_game(event_slug, base, index.by_polymarket_code, None, "slug", market, index, evidence, text_fields)
    if isinstance(game, str):
        return refuse(game)
    return GameOf(base.league, index, *game), evidence, text_fields


def _listing(market: Market, game: GameOf, offer: Offer, evidence: list[str], text: list[str]) -> Listing:
    return Listing(
        market=market,
        venue=Venue.POLYMARKET,
        league=game.league,
        game_date=game.day,
        away=game.away,
        home=game.home,
        offers={offer.proposition.key: offer},
        text_fields=text,
        evidence=evidence,
        names=team_names(game.index, (game.away, game.home)),
        start=market.start_time,
        start_day=local_date(market, game.index),
    )


def _binary(market: Market, tokens: list[Outcome], suffix: str | None, refuse: Refuse) -> Listing | NotNormalised:
    """A Yes/No market of a game: one team wins, or the draw (a three-way league's)."""
    found = _game(market, refuse)
    if isinstance(found, NotNormalised):
        return found
    game, evidence, text = found
    about = binary_of(market.title, suffix, game.index, game.index.by_polymarket_code, frozenset((game.away, game.home)))
    if isinstance(about, str):
        return refuse(about)
    if about.team is None and not three_way(game.league):
        return refuse(f"a draw market in {game.league}, whose venues list no draw")
    slug, event = (market.slug or "").lower(), (market.event_slug or "").lower()
    if slug != f"{event}-{(suffix or '').lower()}":
        return refuse(f"market slug {slug} is not event slug {event} and its suffix")
    # Soccer's result is the 90 minutes on both venues; elsewhere a win "in regulation" is
    # another proposition than the game's winner.
    terms = FULL_GAME if three_way(game.league) else terms_of(market.title, market.rules)
    if terms is None:
        return refuse(f"settlement terms unclear (overtime, regulation): {market.rules[:120]!r}")
    prop = DRAW if about.team is None else Proposition(PropKind.WIN, about.team, terms=terms)
    yes, no = yes_no(tokens)
    evidence.append(f"Yes token {yes.contract_id[:12]}… pays if {prop.key}")
    offer = Offer(prop, Contract(yes.contract_id, OutcomeSide.TOKEN, yes.label), Contract(no.contract_id, OutcomeSide.TOKEN, no.label))
    return _listing(market, game, offer, evidence, text)


def _line(market: Market, smt: str, refuse: Refuse) -> Listing | NotNormalised:
    """A spread (the team named in the question covers the line) or a total (over the line)."""
    found = _game(market, refuse)
    if isinstance(found, NotNormalised):
        return found
    game, evidence, text = found
    tokens = [o for o in market.outcomes if o.side is OutcomeSide.TOKEN]
    if len(tokens) != 2:
        return refuse(f"{len(tokens)} outcomes: a line market has two")
    terms = FULL_GAME if three_way(game.league) else terms_of(market.title, market.rules)
    if terms is None:
        return refuse(f"settlement terms unclear (overtime, regulation): {market.rules[:120]!r}")
    if market.line is not None and market.line == market.line.to_integral_value():
        return refuse(f"integer line {line_text(market.line)}: Polymarket's sports oracle creates half-point lines only, "
                      "so how a score landing on it settles is not known (no push is ever paired)")
    slug, event = (market.slug or "").lower(), (market.event_slug or "").lower().removesuffix(MORE_MARKETS)
    shape = _LINE_SLUG.match(slug[len(event):]) if slug.startswith(event) else None
    if shape is None or market.line is None or Decimal(f"{shape.group(1)}.{shape.group(2)}") != abs(market.line):
        return refuse(f"market slug {slug} is not the game's {smt} line {market.line}")
    if smt in ("spreads", "spread"):
        spread = spread_of(market.title, market.line, game.index)
        if isinstance(spread, str):
            return refuse(spread)
        team, line = spread
        by_team = {}
        for o in tokens:
            r = game.index.by_name(o.label, allow_fuzzy=False)
            if r is None or r.team.id not in (game.away, game.home):
                return refuse(f"spread outcome {o.label!r} is neither team of the game")
            by_team[r.team.id] = o
        if set(by_team) != {game.away, game.home} or team not in by_team:
            return refuse("the spread's outcomes are not the game's two teams")
        pays, against = by_team[team], next(o for t, o in by_team.items() if t != team)
        prop = Proposition(PropKind.SPREAD, team, line, terms)
    else:
        total = total_of(market.title, market.line)
        if isinstance(total, str):
            return refuse(total)
        labels = {o.label.strip().lower(): o for o in tokens}
        if set(labels) != {"over", "under"}:
            return refuse(f"total outcomes {sorted(labels)} are not Over and Under")
        pays, against = labels["over"], labels["under"]
        prop = Proposition(PropKind.TOTAL, line=total, terms=terms)
    evidence.append(f"token {pays.contract_id[:12]}… {pays.label!r} pays if {prop.key}")
    offer = Offer(prop, Contract(pays.contract_id, OutcomeSide.TOKEN, pays.label), Contract(against.contract_id, OutcomeSide.TOKEN, against.label))
    return _listing(market, game, offer, evidence, text)
