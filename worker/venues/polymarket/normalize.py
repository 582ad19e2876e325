"""Gamma game winners as listings (:class:`worker.domain.listings.VenueNormaliser`).

A ``moneyline`` market whose slug is the bare game slug ``{league}-{away}-{home}-{date}``
(a suffixed slug is a spread, total or prop): one token per team, the outcome names are
the team names, and each team's contract is the token whose outcome names it.
"""

from __future__ import annotations

from worker.data.index import league_index
from worker.domain.leagues import MATCHED, matched_names
from worker.domain.listings import Contract, Listing, NotNormalised
from worker.domain.markets import Market, Outcome, OutcomeSide, Venue
from worker.venues.common.listing import slug_game
from worker.venues.common.slugs import matched_game_slug, slug_parts


class PolymarketNormaliser:
    """Polymarket's (Gamma) :class:`~worker.domain.listings.VenueNormaliser`."""

    @property
    def venue(self) -> Venue:
        return Venue.POLYMARKET

    def normalize(self, market: Market) -> Listing | NotNormalised:
        return normalize(market)


def normalize(market: Market) -> Listing | NotNormalised:
    """A Gamma moneyline market: one token per team, outcome names are the team names."""

    def refuse(reason: str) -> NotNormalised:
        return NotNormalised(Venue.POLYMARKET, market.market_id, reason)

    smt = (market.sports_market_type or "").lower()
    if smt and smt != "moneyline":
        return refuse(f"sportsMarketType {smt} is not moneyline")
    event_slug = (market.event_slug or "").lower()
    slug = (market.slug or "").lower()
    ev = slug_parts(event_slug)
    if slug:
        sm = slug_parts(slug)
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
    index = league_index(league)
    if index is None:
        return refuse(f"league {league} has no team table")
    tokens = [o for o in market.outcomes if o.side is OutcomeSide.TOKEN]
    if len(tokens) != 2:
        return refuse(f"{len(tokens)} outcomes: a game winner has two")
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
        contracts=contracts,
        text_fields=text_fields,
        notes=[],
        evidence=evidence,
    )
