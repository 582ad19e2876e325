"""Fee- and depth-aware arbitrage detection on one mapped pair.

For a mapping (Kalshi market K whose YES pays if team T wins; Polymarket contract S
paying on T, O paying on the other team) there are two ways to lock $1 per pair:

* ``KALSHI_YES``: buy K YES + buy O;
* ``KALSHI_NO``: buy K NO + buy S.

Both ask ladders are walked together, level by level. A step is taken while the
*marginal* pair is profitable: ``1 − pa − pb − ua − ub > 0``, where ``u`` is a venue's
exact fee of one contract at that price for the market's own schedule (Kalshi
0.07·p·(1−p), Polymarket rate·(p(1−p))^exponent, Polymarket US 0.003·p). The reported
cost then uses each venue's fee rounding exactly as the venue applies it to one order
that sweeps several levels (see :class:`~worker.domain.fees.FeeRounding`): Kalshi rounds
the order's exact total up to the cent once; Polymarket rounds each fill (one per level)
up at 5 decimals and Polymarket US each execution to the cent with banker's rounding,
and the order pays the sum. A leg's fee at a point is made from that point's fills the
way the venue rounds them, never from the walk's marginal (unrounded) units: banker's
rounding can round a level's fee down, so the marginal units neither bound nor equal it.
Sizes are whole contracts (Kalshi trades whole counts).

Hot path (a book update must be evaluated in microseconds; see ``bench/detection.py``):

* most updates do not make a pair profitable at the top of book; that case is rejected
  before any walk: by the scanner, from the marginal cost of each slot's best level that
  it computed when the book arrived, or here by one comparison;
* everything about a pair that does not change with the books (fee-unit tables and
  rounding steps, rules comparison, volume, expiry, labels, ids, each direction's
  opportunity template) is computed once in :func:`build_pair`;
* a profitable pair is walked once by :func:`walk_top`, which moves through the levels
  with one comparison, one addition and one subtraction per step and then sums what the
  deepest curve point needs (per leg: limit price, notional, fee, size) — the
  opportunity's figures; an unchanged quote returns the open opportunity as it is; the
  size–ROI curve is a :class:`~worker.domain.mapping.Deferred` of
  :func:`opportunity_curve` over the same immutable ladders, built on first read. When
  the deepest point has no edge (per-order fee rounding), the full curve is walked at
  once to find the deepest point that has;
* :func:`walk_legs` (the curve) is one pass that also carries the leg figures of every
  point, takes the minimum-size point on the way, and re-walks only for a fractional end
  (Polymarket sizes with decimals);
* a level's fee unit (the schedule's exact fee of one contract at that price), its
  marginal cost and the room it leaves under $1 come from the schedule's :class:`FeeUnits`
  table (one look-up per level), which also carries the venue's rounding; a leg's fee at
  a point is then one product per level and one ``quantize`` per order (Kalshi) or per
  level (Polymarket, Polymarket US), exactly :meth:`FeeSchedule.order_fee`'s value and
  representation for the prices and sizes a validated book holds.

Every figure equals, in value and in Decimal representation, what the original eager
code (walk the curve, then re-walk the books for the chosen size) gives: see
``tests/unit/scanner/test_detection_equivalence.py``.
All of it is Decimal; no float is involved anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeModel, FeeSchedule
from worker.domain.mapping import (
    CurvePoint,
    Deferred,
    Direction,
    Leg,
    MarketMapping,
    Opportunity,
    RulesCheck,
    opportunity_id,
)
from worker.domain.markets import ContractRef, Market
from worker.domain.money import ONE, ZERO
from worker.domain.slots import slot_setters
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

#: What a leg buys at one curve point: (limit price, Σ price×size, fee, Σ size) of that
#: leg, each summed level by level from zero as one order buying the levels would.
LegFill = tuple[Decimal, Decimal, Decimal, Decimal]


class FeeUnits(dict[Decimal, tuple[Decimal, Decimal, Decimal]]):
    """One fee schedule's units by price: ``p ↦ (u, k, 1 − k)`` with ``u`` the schedule's
    exact fee of one contract bought at ``p`` (:meth:`FeeSchedule.unit`) and ``k = p + u``,
    plus the venue's rounding of an order's fee (``step``, ``mode``, ``per_order``).

    Money rule: a leg's fee is ``Σ count × u`` rounded with ``(step, mode)`` once per order
    (``per_order``) or per level, exactly :meth:`FeeSchedule.order_fee`'s value and
    representation: the venue formula is a product of exact Decimals (prices have a few
    decimals, counts a few more; far below the 28 digits of the context), so grouping the
    per-level factor first changes nothing. The unit is also the marginal fee of one more
    contract at ``p``, which the walk needs anyway.

    ``k`` is the marginal cost of one contract at ``p`` and ``1 − k`` the room it leaves
    under $1, so that "the marginal pair does not pay", ``ka + kb ≥ 1``, is the single
    comparison ``ka ≥ 1 − kb`` (exact: these Decimals have a few digits, far below the
    context's 28). Prices lie on a venue's tick grid, so a handful of entries serve every
    book: one dictionary look-up replaces the Decimal operations of a level (hot path).
    Keyed by value: ``0.56`` and ``0.5600`` share an entry, which is safe because the unit
    is only ever compared or multiplied and then quantized to the fee step (same value,
    the step's exponent). Bounded: past :attr:`LIMIT` prices a unit is computed and not
    kept.
    """

    LIMIT = 20_000  # a 0.0001 tick has 10,001 prices on [0, 1]
    __slots__ = ("mode", "per_order", "schedule", "step")

    def __init__(self, schedule: FeeSchedule) -> None:
        super().__init__()
        self.schedule = schedule
        rounding = schedule.rounding
        self.step = rounding.step
        self.mode = rounding.mode
        self.per_order = rounding.per_order

    def __missing__(self, price: Decimal) -> tuple[Decimal, Decimal, Decimal]:
        unit = self.schedule.unit(price)
        cost = price + unit
        found = (unit, cost, ONE - cost)
        if len(self) < self.LIMIT:
            self[price] = found
        return found


_FEE_UNITS: dict[FeeSchedule, FeeUnits] = {}
_NO_FEES = FeeSchedule.none(FeeModel.KALSHI)


def fee_units(schedule: FeeSchedule) -> FeeUnits:
    """The shared :class:`FeeUnits` table of a fee schedule (schedules are values: two
    markets with the same parameters share one table)."""
    table = _FEE_UNITS.get(schedule)
    if table is None:
        table = _FEE_UNITS[schedule] = FeeUnits(schedule)
    return table


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


_leg_contract, _leg_label, _leg_price, _leg_avg, _leg_size, _leg_fee = slot_setters(
    Leg, "contract", "label", "price", "avg_price", "size", "fee"
)


def _new_leg(
    contract: ContractRef, label: str, price: Decimal, avg: Decimal, size: Decimal, fee: Decimal
) -> Leg:
    """``Leg(contract, label, price, avg, size, fee)``, filled through its slots."""
    leg = _new(Leg)
    _leg_contract(leg, contract)
    _leg_label(leg, label)
    _leg_price(leg, price)
    _leg_avg(leg, avg)
    _leg_size(leg, size)
    _leg_fee(leg, fee)
    return leg


# Opportunity is not slotted (its curve may be deferred): an opportunity is made from a
# copy of its direction's template (see ``Pair.templates``), whose keys are the fields in
# their order, the curve under its DeferredField's key, and given to the instance as its
# ``__dict__``: one C-level copy, and the constant fields are read from one place.
_CURVE_KEY: str = Opportunity.__dict__["curve"]._key
_DICT_KEYS = tuple(_CURVE_KEY if f.name == "curve" else f.name for f in fields(Opportunity))
_set_dict = Opportunity.__dict__["__dict__"].__set__


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
    rules: RulesCheck  # for the direction whose Kalshi leg is YES
    expected_resolution: datetime | None
    directions: tuple[PairLegs, PairLegs]
    #: ``mapping.id`` and the per-direction opportunity ids, hashed once (hot path).
    mapping_id: str = ""
    opportunity_ids: dict[Direction, str] = field(default_factory=dict)
    #: Game start (expiry of the opportunities), ``None`` when no venue gives one.
    expires_at: datetime | None = None
    volume: Decimal | None = None  # the Polymarket side's (dollars); never plus Kalshi's
    kalshi_volume: Decimal | None = None  # contracts
    min_size: Decimal = ONE
    #: Each market's fee units and rounding (see :class:`FeeUnits`).
    kalshi_units: FeeUnits = field(default_factory=lambda: fee_units(_NO_FEES))
    poly_units: FeeUnits = field(default_factory=lambda: fee_units(_NO_FEES))
    #: The rules check of the direction whose Kalshi leg is NO (the Polymarket leg then
    #: pays on the mapped team): a tie or cancellation can pay the two directions differently.
    rules_no: RulesCheck | None = None
    #: Per direction, an opportunity's instance dict with the fields that do not change
    #: with the books filled in (see :func:`_template`).
    templates: dict[Direction, dict[str, Any]] = field(default_factory=dict)

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
    pair = Pair(
        mapping_id=mid,
        opportunity_ids={d: opportunity_id(mid, d) for d in Direction},
        mapping=mapping,
        kalshi=kalshi,
        poly=poly,
        rules=compare_rules(kalshi.rules, poly.rules, mapping.league, mapping.poly_venue, kalshi_side_yes=True),
        rules_no=compare_rules(kalshi.rules, poly.rules, mapping.league, mapping.poly_venue, kalshi_side_yes=False),
        expected_resolution=resolution,
        directions=directions,
        expires_at=start,
        volume=poly.volume,
        kalshi_volume=kalshi.volume,
        min_size=max(kalshi.min_size, poly.min_size, ONE),
        kalshi_units=fee_units(kalshi.fees),
        poly_units=fee_units(poly.fees),
    )
    pair.templates = {legs.direction: _template(pair, legs) for legs in directions}
    return pair


def _template(pair: Pair, legs: PairLegs) -> dict[str, Any]:
    """The instance dict of one direction's opportunities, constant fields filled in."""
    m = pair.mapping
    template: dict[str, Any] = dict.fromkeys(_DICT_KEYS)
    template.update(
        id=pair.opportunity_ids[legs.direction],
        mapping_id=pair.mapping_id,
        direction=legs.direction,
        league=m.league,
        event_title=m.event_title,
        game_date=m.game_date,
        confidence=m.confidence,
        volume=pair.volume,
        kalshi_volume=pair.kalshi_volume,
        expires_at=pair.expires_at,
        expected_resolution=pair.expected_resolution,
        rules=pair.rules if legs.direction is Direction.KALSHI_YES or pair.rules_no is None else pair.rules_no,
    )
    return template


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


def _point(
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
        pt, fa, fb = _point(size, a, b, units_a, units_b)
        curve.append(pt)
        legs.append((fa, fb))
    if curve[0].size > min_size:
        if at_min is None:  # only when min_size ≤ 0: the walk never crossed it
            at_min = _point(min_size, a, b, units_a, units_b)
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


def days_held(pair: Pair, now: datetime) -> Decimal:
    """Days from ``now`` to the expected resolution, floored at :data:`MIN_HOLD`."""
    hold = MIN_HOLD
    if pair.expected_resolution is not None:
        hold = max(pair.expected_resolution - now, MIN_HOLD)
    # Whole seconds (hold is positive, so its ``seconds`` carry no sign): integers only.
    return Decimal(hold.days * 86400 + hold.seconds) / _DAY_SECONDS


_Top = tuple[LegFill, LegFill, Decimal, Decimal]
#: ``walk_top``'s answer when the deepest point has no edge: choose among all points.
_ALL_POINTS: _Top = ((ZERO, ZERO, ZERO, ZERO), (ZERO, ZERO, ZERO, ZERO), ZERO, ZERO)


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
    else a re-walked point at the floored size (:func:`_point`, as :func:`walk_legs`
    closes a fractional curve); when several fractional steps fall inside the last unit,
    the steps are replayed to find it (:func:`_last_whole`). That one point's per-leg
    fees and notional are then summed over the levels it uses (:func:`_leg_at`).

    Returns ``None`` when :func:`walk_legs` would (no profitable top, or less than
    ``min_size``), ``(kalshi LegFill, poly LegFill, size, cost)`` when the deepest point
    has a positive edge — it is then the opportunity's point, as the curve is cut after
    the deepest positive point — and :data:`_ALL_POINTS` when it has none, so the caller
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
        _, leg_a, leg_b = _point(size, a, b, units_a, units_b)
    else:
        # ``size`` as that point has it: the cumulative sum itself (its Decimal exponent).
        size, pi, pj = point
        leg_a = _leg_at(a, pi, size, units_a)
        leg_b = _leg_at(b, pj, size, units_b)
    cost = leg_a[1] + leg_b[1] + leg_a[2] + leg_b[2]
    if size - cost <= 0:
        return _ALL_POINTS
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


def _deepest_positive(curve: list[CurvePoint]) -> int:
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
    return tuple(w.curve[: _deepest_positive(w.curve) + 1])


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
    the deepest sizes unprofitable even though each marginal pair clears. The cost is
    summed leg by leg (Σ kalshi notional + Σ poly notional + both fees), the same value
    as the curve point's.

    Hot path: in the usual case the deepest point has an edge, and :func:`walk_top` gives
    its figures without building the curve; the curve is then a
    :class:`~worker.domain.mapping.Deferred` of :func:`opportunity_curve` on the same
    immutable ladders, built on first read (equal to the eager one: tested).
    """
    # Most updates end here: the top pair does not pay after marginal fees (the same test
    # walk_top starts with, made before any call or tuple is built for it).
    if not kalshi_asks or not poly_asks:
        return None
    if pair.kalshi_units[kalshi_asks[0].price][1] >= pair.poly_units[poly_asks[0].price][2]:
        return None  # ka + kb >= 1
    return opportunity_after_top(pair, legs, kalshi_asks, poly_asks, now)


def opportunity_after_top(
    pair: Pair,
    legs: PairLegs,
    kalshi_asks: tuple[PriceLevel, ...],
    poly_asks: tuple[PriceLevel, ...],
    now: datetime,
    prev: Opportunity | None = None,
) -> Opportunity | None:
    """:func:`opportunity_from_asks` once the caller knows that both ladders have asks and
    that the top pair pays after marginal fees (the scanner knows it from its slots).

    ``prev`` is the direction's open opportunity: when the new quote is the same (see
    :meth:`~worker.domain.mapping.Opportunity.quotes`) it is returned as it is, and
    nothing is built."""
    ku, pu, min_size = pair.kalshi_units, pair.poly_units, pair.min_size
    top = walk_top(kalshi_asks, poly_asks, ku, pu, min_size)
    if top is None:
        return None
    curve: tuple[CurvePoint, ...] | Deferred | None
    if top is _ALL_POINTS:
        w = walk_legs(kalshi_asks, poly_asks, ku, pu, min_size)
        if w is None:  # pragma: no cover - walk_top said there is a size
            return None
        k = _deepest_positive(w.curve)
        if k < 0:
            return None
        leg_a, leg_b = w.leg_fills(k)
        size = w.curve[k].size
        cost = leg_a[1] + leg_b[1] + leg_a[2] + leg_b[2]
        curve = tuple(w.curve[: k + 1])
    else:
        leg_a, leg_b, size, cost = top
        curve = None  # deferred, made below once the quote is known to be new
    ka, kn, kf, kq = leg_a
    pa, pn, pf, pq = leg_b
    if prev is not None and prev.quotes(size, cost, ka, pa):
        return prev  # same quote (both legs' sizes are the size): nothing to publish
    if curve is None:
        curve = Deferred(opportunity_curve, kalshi_asks, poly_asks, ku, pu, min_size)
    edge = size - cost
    roi_pct = (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO
    d = pair.templates[legs.direction].copy()
    d["kalshi_leg"] = _new_leg(
        legs.kalshi, legs.kalshi_label, ka, kn / kq if kq else ZERO, size, kf
    )
    d["poly_leg"] = _new_leg(legs.poly, legs.poly_label, pa, pn / pq if pq else ZERO, size, pf)
    d["size"] = size
    d["cost"] = cost
    d["edge"] = edge
    d["roi_pct"] = roi_pct
    d["roi_per_day_pct"] = (roi_pct / days_held(pair, now)).quantize(ROI_STEP)
    d[_CURVE_KEY] = curve
    d["updated_at"] = now
    o = _new(Opportunity)
    _set_dict(o, d)
    return o


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
