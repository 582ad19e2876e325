"""The depth walk: how many pairs two ask ladders sell at a profit, and what each size costs.

One direction of a mapped pair buys one contract on each venue: ladder ``a`` (Kalshi) and
ladder ``b`` (Polymarket), best ask first. Reading it takes three steps, each one
function:

1. :func:`walk_steps` — buy pairs level by level, taking at each step what is left of the
   level that runs out first, while the *marginal* pair still pays:
   ``pa + ua + pb + ub < 1``, ``u`` being a venue's exact fee of one contract at that
   price (:class:`~worker.engine.scanner.units.FeeUnits`). It returns the cumulative size
   after each step.
2. :func:`curve_sizes` — the sizes the size–ROI curve shows: each whole step end from the
   market's minimum size on, the depth floored to a whole count (Kalshi trades whole
   contracts; Polymarket sizes have decimals), and the minimum size itself; thinned to
   :data:`MAX_CURVE_POINTS` keeping the deepest.
3. :func:`price_point` — what buying ``size`` pairs costs: each leg is one order taking
   ``size`` off its ladder (:func:`leg_fill`), charged the venue's fee for that order
   rounded as the venue rounds it (Kalshi: the order's exact total, up to the cent, once;
   Polymarket: each fill up at 5 decimals; Polymarket US: each execution to the cent,
   banker's rounding).

An opportunity is the deepest of those sizes whose edge is positive (:func:`best_point`):
per-order fee rounding can make the deepest sizes lose even though each marginal pair
pays. Its curve (:func:`size_roi_curve`) is every point up to it; the scanner defers it
until someone reads it.

Money: all Decimal. Sums of exact Decimals are exact whatever their order (their
exponent is the smallest of the terms'), so a point priced here equals, in value and in
representation, what the venues' documents give (``tests/worker/engine/scanner/
test_detection_equivalence.py`` holds a reference written from those documents).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from worker.domain.books import PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import CurvePoint
from worker.domain.money import ONE, ZERO
from worker.engine.scanner.units import FeeUnits, fee_units

HUNDRED = Decimal(100)
ROI_STEP = Decimal("0.0001")
MAX_CURVE_POINTS = 24

Ladder = tuple[PriceLevel, ...]


# A NamedTuple's generated ``__new__`` is a Python function; ``tuple.__new__(cls, values)``
# makes the same object in one C call (a walk that opens an opportunity makes three).
_make = tuple.__new__


class LegFill(NamedTuple):
    """What one order buying ``size`` contracts off a ladder pays."""

    price: Decimal  # its limit: the price of the deepest level it takes
    notional: Decimal  # Σ price × count over the levels it takes
    fee: Decimal  # the venue's fee for the order, rounded the venue's way
    size: Decimal  # Σ count (equals the size asked for)


class Point(NamedTuple):
    """One size of a direction, priced: both legs and the total cost."""

    size: Decimal
    cost: Decimal  # both notionals plus both fees
    a: LegFill
    b: LegFill

    def curve_point(self) -> CurvePoint:
        edge = self.size - self.cost
        return CurvePoint(self.size, self.cost, edge, roi_pct(edge, self.cost), self.a.price, self.b.price)


def roi_pct(edge: Decimal, cost: Decimal) -> Decimal:
    """ROI in percent on cost, to 0.0001 % (zero for a zero cost, which only free asks give)."""
    return (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO


def walk_steps(a: Ladder, b: Ladder, units_a: FeeUnits, units_b: FeeUnits) -> list[Decimal]:
    """The cumulative size after each step of buying pairs off ``a`` and ``b`` while the
    marginal pair pays; empty when not even the top pair does (or a ladder is empty).

    A step buys what is left of the current level that runs out first (both, on a tie),
    then moves past the level(s) used up; the walk stops at the end of a ladder or when
    the next marginal pair costs $1 or more with its fees. ``units[p]`` is
    ``(fee of one contract, p + fee, 1 − p − fee)`` (:class:`FeeUnits`).
    """
    steps: list[Decimal] = []
    if not a or not b:
        return steps
    i = j = 0
    left_a, left_b = a[0].size, b[0].size
    cost_a = units_a[a[0].price][1]
    room_b = units_b[b[0].price][2]
    cum = ZERO
    while cost_a < room_b:  # the marginal pair pays: pa + ua < 1 − pb − ub
        # Buy what is left of the level that runs out first; both run out on a tie.
        if left_a < left_b:
            cum += left_a
            left_b -= left_a
            a_out, b_out = True, False
        elif left_b < left_a:
            cum += left_b
            left_a -= left_b
            a_out, b_out = False, True
        else:  # a tie: equal, maybe written differently (197, 197.00); b's is added
            cum += left_b
            a_out = b_out = True
        steps.append(cum)
        if a_out:
            i += 1
            if i == len(a):
                break
            left_a = a[i].size
            cost_a = units_a[a[i].price][1]
        if b_out:
            j += 1
            if j == len(b):
                break
            left_b = b[j].size
            room_b = units_b[b[j].price][2]
    return steps


def curve_sizes(steps: list[Decimal], min_size: Decimal) -> list[Decimal]:
    """The sizes of the size–ROI curve, smallest first; empty when the depth is under
    ``min_size``.

    Each step end that is a whole count from ``min_size`` on, as the walk summed it; the
    depth floored to a whole count when the last step ends between two; ``min_size`` when
    the first of those is larger; at most :data:`MAX_CURVE_POINTS`, evenly thinned and
    always keeping the deepest.
    """
    if not steps:
        return []
    depth = steps[-1].to_integral_value(ROUND_FLOOR)
    if depth < min_size:
        return []
    sizes = [s for s in steps if s >= min_size and s == s.to_integral_value()]
    if not sizes or sizes[-1] != depth:
        sizes.append(depth)
    if sizes[0] > min_size:
        sizes.insert(0, min_size)
    if len(sizes) > MAX_CURVE_POINTS:
        stride = len(sizes) / MAX_CURVE_POINTS
        sizes = [sizes[int(k * stride)] for k in range(MAX_CURVE_POINTS - 1)] + [sizes[-1]]
    return sizes


def leg_fill(levels: Ladder, size: Decimal, units: FeeUnits) -> LegFill:
    """One order buying ``size`` off ``levels``, best first, with the venue's fee for it."""
    step, mode, per_order = units.step, units.mode, units.per_order
    left = size  # still to buy (size > 0)
    price = notional = fees = qty = ZERO
    for lvl in levels:
        price = lvl.price
        last = lvl.size >= left
        q = left if last else lvl.size  # the last level: the size as asked (its exponent)
        notional += price * q
        exact = q * units[price][0]
        fees += exact if per_order else exact.quantize(step, mode)
        qty += q
        if last:
            break
        left -= q
    if per_order:
        fees = fees.quantize(step, mode)
    return _make(LegFill, (price, notional, fees, qty))


def price_point(size: Decimal, a: Ladder, b: Ladder, units_a: FeeUnits, units_b: FeeUnits) -> Point:
    """What buying ``size`` pairs costs: one order per leg."""
    fa = leg_fill(a, size, units_a)
    fb = leg_fill(b, size, units_b)
    return _make(Point, (size, fa.notional + fb.notional + fa.fee + fb.fee, fa, fb))


def best_point(
    a: Ladder, b: Ladder, units_a: FeeUnits, units_b: FeeUnits, min_size: Decimal
) -> Point | None:
    """The deepest curve size with a positive edge, priced; ``None`` when none has one.

    The deepest size usually has one: it is priced first, and the other sizes only when
    per-order fee rounding makes it lose."""
    steps = walk_steps(a, b, units_a, units_b)
    if not steps:
        return None
    # The deepest curve size (the last of curve_sizes, without listing them): the depth
    # floored to a whole count, as the walk summed it when a step ends there.
    last = steps[-1]
    deepest = last.to_integral_value(ROUND_FLOOR)
    if deepest < min_size:
        return None
    if last == deepest:
        deepest = last  # the usual case: the walk ends on a whole count
    else:  # it ends inside a unit: the step before may end on the floor
        for s in reversed(steps):
            if s <= deepest:
                deepest = s if s == deepest else deepest
                break
    # price_point(deepest, …), written out: this is every profitable update's path.
    fa = leg_fill(a, deepest, units_a)
    fb = leg_fill(b, deepest, units_b)
    cost = fa.notional + fb.notional + fa.fee + fb.fee
    if deepest > cost:
        return _make(Point, (deepest, cost, fa, fb))
    for size in reversed(curve_sizes(steps, min_size)[:-1]):
        point = price_point(size, a, b, units_a, units_b)
        if point.size > point.cost:
            return point
    return None


def size_roi_curve(
    a: Ladder, b: Ladder, units_a: FeeUnits, units_b: FeeUnits, min_size: Decimal
) -> tuple[CurvePoint, ...]:
    """An opportunity's curve: every curve size up to the deepest with a positive edge."""
    points = [
        price_point(s, a, b, units_a, units_b)
        for s in curve_sizes(walk_steps(a, b, units_a, units_b), min_size)
    ]
    while points and points[-1].size <= points[-1].cost:
        points.pop()
    return tuple(p.curve_point() for p in points)


def walk(
    a: Ladder, b: Ladder, fa: FeeSchedule, fb: FeeSchedule, min_size: Decimal = ONE
) -> tuple[list[CurvePoint], Decimal] | None:
    """The whole size–ROI curve (losing points included) and the depth-aware size, or
    ``None`` when not even ``min_size`` pairs pay at the margin."""
    ua, ub = fee_units(fa), fee_units(fb)
    steps = walk_steps(a, b, ua, ub)
    sizes = curve_sizes(steps, min_size)
    if not sizes:
        return None
    curve = [price_point(s, a, b, ua, ub).curve_point() for s in sizes]
    return curve, steps[-1].to_integral_value(ROUND_FLOOR)
