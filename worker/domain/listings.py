"""Game-winner markets reduced to (league, local game date, away, home, proposition), and
the port that reduces them: one :class:`VenueNormaliser` per venue.

Only game-winner markets normalise; spreads, totals, props and futures are refused, with
the reason, so they can never be paired with a game winner downstream. Each venue's
normaliser (``worker/venues/<venue>/normalize.py``) reads that venue's identifiers (Kalshi
tickers, Gamma and Polymarket US slugs); the matcher (:mod:`worker.engine.scanner.matcher`)
sees only the :class:`Listing` or :class:`NotNormalised` it returns, and the composition root
gives it the normalisers.

Dates are the game's *local* date as the venues encode it in tickers and slugs (a late
game's UTC date is the next day: the UTC start time is only a fallback, converted to the
league's time zone). Teams come from venue codes first (structured), then from exact
names, then from rapidfuzz (marked as text, which caps confidence at MEDIUM).

Polarity: a listing maps each team id to the contract that pays when that team wins.
Anything that leaves polarity in doubt (labels naming the wrong team, two sides with one
team, codes and names disagreeing) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from worker.domain.markets import Market, OutcomeSide, Venue


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
        """``market`` (of :attr:`venue`) as a game-winner listing, or its refusal."""
        ...


__all__ = ["Contract", "Listing", "NotNormalised", "VenueNormaliser"]
