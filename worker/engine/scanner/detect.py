"""Fee- and depth-aware arbitrage detection on one mapped pair.

For a mapping (Kalshi market K whose YES pays if team T wins; Polymarket contract S
paying on T, O paying on the other team) there are two ways to lock $1 per pair:

* ``KALSHI_YES``: buy K YES + buy O;
* ``KALSHI_NO``: buy K NO + buy S.

Both ask ladders are walked together, level by level. A step is taken while the
*marginal* pair is profitable: ``1 − pa − pb − marginal fees > 0`` with the venues'
fee rates (Kalshi 0.07·p·(1−p), Polymarket's rate, Polymarket US's coefficient). The
reported cost then uses the venues' exact fee functions with their rounding (Kalshi up to
the cent per order, Polymarket US up to the cent, Polymarket at 5 decimals), applied per
price level — an upper bound when one order sweeps several levels, exact for one level —
so an edge is never overstated. Sizes are whole contracts (Kalshi trades whole counts).

Hot path (a book update must be evaluated in a few microseconds; see
``bench/detection.py``):

* most updates do not make a pair profitable at the top of book; that case is rejected
  after a handful of Decimal operations, before any walk;
* everything about a pair that does not change with the books (fee functions, rules
  comparison, volume, expiry, labels, ids) is computed once in :func:`build_pair`;
* the walk is one pass that produces the curve *and* what the legs need (limit price,
  notional, fee per leg at every curve point), so the opportunity's own figures are read
  off the chosen point instead of re-walking the books; the minimum-size point is taken
  on the way, and only a fractional end (Polymarket sizes with decimals) re-walks;
* the venue fee formulas are applied through :func:`fee_function`, which gives exactly
  :meth:`FeeSchedule.taker_fee`'s value and representation for the prices and sizes a
  validated book holds, with one ``quantize`` instead of a call chain.

All of it is Decimal; no float is involved anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import POLYMARKET_FEE_STEP, FeeModel, FeeSchedule
from worker.domain.mapping import (
    CurvePoint,
    Direction,
    Leg,
    MarketMapping,
    Opportunity,
    RulesCheck,
    opportunity_id,
)
from worker.domain.markets import ContractRef, Market
from worker.domain.money import CENT, ONE, ZERO
from worker.engine.scanner.rules import compare_rules

HUNDRED = Decimal(100)
ROI_STEP = Decimal("0.0001")
MAX_CURVE_POINTS = 24
#: Days are floored at one hour so a game about to end does not show an absurd ROI/day.
MIN_HOLD = timedelta(hours=1)
#: Typical wall-clock length of a game, used when a venue gives no expected resolution.
GAME_LENGTH = {
    "nba": timedelta(hours=3),
    "nfl": timedelta(hours=3, minutes=30),
    "nhl": timedelta(hours=3),
}
_DAY_SECONDS = Decimal(86400)

FeeFn = Callable[[Decimal, Decimal], Decimal]
#: What a leg needs at one curve point: (limit price, Σ price×size, fee) of that leg.
LegFill = tuple[Decimal, Decimal, Decimal]


def fee_function(schedule: FeeSchedule) -> FeeFn:
    """The schedule's taker fee of one order ``(count, price)``, fast.

    Money rule: the same value, with the same exponent, as
    :meth:`FeeSchedule.taker_fee` — ``rate × count × p × (1 − p)`` computed in the same
    order, then rounded **up** to the venue's step (the cent on Kalshi and Polymarket US,
    0.00001 on Polymarket) — for any count ≥ 0 and price in [0, 1], which is all a book
    built by :meth:`OrderBook.build` holds. ``x.quantize(step, ROUND_CEILING)`` equals
    ``quantize_up(x, step).quantize(step)`` (both are ⌈x/step⌉·step with the step's
    exponent); the domain function's argument checks are skipped because the book already
    validated its levels. A model this module does not know falls back to the schedule.
    """
    rate = schedule.taker_rate
    if rate == 0:
        return _no_fee
    if schedule.model is FeeModel.KALSHI or schedule.model is FeeModel.POLYMARKET_US:
        step = CENT
    elif schedule.model is FeeModel.POLYMARKET:
        step = POLYMARKET_FEE_STEP
    else:  # pragma: no cover - every FeeModel is handled above
        return schedule.taker_fee

    def fee(count: Decimal, price: Decimal) -> Decimal:
        return (rate * (count * price * (ONE - price))).quantize(step, ROUND_CEILING)

    return fee


def _no_fee(count: Decimal, price: Decimal) -> Decimal:
    return ZERO


def _slots_builder(cls: type[Any]) -> Callable[..., Any]:
    """A positional constructor for a frozen slotted dataclass that sets the slots directly.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` field by field;
    the scanner builds curve points, legs and opportunities on the hot path, so it fills
    the same slots through their descriptors. The object is as frozen as one built by
    ``__init__`` (assignment still raises) and compares equal to it; the classes used
    here have no ``__post_init__``. Arguments are in field order, all required.
    """
    setters = tuple(cls.__dict__[f.name].__set__ for f in fields(cls))
    new = object.__new__

    def build(*values: Any) -> Any:
        obj = new(cls)
        for setter, value in zip(setters, values, strict=True):
            setter(obj, value)
        return obj

    return build


def _curve_point_builder() -> Callable[[Decimal, Decimal, Decimal, Decimal], CurvePoint]:
    # Unrolled: CurvePoint is the object built most often (one per depth step).
    d = CurvePoint.__dict__
    size, cost, edge, roi = (d[n].__set__ for n in ("size", "cost", "edge", "roi_pct"))
    new = object.__new__

    def build(s: Decimal, c: Decimal, e: Decimal, r: Decimal) -> CurvePoint:
        p = new(CurvePoint)
        size(p, s)
        cost(p, c)
        edge(p, e)
        roi(p, r)
        return p

    return build


_new_point = _curve_point_builder()
_new_leg: Callable[..., Leg] = _slots_builder(Leg)
_new_opportunity: Callable[..., Opportunity] = _slots_builder(Opportunity)


@dataclass(frozen=True, slots=True)
class PairLegs:
    """What one direction buys: the Kalshi side and the Polymarket contract."""

    direction: Direction
    kalshi: ContractRef
    kalshi_label: str
    poly: ContractRef
    poly_label: str


@dataclass(slots=True, eq=False)
class Pair:
    """A mapping with its two markets, precomputed once (rules, resolution, legs, fees).

    Nothing here changes with the books; a book update only reads it. Compared by
    identity: one ``Pair`` object per tracked mapping.
    """

    mapping: MarketMapping
    kalshi: Market
    poly: Market
    rules: RulesCheck
    expected_resolution: datetime | None
    directions: tuple[PairLegs, PairLegs]
    #: ``mapping.id`` and the per-direction opportunity ids, hashed once (hot path).
    mapping_id: str = ""
    opportunity_ids: dict[Direction, str] = field(default_factory=dict)
    #: Game start (expiry of the opportunities), ``None`` when no venue gives one.
    expires_at: datetime | None = None
    volume: Decimal = ZERO
    min_size: Decimal = ONE
    kalshi_fee: FeeFn = _no_fee
    poly_fee: FeeFn = _no_fee
    kalshi_rate: Decimal = ZERO
    poly_rate: Decimal = ZERO

    @property
    def contracts(self) -> tuple[ContractRef, ...]:
        return tuple({c for d in self.directions for c in (d.kalshi, d.poly)})


def _poly_label(poly: Market, ref: ContractRef) -> str:
    for o in poly.outcomes:
        if o.contract_id == ref.contract_id and o.side is ref.side:
            return o.display()
    return str(ref)


def build_pair(mapping: MarketMapping, kalshi: Market, poly: Market) -> Pair:
    """Precompute everything about a mapped pair that does not change with the books."""
    resolution = kalshi.close_time
    start = mapping.start_time or kalshi.start_time or poly.start_time
    if resolution is None and start is not None:
        resolution = start + GAME_LENGTH.get(mapping.league, timedelta(hours=3))
    yes = mapping.kalshi_yes
    no = mapping.kalshi_no
    directions = (
        PairLegs(
            Direction.KALSHI_YES,
            yes,
            f"YES {yes.contract_id}",
            mapping.poly_other,
            _poly_label(poly, mapping.poly_other),
        ),
        PairLegs(
            Direction.KALSHI_NO,
            no,
            f"NO {no.contract_id}",
            mapping.poly_same,
            _poly_label(poly, mapping.poly_same),
        ),
    )
    mid = mapping.id
    return Pair(
        mapping_id=mid,
        opportunity_ids={d: opportunity_id(mid, d) for d in Direction},
        mapping=mapping,
        kalshi=kalshi,
        poly=poly,
        rules=compare_rules(kalshi.rules, poly.rules),
        expected_resolution=resolution,
        directions=directions,
        expires_at=start,
        volume=(kalshi.volume or ZERO) + (poly.volume or ZERO),
        min_size=max(kalshi.min_size, poly.min_size, ONE),
        kalshi_fee=fee_function(kalshi.fees),
        poly_fee=fee_function(poly.fees),
        kalshi_rate=kalshi.fees.taker_rate,
        poly_rate=poly.fees.taker_rate,
    )


def _roi(edge: Decimal, cost: Decimal) -> Decimal:
    """ROI in percent on cost, to 0.0001 % (zero for a zero cost, which only free asks give)."""
    return (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO


def _take(levels: tuple[PriceLevel, ...], size: Decimal) -> list[tuple[Decimal, Decimal]]:
    out: list[tuple[Decimal, Decimal]] = []
    left = size
    for lvl in levels:
        if left <= 0:
            break
        q = lvl.size if lvl.size < left else left
        out.append((lvl.price, q))
        left -= q
    return out


def _fill(levels: tuple[PriceLevel, ...], size: Decimal, fee: FeeFn) -> LegFill:
    """(limit price, Σ price×size, fee summed per level) of buying ``size`` off ``levels``."""
    fills = _take(levels, size)
    notional = sum((p * q for p, q in fills), ZERO)
    fees = ZERO
    for p, q in fills:
        fees += fee(q, p)
    return (fills[-1][0] if fills else ZERO), notional, fees


def _point(
    size: Decimal,
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fee_a: FeeFn,
    fee_b: FeeFn,
) -> tuple[CurvePoint, LegFill, LegFill]:
    """One curve point by re-walking both ladders (only for the rare fractional end)."""
    la = _fill(a, size, fee_a)
    lb = _fill(b, size, fee_b)
    cost = la[1] + lb[1] + la[2] + lb[2]
    edge = size - cost
    return CurvePoint(size, cost, edge, _roi(edge, cost)), la, lb


@dataclass(slots=True)
class Walk:
    """The size–ROI curve of a direction and, per point, what each leg buys.

    ``legs[k]`` belongs to ``curve[k]``: ``(kalshi LegFill, poly LegFill)``. ``size`` is the
    depth-aware size (whole contracts) up to which the marginal pair stays profitable.
    """

    curve: list[CurvePoint]
    legs: list[tuple[LegFill, LegFill]]
    size: Decimal


def walk_legs(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fee_a: FeeFn,
    fee_b: FeeFn,
    rate_a: Decimal,
    rate_b: Decimal,
    min_size: Decimal = ONE,
) -> Walk | None:
    """Walk two ask ladders in one pass; ``None`` when not even the top pair pays.

    A step buys ``q`` pairs at the current levels ``(pa, pb)`` while the marginal pair
    clears ``1 − pa − pb − rate_a·pa·(1−pa) − rate_b·pb·(1−pb) > 0``. At each whole
    cumulative size ≥ ``min_size`` a curve point is recorded: the cost is the notional
    plus, per leg, the exact fees of the fully used levels (each computed once, when the
    level is used up) and of the partly used current level. The point at ``min_size`` is
    taken where the walk crosses it; the curve is thinned to ``MAX_CURVE_POINTS`` keeping
    the deepest point.
    """
    if not a or not b:
        return None
    la, lb = a[0], b[0]
    pa, pb = la.price, lb.price
    # Marginal cost of one more pair on each side: price plus the marginal fee.
    ka = pa + rate_a * pa * (ONE - pa)
    kb = pb + rate_b * pb * (ONE - pb)
    if ka + kb >= ONE:
        return None
    na, nb = len(a), len(b)
    i = j = 0
    ra, rb = la.size, lb.size
    used_a = used_b = ZERO
    full_a = full_b = ZERO  # fees of the fully used levels so far
    cum = not_a = not_b = ZERO
    curve: list[CurvePoint] = []
    legs: list[tuple[LegFill, LegFill]] = []
    at_min: tuple[CurvePoint, LegFill, LegFill] | None = None
    while True:
        q = ra if ra < rb else rb
        prev = cum
        cum += q
        if at_min is None and prev < min_size <= cum:
            # The point at exactly min_size lies inside this step (same levels).
            d = min_size - prev
            m_la = (pa, not_a + pa * d, full_a + fee_a(used_a + d, pa))
            m_lb = (pb, not_b + pb * d, full_b + fee_b(used_b + d, pb))
            m_cost = m_la[1] + m_lb[1] + m_la[2] + m_lb[2]
            m_edge = min_size - m_cost
            at_min = (_new_point(min_size, m_cost, m_edge, _roi(m_edge, m_cost)), m_la, m_lb)
        not_a += pa * q
        not_b += pb * q
        used_a += q
        used_b += q
        ra -= q
        rb -= q
        fa_part = fb_part = None
        if cum >= min_size and cum == cum.to_integral_value():
            fa_part = fee_a(used_a, pa)
            fb_part = fee_b(used_b, pb)
            fa_tot = full_a + fa_part
            fb_tot = full_b + fb_part
            cost = not_a + not_b + fa_tot + fb_tot
            edge = cum - cost
            curve.append(_new_point(cum, cost, edge, _roi(edge, cost)))
            legs.append(((pa, not_a, fa_tot), (pb, not_b, fb_tot)))
        if ra <= 0:
            full_a += fee_a(used_a, pa) if fa_part is None else fa_part
            used_a = ZERO
            i += 1
            if i < na:
                la = a[i]
                pa, ra = la.price, la.size
                ka = pa + rate_a * pa * (ONE - pa)
        if rb <= 0:
            full_b += fee_b(used_b, pb) if fb_part is None else fb_part
            used_b = ZERO
            j += 1
            if j < nb:
                lb = b[j]
                pb, rb = lb.price, lb.size
                kb = pb + rate_b * pb * (ONE - pb)
        if i >= na or j >= nb or ka + kb >= ONE:
            break
    size = cum.to_integral_value(rounding=ROUND_FLOOR)
    if size < min_size:
        return None
    if not curve or curve[-1].size != size:
        # Fractional depth (Polymarket sizes have decimals): close the curve at a whole count.
        pt, fa, fb = _point(size, a, b, fee_a, fee_b)
        curve.append(pt)
        legs.append((fa, fb))
    if curve[0].size > min_size:
        if at_min is None:  # only when min_size ≤ 0: the walk never crossed it
            at_min = _point(min_size, a, b, fee_a, fee_b)
        curve.insert(0, at_min[0])
        legs.insert(0, (at_min[1], at_min[2]))
    if len(curve) > MAX_CURVE_POINTS:
        step = len(curve) / MAX_CURVE_POINTS
        keep = [int(k * step) for k in range(MAX_CURVE_POINTS - 1)] + [len(curve) - 1]
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
    w = walk_legs(a, b, fee_function(fa), fee_function(fb), fa.taker_rate, fb.taker_rate, min_size)
    return None if w is None else (w.curve, w.size)


def days_held(pair: Pair, now: datetime) -> Decimal:
    """Days from ``now`` to the expected resolution, floored at :data:`MIN_HOLD`."""
    hold = MIN_HOLD
    if pair.expected_resolution is not None:
        hold = max(pair.expected_resolution - now, MIN_HOLD)
    return Decimal(int(hold.total_seconds())) / _DAY_SECONDS


def opportunity_from_asks(
    pair: Pair,
    legs: PairLegs,
    kalshi_asks: tuple[PriceLevel, ...],
    poly_asks: tuple[PriceLevel, ...],
    now: datetime,
) -> Opportunity | None:
    """The opportunity of one direction given both legs' asks, or ``None``.

    ``None`` when no size has a positive edge after both venues' fees. The figures
    (size, cost, edge, ROI, the legs' limit and average prices and fees) are those of the
    deepest curve point whose edge is still positive: per-order fee rounding can make
    the deepest sizes unprofitable even though each marginal pair clears.
    """
    w = walk_legs(
        kalshi_asks,
        poly_asks,
        pair.kalshi_fee,
        pair.poly_fee,
        pair.kalshi_rate,
        pair.poly_rate,
        pair.min_size,
    )
    if w is None:
        return None
    curve = w.curve
    k = len(curve) - 1
    while k >= 0 and curve[k].edge <= 0:
        k -= 1
    if k < 0:
        return None
    best = curve[k]
    (ka, kn, kf), (pa, pn, pf) = w.legs[k]
    size = best.size
    roi_day = (best.roi_pct / days_held(pair, now)).quantize(ROI_STEP)
    m = pair.mapping
    return _new_opportunity(
        pair.opportunity_ids[legs.direction],
        pair.mapping_id,
        legs.direction,
        m.league,
        m.event_title,
        m.game_date,
        m.confidence,
        _new_leg(legs.kalshi, legs.kalshi_label, ka, kn / size, size, kf),
        _new_leg(legs.poly, legs.poly_label, pa, pn / size, size, pf),
        size,
        best.cost,
        best.edge,
        best.roi_pct,
        roi_day,
        tuple(curve[: k + 1]),
        pair.volume,
        pair.expires_at,
        pair.expected_resolution,
        pair.rules,
        now,
    )


def evaluate_direction(
    pair: Pair, legs: PairLegs, books: Mapping[ContractRef, OrderBook], now: datetime
) -> Opportunity | None:
    """The opportunity of one direction, or ``None`` when no size has a positive edge."""
    kb = books.get(legs.kalshi)
    pb = books.get(legs.poly)
    if kb is None or pb is None:
        return None
    return opportunity_from_asks(pair, legs, kb.asks, pb.asks, now)


def evaluate_pair(
    pair: Pair, books: Mapping[ContractRef, OrderBook], now: datetime
) -> dict[Direction, Opportunity | None]:
    """Both directions of a pair."""
    return {d.direction: evaluate_direction(pair, d, books, now) for d in pair.directions}
