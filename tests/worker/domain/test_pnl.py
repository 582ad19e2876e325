"""An attempt's P&L and a position's cost, from its legs' prices, fees and quantities.

Every expected figure is worked out by hand in the test from the legs it builds (price ×
quantity, the fee as charged, pro rata for part of a leg), not by calling the code under
test a second time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from worker.domain.attempts import AttemptRecord, AttemptState, LegRecord, LegRole
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import OrderAction, OrderState, TimeInForce
from worker.domain.pnl import (
    close_proceeds,
    exit_pnl,
    held_contracts,
    leg_cost,
    locked_pnl,
    no_pnl,
    position_cost,
    roi_pct,
    sale_proceeds,
    spent,
    stranded_cost,
    stranded_pnl,
    unwind_pnl,
)

T = datetime(2026, 3, 1, 18, tzinfo=UTC)
KALSHI_YES = ContractRef(Venue.KALSHI, "KXNBA-G1", "KXNBA-G1", OutcomeSide.YES)
POLY_AWAY = ContractRef(Venue.POLYMARKET, "700001", "5002", OutcomeSide.TOKEN)


def leg(
    role: LegRole, seq: int, contract: ContractRef, filled: str, price: str | None, fees: str,
    action: OrderAction = OrderAction.BUY,
) -> LegRecord:
    return LegRecord(
        id=f"a-{role.value}{seq}", attempt_id="a", role=role, seq=seq, contract=contract, label=contract.contract_id,
        action=action, price=D(price or "0.5"), quantity=D(filled), tif=TimeInForce.IOC, client_order_id=f"c{seq}",
        state=OrderState.FILLED.value, filled=D(filled), avg_price=None if price is None else D(price), fees=D(fees),
    )


def sale(role: LegRole, seq: int, contract: ContractRef, filled: str, price: str, fees: str) -> LegRecord:
    return leg(role, seq, contract, filled, price, fees, OrderAction.SELL)


def attempt(state: AttemptState, *legs: LegRecord) -> AttemptRecord:
    return AttemptRecord(
        id="a", game_key="G1", mapping_id="m", direction="kalshi_yes", event_title="Kings at Rockets", state=state,
        created_at=T, updated_at=T, contracts=D(10), planned_cost=D("9.80"), expected_edge=D("0.20"),
        worst_case_loss=D(0), legs=list(legs),
    )


# Leg 1: 10 Kalshi YES at 0.45, fee 0.17 → cost 4.50 + 0.17 = 4.67.
# Leg 2: 10 Polymarket at 0.50, fee 0.05 → cost 5.00 + 0.05 = 5.05.
LEG1 = leg(LegRole.LEG1, 1, KALSHI_YES, "10", "0.45", "0.17")
LEG2 = leg(LegRole.LEG2, 2, POLY_AWAY, "10", "0.50", "0.05")


def test_a_leg_costs_its_price_times_its_fills_plus_its_fee_pro_rata_for_a_part() -> None:
    assert leg_cost(LEG1) == D("4.67")
    # 4 of its 10 contracts: 0.45 × 4 = 1.80, and 4/10 of the 0.17 fee = 0.068.
    assert leg_cost(LEG1, D(4)) == D("1.868")
    # More than it filled is all of it.
    assert leg_cost(LEG1, D(25)) == D("4.67")


def test_a_leg_that_bought_nothing_or_has_no_price_yet_costs_nothing() -> None:
    assert leg_cost(None) == 0
    assert leg_cost(leg(LegRole.LEG1, 1, KALSHI_YES, "0", "0.45", "0")) == 0
    assert leg_cost(leg(LegRole.LEG1, 1, KALSHI_YES, "10", None, "0.17")) == 0


def test_sales_bring_in_their_price_times_their_fills_less_their_fees() -> None:
    sales = [sale(LegRole.UNWIND, 10, KALSHI_YES, "4", "0.40", "0.02"), sale(LegRole.UNWIND, 11, KALSHI_YES, "2", "0.38", "0.01")]
    # 1.60 − 0.02 + 0.76 − 0.01
    assert sale_proceeds(sales) == D("2.33")


def test_a_full_hedge_locks_one_dollar_a_pair_less_both_legs_cost() -> None:
    a = attempt(AttemptState.HEDGED, LEG1, LEG2)
    # 10 pairs pay $10; they cost 4.67 + 5.05 = 9.72.
    assert locked_pnl(a) == D("0.28")
    assert spent(a) == D("9.72")
    assert position_cost(a) == D("9.72")
    assert unwind_pnl(a) == 0
    # 0.28 / 9.72 = 2.8806… %
    assert roi_pct(locked_pnl(a), spent(a)) == D("2.88")


def test_a_partial_hedge_counts_the_unwinds_loss_and_its_position_carries_it_once_hedged() -> None:
    leg1 = leg(LegRole.LEG1, 1, KALSHI_YES, "10", "0.45", "0.20")
    leg2 = leg(LegRole.LEG2, 2, POLY_AWAY, "6", "0.50", "0.03")
    sold = sale(LegRole.UNWIND, 10, KALSHI_YES, "4", "0.40", "0.02")
    # The 4 contracts sold back brought 1.60 − 0.02 = 1.58 and had cost 0.45 × 4 + 0.20 × 4/10 = 1.88.
    unwinding = attempt(AttemptState.UNWINDING, leg1, leg2, sold)
    assert unwind_pnl(unwinding) == D("-0.30")
    # 6 pairs pay 6; leg 1's 6 cost 2.70 + 0.12 = 2.82; leg 2 cost 3.00 + 0.03 = 3.03; the unwind −0.30.
    assert locked_pnl(unwinding) == D("-0.15")
    # Before the hedge is done the position carries the hedged pairs only: 2.82 + 3.03.
    assert position_cost(unwinding) == D("5.85")
    # Once HEDGED it carries both legs whole less what the unwind brought in: 4.70 + 3.03 − 1.58.
    assert position_cost(attempt(AttemptState.HEDGED, leg1, leg2, sold)) == D("6.15")


def test_a_stranded_leg_costs_what_it_still_holds_and_realises_what_it_brings_in() -> None:
    leg1 = leg(LegRole.LEG1, 1, KALSHI_YES, "10", "0.45", "0.20")
    leg2 = leg(LegRole.LEG2, 2, POLY_AWAY, "0", None, "0")
    sold = sale(LegRole.UNWIND, 10, KALSHI_YES, "4", "0.40", "0.02")
    a = attempt(AttemptState.STRANDED, leg1, leg2, sold)
    # 6 left of 10: 0.45 × 6 + 0.20 × 6/10 = 2.70 + 0.12.
    assert stranded_cost(a) == D("2.82")
    # The unwind lost 0.30 (as above); the 6 held pay $1 each: −0.30 + 6 − 2.82.
    assert stranded_pnl(a, D(6)) == D("2.88")
    # Worthless: −0.30 + 0 − 2.82.
    assert stranded_pnl(a, D(0)) == D("-3.12")


def test_a_position_holds_its_pairs_less_what_its_close_orders_sold_and_exits_with_their_proceeds() -> None:
    # Leg 1 sold 4 of its 10 (4 × 0.50 − 0.04 = 1.96); leg 2 sold all 10 (10 × 0.48 − 0.05 = 4.75).
    closes = [
        sale(LegRole.CLOSE, 100, KALSHI_YES, "4", "0.50", "0.04"),
        sale(LegRole.CLOSE, 101, POLY_AWAY, "10", "0.48", "0.05"),
    ]
    a = attempt(AttemptState.HEDGED, LEG1, LEG2, *closes)
    assert [(g.role, q) for g, q in held_contracts(a)] == [(LegRole.LEG1, D(6)), (LegRole.LEG2, D(0))]
    assert close_proceeds(a) == D("6.71")
    # Closed by hand (nothing left to pay): 6.71 − 9.72.
    assert exit_pnl(a) == D("-3.01")
    # Settled with the 6 Kalshi YES still held paying $1 each: 6 + 6.71 − 9.72.
    assert exit_pnl(a, D(6)) == D("2.99")


def test_a_position_without_close_orders_holds_every_hedged_pair() -> None:
    leg2 = leg(LegRole.LEG2, 2, POLY_AWAY, "7", "0.50", "0.04")
    held = held_contracts(attempt(AttemptState.HEDGED, LEG1, leg2))
    assert [q for _, q in held] == [D(7), D(7)]


def test_an_attempt_that_bought_nothing_has_no_pnl_and_no_roi() -> None:
    a = attempt(AttemptState.FAILED, leg(LegRole.LEG1, 1, KALSHI_YES, "0", None, "0"))
    assert no_pnl(a) == 0 and spent(a) == 0
    assert roi_pct(D(0), D(0)) is None
