"""Polymarket US game winners as listings (:class:`worker.domain.listings.VenueNormaliser`).

An ``aec-{league}-{away}-{home}-{date}`` full-game winner: one market per game whose
*long* side pays if the team marked long wins (read from ``marketSides[].long``, never
from slug order) and whose *short* side pays on the other. Each side's team comes from
its team code and exact name; a label matched only by similarity is marked as text; a
side naming several teams is refused.
"""

from __future__ import annotations

from worker.data.index import league_index
from worker.domain.leagues import matched_names, three_way
from worker.domain.listings import Contract, Listing, NotNormalised, two_way_offers
from worker.domain.markets import Market, OutcomeSide, Venue
from worker.venues.common.listing import local_date, slug_game, team_names
from worker.venues.common.slugs import matched_game_slug

#: The slug prefix of a full-game winner market.
WINNER_PREFIX = "aec-"


class PolymarketUsNormaliser:
    """Polymarket US's :class:`~worker.domain.listings.VenueNormaliser`."""

    @property
    def venue(self) -> Venue:
        return Venue.POLYMARKET_US

    def normalize(self, market: Market) -> Listing | NotNormalised:
        return normalize(market)


def normalize(market: Market) -> Listing | NotNormalised:
    """A Polymarket US ``aec-`` full-game winner: long pays if the side marked long wins."""

    def refuse(reason: str) -> NotNormalised:
        return NotNormalised(Venue.POLYMARKET_US, market.market_id, reason)

    smt = (market.sports_market_type or "").lower()
    if smt and not (smt.endswith("full_game_winner") or smt == "moneyline"):
        return refuse(f"sportsMarketType {smt} is not a full-game winner")
    slug = (market.slug or market.market_id).lower()
    if not slug.startswith(WINNER_PREFIX):
        return refuse(f"slug {slug} is not a game-winner ({WINNER_PREFIX}) market")
    base = matched_game_slug(slug[len(WINNER_PREFIX) :])
    if base is None:
        return refuse(f"slug {slug} is not an {matched_names()} game-winner slug")
    league = base.league
    if three_way(league):
        return refuse(f"a long/short team market in {league}, where a draw is a market of its own: not complements")
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
    teams = set(resolved.values())
    game = slug_game(
        slug, base, index.by_polymarket_us_code, teams, "sides", market, index, evidence,
        text_fields,
    )
    if isinstance(game, str):
        return refuse(game)
    away, home, game_date = game
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
        offers=two_way_offers(contracts),
        text_fields=text_fields,
        evidence=evidence,
        names=team_names(index, (away, home)),
        start=market.start_time,
        start_day=local_date(market, index),
    )
