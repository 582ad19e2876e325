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

This module builds an opportunity from the parts (a book update must be evaluated in
microseconds; see ``bench/detection.py``):

* :mod:`~worker.engine.scanner.pair` — :func:`build_pair` computes once what does not
  change with the books (rules, volume, expiry, labels, ids, opportunity templates);
* :mod:`~worker.engine.scanner.units` — each schedule's :class:`FeeUnits` table gives a
  level's fee unit, marginal cost and room under $1 in one look-up;
* most updates do not make a pair profitable at the top of book: that is rejected before
  any walk, by the scanner from its book slots or here by one comparison;
* :mod:`~worker.engine.scanner.deepest` — a profitable pair is walked once by
  :func:`walk_top` for the deepest curve point's figures; an unchanged quote returns the
  open opportunity as it is;
* :mod:`~worker.engine.scanner.curve` — the size–ROI curve (:func:`walk_legs`) is a
  :class:`~worker.domain.mapping.Deferred` of :func:`opportunity_curve` over the same
  immutable ladders, built on first read; when the deepest point has no edge (per-order
  fee rounding), it is walked at once to find the deepest point that has.

Every figure equals, in value and in Decimal representation, what the original eager
code (walk the curve, then re-walk the books for the chosen size) gives: see
``tests/worker/engine/scanner/test_detection_equivalence.py``.
All of it is Decimal; no float is involved anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.mapping import CurvePoint, Deferred, Direction, Leg, Opportunity
from worker.domain.markets import ContractRef
from worker.domain.money import ZERO
from worker.domain.slots import slot_setters
from worker.engine.scanner.curve import (
    HUNDRED,
    MAX_CURVE_POINTS,
    ROI_STEP,
    LegFill,
    Walk,
    deepest_positive,
    opportunity_curve,
    walk,
    walk_legs,
)
from worker.engine.scanner.deepest import ALL_POINTS, walk_top
from worker.engine.scanner.pair import (
    CURVE_KEY,
    GAME_LENGTH,
    MIN_HOLD,
    Pair,
    PairLegs,
    build_pair,
    days_held,
)
from worker.engine.scanner.units import FeeUnits, fee_units

__all__ = [
    "GAME_LENGTH",
    "HUNDRED",
    "MAX_CURVE_POINTS",
    "MIN_HOLD",
    "ROI_STEP",
    "FeeUnits",
    "LegFill",
    "Pair",
    "PairLegs",
    "Walk",
    "build_pair",
    "days_held",
    "evaluate_direction",
    "evaluate_pair",
    "fee_units",
    "opportunity_after_top",
    "opportunity_curve",
    "opportunity_from_asks",
    "slot_setters",
    "walk",
    "walk_legs",
    "walk_top",
]

_new = object.__new__
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


# An opportunity's instance dict is a copy of its direction's template (see
# ``Pair.templates``), given to the instance as its ``__dict__``: one C-level copy.
_set_dict = Opportunity.__dict__["__dict__"].__set__


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
    if top is ALL_POINTS:
        w = walk_legs(kalshi_asks, poly_asks, ku, pu, min_size)
        if w is None:  # pragma: no cover - walk_top said there is a size
            return None
        k = deepest_positive(w.curve)
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
    d[CURVE_KEY] = curve
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
