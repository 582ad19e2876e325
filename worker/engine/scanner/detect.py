"""Fee- and depth-aware arbitrage detection on one mapped pair.

For a mapping (Kalshi market K whose YES pays if team T wins; Polymarket contract S
paying on T, O paying on the other team) there are two ways to lock $1 per pair:

* ``KALSHI_YES``: buy K YES + buy O;
* ``KALSHI_NO``: buy K NO + buy S.

Each direction's two ask ladders are read by :mod:`~worker.engine.scanner.depth` (walk
both while the marginal pair pays, list the curve's sizes, price a size as one order per
leg with each venue's fee rounding). What does not change with the books (rules, labels,
ids, fee tables) is computed once per mapping by :func:`~worker.engine.scanner.pair.build_pair`.

Fast path, one: most book updates leave the top pair unprofitable after marginal fees,
which one comparison of the fee tables' entries tells before any walk (the scanner makes
it from its book slots, :func:`opportunity_from_asks` here). ``bench/detection.py`` shows
it pays: most updates end there. An unchanged quote returns the open opportunity as it
is, and the size–ROI curve is built only when someone reads it
(:class:`~worker.domain.mapping.Deferred`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.deferred import Deferred
from worker.domain.mapping import Direction, Leg, Opportunity
from worker.domain.markets import ContractRef
from worker.domain.money import ZERO
from worker.domain.slots import slot_setters
from worker.engine.scanner.depth import (
    HUNDRED,
    ROI_STEP,
    LegFill,
    best_point,
    size_roi_curve,
    walk,
)
from worker.engine.scanner.pair import Pair, PairLegs, build_pair, days_held
from worker.engine.scanner.units import fee_units

__all__ = [
    "Pair",
    "PairLegs",
    "build_pair",
    "evaluate_direction",
    "evaluate_pair",
    "fee_units",
    "opportunity_after_top",
    "opportunity_from_asks",
    "walk",
]


def opportunity_from_asks(
    pair: Pair,
    legs: PairLegs,
    kalshi_asks: tuple[PriceLevel, ...],
    poly_asks: tuple[PriceLevel, ...],
    now: datetime,
) -> Opportunity | None:
    """The opportunity of one direction given both legs' asks, or ``None`` when no size
    has a positive edge after both venues' fees."""
    if not kalshi_asks or not poly_asks:
        return None
    if pair.kalshi_units[kalshi_asks[0].price][1] >= pair.poly_units[poly_asks[0].price][2]:
        return None  # the top pair does not pay: pa + ua + pb + ub >= 1
    return opportunity_after_top(pair, legs, kalshi_asks, poly_asks, now)


def opportunity_after_top(
    pair: Pair,
    legs: PairLegs,
    kalshi_asks: tuple[PriceLevel, ...],
    poly_asks: tuple[PriceLevel, ...],
    now: datetime,
    prev: Opportunity | None = None,
) -> Opportunity | None:
    """:func:`opportunity_from_asks` once the caller knows that the top pair pays.

    ``prev`` is the direction's open opportunity: when the new quote is the same (see
    :meth:`~worker.domain.mapping.Opportunity.quotes`) it is returned as it is."""
    ku, pu, min_size = pair.kalshi_units, pair.poly_units, pair.min_size
    point = best_point(kalshi_asks, poly_asks, ku, pu, min_size)
    if point is None:
        return None
    size, cost, k, p = point
    if prev is not None and prev.quotes(size, cost, k.price, p.price):
        return prev  # same quote (both legs' sizes are the size): nothing to publish
    edge = size - cost
    roi = (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO  # as roi_pct
    return pair.templates[legs.direction].priced(
        _leg(legs.kalshi, legs.kalshi_label, k, size),
        _leg(legs.poly, legs.poly_label, p, size),
        size,
        cost,
        edge,
        roi,
        (roi / days_held(pair, now)).quantize(ROI_STEP),  # ROI per day
        now,
        Deferred(size_roi_curve, kalshi_asks, poly_asks, ku, pu, min_size),
    )


_new = object.__new__
_leg_contract, _leg_label, _leg_price, _leg_avg, _leg_size, _leg_fee = slot_setters(
    Leg, "contract", "label", "price", "avg_price", "size", "fee"
)


def _leg(contract: ContractRef, label: str, fill: LegFill, size: Decimal) -> Leg:
    """``Leg(contract, label, limit, average price, size, fee)`` of a leg buying ``size`` (as
    the curve writes it) at ``fill``'s prices and fee; filled through its slots, a third
    of the frozen dataclass's ``__init__`` (see :func:`~worker.domain.slots.slot_setters`)."""
    leg = _new(Leg)
    _leg_contract(leg, contract)
    _leg_label(leg, label)
    _leg_price(leg, fill.price)
    _leg_avg(leg, fill.notional / fill.size if fill.size else ZERO)
    _leg_size(leg, size)
    _leg_fee(leg, fill.fee)
    return leg


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

