"""An attempt's money rules (pure, all Decimal): how much it may trade and at what prices.

* :func:`choose_size` picks the size off the scanner's curve within the bet and ROI
  limits (:func:`size_candidates` adds the whole-contract sizes between curve points);
* :func:`worst_case_loss` is what an attempt in flight counts toward the daily-loss
  limit — leg 1's whole cost plus a bound of its fee (a STRANDED leg counts its full
  cost) — and :func:`contracts_within` the largest size whose worst case fits what is
  left of it;
* the unwind ladder never sells leg 1 below :func:`unwind_floor_price`, 80 % of its
  average fill price, so an unwind loses at most 20 % of the leg's cost plus the fees;
  :func:`ladder_price` is each try's price;
* :func:`hedge_cap` is the worst price leg 2 may pay and still lock ≥ $0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from worker.domain.attempts import Refusal, RefusalReason
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import CurvePoint
from worker.domain.money import ONE, ZERO

UNWIND_MAX_LOSS = Decimal("0.20")
UNWIND_MAX_TRIES = 5
UNWIND_WINDOW_S = 30.0
PRICE_STEP = Decimal("0.01")
#: Upper bound of any venue's taker rate (Kalshi 0.07) and of per-order fee rounding
#: (a cent per order), used where the engine must bound a fee it cannot look up.
MAX_TAKER_RATE = Decimal("0.07")
FEE_ROUNDING_BOUND = Decimal("0.01")
#: Interpolated sizes between curve points get this cushion for per-order fee rounding
#: on both legs, so the planned cost is never below what the venues will charge.
INTERPOLATION_CUSHION = Decimal("0.02")
HUNDRED = Decimal(100)


def fee_bound(quantity: Decimal, price: Decimal) -> Decimal:
    """An upper bound of any venue's taker fee for ``quantity`` at ``price``."""
    return MAX_TAKER_RATE * quantity * price * (ONE - price) + FEE_ROUNDING_BOUND


def unwind_floor_price(avg_price: Decimal, step: Decimal = PRICE_STEP) -> Decimal:
    """The lowest price the unwind ladder may sell leg 1 at: 80 % of what it cost, on the grid."""
    floor = avg_price * (ONE - UNWIND_MAX_LOSS)
    return max((floor / step).to_integral_value(rounding=ROUND_CEILING) * step, step)


def worst_case_loss(quantity: Decimal, price: Decimal) -> Decimal:
    """What an attempt may lose before it is hedged: leg 1's whole cost plus its fee.

    Not the unwind ladder's 20 %: a leg 1 that no one buys back strands, and a STRANDED
    leg can be worth nothing. This is what the daily loss budget reserves per attempt.
    """
    return quantity * price + fee_bound(quantity, price)


def contracts_within(budget: Decimal, price: Decimal) -> Decimal:
    """The most whole contracts whose :func:`worst_case_loss` at ``price`` fits ``budget``."""
    if budget <= FEE_ROUNDING_BOUND:
        return ZERO
    per_contract = price + MAX_TAKER_RATE * price * (ONE - price)
    n = ((budget - FEE_ROUNDING_BOUND) / per_contract).to_integral_value(rounding=ROUND_FLOOR)
    while n > 0 and worst_case_loss(n, price) > budget:  # guards the division's rounding
        n -= 1
    return max(n, ZERO)


def ladder_price(best_bid: Decimal | None, attempt_no: int, floor: Decimal, step: Decimal = PRICE_STEP) -> Decimal:
    """Price of the ``attempt_no``-th unwind IOC (0-based): a further tick into the book each time.

    Never below ``floor``. With no bid at all the order goes at the floor.
    """
    if best_bid is None:
        return floor
    price = best_bid - step * attempt_no
    return max(price, floor)


def hedge_cap(
    quantity: Decimal, leg1_cost: Decimal, fees: FeeSchedule | None, step: Decimal = PRICE_STEP
) -> Decimal | None:
    """The worst price leg 2 may pay for ``quantity`` contracts and still lock ≥ $0.

    ``leg1_cost`` is what leg 1 cost for them, its fee included. The pair locks
    ``quantity − leg1_cost − (quantity × price + fee)``, where ``fee`` is leg 2's exact
    fee for that order (its market's schedule, the venue's rounding; without a schedule, a
    bound of any venue's). The answer is the highest price on the ``step`` grid that keeps
    it ≥ 0 — a break-even hedge beats an unwind — or None when none does (leg 1 slipped
    too far: the attempt unwinds instead).
    """
    if quantity <= 0:
        return None
    budget = quantity - leg1_cost  # what leg 2 may cost, its fee included
    price = min((budget / quantity / step).to_integral_value(rounding=ROUND_FLOOR) * step, ONE - step)
    while price > ZERO:
        fee = fees.taker_fee(quantity, price) if fees is not None else fee_bound(quantity, price)
        # quantity × price + fee grows with price (the fee's slope is under 1): the first
        # price from the top that fits is the highest.
        if quantity * price + fee <= budget:
            return price
        price -= step
    return None


@dataclass(frozen=True, slots=True)
class SizeChoice:
    """The size the executor takes: whole contracts, cost with fees, edge, ROI percent."""

    contracts: Decimal
    cost: Decimal
    edge: Decimal
    roi_pct: Decimal
    #: Each leg's limit for this size (the deepest level it takes), when the curve knows it.
    kalshi_price: Decimal | None = None
    poly_price: Decimal | None = None


def _roi(edge: Decimal, cost: Decimal) -> Decimal:
    return (edge / cost * HUNDRED).quantize(Decimal("0.0001")) if cost > 0 else ZERO


def size_candidates(
    curve: Sequence[CurvePoint], max_bet: Decimal, max_contracts: Decimal | None = None
) -> list[SizeChoice]:
    """Every curve point, plus the whole-contract size that reaches ``max_bet`` inside a
    segment (and the one that reaches ``max_contracts``), none above ``max_contracts``.

    Between two curve points the marginal pair costs the same (same price levels), so the
    cost is linear there; the interpolated point carries :data:`INTERPOLATION_CUSHION` for
    per-order fee rounding.
    """
    points = sorted(curve, key=lambda p: p.size)
    out = [SizeChoice(p.size, p.cost, p.edge, p.roi_pct, p.kalshi_price, p.poly_price) for p in points]
    for lo, hi in zip(points, points[1:], strict=False):
        if hi.size <= lo.size:
            continue
        marginal = (hi.cost - lo.cost) / (hi.size - lo.size)
        sizes = []
        if lo.cost < max_bet < hi.cost:
            extra = ((max_bet - INTERPOLATION_CUSHION - lo.cost) / marginal).to_integral_value(
                rounding=ROUND_FLOOR
            )
            sizes.append(lo.size + extra)
        if max_contracts is not None and lo.size < max_contracts < hi.size:
            sizes.append(max_contracts)
        for n in sizes:
            if lo.size < n < hi.size:
                cost = lo.cost + (n - lo.size) * marginal + INTERPOLATION_CUSHION
                edge = n - cost
                # Past ``lo`` the order reaches into ``hi``'s levels: ``hi``'s limits.
                out.append(SizeChoice(n, cost, edge, _roi(edge, cost), hi.kalshi_price, hi.poly_price))
    if max_contracts is not None:
        out = [c for c in out if c.contracts <= max_contracts]
    return sorted(out, key=lambda c: c.contracts)


def choose_size(
    curve: Sequence[CurvePoint],
    *,
    min_bet: Decimal,
    max_bet: Decimal,
    min_roi: Decimal,
    max_roi: Decimal,
    max_contracts: Decimal | None = None,
    min_roi_of: Callable[[SizeChoice], Decimal] | None = None,
) -> SizeChoice | Refusal:
    """The largest size the books allow with cost in [min_bet, max_bet] and ROI in [min_roi, max_roi].

    ``max_contracts`` caps the size (what the day's loss budget can hold). When nothing
    qualifies, the refusal names the first rule that every size broke, in the order bet
    size, ROI too high, ROI too low. ``min_roi_of`` gives the ROI ``min_roi`` applies to
    (the expected ROI after legging risk, ``EXECUTOR_PRICE_LEGGING_RISK``); the locked ROI
    when None. ``max_roi`` always applies to the locked ROI.
    """
    candidates = size_candidates(curve, max_bet, max_contracts)
    if not candidates:
        return Refusal(RefusalReason.BET_SIZE, "no size available")
    in_bet = [c for c in candidates if min_bet <= c.cost <= max_bet]
    if not in_bet:
        smallest = candidates[0].cost
        largest = candidates[-1].cost
        return Refusal(
            RefusalReason.BET_SIZE,
            f"cost {smallest}..{largest} outside bet limits [{min_bet}, {max_bet}]",
        )
    low = (lambda c: c.roi_pct) if min_roi_of is None else min_roi_of
    good = [c for c in in_bet if c.roi_pct <= max_roi and min_roi <= low(c)]
    if good:
        return good[-1]
    if all(c.roi_pct > max_roi for c in in_bet):
        return Refusal(
            RefusalReason.ROI_TOO_HIGH, f"ROI {in_bet[0].roi_pct}% above max {max_roi}% (suspicious)"
        )
    best = max(low(c) for c in in_bet)
    what = "ROI" if min_roi_of is None else "expected ROI (legging risk priced)"
    return Refusal(RefusalReason.ROI_TOO_LOW, f"{what} {best}% below min {min_roi}%")
