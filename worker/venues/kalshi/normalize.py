"""Kalshi game winners as listings (:class:`worker.domain.listings.VenueNormaliser`).

A market of a ``KX{LEAGUE}GAME`` event, for a league with a team table: YES pays if the
team of the ticker's suffix wins, NO pays on the other team. The teams come from the
event ticker's glued codes (cross-checked with the event title), else from the title;
the date from the event ticker, else from the start time. A ``yes_sub_title`` naming the
other team puts polarity in doubt: the market is refused rather than guessed.
"""

from __future__ import annotations

from datetime import date

from worker.data.index import league_index
from worker.domain.listings import Contract, Listing, NotNormalised
from worker.domain.markets import Market, OutcomeSide, Venue
from worker.venues.common.listing import local_date, teams_from_title
from worker.venues.kalshi.tickers import matched_game_event, matched_series_league


class KalshiNormaliser:
    """Kalshi's :class:`~worker.domain.listings.VenueNormaliser`."""

    @property
    def venue(self) -> Venue:
        return Venue.KALSHI

    def normalize(self, market: Market) -> Listing | NotNormalised:
        return normalize(market)


def normalize(market: Market) -> Listing | NotNormalised:
    """A Kalshi market of a ``KX{LEAGUE}GAME`` event: YES pays if the suffix team wins."""

    def refuse(reason: str) -> NotNormalised:
        return NotNormalised(Venue.KALSHI, market.market_id, reason)

    series = (market.series or market.event_id.partition("-")[0]).upper()
    matched = matched_series_league(series)
    if matched is None:
        return refuse(f"series {series or '?'} is not a game-winner series")
    league = matched.value
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
    parts = matched_game_event(event)
    game_date: date | None = None
    date_source = "identifier"
    away = home = None
    if parts is not None:
        game_date, glued = parts
        splits = []
        for i in range(1, len(glued)):
            a, h = index.by_kalshi_code(glued[:i]), index.by_kalshi_code(glued[i:])
            if a is not None and h is not None and a.id != h.id and yes_team.id in (a.id, h.id):
                splits.append((a.id, h.id))
        if len(set(splits)) == 1:
            away, home = splits[0]
            evidence.append(f"teams {glued} from event ticker codes")
    if away is None or home is None:
        found = teams_from_title(market.event_title, index)
        if found is None or yes_team.id not in found[:2]:
            return refuse(f"cannot identify both teams of {event}")
        away, home = found[0], found[1]
        text_fields.append("teams from event title")
    else:
        # Cross-check the title; a contradiction on *which* teams play is fatal, an
        # order difference is only noted.
        found = teams_from_title(market.event_title, index)
        if found is not None and not found[2]:
            if {found[0], found[1]} != {away, home}:
                return refuse(f"title {market.event_title!r} names other teams than {event}")
            if found[0] != away:
                notes.append("title lists home/away the other way round")
    if game_date is None:
        game_date = local_date(market, index)
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
