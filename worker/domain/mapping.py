"""Cross-venue market mappings, their confidence, and arbitrage opportunities (pure).

A :class:`MarketMapping` pairs one Kalshi game-winner market (YES = a team wins) with the
Polymarket contract that stands for the **same** proposition: the Gamma CLOB token of
that team's outcome, or the Polymarket US market's side (long or short) whose team is
that team. Polarity is part of the mapping's identity, so a pair of opposite
propositions can never be stored as one mapping.

An operator's decision (:class:`MappingStatus`) is authoritative: rediscovery refreshes
confidence and reasons of a *candidate* but never changes a confirmed or rejected
mapping's status, and a rejected mapping is never traded.

**A decision applies to the game.** One game gives two mappings, one per Kalshi market
(``…-BAL`` and ``…-CIN`` of one Kalshi event), each paired with its team's Polymarket
contract of the same Polymarket game (the two tokens of one CLOB market, or the two sides
of one Polymarket US slug). Both share :attr:`MarketMapping.review_key` (the Kalshi event
ticker, the Polymarket venue and that Polymarket game), and a confirmation or rejection is
stored on both at once; a mapping of that game discovered later takes the same decision.

**What may trade** is decided in one place, :func:`trade_permission`, from the game's
decision, the matcher's confidence, ``EXECUTOR_MIN_CONFIDENCE`` and
``EXECUTOR_REQUIRE_CONFIRMATION``; the risk manager refuses with its reason and the wire
shows the same verdict (``tradeable``, ``why_not``) on every mapping and opportunity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from worker.domain.deferred import DeferredField
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.propositions import Proposition, win


class Confidence(StrEnum):
    """How sure the matcher is that two markets are the same proposition.

    HIGH: league, date and both teams come from structured fields on both sides and agree.
    MEDIUM: the pair rests on fuzzy text, or one field disagrees within tolerance.
    LOW: anything weaker.
    """

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        return {"HIGH": 3, "MEDIUM": 2, "LOW": 1}[self.value]

    def at_least(self, other: Confidence) -> bool:
        return self.rank >= other.rank


class MappingStatus(StrEnum):
    """The operator's decision on a mapping."""

    CANDIDATE = "candidate"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"

    @property
    def tradable(self) -> bool:
        return self is not MappingStatus.REJECTED


def game_status(statuses: Iterable[MappingStatus]) -> MappingStatus:
    """The decision on a game from its mappings' statuses: a rejection of any of them
    rejects the game (the safe side, should rows ever disagree), else a confirmation
    confirms it, else it is a candidate."""
    seen = set(statuses)
    if MappingStatus.REJECTED in seen:
        return MappingStatus.REJECTED
    if MappingStatus.CONFIRMED in seen:
        return MappingStatus.CONFIRMED
    return MappingStatus.CANDIDATE


class NotTradeable(StrEnum):
    """Why a pair may not trade (the same values as the risk manager's refusal reasons)."""

    REJECTED = "mapping_rejected"
    NOT_CONFIRMED = "not_confirmed"
    BELOW_MIN_CONFIDENCE = "low_confidence"
    #: A completed game would not pay $1 per pair (``worker.domain.rules``).
    RULES_OUTCOME = "rules_outcome_mismatch"
    #: Cancelled/postponed games settle differently, with
    #: ``EXECUTOR_REFUSE_CANCELLATION_MISMATCH=1``.
    RULES_CANCELLATION = "rules_cancellation_mismatch"
    #: The ROI at the size the executor would trade is above ``EXECUTOR_SUSPICIOUS_ROI``
    #: and the operator has not confirmed the game.
    SUSPICIOUS_ROI = "suspicious_roi"


@dataclass(frozen=True, slots=True)
class TradePermission:
    """Whether a pair may trade; when not, a machine ``reason`` and a human ``text``."""

    tradeable: bool
    reason: NotTradeable | None = None
    text: str = ""

    def to_wire(self) -> dict[str, Any]:
        """``{"tradeable": bool, "why_not": null | {"reason", "text"}}`` (added to the
        wire's mapping and opportunity objects)."""
        why = None if self.reason is None else {"reason": self.reason.value, "text": self.text}
        return {"tradeable": self.tradeable, "why_not": why}


MAY_TRADE = TradePermission(True)


@dataclass(frozen=True, slots=True)
class JudgedMapping:
    """A mapping with the verdict on whether its pair may trade (its game's decision,
    its confidence and the worker's confirmation settings)."""

    mapping: MarketMapping
    permission: TradePermission


def trade_permission(
    status: MappingStatus,
    confidence: Confidence,
    min_confidence: Confidence,
    require_confirmation: bool,
) -> TradePermission:
    """May a pair with the game's decision ``status`` and the matcher's ``confidence``
    trade? Rejected: never. Confirmed: yes (an operator's confirmation outranks the
    matcher). A candidate: only when confirmation is not required
    (``EXECUTOR_REQUIRE_CONFIRMATION=false``) and its confidence is at least
    ``EXECUTOR_MIN_CONFIDENCE``."""
    if status is MappingStatus.REJECTED:
        return TradePermission(False, NotTradeable.REJECTED, "rejected by the operator")
    if status is MappingStatus.CONFIRMED:
        return MAY_TRADE
    if require_confirmation:
        return TradePermission(False, NotTradeable.NOT_CONFIRMED, "awaiting confirmation")
    if not confidence.at_least(min_confidence):
        return TradePermission(
            False,
            NotTradeable.BELOW_MIN_CONFIDENCE,
            f"confidence {confidence.value} is below the minimum {min_confidence.value}",
        )
    return MAY_TRADE


def roi_permission(status: MappingStatus, roi_pct: Decimal, suspicious_roi: Decimal) -> TradePermission:
    """May a pair trade at ``roi_pct``? An edge this large more often means the two
    markets are not the same game than free money: above ``suspicious_roi``
    (``EXECUTOR_SUSPICIOUS_ROI``) only a game the operator confirmed trades."""
    if roi_pct <= suspicious_roi or status is MappingStatus.CONFIRMED:
        return MAY_TRADE
    return TradePermission(
        False,
        NotTradeable.SUSPICIOUS_ROI,
        f"ROI {roi_pct.normalize():f}% is above {suspicious_roi.normalize():f}%: only a confirmed game trades "
        "at such an edge (check the match and confirm it on /mappings)",
    )


def mapping_id(kalshi_ticker: str, poly_venue: Venue, poly_market: str, poly_side: str) -> str:
    """Stable id of a mapping: the same pair always gets the same id, across restarts."""
    key = f"{kalshi_ticker}|{poly_venue.value}|{poly_market}|{poly_side}"
    return "map_" + hashlib.sha256(key.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class MarketMapping:
    """A Kalshi market paired with the same-proposition Polymarket contract.

    ``poly_market`` is the Gamma CLOB token id (Polymarket) or the market slug
    (Polymarket US); ``poly_side`` is ``long``/``short`` on Polymarket US and empty on
    Polymarket. ``poly_opposite`` names the contract of the *other* team (the second
    token, or the other side of the same slug), which one buys together with Kalshi YES.
    ``proposition`` is the proposition both contracts pay on
    (:attr:`worker.domain.propositions.Proposition.key`: ``win:nba:HOU``, ``draw``,
    ``spread:nfl:KC:-7.5``, ``total:over:45.5``); ``proposition_team`` its team id when
    it has one (a win, a spread), else "". The six fields from ``kalshi_url`` name the
    pair for a person ("" when unknown).
    """

    kalshi_ticker: str
    kalshi_event_ticker: str
    poly_venue: Venue
    poly_market: str
    poly_side: str
    poly_opposite: str
    league: str
    game_date: date
    away_team: str
    home_team: str
    proposition_team: str
    event_title: str
    confidence: Confidence
    reasons: tuple[str, ...]
    start_time: datetime | None = None
    poly_market_id: str = ""
    status: MappingStatus = MappingStatus.CANDIDATE
    note: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    decided_at: datetime | None = None
    kalshi_url: str = ""
    kalshi_outcome: str = ""
    poly_url: str = ""
    poly_title: str = ""
    poly_outcome: str = ""
    poly_other_outcome: str = ""
    proposition: str = ""

    @property
    def prop(self) -> Proposition:
        """The proposition both contracts pay on (:attr:`proposition`; a mapping stored
        before propositions had names is its team's win)."""
        return Proposition.parse(self.proposition) if self.proposition else win(self.proposition_team)

    @property
    def id(self) -> str:
        return mapping_id(self.kalshi_ticker, self.poly_venue, self.poly_market, self.poly_side)

    @property
    def review_key(self) -> str:
        """The game an operator's decision applies to: the Kalshi event (or the market,
        when no event is known), the Polymarket venue and the Polymarket game (a Polymarket
        US slug; a Polymarket CLOB market's two tokens). Both directions of a game, one per
        Kalshi market, share it; a different Polymarket listing of the same teams does not,
        so a confirmation never carries over to a pair nobody reviewed."""
        if self.poly_venue is Venue.POLYMARKET_US:
            poly = self.poly_market
        else:
            poly = "+".join(sorted(t for t in (self.poly_market, self.poly_opposite) if t))
        return f"{self.kalshi_event_ticker or self.kalshi_ticker}|{self.poly_venue.value}|{poly}"

    @property
    def kalshi_yes(self) -> ContractRef:
        return ContractRef(Venue.KALSHI, self.kalshi_ticker, self.kalshi_ticker, OutcomeSide.YES)

    @property
    def kalshi_no(self) -> ContractRef:
        return ContractRef(Venue.KALSHI, self.kalshi_ticker, self.kalshi_ticker, OutcomeSide.NO)

    @property
    def poly_same(self) -> ContractRef:
        """The Polymarket contract paying when the proposition holds."""
        return self._poly_ref(self.poly_market, self.poly_side)

    @property
    def poly_other(self) -> ContractRef:
        """The Polymarket contract paying when the proposition does not hold."""
        if self.poly_venue is Venue.POLYMARKET_US:
            other = "short" if self.poly_side == "long" else "long"
            return self._poly_ref(self.poly_market, other)
        return self._poly_ref(self.poly_opposite, "")

    def _poly_ref(self, contract: str, side: str) -> ContractRef:
        if self.poly_venue is Venue.POLYMARKET_US:
            return ContractRef(Venue.POLYMARKET_US, self.poly_market, contract, OutcomeSide(side))
        market_id = self.poly_market_id or contract
        return ContractRef(Venue.POLYMARKET, market_id, contract, OutcomeSide.TOKEN)


class MappingStore(Protocol):
    """Persistence of mappings (implemented in ``db/mappings.py``).

    ``save_discovered`` inserts new pairs as candidates and refreshes the matcher's
    fields (confidence, reasons, titles) of existing ones, but never touches the status,
    note or decision time an operator set; a new pair of a game already decided (same
    :attr:`MarketMapping.review_key`) is inserted with that decision. It returns the
    stored mappings, with their stored status, in input order.

    ``decide`` records the decision on every mapping of the game, in one transaction, and
    returns the mapping asked for; ``game`` lists the game's mappings (that one first).
    """

    async def save_discovered(
        self, mappings: Sequence[MarketMapping], now: datetime
    ) -> list[MarketMapping]: ...

    async def get(self, mapping_id: str) -> MarketMapping | None: ...

    async def list(self, status: MappingStatus | None = None) -> list[MarketMapping]: ...

    async def decide(
        self, mapping_id: str, status: MappingStatus, now: datetime, note: str | None = None
    ) -> MarketMapping: ...

    async def game(self, mapping_id: str) -> Sequence[MarketMapping]: ...


# --- opportunities -----------------------------------------------------------------------


class Direction(StrEnum):
    """The two ways of locking $1 per contract pair on one mapping.

    KALSHI_YES: buy Kalshi YES + buy the Polymarket contract of the *other* team.
    KALSHI_NO: buy Kalshi NO + buy the Polymarket contract of the *same* team.
    """

    KALSHI_YES = "kalshi_yes"
    KALSHI_NO = "kalshi_no"


@dataclass(frozen=True, slots=True)
class Leg:
    """One side of an arbitrage: what to buy, up to which price, how many.

    ``price`` is the worst (limit) price the walk reaches, ``avg_price`` the
    size-weighted price, ``fee`` the venue fee for ``size`` at those levels.
    """

    contract: ContractRef
    label: str
    price: Decimal
    avg_price: Decimal
    size: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Buying ``size`` pairs costs ``cost`` (asks + fees) and locks ``edge = size − cost``.

    ``kalshi_price`` / ``poly_price``: each leg's limit for this size, the price of the
    deepest level buying ``size`` takes (None where not known).
    """

    size: Decimal
    cost: Decimal
    edge: Decimal
    roi_pct: Decimal
    kalshi_price: Decimal | None = None
    poly_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RulesCheck:
    """Both venues' rules texts, the facts read from them and what they mean for the pair
    (see :mod:`worker.domain.rules`, which keeps them structured; the opportunity carries
    them in words, which is what the card shows and what is cheap to send on every update).

    ``differences``: one line per cancellation/postponement scenario in which the pair does
    not pay exactly $1, with its worst case (empty: the venues agree, nothing is shown).
    ``outcome_problem``: why a completed game would not pay $1 per pair (the pair is
    refused), empty when it does. ``worst_loss``: the largest shortfall under $1 per pair
    among the differences (zero without any; None when a payout is unknown).
    """

    kalshi: str
    poly: str
    differences: tuple[str, ...] = ()
    outcome_problem: str = ""
    worst_loss: Decimal | None = Decimal(0)
    #: Each venue's fact per scenario in words, with the sentence it was read from
    #: (``Kalshi, cancelled: pays a price it sets ($0 to $1) — "If the cancelled game …"``).
    facts: tuple[str, ...] = ()

    @property
    def differ(self) -> bool:
        return bool(self.differences)


@dataclass(frozen=True, slots=True)
class LeggingQuote:
    """An opportunity's legging risk as the scanner publishes it beside the locked edge.

    ``second_venue``: where leg 2 goes (the deeper leg; see :func:`worker.domain.legging.leg_order`);
    ``p_fail`` and ``cost`` (dollars per contract) from its cell ``cell``, whose estimate
    rests on ``samples`` samples; ``expected_edge`` and ``expected_roi_pct`` at the
    opportunity's size.
    """

    second_venue: str
    cell: str
    samples: int
    p_fail: Decimal
    cost: Decimal
    expected_edge: Decimal
    expected_roi_pct: Decimal


@dataclass(frozen=True)
class Opportunity:
    """A positive-edge way of buying both sides of one mapping, after both venues' fees.

    Money rules: every amount is Decimal; ``cost`` includes both legs' fees;
    ``roi_pct = edge / cost × 100``; ``roi_per_day_pct`` divides that by the days to the
    expected resolution. ``size`` is the depth-aware size up to which the marginal pair
    stays profitable; ``curve`` gives cost/edge/ROI at each depth step. The scanner
    applies no operator setting: the executor decides what to take.

    ``curve`` may be given as a :class:`Deferred` (the scanner does): it is then computed
    from the same immutable ask ladders on first read, so a book update is not held up by
    it, and an opportunity replaced by the next update before anyone reads its curve never
    builds it; the executor or the wire encoder pays for it once, when it first reads it.
    Not slotted, because of that field. (It is declared after the fields without a
    default only because type checkers take the descriptor for one; it is required.)
    """

    id: str
    mapping_id: str
    direction: Direction
    league: str
    event_title: str
    game_date: date
    confidence: Confidence
    kalshi_leg: Leg
    poly_leg: Leg
    size: Decimal
    cost: Decimal
    edge: Decimal
    roi_pct: Decimal
    roi_per_day_pct: Decimal
    #: The Polymarket side's traded volume as its venue reports it (Polymarket: dollars),
    #: None when it reports none. Never added to Kalshi's, which counts contracts.
    volume: Decimal | None
    expires_at: datetime | None
    expected_resolution: datetime | None
    rules: RulesCheck
    updated_at: datetime
    #: The size–ROI curve, up to ``size``.
    curve: DeferredField[tuple[CurvePoint, ...]] = DeferredField()
    #: Kalshi's traded volume in contracts (``volume_fp``), None when not reported.
    kalshi_volume: Decimal | None = None
    #: Each venue's public page of the pair's markets (the mapping's), "" when unknown.
    kalshi_url: str = ""
    poly_url: str = ""
    #: The legging risk at this size (:mod:`worker.domain.legging`): the expected edge
    #: beside the locked one; None when the scanner prices none.
    legging: LeggingQuote | None = None

    @property
    def legs(self) -> tuple[Leg, Leg]:
        return (self.kalshi_leg, self.poly_leg)

    def same_quote(self, other: Opportunity) -> bool:
        """True when price and size are unchanged (no UPDATED event needed)."""
        return (
            self.quotes(other.size, other.cost, other.kalshi_leg.price, other.poly_leg.price)
            and self.kalshi_leg.size == other.kalshi_leg.size
            and self.poly_leg.size == other.poly_leg.size
        )

    def quotes(self, size: Decimal, cost: Decimal, kalshi_price: Decimal, poly_price: Decimal) -> bool:
        """True when this opportunity has that size, cost and both legs' limit prices: the
        same quote as a new one whose legs both buy ``size`` (the scanner checks it before
        building the new one)."""
        return (
            self.size == size
            and self.cost == cost
            and self.kalshi_leg.price == kalshi_price
            and self.poly_leg.price == poly_price
        )


def opportunity_id(mapping_id_: str, direction: Direction) -> str:
    """Stable id per (mapping, direction)."""
    return f"opp_{mapping_id_.removeprefix('map_')}_{direction.value}"


class OpportunityEventKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


class CloseReason(StrEnum):
    EDGE_GONE = "edge_gone"
    MARKET_CLOSED = "market_closed"
    GAME_STARTED = "game_started"
    MAPPING_REJECTED = "mapping_rejected"


@dataclass(frozen=True, slots=True)
class OpportunityEvent:
    """A lifecycle step of one opportunity, as published on the worker's event bus.

    ``opportunity`` is the latest state (for CLOSED, the last state before closing).
    """

    kind: OpportunityEventKind
    opportunity: Opportunity
    at: datetime
    reason: CloseReason | None = None
    extra: dict[str, str] = field(default_factory=dict)
