"""The fast path: the deepest curve point's figures, without building the curve.

A profitable pair is walked once by :func:`walk_top`, with one comparison, one addition
and one subtraction per step; then what the deepest point needs is summed per leg (limit
price, notional, fee, size): the opportunity's figures. Every figure equals
:func:`~worker.engine.scanner.curve.walk_legs`'s for that point, in value and in Decimal
representation (``tests/worker/engine/scanner/test_detection_equivalence.py``).
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from worker.domain.books import PriceLevel
from worker.domain.money import ONE, ZERO
from worker.engine.scanner.curve import LegFill, rewalk_point
from worker.engine.scanner.units import FeeUnits

_Top = tuple[LegFill, LegFill, Decimal, Decimal]
#: ``walk_top``'s answer when the deepest point has no edge: choose among all points.
ALL_POINTS: _Top = ((ZERO, ZERO, ZERO, ZERO), (ZERO, ZERO, ZERO, ZERO), ZERO, ZERO)


def walk_top(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    units_a: FeeUnits,
    units_b: FeeUnits,
    min_size: Decimal = ONE,
) -> _Top | None:
    """The eager part of :func:`walk_legs`: the deepest curve point's figures only.

    Same steps, same stopping rule, same sizes (values and Decimal exponents) as
    :func:`walk_legs`, but no curve. The loop only moves through the levels: a step buys
    what is left of the level that runs out first (on a tie, of ``b``'s, as
    :func:`walk_legs` does), so it costs one comparison, one addition and one subtraction,
    plus the next level's marginal cost from the fee-unit table. The deepest point is
    where :func:`walk_legs` records its last curve point: the final step's size when it
    is whole, else the step before it when that one ends exactly on the floored size,
    else a re-walked point at the floored size (:func:`rewalk_point`, as :func:`walk_legs`
    closes a fractional curve); when several fractional steps fall inside the last unit,
    the steps are replayed to find it (:func:`_last_whole`). That one point's per-leg
    fees and notional are then summed over the levels it uses (:func:`_leg_at`).

    Returns ``None`` when :func:`walk_legs` would (no profitable top, or less than
    ``min_size``), ``(kalshi LegFill, poly LegFill, size, cost)`` when the deepest point
    has a positive edge — it is then the opportunity's point, as the curve is cut after
    the deepest positive point — and :data:`ALL_POINTS` when it has none, so the caller
    walks the full curve to find the deepest one that has.
    """
    if not a or not b:
        return None
    la, lb = a[0], b[0]
    ka = units_a[la.price][1]
    _, kb, room_b = units_b[lb.price]
    if ka >= room_b:  # ka + kb >= 1: not even the top pair pays
        return None
    na, nb = len(a), len(b)
    i = j = 0
    ra, rb = la.size, lb.size  # what is left of the current levels
    cum = ZERO
    # The size after the latest step and the levels it bought on; the same for the step
    # before it (``None``: there is none).
    last_i = last_j = before_i = before_j = 0
    before: Decimal | None = None
    last: Decimal | None = None
    while True:
        if ra < rb:
            cum += ra
            rb -= ra
            a_out, b_out = True, False
        else:
            cum += rb
            if rb < ra:
                ra -= rb
                a_out = False
            else:
                a_out = True
            b_out = True
        before, before_i, before_j = last, last_i, last_j
        last, last_i, last_j = cum, i, j
        if a_out:
            i += 1
            if i >= na:
                break
            la = a[i]
            ra = la.size
            ka = units_a[la.price][1]
        if b_out:
            j += 1
            if j >= nb:
                break
            lb = b[j]
            rb = lb.size
            _, kb, room_b = units_b[lb.price]
        if ka >= room_b:  # the next marginal pair does not pay
            break
    size = cum.to_integral_value(ROUND_FLOOR)
    if size < min_size:
        return None
    point: tuple[Decimal, int, int] | None = None
    if cum == size:
        point = (cum, last_i, last_j)  # the final step ends on a whole size
    elif before is not None and before == size:
        point = (before, before_i, before_j)  # the step before ends on it
    elif before is not None and before > size:
        point = _last_whole(a, b, size)  # several fractional steps inside the last unit
    if point is None:
        # Fractional depth: walk_legs closes its curve with a re-walked point at ``size``.
        _, leg_a, leg_b = rewalk_point(size, a, b, units_a, units_b)
    else:
        # ``size`` as that point has it: the cumulative sum itself (its Decimal exponent).
        size, pi, pj = point
        leg_a = _leg_at(a, pi, size, units_a)
        leg_b = _leg_at(b, pj, size, units_b)
    cost = leg_a[1] + leg_b[1] + leg_a[2] + leg_b[2]
    if size - cost <= 0:
        return ALL_POINTS
    return leg_a, leg_b, size, cost


def _leg_at(levels: tuple[PriceLevel, ...], k: int, cum: Decimal, units: FeeUnits) -> LegFill:
    """One leg's figures at cumulative size ``cum``, reached on level ``k``.

    Levels before ``k`` are used up: their fees, notional and sizes are summed from zero in
    level order, as :func:`walk_legs` sums them when it leaves a level; level ``k``
    supplies the rest. The fee is the order's, rounded the venue's way: each level's
    rounded fee summed, or the exact total rounded once (Kalshi).
    """
    full = nfull = start = ZERO
    step, mode, per_order = units.step, units.mode, units.per_order
    for n in range(k):
        lvl = levels[n]
        p, s = lvl.price, lvl.size
        exact = s * units[p][0]
        full += exact if per_order else exact.quantize(step, mode)
        nfull += p * s
        start += s
    p = levels[k].price
    used = cum - start
    exact = used * units[p][0]
    fee = (full + exact).quantize(step, mode) if per_order else full + exact.quantize(step, mode)
    return p, nfull + p * used, fee, start + used


def _last_whole(
    a: tuple[PriceLevel, ...], b: tuple[PriceLevel, ...], size: Decimal
) -> tuple[Decimal, int, int] | None:
    """The step of :func:`walk_top`'s walk whose cumulative size equals ``size`` (a
    whole number), with its levels; ``None`` when none does. Replays the same steps."""
    i = j = 0
    ra, rb = a[0].size, b[0].size
    cum = ZERO
    while cum < size and i < len(a) and j < len(b):
        if ra < rb:
            cum += ra
            rb -= ra
            step = (cum, i, j)
            i += 1
            ra = a[i].size if i < len(a) else ZERO
        else:
            cum += rb
            step = (cum, i, j)
            if rb < ra:
                ra -= rb
            else:
                i += 1
                ra = a[i].size if i < len(a) else ZERO
            j += 1
            rb = b[j].size if j < len(b) else ZERO
        if cum == size:
            return step
    return None
