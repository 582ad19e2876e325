"""Two-leg arbitrage attempts: the persisted state machine, its records and its storage port (pure).

An attempt is written ahead of every venue call it makes (ARCHITECTURE.md, "Two-leg
execution")::

    PLANNED → LEG1_SENT → LEG1_FILLED → LEG2_SENT → HEDGED
    LEG1_SENT → FAILED                      (nothing filled)
    LEG1_FILLED | LEG2_SENT → UNWINDING → ROLLED_BACK | STRANDED | HEDGED (partial hedge)
    STRANDED → UNWINDING                    (operator: retry the unwind)
    STRANDED → RESOLVED                     (operator: resolved by hand, with a note)

:data:`TRANSITIONS` is the whole table; :func:`check_transition` refuses anything else
with :class:`IllegalAttemptTransition`, so a crash-recovery bug can never move an
attempt backwards (say HEDGED → LEG1_SENT) and send a leg twice.

The money rules (sizing, the worst case an attempt counts toward the daily-loss limit,
the unwind ladder, the hedge cap) are in :mod:`worker.domain.attempt_money`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from worker.domain.ledger import CashEntry
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.money import ZERO
from worker.domain.orders import Fill, OrderAction, OrderIntent, OrderState, TimeInForce
from worker.domain.tradelog import NewPosition, TradeRecord


class AttemptState(StrEnum):
    PLANNED = "PLANNED"
    LEG1_SENT = "LEG1_SENT"
    LEG1_FILLED = "LEG1_FILLED"
    LEG2_SENT = "LEG2_SENT"
    HEDGED = "HEDGED"
    FAILED = "FAILED"
    UNWINDING = "UNWINDING"
    ROLLED_BACK = "ROLLED_BACK"
    STRANDED = "STRANDED"
    RESOLVED = "RESOLVED"

    @property
    def terminal(self) -> bool:
        """No venue call will be made for it by the engine on its own."""
        return self in TERMINAL

    @property
    def in_flight(self) -> bool:
        return self in IN_FLIGHT


#: States an attempt ends in (it has its one trade-log row). STRANDED is an end for the
#: engine (a trade-log row is written) but the operator may still act on it.
TERMINAL = frozenset(
    {
        AttemptState.HEDGED,
        AttemptState.FAILED,
        AttemptState.ROLLED_BACK,
        AttemptState.STRANDED,
        AttemptState.RESOLVED,
    }
)
IN_FLIGHT = frozenset(
    {
        AttemptState.PLANNED,
        AttemptState.LEG1_SENT,
        AttemptState.LEG1_FILLED,
        AttemptState.LEG2_SENT,
        AttemptState.UNWINDING,
    }
)

_S = AttemptState
TRANSITIONS: dict[AttemptState, frozenset[AttemptState]] = {
    _S.PLANNED: frozenset({_S.LEG1_SENT, _S.FAILED}),
    _S.LEG1_SENT: frozenset({_S.LEG1_FILLED, _S.FAILED}),
    _S.LEG1_FILLED: frozenset({_S.LEG2_SENT, _S.UNWINDING}),
    _S.LEG2_SENT: frozenset({_S.HEDGED, _S.UNWINDING}),
    _S.UNWINDING: frozenset({_S.ROLLED_BACK, _S.STRANDED, _S.HEDGED}),
    _S.STRANDED: frozenset({_S.UNWINDING, _S.RESOLVED}),
    _S.HEDGED: frozenset(),
    _S.FAILED: frozenset(),
    _S.ROLLED_BACK: frozenset(),
    _S.RESOLVED: frozenset(),
}


class IllegalAttemptTransition(ValueError):
    """An attempt was asked to move along an edge that is not in :data:`TRANSITIONS`."""


def check_transition(current: AttemptState, new: AttemptState) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalAttemptTransition(f"attempt cannot go from {current} to {new}")


class LegRole(StrEnum):
    LEG1 = "leg1"
    LEG2 = "leg2"
    UNWIND = "unwind"
    CLOSE = "close"


class RefusalReason(StrEnum):
    """Why the risk manager skipped an opportunity (shown on the dashboard)."""

    DISABLED = "disabled"
    BET_SIZE = "bet_size"
    ROI_TOO_LOW = "roi_below_min"
    ROI_TOO_HIGH = "roi_above_max"
    DAILY_TRADES = "max_daily_trades"
    DAILY_LOSS = "max_daily_loss"
    #: What is left of today's loss budget cannot hold even ``min_bet``'s worst case.
    DAILY_LOSS_BUDGET = "daily_loss_budget"
    BALANCE = "insufficient_balance"
    CONFIDENCE = "low_confidence"
    MAPPING_REJECTED = "mapping_rejected"
    #: ``EXECUTOR_REQUIRE_CONFIRMATION`` is on and the operator has not confirmed the game.
    NOT_CONFIRMED = "not_confirmed"
    STALE_BOOK = "stale_book"
    GAME_STARTING = "game_started"
    GAME_BUSY = "game_busy"
    KILL_SWITCH = "kill_switch"
    SHUTTING_DOWN = "shutting_down"
    #: The executor has not finished reconciling at start or takeover: nothing new yet.
    NOT_RECONCILED = "not_reconciled"
    STANDBY = "lease_standby"  # another worker holds the single-trader lease
    #: A completed game (either team wins, or a tie where ties exist) would not pay $1 per
    #: pair under the venues' rules texts: never traded.
    RULES_OUTCOME = "rules_outcome_mismatch"
    #: The venues settle a cancelled or postponed game differently (refused only with
    #: ``EXECUTOR_REFUSE_CANCELLATION_MISMATCH=1``).
    RULES_CANCELLATION = "rules_cancellation_mismatch"
    #: Above ``EXECUTOR_SUSPICIOUS_ROI`` only a game the operator confirmed trades.
    SUSPICIOUS_ROI = "suspicious_roi"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    detail: str


@dataclass(slots=True)
class LegRecord:
    """One order of an attempt as persisted (write-ahead): what we asked and what happened.

    ``client_order_id`` is ours and unique per venue (Kalshi makes it idempotent);
    ``venue_order_id`` is the Polymarket order hash as soon as the order is signed, or the
    venue's id once it answered. ``state`` follows :class:`~worker.domain.orders.OrderState`
    plus ``not_found`` (a look-up proved the order never reached the venue).
    """

    id: str
    attempt_id: str
    role: LegRole
    seq: int
    contract: ContractRef
    label: str
    action: OrderAction
    price: Decimal
    quantity: Decimal
    tif: TimeInForce
    client_order_id: str
    state: str = OrderState.PENDING.value
    venue_order_id: str | None = None
    filled: Decimal = ZERO
    avg_price: Decimal | None = None
    fees: Decimal = ZERO
    error: str | None = None
    sent_at: datetime | None = None
    updated_at: datetime | None = None
    #: True once ``avg_price`` and ``fees`` come from the venue's own fills (the ledger).
    fills_recorded: bool = False

    @property
    def venue(self) -> Venue:
        return self.contract.venue

    @property
    def notional(self) -> Decimal:
        """Cash paid (buy) or received (sell) on the fills, before fees."""
        return ZERO if self.avg_price is None else self.avg_price * self.filled

    def intent(self) -> OrderIntent:
        return OrderIntent(
            contract=self.contract,
            action=self.action,
            price=self.price,
            size=self.quantity,
            tif=self.tif,
            client_order_id=self.client_order_id,
        )

    @property
    def settled(self) -> bool:
        """Its outcome is known (terminal on the venue, or proven absent)."""
        return self.state in _SETTLED_LEG_STATES


SETTLED_LEG_STATES = _SETTLED_LEG_STATES = frozenset(
    {
        OrderState.FILLED.value,
        OrderState.CANCELED.value,
        OrderState.REJECTED.value,
        OrderState.EXPIRED.value,
        "not_found",
    }
)
LEG_NOT_FOUND = "not_found"


@dataclass(slots=True)
class AttemptRecord:
    """An attempt with its legs, as persisted."""

    id: str
    game_key: str
    mapping_id: str | None
    direction: str | None
    event_title: str
    state: AttemptState
    created_at: datetime
    updated_at: datetime
    contracts: Decimal
    planned_cost: Decimal
    expected_edge: Decimal
    worst_case_loss: Decimal
    path: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    pnl: Decimal | None = None
    reason: str | None = None
    legs: list[LegRecord] = field(default_factory=list)
    trade_id: str | None = None
    position_id: str | None = None
    #: The lease grant of the last write (None where writes are not fenced).
    epoch: int | None = None

    def leg(self, role: LegRole) -> LegRecord | None:
        for leg in self.legs:
            if leg.role is role:
                return leg
        return None

    def legs_of(self, role: LegRole) -> list[LegRecord]:
        return sorted((leg for leg in self.legs if leg.role is role), key=lambda g: g.seq)

    def move(self, new: AttemptState, now: datetime) -> None:
        """Apply one transition of the table (raises on an illegal one)."""
        check_transition(self.state, new)
        self.state = new
        self.updated_at = now
        self.path.append(new.value)

    def unwound_quantity(self) -> Decimal:
        return sum((u.filled for u in self.legs_of(LegRole.UNWIND)), ZERO)

    def leg1_open_quantity(self) -> Decimal:
        """Contracts of leg 1 neither hedged by leg 2 nor sold back by the unwind."""
        leg1 = self.leg(LegRole.LEG1)
        leg2 = self.leg(LegRole.LEG2)
        if leg1 is None:
            return ZERO
        hedged = leg2.filled if leg2 is not None else ZERO
        return max(leg1.filled - hedged - self.unwound_quantity(), ZERO)


def label_side(contract: ContractRef) -> str:
    """The side as a person reads it: YES/NO on Kalshi, long/short on PM-US, the token elsewhere."""
    if contract.side is OutcomeSide.TOKEN:
        return "token"
    return contract.side.value.upper() if contract.venue is Venue.KALSHI else contract.side.value


# --- storage port ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReservationLimits:
    """The limits the store checks inside its reservation transaction."""

    max_daily_trades: int
    max_daily_loss: Decimal
    day_start: datetime
    day_end: datetime


@dataclass(frozen=True, slots=True)
class DayExposure:
    """Today's figures the daily limits are decided on."""

    trades: int
    realised_pnl: Decimal
    in_flight_worst_case: Decimal
    stranded_cost: Decimal

    @property
    def projected_loss(self) -> Decimal:
        return max(-self.realised_pnl, ZERO) + self.in_flight_worst_case + self.stranded_cost


class AttemptStore(Protocol):
    """Persistence of attempts (implemented in ``db/attempts.py``).

    Every method commits before it returns (write-ahead: the caller makes the venue call
    only after). ``reserve`` decides the daily and per-game limits and inserts the
    PLANNED attempt in one transaction that excludes every other reservation.
    """

    async def reserve(
        self,
        attempt: AttemptRecord,
        limits: ReservationLimits,
        resize: Callable[[Decimal], AttemptRecord | Refusal] | None = None,
    ) -> AttemptRecord | Refusal:
        r"""Decide the daily limits and insert the PLANNED attempt, in one transaction.

        The day's loss budget is ``max_daily_loss`` less today's net realised loss, the
        worst case of every attempt in flight and the cost of every stranded leg not yet
        resolved. An attempt whose worst case does not fit is ``resize``\ d to what is left
        (a smaller size, or a refusal); the attempt actually reserved is returned.
        """

    async def save(self, attempt: AttemptRecord) -> None:
        """Persist the attempt's state, path, details and all its legs (upsert)."""

    async def finish(
        self,
        attempt: AttemptRecord,
        trade: TradeRecord | None,
        position: NewPosition | None,
        cash: Sequence[CashEntry] = (),
    ) -> tuple[str | None, str | None]:
        """Persist the end state with its trade-log row (and the position), atomically.

        A position that exists already takes ``position``'s cost (an unwind after a partial
        hedge changes what the position cost). ``cash`` entries (settlement payouts) are
        written in the same transaction, each once. Returns (trade id, position id); the
        trade id is None when a row with the same key was already there (a retried finish
        after a crash writes nothing twice).
        """

    async def record_fills(self, leg: LegRecord, fills: Sequence[Fill]) -> None:
        """Store the venue's fills of ``leg``'s order (each once, by the venue's id) and
        the leg's average price, fees and ``fills_recorded`` taken from them, atomically."""

    async def get(self, attempt_id: str) -> AttemptRecord | None: ...

    async def list_active(self) -> list[AttemptRecord]:
        """Attempts in flight (non-terminal states)."""

    async def list_state(self, state: AttemptState) -> list[AttemptRecord]: ...

    async def list_all(self) -> list[AttemptRecord]: ...

    async def list_unrecorded(self) -> list[AttemptRecord]:
        """Ended attempts with a filled, settled leg whose venue fills are not recorded yet."""

    async def with_unknown_legs(self, role: LegRole) -> set[str]:
        """Ids of the attempts with a sent leg of ``role`` whose outcome is not known (not
        settled, not pending): the legs the reconciler looks up."""

    async def exposure(self, day_start: datetime, day_end: datetime) -> DayExposure: ...

    async def known_order_ids(self) -> tuple[set[str], set[str]]:
        """(venue order ids, client order ids) of every leg we ever recorded."""
