"""Pair each Kalshi market with the Polymarket contract of the same proposition.

Cost stays near-linear: every market is normalised once, by its venue's normaliser (a
:class:`~worker.domain.listings.VenueNormaliser` the caller gives: dictionary look-ups;
rapidfuzz only for names no table knows, within one league), then listings are blocked
by ``(league, local date, the two teams, proposition)`` and paired by hash look-up: a
team's win, a draw, a spread or a total pairs only with the same proposition on the same
line and terms (:mod:`worker.domain.propositions`). A one-day date
tolerance is tried only for listings left without an exact partner, so two games of the
same teams on consecutive days never cross.

Confidence (see :class:`~worker.domain.mapping.Confidence`): HIGH when league, date and
both teams come from structured fields on both sides and agree; MEDIUM when the pair
rests on text (fuzzy names, titles, a start-time date) or one field disagrees within
tolerance (date off by one day, home/away order); LOW otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from worker.domain.leagues import three_way
from worker.domain.listings import Listing, NotNormalised, Offer, VenueNormaliser
from worker.domain.mapping import Confidence, MarketMapping
from worker.domain.markets import Market, OutcomeSide, Venue
from worker.domain.propositions import PropKind

_Key = tuple[str, object, frozenset[str], str]
_Family = tuple[str, object, frozenset[str], str, str]

#: Two listings of one game on both venues start within this of each other; when one
#: venue lists the same proposition twice on a date (an MLB doubleheader), each listing
#: pairs only with the partner whose scheduled start is this close, never game 1 with
#: game 2.
SAME_START = timedelta(minutes=90)


@dataclass(slots=True)
class MatchResult:
    """Mappings found, plus every market refused or left unpaired and why."""

    mappings: list[MarketMapping] = field(default_factory=list)
    refused: list[NotNormalised] = field(default_factory=list)
    unmatched: list[tuple[Venue, str, str]] = field(default_factory=list)


def _key(listing: Listing, prop: str, shift_days: int = 0) -> _Key:
    return (listing.league, listing.game_date + timedelta(days=shift_days), listing.teams, prop)


def _game(listing: Listing) -> tuple[str, object, frozenset[str]]:
    return (listing.league, listing.game_date, listing.teams)


def _family(listing: Listing, offer: Offer) -> _Family:
    p = offer.proposition
    return (listing.league, listing.game_date, listing.teams, p.kind.value, p.team)


def _confidence(text: int, disagreements: int) -> Confidence:
    if text == 0 and disagreements == 0:
        return Confidence.HIGH
    if (text > 0 and disagreements == 0) or (text == 0 and disagreements == 1):
        return Confidence.MEDIUM
    return Confidence.LOW


def _pair(k: Listing, offer: Offer, p: Listing, day_shift: int) -> MarketMapping:
    prop = offer.proposition
    theirs = p.offers[prop.key]
    same, other = theirs.pays, theirs.against
    reasons: list[str] = []
    disagreements = 0
    text = len(k.text_fields) + len(p.text_fields)
    reasons.append(f"league {k.league} on both venues")
    if day_shift == 0:
        reasons.append(f"date {k.game_date.isoformat()} ({k.date_source} / {p.date_source})")
    else:
        disagreements += 1
        reasons.append(
            f"dates differ by one day: kalshi {k.game_date.isoformat()}, "
            f"{p.venue.value} {p.game_date.isoformat()}"
        )
    if (k.away, k.home) == (p.away, p.home):
        reasons.append(f"teams {k.away} at {k.home} on both venues")
    else:
        disagreements += 1
        reasons.append(
            f"home/away order differs: kalshi {k.away} at {k.home}, {p.venue.value} {p.away} at {p.home}"
        )
    disagreements += len(k.notes) + len(p.notes)
    reasons.extend(f"text: {t}" for t in (*k.text_fields, *p.text_fields))
    reasons.extend(f"note: {n}" for n in (*k.notes, *p.notes))
    reasons.append(f"proposition {prop.key} on both venues")
    reasons.append(f"polarity: YES {k.market.market_id} = {same.label} ({prop.describe()})")
    confidence = _confidence(text, disagreements)
    poly_side = same.side.value if p.venue is Venue.POLYMARKET_US else ""
    opposite = other.contract_id if p.venue is Venue.POLYMARKET else other.side.value
    # Kalshi's own times are the expected end (``occurrence_datetime``), not the start.
    start = p.start or k.start or p.market.start_time
    title = k.market.event_title or p.market.event_title
    if prop.kind is not PropKind.WIN or three_way(k.league):
        # The game's title names the pair only for a two-team winner: any other
        # proposition is named beside it, on the cards, the trade log and the positions.
        title = f"{title} · {prop.describe({**p.names, **k.names})}"
    return MarketMapping(
        kalshi_ticker=k.market.market_id,
        kalshi_event_ticker=k.market.event_id,
        poly_venue=p.venue,
        poly_market=same.contract_id,
        poly_side=poly_side,
        poly_opposite=opposite,
        league=k.league,
        game_date=k.game_date,
        away_team=k.away,
        home_team=k.home,
        proposition_team=prop.team,
        proposition=prop.key,
        event_title=title,
        confidence=confidence,
        reasons=tuple(reasons),
        start_time=start,
        poly_market_id=p.market.market_id,
        kalshi_url=k.market.url or "",
        kalshi_outcome=_yes_label(k),
        poly_url=p.market.url or "",
        poly_title=p.market.title,
        poly_outcome=same.label,
        poly_other_outcome=other.label,
    )


def _yes_label(k: Listing) -> str:
    """The Kalshi market's YES outcome as the venue names it (``Houston``)."""
    return next((o.label for o in k.market.outcomes if o.side is OutcomeSide.YES), "")


def _normalize(market: Market, normalisers: Mapping[Venue, VenueNormaliser]) -> Listing | NotNormalised:
    normaliser = normalisers.get(market.venue)
    if normaliser is None:
        return NotNormalised(market.venue, market.market_id, f"no normaliser for {market.venue.value} markets")
    return normaliser.normalize(market)


def _starts_apart(a: Listing, b: Listing) -> bool:
    sa, sb = a.start, b.start
    return sa is not None and sb is not None and abs(sa - sb) > SAME_START


def _same_day(k: Listing, p: Listing) -> bool:
    """A one-day difference is one moment on both venues: a date read from a start time
    on either side, or the other's start falling on this side's date."""
    return (
        "start_time" in (k.date_source, p.date_source)
        or p.start_day == k.game_date
        or k.start_day == p.game_date
    )


def _by_start(k: Listing, candidates: list[Listing]) -> list[Listing]:
    """The candidates scheduled to start with ``k`` (none when ``k`` has no start time)."""
    if k.start is None:
        return []
    return [p for p in candidates if p.start is not None and not _starts_apart(k, p)]


def _line_reason(k: Listing, offer: Offer, families: Mapping[_Family, list[Offer]]) -> str:
    """Why a line proposition found no partner, when the other venue lists the same
    family (kind, team) for the game on another line or other terms."""
    others = [o.proposition for o in families.get(_family(k, offer), [])]
    if not others:
        return "no partner listing"
    mine = offer.proposition
    lines = ", ".join(sorted({o.describe(k.names) for o in others}))
    if any(o.line == mine.line for o in others):
        return f"settlement terms differ: kalshi {mine.describe(k.names)}, other venue {lines}"
    return f"lines differ: kalshi {mine.describe(k.names)}, other venue {lines}"


def match_markets(
    kalshi: Iterable[Market],
    poly: Iterable[Market],
    normalisers: Mapping[Venue, VenueNormaliser],
) -> MatchResult:
    """All mappings between Kalshi markets and one Polymarket venue's markets, each market
    normalised by ``normalisers[market.venue]``: a Kalshi market pairs with the listing
    offering the same proposition of the same game."""
    result = MatchResult()
    k_listings: list[tuple[Listing, Offer]] = []
    p_by_key: dict[_Key, list[Listing]] = defaultdict(list)
    families: dict[_Family, list[Offer]] = defaultdict(list)
    for m in kalshi:
        n = _normalize(m, normalisers)
        if isinstance(n, NotNormalised):
            result.refused.append(n)
        elif len(n.offers) != 1:
            result.refused.append(NotNormalised(m.venue, m.market_id, f"{len(n.offers)} propositions: expected its YES"))
        else:
            k_listings.append((n, next(iter(n.offers.values()))))
    p_listings: list[Listing] = []
    for m in poly:
        n = _normalize(m, normalisers)
        if isinstance(n, NotNormalised):
            result.refused.append(n)
            continue
        p_listings.append(n)
        for prop_key, offer in n.offers.items():
            p_by_key[_key(n, prop_key)].append(n)
            if offer.proposition.is_line:
                families[_family(n, offer)].append(offer)
    k_by_key: dict[_Key, list[Listing]] = defaultdict(list)
    for k, offer in k_listings:
        k_by_key[_key(k, offer.proposition.key)].append(k)
    k_games = {_game(k) for k, _ in k_listings}
    p_games = {_game(p) for p in p_listings}
    paired_p: set[int] = set()
    chosen: list[tuple[Listing, Offer, Listing, int]] = []
    for k, offer in k_listings:
        prop = offer.proposition.key
        candidates = p_by_key.get(_key(k, prop), [])
        shift = 0
        if not candidates and _game(k) not in p_games:
            # Tolerance: a partner one day off, only when the other venue lists no game of
            # these teams on this date and that partner's date has no Kalshi game of them
            # (the same teams meet on consecutive days: a series' next game is another).
            # And only when a start time says it is the same moment: two dates read from
            # the venues' identifiers a day apart are two scheduled games.
            for d in (-1, 1):
                near = [
                    p for p in p_by_key.get(_key(k, prop, d), [])
                    if _game(p) not in k_games and _same_day(k, p)
                ]
                if near:
                    candidates, shift = near, d
                    break
        twins = k_by_key.get(_key(k, prop), [])
        if len(twins) > 1 or len(candidates) > 1:
            # One proposition listed twice on a date (a doubleheader, or a venue's
            # duplicate): only the partner scheduled to start with this listing, and only
            # when that settles it; never the other game of the day.
            if k.start is not None and any(p.start is not None for p in candidates):
                candidates = _by_start(k, candidates)
            elif len(twins) > 1:
                candidates = []  # two games of the day and no start to tell them apart
            if len(candidates) > 1 and k.game_number is None:
                candidates = [p for p in candidates if (p.away, p.home) == (k.away, k.home)]
        elif candidates and _starts_apart(k, candidates[0]):
            result.unmatched.append((Venue.KALSHI, k.market.market_id, "scheduled starts differ by more than 90 min"))
            continue
        if k.game_number is not None and candidates and not _by_start(k, candidates):
            # A doubleheader's game pairs only with a partner scheduled to start with it.
            result.unmatched.append((Venue.KALSHI, k.market.market_id, f"game {k.game_number} of a doubleheader: no partner starting with it"))
            continue
        if len(candidates) != 1:
            if candidates:
                why = f"{len(candidates)} partner listings"
            elif offer.proposition.is_line:
                why = _line_reason(k, offer, families)
            else:
                why = "no partner listing"
            result.unmatched.append((Venue.KALSHI, k.market.market_id, why))
            continue
        chosen.append((k, offer, candidates[0], shift))
    # One partner per proposition: two Kalshi listings (a doubleheader's games) that both
    # chose the same one are both refused, never paired with one game.
    claims: dict[tuple[int, str], int] = defaultdict(int)
    for _, offer, p, _ in chosen:
        claims[(id(p), offer.proposition.key)] += 1
    for k, offer, p, shift in chosen:
        if claims[(id(p), offer.proposition.key)] > 1:
            result.unmatched.append((Venue.KALSHI, k.market.market_id, "another Kalshi listing claims the same partner"))
            continue
        paired_p.add(id(p))
        result.mappings.append(_pair(k, offer, p, shift))
    for p in p_listings:
        if id(p) not in paired_p:
            result.unmatched.append((p.venue, p.market.market_id, "no kalshi partner"))
    return result


__all__ = ["MatchResult", "match_markets"]
