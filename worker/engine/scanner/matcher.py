"""Pair Kalshi game-winner markets with the same-proposition Polymarket contract.

Cost stays near-linear: every market is normalised once, by its venue's normaliser (a
:class:`~worker.domain.listings.VenueNormaliser` the caller gives: dictionary look-ups;
rapidfuzz only for names no table knows, within one league), then listings are blocked
by ``(league, local date, the two teams)`` and paired by hash look-up. A one-day date
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

from worker.domain.listings import Listing, NotNormalised, VenueNormaliser
from worker.domain.mapping import Confidence, MarketMapping
from worker.domain.markets import Market, OutcomeSide, Venue

_Key = tuple[str, object, frozenset[str]]


@dataclass(slots=True)
class MatchResult:
    """Mappings found, plus every market refused or left unpaired and why."""

    mappings: list[MarketMapping] = field(default_factory=list)
    refused: list[NotNormalised] = field(default_factory=list)
    unmatched: list[tuple[Venue, str, str]] = field(default_factory=list)


def _key(listing: Listing, shift_days: int = 0) -> _Key:
    return (listing.league, listing.game_date + timedelta(days=shift_days), listing.teams)


def _confidence(text: int, disagreements: int) -> Confidence:
    if text == 0 and disagreements == 0:
        return Confidence.HIGH
    if (text > 0 and disagreements == 0) or (text == 0 and disagreements == 1):
        return Confidence.MEDIUM
    return Confidence.LOW


def _pair(k: Listing, p: Listing, day_shift: int) -> MarketMapping:
    assert k.yes_team is not None
    yes_team = k.yes_team
    other_team = k.home if yes_team == k.away else k.away
    same = p.contracts[yes_team]
    other = p.contracts[other_team]
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
    reasons.append(f"polarity: YES {k.market.market_id} = {same.label} ({yes_team} wins)")
    confidence = _confidence(text, disagreements)
    poly_side = same.side.value if p.venue is Venue.POLYMARKET_US else ""
    opposite = other.contract_id if p.venue is Venue.POLYMARKET else other.side.value
    start = k.market.start_time or p.market.start_time
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
        proposition_team=yes_team,
        event_title=k.market.event_title or p.market.event_title,
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


def match_markets(
    kalshi: Iterable[Market],
    poly: Iterable[Market],
    normalisers: Mapping[Venue, VenueNormaliser],
) -> MatchResult:
    """All mappings between Kalshi markets and one Polymarket venue's markets, each market
    normalised by ``normalisers[market.venue]``."""
    result = MatchResult()
    k_listings: list[Listing] = []
    p_by_key: dict[_Key, list[Listing]] = defaultdict(list)
    for m in kalshi:
        n = _normalize(m, normalisers)
        if isinstance(n, NotNormalised):
            result.refused.append(n)
        else:
            k_listings.append(n)
    for m in poly:
        n = _normalize(m, normalisers)
        if isinstance(n, NotNormalised):
            result.refused.append(n)
        else:
            p_by_key[_key(n)].append(n)
    k_keys = {_key(k) for k in k_listings}
    paired_p: set[int] = set()
    for k in k_listings:
        candidates = p_by_key.get(_key(k), [])
        shift = 0
        if not candidates:
            # Tolerance: a partner one day off, only if that partner has no exact Kalshi
            # game of its own (the same teams may meet on consecutive days).
            for d in (-1, 1):
                near = [p for p in p_by_key.get(_key(k, d), []) if _key(p) not in k_keys]
                if near:
                    candidates, shift = near, d
                    break
        if len(candidates) > 1:
            # Two listings of the same teams on one date (a double-header, or a venue's
            # duplicate): only the one with the same home/away order can be this game.
            candidates = [p for p in candidates if (p.away, p.home) == (k.away, k.home)]
        if len(candidates) != 1:
            why = "no partner listing" if not candidates else f"{len(candidates)} partner listings"
            result.unmatched.append((Venue.KALSHI, k.market.market_id, why))
            continue
        p = candidates[0]
        paired_p.add(id(p))
        result.mappings.append(_pair(k, p, shift))
    for group in p_by_key.values():
        for p in group:
            if id(p) not in paired_p:
                result.unmatched.append((p.venue, p.market.market_id, "no kalshi partner"))
    return result


__all__ = ["MatchResult", "match_markets"]
