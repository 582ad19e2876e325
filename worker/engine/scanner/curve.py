"""The size–ROI curve of one direction: both ask ladders walked together, level by level.

:func:`walk_legs` is one pass that records a curve point at every whole cumulative size
(cost, edge, ROI and what each leg buys there), takes the point at the minimum size on
the way, and re-walks the books only for a fractional end (Polymarket sizes have
decimals). It is the reference the fast path (:func:`~worker.engine.scanner.deepest.walk_top`)
must agree with, and what an opportunity's deferred curve (:func:`opportunity_curve`) is
built from on first read. Fee rules: see :mod:`~worker.engine.scanner.detect`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from worker.domain.books import PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import CurvePoint
from worker.domain.money import ONE, ZERO
from worker.domain.slots import slot_setters
from worker.engine.scanner.units import FeeUnits, fee_units

HUNDRED = Decimal(100)
ROI_STEP = Decimal("0.0001")
MAX_CURVE_POINTS = 24

#: What a leg buys at one curve point: (limit price, Σ price×size, fee, Σ size) of that
#: leg, each summed level by level from zero as one order buying the levels would.
LegFill = tuple[Decimal, Decimal, Decimal, Decimal]

_new = object.__new__
_cp_size, _cp_cost, _cp_edge, _cp_roi, _cp_ka, _cp_pa = slot_setters(
    CurvePoint, "size", "cost", "edge", "roi_pct", "kalshi_price", "poly_price"
)


def _new_point(
    size: Decimal, cost: Decimal, edge: Decimal, roi_pct: Decimal, price_a: Decimal, price_b: Decimal
) -> CurvePoint:
    """A curve point; ``price_a`` / ``price_b`` are the limits of the walk's ladders ``a``
    (Kalshi) and ``b`` (Polymarket) for this size."""
    p = _new(CurvePoint)
    _cp_size(p, size)
    _cp_cost(p, cost)
    _cp_edge(p, edge)
    _cp_roi(p, roi_pct)
    _cp_ka(p, price_a)
    _cp_pa(p, price_b)
    return p


def _roi(edge: Decimal, cost: Decimal) -> Decimal:
    """ROI in percent on cost, to 0.0001 % (zero for a zero cost, which only free asks give)."""
    return (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO


def _fill(levels: tuple[PriceLevel, ...], size: Decimal, units: FeeUnits) -> LegFill:
    """(limit price, Σ price×size, fee, Σ size) of one order buying ``size`` off ``levels``,
    its fee rounded the venue's way (the order's exact total once, or each level)."""
    left = size
    price = notional = fees = qty = ZERO
    step, mode, per_order = units.step, units.mode, units.per_order
    for lvl in levels:
        if left <= 0:
            break
        price = lvl.price
        q = lvl.size if lvl.size < left else left
        notional += price * q
        exact = q * units[price][0]
        fees += exact if per_order else exact.quantize(step, mode)
        qty += q
        left -= q
    if per_order:
        fees = fees.quantize(step, mode)
    return price, notional, fees, qty


def rewalk_point(
    size: Decimal,
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    units_a: FeeUnits,
    units_b: FeeUnits,
) -> tuple[CurvePoint, LegFill, LegFill]:
    """One curve point by re-walking both ladders (only for the rare fractional end)."""
    la = _fill(a, size, units_a)
    lb = _fill(b, size, units_b)
    cost = la[1] + lb[1] + la[2] + lb[2]
    edge = size - cost
    return _new_point(size, cost, edge, _roi(edge, cost), la[0], lb[0]), la, lb


@dataclass(slots=True)
class Walk:
    """The size–ROI curve of a direction and, per point, what each leg buys.

    ``legs[k]`` belongs to ``curve[k]``; :meth:`leg_fills` turns it into ``(kalshi
    LegFill, poly LegFill)`` (only the chosen point's are ever needed, so the walk keeps
    the raw figures). ``size`` is the depth-aware size (whole contracts) up to which the
    marginal pair stays profitable.
    """

    curve: list[CurvePoint]
    legs: list[tuple[Any, ...]]
    size: Decimal

    def leg_fills(self, k: int) -> tuple[LegFill, LegFill]:
        m = self.legs[k]
        if len(m) == 2:  # made by a re-walk: already LegFills
            return m[0], m[1]
        # (price, used of the current level, notional / fee / size of the full levels)
        return (
            (m[0], m[2] + m[0] * m[1], m[3], m[4] + m[1]),
            (m[5], m[7] + m[5] * m[6], m[8], m[9] + m[6]),
        )


def walk_legs(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    units_a: FeeUnits,
    units_b: FeeUnits,
    min_size: Decimal = ONE,
) -> Walk | None:
    """Walk two ask ladders in one pass; ``None`` when not even the top pair pays.

    A step buys ``q`` pairs at the current levels ``(pa, pb)`` while the marginal pair
    clears ``1 − pa − pb − ua − ub > 0`` (``u``: the exact fee of one contract at that
    price, see :class:`FeeUnits`). At each whole cumulative size ≥ ``min_size`` a curve
    point is recorded: the cost is the notional plus, per leg, the fee of one order buying
    that size, rounded the venue's way. For a venue that rounds per fill, the rounded fees
    of the fully used levels are summed once each, when the level is used up, and the
    partly used current level's fee is added; for one that rounds the order's total
    (Kalshi), the fully used levels' exact fees are summed and the point's total, with the
    current level's exact part, is rounded once. The point at ``min_size`` is taken where
    the walk crosses it; the curve is thinned to ``MAX_CURVE_POINTS`` keeping the deepest
    point. Each point also records, per leg, the limit price, the notional and the fee, so
    the opportunity's figures need no second pass over the books.
    """
    if not a or not b:
        return None
    la, lb = a[0], b[0]
    pa, pb = la.price, lb.price
    # The per-contract fee unit at a price is also the marginal fee there.
    ua, ka, _ = units_a[pa]
    ub, kb, _ = units_b[pb]
    if ka + kb >= ONE:
        return None
    step_a, mode_a, po_a = units_a.step, units_a.mode, units_a.per_order
    step_b, mode_b, po_b = units_b.step, units_b.mode, units_b.per_order
    na, nb = len(a), len(b)
    i = j = 0
    sa, sb = la.size, lb.size  # sizes of the current levels
    ra, rb = sa, sb  # what is left of them
    # Fees of the fully used levels so far: exact (a per-order leg) or rounded per level.
    full_a = full_b = ZERO
    nfull_a = nfull_b = ZERO  # their notional, per leg
    # Their total size: what the current level holds is measured from there, the way
    # buying ``size`` level by level measures it (same value and same Decimal exponent).
    start_a = start_b = ZERO
    cum = notional = ZERO
    pab = pa + pb
    # Locals, not globals, inside the loop (a global look-up per use adds up per step).
    zero, one, hundred, roi_step = ZERO, ONE, HUNDRED, ROI_STEP
    new_point, roi = _new_point, _roi
    curve: list[CurvePoint] = []
    # Per point and leg: price, used of the current level, notional of the full levels,
    # fee, size of the full levels (the leg figures are made only for the chosen point).
    marks: list[tuple[Any, ...]] = []
    at_min: tuple[CurvePoint, LegFill, LegFill] | None = None
    while True:
        q = ra if ra < rb else rb
        prev = cum
        cum += q
        if at_min is None and prev < min_size <= cum:
            # The point at exactly min_size lies inside this step (same levels).
            u_a = min_size - start_a if start_a else min_size
            u_b = min_size - start_b if start_b else min_size
            m_fa = (
                (full_a + u_a * ua).quantize(step_a, mode_a)
                if po_a
                else full_a + (u_a * ua).quantize(step_a, mode_a)
            )
            m_fb = (
                (full_b + u_b * ub).quantize(step_b, mode_b)
                if po_b
                else full_b + (u_b * ub).quantize(step_b, mode_b)
            )
            m_la = (pa, nfull_a + pa * u_a, m_fa, start_a + u_a)
            m_lb = (pb, nfull_b + pb * u_b, m_fb, start_b + u_b)
            m_cost = m_la[1] + m_lb[1] + m_fa + m_fb
            m_edge = min_size - m_cost
            at_min = (new_point(min_size, m_cost, m_edge, roi(m_edge, m_cost), pa, pb), m_la, m_lb)
        notional += pab * q
        ra -= q
        rb -= q
        # This step's fee of the current levels (exact or rounded, as ``full`` holds them),
        # kept for when the step also uses a level up.
        fa_part = fb_part = None
        if cum >= min_size and cum == cum.to_integral_value():
            used_a = cum - start_a
            used_b = cum - start_b
            if po_a:
                fa_part = used_a * ua
                fa_tot = (full_a + fa_part).quantize(step_a, mode_a)
            else:
                fa_part = (used_a * ua).quantize(step_a, mode_a)
                fa_tot = full_a + fa_part
            if po_b:
                fb_part = used_b * ub
                fb_tot = (full_b + fb_part).quantize(step_b, mode_b)
            else:
                fb_part = (used_b * ub).quantize(step_b, mode_b)
                fb_tot = full_b + fb_part
            cost = notional + fa_tot + fb_tot
            edge = cum - cost
            roi_pct = (edge / cost * hundred).quantize(roi_step) if cost > zero else zero
            curve.append(new_point(cum, cost, edge, roi_pct, pa, pb))
            marks.append(
                (pa, used_a, nfull_a, fa_tot, start_a, pb, used_b, nfull_b, fb_tot, start_b)
            )
        if not ra:  # never negative: q is the smaller remainder
            if fa_part is None:
                fa_part = sa * ua if po_a else (sa * ua).quantize(step_a, mode_a)
            full_a += fa_part
            nfull_a += pa * sa
            start_a += sa
            i += 1
            if i < na:
                la = a[i]
                pa, sa = la.price, la.size
                ra = sa
                ua, ka, _ = units_a[pa]
                pab = pa + pb
        if not rb:
            if fb_part is None:
                fb_part = sb * ub if po_b else (sb * ub).quantize(step_b, mode_b)
            full_b += fb_part
            nfull_b += pb * sb
            start_b += sb
            j += 1
            if j < nb:
                lb = b[j]
                pb, sb = lb.price, lb.size
                rb = sb
                ub, kb, _ = units_b[pb]
                pab = pa + pb
        if i >= na or j >= nb or ka + kb >= one:
            break
    size = cum.to_integral_value(ROUND_FLOOR)
    if size < min_size:
        return None
    legs = marks
    if not curve or curve[-1].size != size:
        # Fractional depth (Polymarket sizes have decimals): close the curve at a whole count.
        pt, fa, fb = rewalk_point(size, a, b, units_a, units_b)
        curve.append(pt)
        legs.append((fa, fb))
    if curve[0].size > min_size:
        if at_min is None:  # only when min_size ≤ 0: the walk never crossed it
            at_min = rewalk_point(min_size, a, b, units_a, units_b)
        curve.insert(0, at_min[0])
        legs.insert(0, (at_min[1], at_min[2]))
    if len(curve) > MAX_CURVE_POINTS:
        stride = len(curve) / MAX_CURVE_POINTS
        keep = [int(k * stride) for k in range(MAX_CURVE_POINTS - 1)] + [len(curve) - 1]
        curve = [curve[k] for k in keep]
        legs = [legs[k] for k in keep]
    return Walk(curve, legs, size)


def walk(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fa: FeeSchedule,
    fb: FeeSchedule,
    min_size: Decimal = ONE,
) -> tuple[list[CurvePoint], Decimal] | None:
    """Walk two ask ladders; return the size–ROI curve and the depth-aware size.

    ``None`` when not even the top of book is profitable after marginal fees. See
    :func:`walk_legs`, which also returns what each leg buys at every point.
    """
    w = walk_legs(a, b, fee_units(fa), fee_units(fb), min_size)
    return None if w is None else (w.curve, w.size)


def deepest_positive(curve: list[CurvePoint]) -> int:
    k = len(curve) - 1
    while k >= 0 and curve[k].edge <= 0:
        k -= 1
    return k


def opportunity_curve(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    units_a: FeeUnits,
    units_b: FeeUnits,
    min_size: Decimal,
) -> tuple[CurvePoint, ...]:
    """An opportunity's curve: :func:`walk_legs`'s, up to the deepest positive point."""
    w = walk_legs(a, b, units_a, units_b, min_size)
    if w is None:  # pragma: no cover - only called for ladders that have an opportunity
        return ()
    return tuple(w.curve[: deepest_positive(w.curve) + 1])
