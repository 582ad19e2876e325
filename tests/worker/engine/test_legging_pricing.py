"""Legging risk priced into the edge: the scanner publishes the expected edge beside the
locked one, and with ``EXECUTOR_PRICE_LEGGING_RISK`` the risk manager applies ``min_roi`` to
the expected ROI. Expected figures are worked out here from the counts by hand."""

from __future__ import annotations

from decimal import Decimal as D

from tests.support.fake_venue import make_candidate, stock_books
from tests.worker.engine.conftest import Rig
from tests.worker.engine.scanner.test_scanner_incremental import (
    NOW,
    gamma,
    gamma_mapping,
    kalshi,
    kalshi_books,
    lv,
    token,
)
from worker.domain.attempts import AttemptRecord, Refusal, RefusalReason
from worker.domain.legging import CellCount, CellKey, build_table
from worker.domain.mapping import OpportunityEvent
from worker.engine.executor import RiskConfig
from worker.engine.legging import LeggingPricer
from worker.engine.scanner.scanner import Scanner


def test_the_scanner_publishes_the_expected_edge_of_leg_2s_cell() -> None:
    # 40 samples (no shrinking), 10 failures costing 0.08 each: P = 0.25, cost 0.08.
    key = CellKey("polymarket", "nba", "0.40-0.60", "le0.25")
    table = build_table({key: CellCount(40, 10, D("0.80"))})
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.legging = LeggingPricer(table).price
    sc.add_mapping(gamma_mapping(), kalshi(), gamma())
    # Kalshi YES asks 0.40 x 20 (NO bids 0.60); the Kings token asks 0.45 x 400: deeper,
    # so it is leg 2, in band 0.40-0.60, 20 contracts of a 400-deep top level (le0.25).
    sc.on_books(kalshi_books(lv(("0.30", "50")), lv(("0.60", "20"))), NOW)
    sc.on_book(token("5001", lv(("0.45", "400"))), NOW)
    (opp,) = [e.opportunity for e in events]
    q = opp.legging
    assert q is not None
    assert q.second_venue == "polymarket" and q.cell == "polymarket/nba/0.40-0.60/le0.25" and q.samples == 40
    assert (q.p_fail, q.cost) == (D("0.25"), D("0.08"))
    assert opp.size == D(20)
    assert q.expected_edge == opp.edge - D("0.25") * D("0.08") * 20
    assert q.expected_roi_pct == (q.expected_edge / opp.cost * 100).quantize(D("0.0001"))


def test_without_estimates_the_expected_edge_is_the_locked_edge() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.legging = LeggingPricer().price
    sc.add_mapping(gamma_mapping(), kalshi(), gamma())
    sc.on_books(kalshi_books(lv(("0.30", "50")), lv(("0.60", "20"))), NOW)
    sc.on_book(token("5001", lv(("0.45", "400"))), NOW)
    (opp,) = [e.opportunity for e in events]
    assert opp.legging is not None and opp.legging.samples == 0
    assert opp.legging.expected_edge == opp.edge.quantize(D("0.000001"))


# make_candidate: Kalshi 0.45 + Polymarket 0.50, no depths: Polymarket (less reliable)
# goes first, Kalshi is leg 2 at 0.45 (band 0.40-0.60), depth unknown (gt1). Its locked
# edge is about 3 cents a contract (ROI about 3.4 %).
KALSHI_CELL = CellKey("kalshi", "nba", "0.40-0.60", "gt1")


async def _submit(rig: Rig, counts: CellCount, priced: bool) -> AttemptRecord | Refusal:
    await rig.settings.update({"min_roi": D("1"), "max_daily_loss": D("1000")})
    ex = rig.executor(config=RiskConfig(price_legging_risk=priced))
    ex.risk.legging = LeggingPricer(build_table({KALSHI_CELL: counts}))
    await ex.start(background=False)
    stock_books(rig.kalshi, rig.poly, "G1")
    result = await ex.submit(make_candidate("G1"))
    await ex.wait_idle()
    return result


async def test_min_roi_applies_to_the_expected_roi_when_legging_risk_is_priced(rig: Rig) -> None:
    # Half of leg 2s fail, at 10 cents a contract: 5 cents expected, more than the edge.
    result = await _submit(rig, CellCount(40, 20, D("2.00")), priced=True)
    assert isinstance(result, Refusal) and result.reason is RefusalReason.ROI_TOO_LOW
    assert "expected ROI" in result.detail


async def test_the_same_opportunity_trades_when_legging_risk_is_not_priced(rig: Rig) -> None:
    result = await _submit(rig, CellCount(40, 20, D("2.00")), priced=False)
    assert isinstance(result, AttemptRecord)


async def test_a_small_legging_risk_leaves_the_trade_above_min_roi(rig: Rig) -> None:
    # 1 in 10 fail at 1 cent: 0.1 cent a contract expected, the ROI stays above 1 %.
    result = await _submit(rig, CellCount(40, 4, D("0.04")), priced=True)
    assert isinstance(result, AttemptRecord)
