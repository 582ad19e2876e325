"""The risk manager: every limit checked and the trade reserved in one atomic step.

Concurrency rule: :meth:`RiskManager.admit` holds one lock from the first check to the
committed reservation, and the store decides the database-backed limits (trades today,
loss today, one attempt per game) inside its own exclusive write transaction. So N
opportunities arriving together are admitted one after the other against up-to-date
counts and can never push past a limit; the lock covers only the decision (a few
milliseconds), never the venue calls, so attempts on different games run concurrently.

Every limit is read from :class:`ExecutorSettingsManager` at decision time, so a
settings change applies from the next decision and never in the middle of a leg.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempt_money import (
    SizeChoice,
    choose_size,
    contracts_within,
    fee_bound,
    worst_case_loss,
)
from worker.domain.attempts import (
    AttemptRecord,
    AttemptState,
    AttemptStore,
    LegRecord,
    LegRole,
    Refusal,
    RefusalReason,
    ReservationLimits,
)
from worker.domain.books import PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.legging import leg_order as order_legs
from worker.domain.mapping import (
    MAY_TRADE,
    Confidence,
    CurvePoint,
    Leg,
    MappingStatus,
    NotTradeable,
    Opportunity,
    RulesCheck,
    TradePermission,
    roi_permission,
    trade_permission,
)
from worker.domain.markets import ContractRef, Venue
from worker.domain.money import ONE, ZERO
from worker.domain.orders import OrderAction, TimeInForce
from worker.domain.tradelog import trading_day_bounds
from worker.engine.executor.balances import BalanceBook
from worker.engine.executor.legs import new_client_id
from worker.engine.legging import LeggingPricer
from worker.engine.settings_manager import ExecutorSettingsManager

#: Minimum order size when the listing did not say: Polymarket's CLOB refuses orders
#: under 5 shares on sports markets (``orderMinSize``); Kalshi and Polymarket US trade 1.
DEFAULT_MIN_SIZE = {Venue.POLYMARKET: Decimal(5), Venue.KALSHI: Decimal(1), Venue.POLYMARKET_US: Decimal(1)}

#: ``RiskManager.halted`` while the worker shuts down (it refuses with SHUTTING_DOWN).
SHUTDOWN_HALT = "shutdown"
#: ``RiskManager.halted`` while the kill switch holds (until trading is started again).
KILL_SWITCH_HALT = "kill switch pulled"

#: The refusal for each reason a pair may not trade.
_NOT_TRADEABLE = {
    NotTradeable.REJECTED: RefusalReason.MAPPING_REJECTED,
    NotTradeable.NOT_CONFIRMED: RefusalReason.NOT_CONFIRMED,
    NotTradeable.BELOW_MIN_CONFIDENCE: RefusalReason.CONFIDENCE,
    NotTradeable.RULES_OUTCOME: RefusalReason.RULES_OUTCOME,
    NotTradeable.RULES_CANCELLATION: RefusalReason.RULES_CANCELLATION,
    NotTradeable.SUSPICIOUS_ROI: RefusalReason.SUSPICIOUS_ROI,
}


@dataclass(frozen=True)
class Candidate:
    """An opportunity with what the risk manager needs to judge it.

    ``game_key`` identifies the game across both directions and both Kalshi markets
    (the Kalshi event ticker). ``mapping_status`` is the operator's decision on the game
    (both directions carry the same one). ``book_times`` are when each leg's book was received
    (defaults to the opportunity's ``updated_at``). ``depth`` (contracts at the leg's
    limit), when known, puts the thinner leg first. ``min_sizes`` are the markets'
    minimum order sizes (Polymarket's ``orderMinSize``, 5 shares on sports markets).
    """

    opportunity: Opportunity
    game_key: str
    confidence: Confidence
    mapping_status: MappingStatus = MappingStatus.CANDIDATE
    start_time: datetime | None = None
    book_times: dict[ContractRef, datetime] = field(default_factory=dict)
    depth: dict[ContractRef, Decimal] = field(default_factory=dict)
    min_sizes: dict[ContractRef, Decimal] = field(default_factory=dict)
    fees: dict[ContractRef, FeeSchedule] = field(default_factory=dict)
    #: Each leg's best ask level (price and the depth of the top level), for its legging cell.
    top: dict[ContractRef, PriceLevel] = field(default_factory=dict)
    #: The game's decision as it stands when admission decides (a decision taken while
    #: this candidate waited for the admission lock counts); ``mapping_status`` if None.
    current_status: Callable[[], MappingStatus] | None = None


@dataclass(frozen=True)
class RiskConfig:
    """The environment's risk settings (``EXECUTOR_MIN_CONFIDENCE`` etc.)."""

    min_confidence: Confidence = Confidence.HIGH
    #: ``EXECUTOR_REQUIRE_CONFIRMATION``: only operator-confirmed games trade.
    require_confirmation: bool = False
    max_book_age_ms: int = 2000
    no_trade_before_start_s: int = 60
    day_tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("America/New_York"))
    #: ``EXECUTOR_REFUSE_CANCELLATION_MISMATCH``: also refuse pairs whose venues settle a
    #: cancelled or postponed game differently (or whose texts do not say).
    refuse_cancellation_mismatch: bool = False
    #: ``EXECUTOR_SUSPICIOUS_ROI`` (percent): above it only confirmed games trade.
    suspicious_roi: Decimal = Decimal("5")
    #: ``EXECUTOR_PRICE_LEGGING_RISK``: ``min_roi`` applies to the expected ROI after
    #: legging risk (:mod:`worker.domain.legging`), not the locked ROI.
    price_legging_risk: bool = False


def leg_order(c: Candidate) -> tuple[Leg, Leg]:
    """(first, second): the thinner leg first when depth is known, else the less reliable venue."""
    k, p = c.opportunity.kalshi_leg, c.opportunity.poly_leg
    return order_legs(k, p, c.depth.get(k.contract), c.depth.get(p.contract))


def _leg2_top(c: Candidate, second: Leg) -> dict[str, str]:
    top = c.top.get(second.contract)
    return {} if top is None else {"leg2_top_price": str(top.price), "leg2_top_depth": str(top.size)}


class RiskManager:
    """Admits an opportunity as a reserved PLANNED attempt, or refuses it with a reason."""

    def __init__(
        self,
        settings: ExecutorSettingsManager,
        store: AttemptStore,
        balances: BalanceBook,
        config: RiskConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.store = store
        self.balances = balances
        self.config = config or RiskConfig()
        self.clock = clock
        self._lock = asyncio.Lock()
        #: The legging estimates (the worker's pricer); with ``price_legging_risk``,
        #: ``min_roi`` applies to the expected ROI they give.
        self.legging: LeggingPricer | None = None
        self.halted: str | None = None  # kill switch / shutdown: a reason refuses everything

    def permission_of(self, status: MappingStatus, confidence: Confidence) -> TradePermission:
        """Whether a pair with the game's decision ``status`` and ``confidence`` may trade
        at all (``EXECUTOR_MIN_CONFIDENCE``, ``EXECUTOR_REQUIRE_CONFIRMATION``): the same
        verdict admission applies and the dashboard shows."""
        return trade_permission(status, confidence, self.config.min_confidence, self.config.require_confirmation)

    def rules_permission(self, rules: RulesCheck) -> TradePermission:
        """Whether the venues' settlement rules let the pair trade: never when a completed
        game would not pay $1 per pair; not when cancelled/postponed games settle
        differently and ``EXECUTOR_REFUSE_CANCELLATION_MISMATCH`` is on."""
        if rules.outcome_problem:
            return TradePermission(False, NotTradeable.RULES_OUTCOME, rules.outcome_problem)
        if self.config.refuse_cancellation_mismatch and rules.differences:
            return TradePermission(False, NotTradeable.RULES_CANCELLATION, "; ".join(rules.differences))
        return MAY_TRADE

    def opportunity_permission(self, status: MappingStatus, confidence: Confidence, rules: RulesCheck) -> TradePermission:
        """The one verdict on an opportunity's pair: the review's, then the rules'. What
        admission applies and what each card shows."""
        verdict = self.permission_of(status, confidence)
        return verdict if not verdict.tradeable else self.rules_permission(rules)

    def permission(self, c: Candidate) -> TradePermission:
        return self.opportunity_permission(self._status(c), c.confidence, c.opportunity.rules)

    @staticmethod
    def _status(c: Candidate) -> MappingStatus:
        return c.mapping_status if c.current_status is None else c.current_status()

    def _choose(self, curve: Sequence[CurvePoint], *, any_roi: bool = False,
                max_contracts: Decimal | None = None,
                min_roi_of: Callable[[SizeChoice], Decimal] | None = None) -> SizeChoice | Refusal:
        """``choose_size`` with the current settings (``any_roi``: without their ROI band)."""
        s = self.settings.current
        low, high = (ZERO, Decimal("Infinity")) if any_roi else (s.min_roi, s.max_roi)
        return choose_size(curve, min_bet=s.min_bet, max_bet=s.max_bet, min_roi=low, max_roi=high,
                           max_contracts=max_contracts, min_roi_of=min_roi_of)

    def expected_roi_of(self, c: Candidate) -> Callable[[SizeChoice], Decimal] | None:
        """With ``EXECUTOR_PRICE_LEGGING_RISK``: a size's expected ROI after legging risk
        (leg 2's cell at its best ask and top-level depth); None otherwise."""
        pricer = self.legging
        if not self.config.price_legging_risk or pricer is None:
            return None
        _, second = leg_order(c)
        top = c.top.get(second.contract)
        price, depth = (top.price, top.size) if top is not None else (second.price, None)
        league = c.opportunity.league

        def expected(choice: SizeChoice) -> Decimal:
            return pricer.expected_roi(second, league, price, depth, choice.contracts, choice.edge, choice.cost)

        return expected

    def size(self, curve: Sequence[CurvePoint], status: MappingStatus,
             max_contracts: Decimal | None = None, candidate: Candidate | None = None) -> SizeChoice | Refusal:
        """The size the settings take from ``curve`` (``choose_size``; with legging risk
        priced, ``min_roi`` on the candidate's expected ROI), refused when its ROI is above
        ``EXECUTOR_SUSPICIOUS_ROI`` and the game is not confirmed."""
        roi_of = None if candidate is None else self.expected_roi_of(candidate)
        chosen = self._choose(curve, max_contracts=max_contracts, min_roi_of=roi_of)
        if isinstance(chosen, Refusal):
            return chosen
        verdict = roi_permission(status, chosen.roi_pct, self.config.suspicious_roi)
        if verdict.reason is not None:
            return Refusal(_NOT_TRADEABLE[verdict.reason], verdict.text)
        return chosen

    def sized_permission(self, status: MappingStatus, confidence: Confidence, rules: RulesCheck,
                         curve: Sequence[CurvePoint]) -> TradePermission:
        """:meth:`opportunity_permission`, and the ROI of the size the executor would take
        now (what each card shows) against ``EXECUTOR_SUSPICIOUS_ROI``."""
        verdict = self.opportunity_permission(status, confidence, rules)
        if not verdict.tradeable or not curve:
            return verdict
        # The size admission would take; when the settings' ROI band refuses every size,
        # the size the bet limits alone take (the band is a limit of the moment, not a
        # verdict on the pair); the whole depth when no size fits them either.
        chosen = self._choose(curve)
        if isinstance(chosen, Refusal):
            chosen = self._choose(curve, any_roi=True)
        roi = chosen.roi_pct if isinstance(chosen, SizeChoice) else curve[-1].roi_pct
        return roi_permission(status, roi, self.config.suspicious_roi)

    def _static_checks(self, c: Candidate, now: datetime) -> Refusal | SizeChoice:
        s = self.settings.current
        if self.halted is not None:
            reason = RefusalReason.SHUTTING_DOWN if self.halted == SHUTDOWN_HALT else RefusalReason.KILL_SWITCH
            return Refusal(reason, self.halted)
        if not s.enabled:
            return Refusal(RefusalReason.DISABLED, "executor is disabled")
        permission = self.permission(c)
        if permission.reason is not None:
            return Refusal(_NOT_TRADEABLE[permission.reason], permission.text)
        opp = c.opportunity
        for leg in opp.legs:
            at = c.book_times.get(leg.contract, opp.updated_at)
            age_ms = (now - at).total_seconds() * 1000
            if age_ms > self.config.max_book_age_ms:
                return Refusal(
                    RefusalReason.STALE_BOOK,
                    f"{leg.contract.venue.value} book is {int(age_ms)} ms old (max {self.config.max_book_age_ms})",
                )
        start = c.start_time or opp.expires_at
        if start is not None and (start - now).total_seconds() < self.config.no_trade_before_start_s:
            return Refusal(RefusalReason.GAME_STARTING, f"game starts at {start.isoformat()}")
        return self.size(opp.curve, self._status(c), candidate=c)

    def _plan(self, c: Candidate, size: SizeChoice, now: datetime) -> AttemptRecord:
        first, second = leg_order(c)
        attempt_id = "att_" + uuid.uuid4().hex[:20]
        legs: list[LegRecord] = []
        # Each order's limit is the deepest level the chosen size takes, not the deepest
        # level of the whole opportunity (which lets a small order slip to it).
        limit = {
            c.opportunity.kalshi_leg.contract: size.kalshi_price,
            c.opportunity.poly_leg.contract: size.poly_price,
        }
        for role, seq, leg in ((LegRole.LEG1, 1, first), (LegRole.LEG2, 2, second)):
            legs.append(
                LegRecord(
                    id=f"{attempt_id}-{role.value}",
                    attempt_id=attempt_id,
                    role=role,
                    seq=seq,
                    contract=leg.contract,
                    label=leg.label,
                    action=OrderAction.BUY,
                    price=limit.get(leg.contract) or leg.price,
                    quantity=size.contracts,
                    # Leg 1 all or nothing; leg 2 hedges what it can (the rest is unwound).
                    tif=TimeInForce.FOK if role is LegRole.LEG1 else TimeInForce.IOC,
                    client_order_id=new_client_id(),
                    updated_at=now,
                )
            )
        # A partial hedge leaves leg 1's excess to sell back; if leg 1's venue cannot sell
        # a remainder below its minimum order size, leg 2 must be all-or-nothing instead.
        leg1_min = c.min_sizes.get(first.contract, DEFAULT_MIN_SIZE.get(first.contract.venue, ONE))
        if leg1_min > ONE:
            legs[1].tif = TimeInForce.FOK
        opp = c.opportunity
        due = opp.expected_resolution or opp.expires_at
        details = {
            "opportunity_id": opp.id,
            "roi_pct": str(size.roi_pct),
            "quoted": {
                "kalshi_price": str(opp.kalshi_leg.price),
                "poly_price": str(opp.poly_leg.price),
                "size": str(opp.size),
                # When the scanner made this quote: decision lag = created_at − this.
                "at": opp.updated_at.isoformat(),
            },
            # A position is overdue once its game should have resolved (not when it starts).
            "expires_at": None if due is None else due.isoformat(),
            "leg1_min_size": str(leg1_min),
            # Leg 2's best ask and its depth at decision: the attempt's legging cell.
            **_leg2_top(c, second),
            # Each leg's market fees: leg 2's limit is set from its exact fee once leg 1
            # has filled (kept here so a resumed attempt decides the same way).
            "fees": {g.id: c.fees[g.contract].to_record() for g in legs if g.contract in c.fees},
            "timings": {"PLANNED": now.isoformat()},
        }
        return AttemptRecord(
            id=attempt_id,
            game_key=c.game_key,
            mapping_id=opp.mapping_id,
            direction=opp.direction.value,
            event_title=opp.event_title,
            state=AttemptState.PLANNED,
            created_at=now,
            updated_at=now,
            contracts=size.contracts,
            planned_cost=size.cost,
            expected_edge=size.edge,
            worst_case_loss=worst_case_loss(size.contracts, legs[0].price),
            path=[AttemptState.PLANNED.value],
            details=details,
            legs=legs,
        )

    @staticmethod
    def _need(attempt: AttemptRecord) -> dict[Venue, Decimal]:
        """Cash per venue the attempt's legs may take (price × size plus a fee bound)."""
        need: dict[Venue, Decimal] = {}
        for leg in attempt.legs:
            amount = leg.price * leg.quantity + fee_bound(leg.quantity, leg.price)
            need[leg.venue] = need.get(leg.venue, ZERO) + amount
        return need

    def _balance_check(self, attempt: AttemptRecord) -> Refusal | dict[Venue, Decimal]:
        need = self._need(attempt)
        for venue, amount in need.items():
            free = self.balances.free(venue)
            if free is None or free < amount:
                return Refusal(
                    RefusalReason.BALANCE,
                    f"{venue.value} has {free if free is not None else 'unknown'} free, needs {amount.quantize(Decimal('0.01'))}",
                )
        return need

    async def admit(self, c: Candidate) -> AttemptRecord | Refusal:
        """Check every limit and reserve the attempt, atomically; the PLANNED row is committed."""
        async with self._lock:
            now = self.clock.now()
            checked = self._static_checks(c, now)
            if isinstance(checked, Refusal):
                return checked
            attempt = self._plan(c, checked, now)
            need = self._balance_check(attempt)
            if isinstance(need, Refusal):
                return need
            s = self.settings.current
            _, start, end = trading_day_bounds(now, self.config.day_tz)
            limits = ReservationLimits(
                max_daily_trades=s.max_daily_trades,
                max_daily_loss=s.max_daily_loss,
                day_start=start.astimezone(UTC),
                day_end=end.astimezone(UTC),
            )

            def resize(remaining: Decimal) -> AttemptRecord | Refusal:
                """The largest size whose worst case fits what is left of today's budget."""
                first, _ = leg_order(c)
                smaller = self.size(c.opportunity.curve, self._status(c), contracts_within(remaining, first.price), c)
                return smaller if isinstance(smaller, Refusal) else self._plan(c, smaller, now)

            reserved = await self.store.reserve(attempt, limits, resize)
            if isinstance(reserved, Refusal):
                return reserved
            # A resized attempt needs less than the one the balances were checked for.
            self.balances.reserve(reserved.id, self._need(reserved))
            return reserved

    async def budget(self) -> dict[str, Decimal]:
        """Today's loss budget as admission sees it: ``max_daily_loss`` less the net loss
        realised today, the worst case reserved by attempts in flight and the stranded
        legs' cost; ``remaining`` is what the next attempt's worst case may take."""
        _, start, end = trading_day_bounds(self.clock.now(), self.config.day_tz)
        exp = await self.store.exposure(start.astimezone(UTC), end.astimezone(UTC))
        limit = self.settings.current.max_daily_loss
        return {
            "max_daily_loss": limit,
            "realised_losses_today": max(-exp.realised_pnl, ZERO),
            "reserved_in_flight": exp.in_flight_worst_case,
            "stranded": exp.stranded_cost,
            "remaining": max(limit - exp.projected_loss, ZERO),
        }

    def release(self, attempt_id: str) -> None:
        self.balances.release(attempt_id)
