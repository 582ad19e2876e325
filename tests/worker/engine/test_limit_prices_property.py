"""Limit prices for the chosen size, and a leg 2 that never locks a loss (property tests).

Over random ask ladders of a Kalshi and a Polymarket market: the size the executor takes
(``choose_size`` on the scanner's curve) carries each leg's limit = the price of the
deepest level that size takes, as a walk of each ladder says; its ROI is the locked edge
of a full fill at those levels, with the fees as the venues charge them; and once leg 1
has filled, leg 2 at its cap (``hedge_cap``) locks ≥ $0 after both fees.

The oracle for the fees is the paper exchange's own arithmetic
(``paper_exchange.fees``, written apart from ``worker.domain.fees`` on purpose).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from paper_exchange import fees as paper
from worker.domain.attempt_money import choose_size, hedge_cap
from worker.domain.books import PriceLevel
from worker.domain.fees import FeeSchedule
from worker.engine.scanner.depth import size_roi_curve
from worker.engine.scanner.units import fee_units

D = Decimal
HUNDRED = D(100)
ROI_STEP = D("0.0001")
KALSHI = FeeSchedule.kalshi()
POLY = FeeSchedule.polymarket(D("0.03"))  # the paper's sports markets' schedule


@st.composite
def ladder(draw: st.DrawFn, lo: int, hi: int) -> tuple[PriceLevel, ...]:
    """Up to 5 ask levels, best first, prices in cents, whole sizes."""
    n = draw(st.integers(1, 5))
    cents = sorted(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n, unique=True)))
    return tuple(PriceLevel(D(c) / 100, D(draw(st.integers(1, 40)))) for c in cents)


def take(levels: tuple[PriceLevel, ...], size: Decimal) -> list[tuple[Decimal, Decimal]]:
    """What buying ``size`` takes from an ask ladder, level by level (the oracle's walk)."""
    out, left = [], size
    for lvl in levels:
        if left <= 0:
            break
        q = min(lvl.size, left)
        out.append((lvl.price, q))
        left -= q
    assert left <= 0
    return out


def charged(venue: str, fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    return sum(paper.taker_fees(venue, "buy", fills), D(0))


@settings(max_examples=300, deadline=None)
@given(k=ladder(20, 60), p=ladder(20, 60), pick=st.integers(0, 1000))
def test_the_chosen_size_carries_its_own_limits_and_roi_and_leg2_at_its_cap_locks_no_loss(
    k: tuple[PriceLevel, ...], p: tuple[PriceLevel, ...], pick: int
) -> None:
    curve = size_roi_curve(k, p, fee_units(KALSHI), fee_units(POLY), D(1))
    assume(curve)
    # A curve point's cost as max_bet: the executor takes that size (the largest in bet).
    point = curve[pick % len(curve)]
    size = choose_size(curve, min_bet=D(0), max_bet=point.cost, min_roi=D(-100), max_roi=D(1000))
    assert not hasattr(size, "reason"), size
    assert size.contracts == point.size  # type: ignore[union-attr]
    n = size.contracts  # type: ignore[union-attr]
    k_fills, p_fills = take(k, n), take(p, n)
    # 1. each leg's limit is the deepest level that size takes
    assert size.kalshi_price == k_fills[-1][0]  # type: ignore[union-attr]
    assert size.poly_price == p_fills[-1][0]  # type: ignore[union-attr]
    # 2. the ROI checked and recorded is the locked edge of a full fill, as charged
    cost = sum((px * q for px, q in k_fills + p_fills), D(0)) + charged("kalshi", k_fills) + charged("polymarket", p_fills)
    edge = n - cost
    assert size.cost == cost and size.edge == edge  # type: ignore[union-attr]
    assert size.roi_pct == (edge / cost * HUNDRED).quantize(ROI_STEP)  # type: ignore[union-attr]
    # 3. leg 1 filled (either venue first), leg 2 at its cap locks >= 0 after both fees
    for (fills1, venue1), (venue2, fees2) in (
        ((k_fills, "kalshi"), ("polymarket", POLY)),
        ((p_fills, "polymarket"), ("kalshi", KALSHI)),
    ):
        leg1_cost = sum((px * q for px, q in fills1), D(0)) + charged(venue1, fills1)
        cap = hedge_cap(n, leg1_cost, fees2)
        if cap is None:
            # Then even a one-cent hedge would lock a loss.
            assert n - leg1_cost - (n * D("0.01") + charged(venue2, [(D("0.01"), n)])) < 0
            continue
        locked = n - leg1_cost - (n * cap + charged(venue2, [(cap, n)]))
        assert locked >= 0, (cap, locked)
        # and it is the highest such price on the cent grid
        up = cap + D("0.01")
        if up < 1:
            assert n - leg1_cost - (n * up + charged(venue2, [(up, n)])) < 0
