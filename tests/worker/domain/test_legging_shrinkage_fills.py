"""Legging estimates: sparse cells shrink toward their venue's pool exactly as stated
(weights computed here from the counts by hand), full cells do not; and our own fills
are counted per attempt (success, unwind, partial hedge, worse hedge, stranded)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from worker.domain.attempts import AttemptRecord, AttemptState, LegRecord, LegRole
from worker.domain.legging import CellCount, CellKey, build_table, cell_of
from worker.domain.legging_fills import counts_from_attempts
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import OrderAction, TimeInForce

D = Decimal
Q = D("0.000001")
NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_a_sparse_cell_is_pulled_toward_its_pool_and_a_full_one_is_not() -> None:
    sparse = CellKey("kalshi", "nba", "0.40-0.60", "le0.25")
    full = CellKey("kalshi", "nba", "0.40-0.60", "le1")
    other = CellKey("polymarket", "nhl", "0.20-0.40", "le1")
    counts = {
        sparse: CellCount(12, 6, D("0.24")),  # 12 samples: weight 12/30
        full: CellCount(100, 20, D("0.60")),
        other: CellCount(40, 4, D("0.08")),
    }
    table = build_table(counts)
    # By hand. Every venue: 152 samples, 30 failures, cost 0.92 / 30.
    overall_p, overall_cost = D(30) / D(152), D("0.92") / D(30)
    assert table.overall.p_fail == overall_p.quantize(Q) and table.overall.cost == overall_cost.quantize(Q)
    # Kalshi's pool: 112 samples (>= 30: its own rate), 26 failures (< 30: its cost shrunk).
    pool_p = (D(26) / D(112)).quantize(Q)
    w_cost = D(26) / D(30)
    pool_cost = (w_cost * (D("0.84") / D(26)) + (1 - w_cost) * overall_cost.quantize(Q)).quantize(Q)
    pool = table.pools["kalshi"]
    assert (pool.p_fail, pool.cost, pool.weight) == (pool_p, pool_cost, D(1))
    # The sparse cell: w = 12/30 on its own 6/12, the rest on the pool's rate; its cost
    # from 6 failures: 6/30 on its own 0.04, the rest on the pool's cost.
    est = table.cells[sparse]
    w = D(12) / D(30)
    assert est.weight == w.quantize(Q)
    assert est.p_fail == (w * D("0.5") + (1 - w) * pool_p).quantize(Q)
    wc = D(6) / D(30)
    assert est.cost == (wc * D("0.04") + (1 - wc) * pool_cost).quantize(Q)
    assert est.raw_p_fail == D("0.5") and est.samples == 12
    # The full cell keeps its own rate; its cost (20 failures < 30) is still shrunk.
    full_est = table.cells[full]
    assert (full_est.p_fail, full_est.weight) == (D("0.2"), D(1))
    assert full_est.cost == ((D(20) / D(30)) * D("0.03") + (D(10) / D(30)) * pool_cost).quantize(Q)
    # An unseen cell takes its venue's pool.
    assert table.lookup(CellKey("kalshi", "nfl", "0.00-0.20", "gt1")) == pool


# -- our fills ------------------------------------------------------------------------
KALSHI_YES = ContractRef(Venue.KALSHI, "KX-HOU", "KX-HOU", OutcomeSide.YES)
TOKEN = ContractRef(Venue.POLYMARKET, "m1", "5001", OutcomeSide.TOKEN)


def leg(role: LegRole, seq: int, contract: ContractRef, price: str, quantity: str, filled: str,
        avg: str | None, fees: str = "0", action: OrderAction = OrderAction.BUY) -> LegRecord:
    return LegRecord(
        id=f"a-{role.value}-{seq}", attempt_id="a", role=role, seq=seq, contract=contract, label="x",
        action=action, price=D(price), quantity=D(quantity), tif=TimeInForce.IOC, client_order_id=f"c{seq}",
        state="filled", filled=D(filled), avg_price=None if avg is None else D(avg), fees=D(fees),
    )


def attempt(state: AttemptState, legs: list[LegRecord], *, quoted_kalshi: str = "0.40",
            details: dict[str, Any] | None = None, id_: str = "a") -> AttemptRecord:
    path = ["PLANNED", "LEG1_SENT", "LEG1_FILLED", "LEG2_SENT", state.value]
    return AttemptRecord(
        id=id_, game_key="g", mapping_id="map_1", direction="kalshi_yes", event_title="t", state=state,
        created_at=NOW, updated_at=NOW, contracts=D(10), planned_cost=D(9), expected_edge=D("0.5"),
        worst_case_loss=D(5), path=path,
        details={"quoted": {"kalshi_price": quoted_kalshi, "poly_price": "0.50", "size": "10"}, **(details or {})},
        legs=legs,
    )


LEAGUES = {"map_1": "nba"}


def test_a_hedge_at_the_quoted_price_is_a_success_in_its_cell() -> None:
    a = attempt(AttemptState.HEDGED, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50", fees="0.10"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "10", "0.40"),
    ], details={"leg2_top_depth": "30"})
    counts = counts_from_attempts([a], LEAGUES)
    # 10 contracts against a top depth of 30: band le0.5; leg 2's venue and quoted price.
    assert counts == {cell_of(Venue.KALSHI, "nba", D("0.40"), D(10), D(30)): CellCount(1, 0, D(0))}
    assert next(iter(counts)).depth_band == "le0.5"
    # With leg 2's best ask at the decision stored, the cell is read at it (as the pricer
    # reads it); the limit the fill is judged against is still the quoted price.
    a.details["leg2_top_price"] = "0.39"
    a.details["quoted"]["kalshi_price"] = "0.41"
    a.legs[1].avg_price = D("0.41")
    assert counts_from_attempts([a], LEAGUES) == {
        cell_of(Venue.KALSHI, "nba", D("0.39"), D(10), D(30)): CellCount(1, 0, D(0))
    }
    assert cell_of(Venue.KALSHI, "nba", D("0.39"), D(10), D(30)).price_band == "0.20-0.40"


def test_a_rolled_back_attempt_fails_at_its_unwind_loss_per_contract() -> None:
    a = attempt(AttemptState.ROLLED_BACK, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50", fees="0.10"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "0", None),
        leg(LegRole.UNWIND, 3, TOKEN, "0.45", "10", "10", "0.47", fees="0.05", action=OrderAction.SELL),
    ])
    # Bought 10 at 0.50 + 0.10 fees = 5.10; sold 10 at 0.47 - 0.05 = 4.65: 0.45 / 10.
    assert counts_from_attempts([a], LEAGUES) == {
        cell_of(Venue.KALSHI, "nba", D("0.40"), D(10), None): CellCount(1, 1, D("0.045"))
    }


def test_a_partial_hedge_fails_at_the_unwound_excess_over_all_contracts() -> None:
    a = attempt(AttemptState.HEDGED, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "6", "0.40"),
        leg(LegRole.UNWIND, 3, TOKEN, "0.45", "4", "4", "0.48", action=OrderAction.SELL),
    ])
    # 4 sold back at 0.02 under what they cost: 0.08 over the 10 contracts.
    [(key, count)] = counts_from_attempts([a], LEAGUES).items()
    assert key.depth_band == "gt1" and count == CellCount(1, 1, D("0.008"))


def test_a_hedge_at_a_worse_price_and_a_stranded_leg_fail() -> None:
    worse = attempt(AttemptState.HEDGED, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "10", "0.42"),
    ], id_="w")
    stranded = attempt(AttemptState.STRANDED, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50", fees="0.20"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "0", None),
    ], id_="s")
    in_flight = attempt(AttemptState.UNWINDING, [
        leg(LegRole.LEG1, 1, TOKEN, "0.50", "10", "10", "0.50"),
        leg(LegRole.LEG2, 2, KALSHI_YES, "0.45", "10", "0", None),
    ], id_="f")
    counts = counts_from_attempts([worse, stranded, in_flight], LEAGUES)
    # 0.02 more per contract; the stranded leg's whole cost, 5.20 / 10; the attempt still
    # unwinding is not counted.
    assert counts == {cell_of(Venue.KALSHI, "nba", D("0.40"), D(10), None): CellCount(2, 2, D("0.02") + D("0.52"))}
