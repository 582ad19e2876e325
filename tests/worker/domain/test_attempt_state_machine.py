"""The attempt state machine: every legal edge is accepted, every other one raises."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from worker.domain.attempt_money import (
    contracts_within,
    hedge_cap,
    ladder_price,
    unwind_floor_price,
    worst_case_loss,
)
from worker.domain.attempts import (
    TRANSITIONS,
    AttemptRecord,
    AttemptState,
    IllegalAttemptTransition,
    check_transition,
)
from worker.domain.fees import FeeSchedule

S = AttemptState
LEGAL = {
    (S.PLANNED, S.LEG1_SENT),
    (S.PLANNED, S.FAILED),
    (S.LEG1_SENT, S.LEG1_FILLED),
    (S.LEG1_SENT, S.FAILED),
    (S.LEG1_FILLED, S.LEG2_SENT),
    (S.LEG1_FILLED, S.UNWINDING),
    (S.LEG2_SENT, S.HEDGED),
    (S.LEG2_SENT, S.UNWINDING),
    (S.UNWINDING, S.ROLLED_BACK),
    (S.UNWINDING, S.STRANDED),
    (S.UNWINDING, S.HEDGED),
    (S.STRANDED, S.UNWINDING),
    (S.STRANDED, S.RESOLVED),
}


def test_transition_table_is_exactly_the_documented_edges() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_legal_transition_is_accepted(current: AttemptState, new: AttemptState) -> None:
    check_transition(current, new)


ILLEGAL = sorted(set(itertools.product(list(S), list(S))) - LEGAL)


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_illegal_transition_raises(current: AttemptState, new: AttemptState) -> None:
    with pytest.raises(IllegalAttemptTransition):
        check_transition(current, new)


def test_hedged_attempt_can_never_go_back_to_sending_a_leg() -> None:
    now = datetime.now(UTC)
    a = AttemptRecord("a", "g", None, None, "t", S.HEDGED, now, now, Decimal(1), Decimal(1), Decimal(0), Decimal(0))
    with pytest.raises(IllegalAttemptTransition):
        a.move(S.LEG1_SENT, now)
    assert a.state is S.HEDGED


def test_move_records_the_path() -> None:
    now = datetime.now(UTC)
    a = AttemptRecord("a", "g", None, None, "t", S.PLANNED, now, now, Decimal(1), Decimal(1), Decimal(0), Decimal(0), path=["PLANNED"])
    for s in (S.LEG1_SENT, S.LEG1_FILLED, S.LEG2_SENT, S.UNWINDING, S.ROLLED_BACK):
        a.move(s, now)
    assert a.path == ["PLANNED", "LEG1_SENT", "LEG1_FILLED", "LEG2_SENT", "UNWINDING", "ROLLED_BACK"]


def test_unwind_floor_is_eighty_percent_of_the_price_rounded_up_to_the_tick() -> None:
    assert unwind_floor_price(Decimal("0.50")) == Decimal("0.40")
    assert unwind_floor_price(Decimal("0.47")) == Decimal("0.38")  # 0.376 -> 0.38, never below 80 %


def test_ladder_goes_a_tick_deeper_each_try_but_never_below_the_floor() -> None:
    floor = Decimal("0.40")
    prices = [ladder_price(Decimal("0.44"), i, floor) for i in range(5)]
    assert prices == [Decimal("0.44"), Decimal("0.43"), Decimal("0.42"), Decimal("0.41"), Decimal("0.40")]
    assert ladder_price(Decimal("0.30"), 0, floor) == floor
    assert ladder_price(None, 0, floor) == floor


def test_worst_case_loss_is_leg_one_whole_cost_plus_its_fee_bound() -> None:
    # A leg 1 that strands unsold can be worth nothing: 10 x 0.50, fee bound
    # 0.07 x 10 x 0.50 x 0.50 + 0.01 (worked out by hand).
    assert worst_case_loss(Decimal(10), Decimal("0.50")) == Decimal("5.00") + Decimal("0.175") + Decimal("0.01")


def test_contracts_within_is_the_largest_size_whose_worst_case_fits() -> None:
    assert contracts_within(Decimal("5.185"), Decimal("0.50")) == 10
    assert contracts_within(Decimal("5.1849"), Decimal("0.50")) == 9
    assert contracts_within(Decimal("0.01"), Decimal("0.50")) == 0
    for budget in (Decimal("0.5"), Decimal("3.33"), Decimal("17.77")):
        for price in (Decimal("0.01"), Decimal("0.37"), Decimal("0.99")):
            n = contracts_within(budget, price)
            assert worst_case_loss(n, price) <= budget < worst_case_loss(n + 1, price)


def test_hedge_cap_is_the_highest_price_that_still_locks_nothing_negative() -> None:
    # Worked by hand: leg 1 cost 4.60 for 10 (0.45 each + 0.10 fee); Kalshi charges
    # ceil_cent(0.07 × 10 × p × (1 − p)): at 0.54 → 5.40 + 0.18 > 5.40, at 0.53 → 5.30 +
    # 0.18 > 5.40, at 0.52 → 5.20 + 0.18 = 5.38 ≤ 5.40.
    cap = hedge_cap(Decimal(10), Decimal("4.60"), FeeSchedule.kalshi())
    assert cap == Decimal("0.52")
    # Without the market's schedule a bound of any venue's fee is used: never higher.
    bounded = hedge_cap(Decimal(10), Decimal("4.60"), None)
    assert bounded is not None and bounded <= cap
    # Leg 1 slipped so far that no price hedges without a loss: none.
    assert hedge_cap(Decimal(10), Decimal("9.95"), FeeSchedule.kalshi()) is None


