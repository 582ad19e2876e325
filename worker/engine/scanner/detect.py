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

Hot path: most book updates do not make a pair profitable at the top of book; that case
is rejected after a handful of Decimal operations, before any walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeSchedule
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
from worker.domain.money import ONE, ZERO
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


@dataclass(frozen=True, slots=True)
class PairLegs:
    """What one direction buys: the Kalshi side and the Polymarket contract."""

    direction: Direction
    kalshi: ContractRef
    kalshi_label: str
    poly: ContractRef
    poly_label: str


@dataclass(slots=True)
class Pair:
    """A mapping with its two markets, precomputed once (rules, resolution, legs)."""

    mapping: MarketMapping
    kalshi: Market
    poly: Market
    rules: RulesCheck
    expected_resolution: datetime | None
    directions: tuple[PairLegs, PairLegs]
    #: ``mapping.id`` and the per-direction opportunity ids, hashed once (hot path).
    mapping_id: str = ""
    opportunity_ids: dict[Direction, str] = field(default_factory=dict)

    @property
    def contracts(self) -> tuple[ContractRef, ...]:
        return tuple({c for d in self.directions for c in (d.kalshi, d.poly)})

    @property
    def min_size(self) -> Decimal:
        return max(self.kalshi.min_size, self.poly.min_size, ONE)


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
    )


def _marginal_fee(schedule: FeeSchedule, p: Decimal) -> Decimal:
    return schedule.taker_rate * p * (ONE - p)


def _fees(schedule: FeeSchedule, fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    total = ZERO
    for price, count in fills:
        if count > 0:
            total += schedule.taker_fee(count, price)
    return total


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


def _point(
    size: Decimal,
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fa: FeeSchedule,
    fb: FeeSchedule,
) -> tuple[
    CurvePoint, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], Decimal, Decimal
]:
    fills_a = _take(a, size)
    fills_b = _take(b, size)
    fee_a = _fees(fa, fills_a)
    fee_b = _fees(fb, fills_b)
    cost = (
        sum((p * q for p, q in fills_a), ZERO)
        + sum((p * q for p, q in fills_b), ZERO)
        + fee_a
        + fee_b
    )
    edge = size - cost
    roi = (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO
    return CurvePoint(size, cost, edge, roi), fills_a, fills_b, fee_a, fee_b


def walk(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fa: FeeSchedule,
    fb: FeeSchedule,
    min_size: Decimal = ONE,
) -> tuple[list[CurvePoint], Decimal] | None:
    """Walk two ask ladders; return the size–ROI curve and the depth-aware size.

    ``None`` when not even the top of book is profitable after marginal fees. One pass:
    each step adds ``q`` pairs at ``(pa, pb)``; the fee of a partly used level is
    recomputed with the venue function, fully used levels are summed once.
    """
    if not a or not b:
        return None
    pa, pb = a[0].price, b[0].price
    if ONE - pa - pb - _marginal_fee(fa, pa) - _marginal_fee(fb, pb) <= 0:
        return None
    i = j = 0
    ra, rb = a[0].size, b[0].size
    used_a = used_b = ZERO
    full_fee_a = full_fee_b = ZERO
    cum = notional = ZERO
    curve: list[CurvePoint] = []
    while i < len(a) and j < len(b):
        pa, pb = a[i].price, b[j].price
        if ONE - pa - pb - _marginal_fee(fa, pa) - _marginal_fee(fb, pb) <= 0:
            break
        q = ra if ra < rb else rb
        cum += q
        notional += (pa + pb) * q
        used_a += q
        used_b += q
        ra -= q
        rb -= q
        if cum >= min_size and cum == cum.to_integral_value():
            cost = (
                notional
                + full_fee_a
                + fa.taker_fee(used_a, pa)
                + full_fee_b
                + fb.taker_fee(used_b, pb)
            )
            edge = cum - cost
            curve.append(CurvePoint(cum, cost, edge, (edge / cost * HUNDRED).quantize(ROI_STEP)))
        if ra <= 0:
            full_fee_a += fa.taker_fee(used_a, pa)
            used_a = ZERO
            i += 1
            if i < len(a):
                ra = a[i].size
        if rb <= 0:
            full_fee_b += fb.taker_fee(used_b, pb)
            used_b = ZERO
            j += 1
            if j < len(b):
                rb = b[j].size
    size = cum.to_integral_value(rounding=ROUND_FLOOR)
    if size < min_size:
        return None
    if not curve or curve[-1].size != size:
        # Fractional depth (Polymarket sizes have decimals): close the curve at a whole count.
        curve.append(_point(size, a, b, fa, fb)[0])
    if curve[0].size > min_size:
        curve.insert(0, _point(min_size, a, b, fa, fb)[0])
    if len(curve) > MAX_CURVE_POINTS:
        step = len(curve) / MAX_CURVE_POINTS
        curve = [curve[int(k * step)] for k in range(MAX_CURVE_POINTS - 1)] + [curve[-1]]
    return curve, size


def _vwap(fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    qty = sum((q for _, q in fills), ZERO)
    if qty == 0:
        return ZERO
    return sum((p * q for p, q in fills), ZERO) / qty


def evaluate_direction(
    pair: Pair, legs: PairLegs, books: Mapping[ContractRef, OrderBook], now: datetime
) -> Opportunity | None:
    """The opportunity of one direction, or ``None`` when no size has a positive edge."""
    kb = books.get(legs.kalshi)
    pb = books.get(legs.poly)
    if kb is None or pb is None:
        return None
    fa, fb = pair.kalshi.fees, pair.poly.fees
    walked = walk(kb.asks, pb.asks, fa, fb, pair.min_size)
    if walked is None:
        return None
    curve, _ = walked
    # Per-order rounding can make the deepest sizes unprofitable even though each
    # marginal pair clears: report the deepest curve point that still has an edge.
    best = None
    for pt in reversed(curve):
        if pt.edge > 0:
            best = pt
            break
    if best is None:
        return None
    curve = [pt for pt in curve if pt.size <= best.size]
    point, fills_a, fills_b, fee_a, fee_b = _point(best.size, kb.asks, pb.asks, fa, fb)
    m = pair.mapping
    hold = MIN_HOLD
    if pair.expected_resolution is not None:
        hold = max(pair.expected_resolution - now, MIN_HOLD)
    days = Decimal(int(hold.total_seconds())) / _DAY_SECONDS
    roi_day = (point.roi_pct / days).quantize(ROI_STEP)
    volume = (pair.kalshi.volume or ZERO) + (pair.poly.volume or ZERO)
    return Opportunity(
        id=pair.opportunity_ids[legs.direction],
        mapping_id=pair.mapping_id,
        direction=legs.direction,
        league=m.league,
        event_title=m.event_title,
        game_date=m.game_date,
        confidence=m.confidence,
        kalshi_leg=Leg(
            legs.kalshi, legs.kalshi_label, fills_a[-1][0], _vwap(fills_a), point.size, fee_a
        ),
        poly_leg=Leg(legs.poly, legs.poly_label, fills_b[-1][0], _vwap(fills_b), point.size, fee_b),
        size=point.size,
        cost=point.cost,
        edge=point.edge,
        roi_pct=point.roi_pct,
        roi_per_day_pct=roi_day,
        curve=tuple(curve),
        volume=volume,
        expires_at=m.start_time or pair.kalshi.start_time or pair.poly.start_time,
        expected_resolution=pair.expected_resolution,
        rules=pair.rules,
        updated_at=now,
    )


def evaluate_pair(
    pair: Pair, books: Mapping[ContractRef, OrderBook], now: datetime
) -> dict[Direction, Opportunity | None]:
    """Both directions of a pair."""
    return {d.direction: evaluate_direction(pair, d, books, now) for d in pair.directions}
