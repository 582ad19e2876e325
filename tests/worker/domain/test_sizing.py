"""Size choice: the largest size within the bet limits whose ROI is within the ROI band."""

from __future__ import annotations

from decimal import Decimal as D

from worker.domain.attempt_money import SizeChoice, choose_size
from worker.domain.attempts import Refusal, RefusalReason
from worker.domain.mapping import CurvePoint


def pt(size: int, cost: str) -> CurvePoint:
    c = D(cost)
    edge = D(size) - c
    return CurvePoint(D(size), c, edge, (edge / c * 100).quantize(D("0.0001")))


CURVE = (pt(5, "4.80"), pt(10, "9.60"), pt(20, "19.40"))


def choose(curve=CURVE, min_bet="5", max_bet="10", min_roi="1", max_roi="50"):  # type: ignore[no-untyped-def]
    return choose_size(curve, min_bet=D(min_bet), max_bet=D(max_bet), min_roi=D(min_roi), max_roi=D(max_roi))


def test_largest_curve_point_inside_the_bet_limits_is_taken() -> None:
    got = choose()
    assert isinstance(got, SizeChoice) and got.contracts == D(10)


def test_max_bet_between_points_takes_the_whole_contract_size_that_fits() -> None:
    got = choose(max_bet="15")
    assert isinstance(got, SizeChoice)
    # 9.60 + n * 0.98 + 0.02 cushion <= 15 -> n = 5
    assert got.contracts == D(15)
    assert got.cost <= D(15)


def test_cost_exactly_at_max_bet_is_allowed_and_a_cent_below_min_bet_is_refused() -> None:
    got = choose(min_bet="4.80", max_bet="9.60")
    assert isinstance(got, SizeChoice) and got.contracts == D(10)
    refused = choose(curve=(pt(5, "4.99"),), min_bet="5.00", max_bet="10")
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.BET_SIZE


def test_roi_below_min_is_refused_and_at_min_is_taken() -> None:
    roi10 = CURVE[1].roi_pct
    assert isinstance(choose(min_roi=str(roi10)), SizeChoice)
    refused = choose(curve=(CURVE[1],), min_roi=str(roi10 + D("0.01")))
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.ROI_TOO_LOW


def test_roi_above_max_is_refused_as_suspicious() -> None:
    refused = choose(curve=(pt(10, "5.00"),), max_roi="50")  # ROI 100 %
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.ROI_TOO_HIGH
    taken = choose(curve=(pt(10, "6.00"),), max_roi="66.67")  # ROI 66.6667 % <= 66.67
    assert isinstance(taken, SizeChoice)
