"""Markets as the venues list them, in one venue-neutral shape.

A :class:`Market` keeps the structured fields a matcher needs to pair the same game
across venues without guessing from free text:

* Kalshi: ``event_id`` is the event ticker (``KXNBAGAME-26JAN11HOUSAC``: date, AWAY, HOME),
  ``market_id`` the market ticker whose suffix is the team code (``…-HOU``); the YES
  outcome carries ``yes_sub_title`` as its label and that suffix as its team code.
* Polymarket (Gamma): ``event_slug`` ``{league}-{away}-{home}-{date}``,
  ``sports_market_type`` (``moneyline``…), ``start_time`` from ``gameStartTime``, one
  outcome per CLOB token with the venue's outcome name as label.
* Polymarket US: event/market slugs, ``sports_market_type``, one market per game with a
  *long* and a *short* outcome, each labelled with its ``marketSides[].description`` and
  carrying ``team.name`` / ``team.abbreviation`` when given.

``away``/``home``/``game_date`` are filled from the identifiers (ticker / slug) where the
venue encodes them; they are the venue's own codes, not a cross-venue team identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from worker.domain.fees import FeeSchedule
from worker.domain.leagues import League


class Venue(StrEnum):
    """The exchanges we trade on."""

    KALSHI = "kalshi"
    POLYMARKET = "polymarket"
    POLYMARKET_US = "polymarket_us"


class MarketKind(StrEnum):
    """What proposition family a market belongs to."""

    GAME_WINNER = "game_winner"
    SPREAD = "spread"
    TOTAL = "total"
    PROP = "prop"
    FUTURE = "future"
    OTHER = "other"


class MarketStatus(StrEnum):
    """Trading state, normalised across venues."""

    UNOPENED = "unopened"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"
    SETTLED = "settled"

    @property
    def tradable(self) -> bool:
        return self is MarketStatus.OPEN


class OutcomeSide(StrEnum):
    """Which side of a venue contract an outcome is.

    Kalshi contracts have YES and NO; a Polymarket outcome is its own token (TOKEN);
    a Polymarket US market has LONG (the side marked ``long: true`` wins) and SHORT.
    """

    YES = "yes"
    NO = "no"
    TOKEN = "token"
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class ContractRef:
    """Exactly what one buys: venue, market, venue contract id and side.

    ``contract_id`` is the Kalshi market ticker, the Polymarket CLOB token id, or the
    Polymarket US market slug.
    """

    venue: Venue
    market_id: str
    contract_id: str
    side: OutcomeSide

    def __str__(self) -> str:
        return f"{self.venue}:{self.contract_id}:{self.side}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One buyable proposition of a market, named exactly as the venue names it.

    ``bid``/``ask`` are the indicative quotes from the listing (not a book: never trade
    on them without fetching the book).
    """

    venue: Venue
    market_id: str
    contract_id: str
    side: OutcomeSide
    label: str
    team_code: str | None = None
    team_name: str | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None

    @property
    def ref(self) -> ContractRef:
        return ContractRef(self.venue, self.market_id, self.contract_id, self.side)

    def display(self) -> str:
        """How a person sees it: ``YES KX…-HOU`` on Kalshi, the outcome name or side+team elsewhere."""
        if self.venue is Venue.KALSHI:
            return f"{self.side.upper()} {self.contract_id}"
        if self.venue is Venue.POLYMARKET_US:
            return f"{self.side.upper()} {self.label}"
        return self.label


@dataclass(frozen=True, slots=True)
class TeamRef:
    """A team as one venue codes and names it (not a cross-venue identity)."""

    code: str | None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Market:
    """A venue market with the fields matching, pricing and trading need.

    Times are timezone-aware UTC. ``tick_size``/``min_size`` are the venue's, never
    assumed (Polymarket US ticks can be sub-cent).
    """

    venue: Venue
    market_id: str
    event_id: str
    event_title: str
    title: str
    league: League
    kind: MarketKind
    outcomes: tuple[Outcome, ...]
    tick_size: Decimal
    min_size: Decimal
    fees: FeeSchedule
    status: MarketStatus
    start_time: datetime | None = None
    close_time: datetime | None = None
    rules: str = ""
    volume: Decimal | None = None
    url: str | None = None
    event_slug: str | None = None
    slug: str | None = None
    series: str | None = None
    condition_id: str | None = None
    sports_market_type: str | None = None
    line: Decimal | None = None
    neg_risk: bool = False
    away: TeamRef | None = None
    home: TeamRef | None = None
    game_date: date | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in (self.start_time, self.close_time):
            if t is not None and t.utcoffset() is None:
                raise ValueError("market times must be timezone-aware")
        if self.tick_size <= 0:
            raise ValueError("tick size must be positive")

    def outcome(self, contract_id: str, side: OutcomeSide) -> Outcome:
        """The outcome for ``(contract_id, side)``; ``KeyError`` if the market has none."""
        for o in self.outcomes:
            if o.contract_id == contract_id and o.side is side:
                return o
        raise KeyError(f"{self.venue} market {self.market_id} has no {side} {contract_id}")

    @property
    def is_game_winner(self) -> bool:
        return self.kind is MarketKind.GAME_WINNER


@dataclass(frozen=True, slots=True)
class MarketResolution:
    """A market's final result: what each held contract pays per unit (0, 0.5, 1, …)."""

    venue: Venue
    market_id: str
    payouts: Mapping[ContractRef, Decimal]
    resolved_at: datetime

    def payout(self, ref: ContractRef) -> Decimal:
        return self.payouts[ref]


def resolution_payout(resolution: MarketResolution, contract: ContractRef) -> Decimal | None:
    """What one ``contract`` pays under ``resolution``, matched by the contract and its side
    (venues name a market by more than one id: Polymarket's Gamma id and condition id)."""
    for ref, value in resolution.payouts.items():
        if ref.venue is contract.venue and ref.contract_id == contract.contract_id and ref.side is contract.side:
            return value
    return None
