"""Markets reduced to (league, local game date, away, home, the propositions they offer),
and the port that reduces them: one :class:`VenueNormaliser` per venue.

A listing offers one or more binary propositions (:mod:`worker.domain.propositions`),
each with the contract paying when it holds and the one paying when it does not: a
Kalshi market offers the proposition its YES pays on; a two-team winner market of a
league without draws offers either team's win (one token or side is the other's
complement); a soccer market ("Will X win?", "Draw?") offers its one proposition. Props
and futures are refused, with the reason. Each venue's
normaliser (``worker/venues/<venue>/normalize.py``) reads that venue's identifiers (Kalshi
tickers, Gamma and Polymarket US slugs); the matcher (:mod:`worker.engine.scanner.matcher`)
sees only the :class:`Listing` or :class:`NotNormalised` it returns, and the composition root
gives it the normalisers.

Dates are the game's *local* date as the venues encode it in tickers and slugs (a late
game's UTC date is the next day: the UTC start time is only a fallback, converted to the
league's time zone). Teams come from venue codes first (structured), then from exact
names, then from rapidfuzz (marked as text, which caps confidence at MEDIUM).

Polarity: each offer names the contract that pays when its proposition holds. Anything
that leaves polarity in doubt (labels naming the wrong team, two sides with one team,
codes and names disagreeing, a line whose side cannot be read) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from worker.domain.markets import Market, OutcomeSide, Venue
from worker.domain.propositions import Proposition, win


@dataclass(frozen=True, slots=True)
class Contract:
    """One contract, as the venue names it."""

    contract_id: str
    side: OutcomeSide
    label: str


@dataclass(frozen=True, slots=True)
class Offer:
    """A proposition a listing can be bought on: ``pays`` pays $1 when it holds,
    ``against`` when it does not."""

    proposition: Proposition
    pays: Contract
    against: Contract


def two_way_offers(contracts: dict[str, Contract]) -> dict[str, Offer]:
    """Either team's win, from a two-team market whose contracts (team id → the contract
    paying on that team's win) are each other's complement (no draw market)."""
    (a, ca), (b, cb) = contracts.items()
    return {win(a).key: Offer(win(a), ca, cb), win(b).key: Offer(win(b), cb, ca)}


@dataclass(slots=True)
class Listing:
    """One market reduced to what matching needs.

    ``offers`` maps each proposition key (:attr:`Proposition.key`) the market can stand
    for to its offer; a Kalshi listing has exactly one, its YES. ``text_fields`` lists
    fields resolved from free text (fuzzy or titles); ``notes`` lists tolerated
    disagreements inside this venue's own fields.
    """

    market: Market
    venue: Venue
    league: str
    game_date: date
    away: str
    home: str
    offers: dict[str, Offer]
    date_source: str = "identifier"
    text_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    #: The teams' display names (team id → name), for naming the propositions.
    names: dict[str, str] = field(default_factory=dict)
    #: The scheduled start as the venue's identifiers or fields give it exactly (a
    #: Polymarket ``gameStartTime``, an MLB ticker's time), None when they do not (Kalshi's
    #: ``occurrence_datetime`` is the expected end, hours after the start).
    start: datetime | None = None
    #: ``start``'s date in the league's time zone (None without ``start``).
    start_day: date | None = None
    #: A doubleheader's game number from the venue's identifier (Kalshi's ``G2``).
    game_number: int | None = None

    @property
    def teams(self) -> frozenset[str]:
        return frozenset((self.away, self.home))


@dataclass(frozen=True, slots=True)
class NotNormalised:
    """A market that does not normalise, and why."""

    venue: Venue
    market_id: str
    reason: str


class VenueNormaliser(Protocol):
    """Reduces one venue's markets to listings (or says why not)."""

    @property
    def venue(self) -> Venue:
        """The venue whose markets this normaliser reads."""
        ...

    def normalize(self, market: Market) -> Listing | NotNormalised:
        """``market`` (of :attr:`venue`) as a listing, or its refusal."""
        ...


__all__ = ["Contract", "Listing", "NotNormalised", "Offer", "VenueNormaliser", "two_way_offers"]
