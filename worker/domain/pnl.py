"""Position and P&L arithmetic of a two-leg attempt (pure, Decimal, no I/O).

An attempt buys leg 1 and leg 2, complementary contracts on two venues. Whatever leg 2
did not hedge is sold back by the unwind (UNWIND legs); a position is exited either by
selling what it holds (CLOSE legs) or by its market's result. Every figure here comes from
the legs as recorded — filled quantity, average price and the fee the venue charged — so
it is only as final as those are (the runner takes them from the venues' fills first).

Money rules:

* a buy leg's **cost** is ``avg_price × filled + fees``; a part of its fills carries its
  fee pro rata (``fees × part / filled``);
* a sale's **proceeds** are ``avg_price × filled − fees``;
* a hedged pair pays $1 at settlement whatever the result, so the edge it locks is the
  number of pairs less what both legs' pairs cost;
* once an attempt is HEDGED its position carries the whole of both legs less what the
  unwind brought in; before that (or STRANDED) it carries the hedged pairs only, and the
  rest is the stranded leg's.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from worker.domain.attempts import AttemptRecord, AttemptState, LegRecord, LegRole
from worker.domain.money import ZERO

HUNDRED = Decimal(100)
ROI_STEP = Decimal("0.01")


def leg_cost(leg: LegRecord | None, quantity: Decimal | None = None) -> Decimal:
    """Cash a buy leg cost with its fee, pro rata for ``quantity`` of its fills."""
    if leg is None or leg.filled <= 0 or leg.avg_price is None:
        return ZERO
    q = leg.filled if quantity is None else min(quantity, leg.filled)
    return leg.avg_price * q + leg.fees * q / leg.filled


def sale_proceeds(legs: Iterable[LegRecord]) -> Decimal:
    """Cash the sale legs brought in, after their fees."""
    return sum((g.notional - g.fees for g in legs), ZERO)


def roi_pct(pnl: Decimal, cost: Decimal) -> Decimal | None:
    """ROI in percent, to the hundredth; None when nothing was spent."""
    return (pnl / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else None


# -- an attempt's end ---------------------------------------------------------------------
def no_pnl(attempt: AttemptRecord) -> Decimal:
    """P&L of an attempt that bought nothing."""
    return ZERO


def spent(attempt: AttemptRecord) -> Decimal:
    """What both legs cost, fees included (an attempt's bet size once it traded)."""
    return leg_cost(attempt.leg(LegRole.LEG1)) + leg_cost(attempt.leg(LegRole.LEG2))


def unwind_pnl(attempt: AttemptRecord) -> Decimal:
    """Proceeds of the unwind sales minus the cost of the leg 1 contracts they sold."""
    leg1 = attempt.leg(LegRole.LEG1)
    assert leg1 is not None
    unwinds = attempt.legs_of(LegRole.UNWIND)
    sold = sum((u.filled for u in unwinds), ZERO)
    if sold == 0:
        return ZERO
    return sale_proceeds(unwinds) - leg_cost(leg1, sold)


def locked_pnl(attempt: AttemptRecord) -> Decimal:
    """Edge locked by the hedged pairs, plus what unwinding any excess realised."""
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    hedged = min(leg1.filled, leg2.filled)
    return hedged - leg_cost(leg1, hedged) - leg_cost(leg2) + unwind_pnl(attempt)


def position_cost(attempt: AttemptRecord) -> Decimal:
    """What the position of an attempt cost, fees included.

    Once the attempt is HEDGED every leg 1 contract is either hedged or sold back, so the
    position carries the whole of both legs less what the unwind brought in: its
    settlement then realises the unwind's loss too. Before that (a partial hedge whose
    excess is still being sold, or STRANDED) it carries the hedged pairs only; the rest is
    the stranded leg's, realised when that leg is resolved.
    """
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    if attempt.state is AttemptState.HEDGED:
        return leg_cost(leg1) + leg_cost(leg2) - sale_proceeds(attempt.legs_of(LegRole.UNWIND))
    return leg_cost(leg1, min(leg1.filled, leg2.filled)) + leg_cost(leg2)


def stranded_cost(attempt: AttemptRecord) -> Decimal:
    """Cost (fees included) of the leg 1 contracts a STRANDED attempt still holds."""
    leg1 = attempt.leg(LegRole.LEG1)
    assert leg1 is not None
    return leg_cost(leg1, attempt.leg1_open_quantity())


def stranded_pnl(attempt: AttemptRecord, brought_in: Decimal) -> Decimal:
    """Realised P&L of a stranded leg's end: the unwind's, plus what the held contracts
    brought in (their payout, or the operator's proceeds) less what they cost."""
    return unwind_pnl(attempt) + brought_in - stranded_cost(attempt)


# -- a position's exit --------------------------------------------------------------------
def held_contracts(attempt: AttemptRecord) -> list[tuple[LegRecord, Decimal]]:
    """Per venue leg of the attempt's position, the contracts still held: the hedged pairs
    less what close orders sold of that contract."""
    legs = [g for g in (attempt.leg(LegRole.LEG1), attempt.leg(LegRole.LEG2)) if g is not None]
    hedged = min((g.filled for g in legs), default=ZERO)
    closes = attempt.legs_of(LegRole.CLOSE)
    held: list[tuple[LegRecord, Decimal]] = []
    for leg in legs:
        sold = sum((c.filled for c in closes if c.contract == leg.contract), ZERO)
        held.append((leg, max(hedged - sold, ZERO)))
    return held


def close_proceeds(attempt: AttemptRecord) -> Decimal:
    """What the position's close orders brought in, after fees."""
    return sale_proceeds(attempt.legs_of(LegRole.CLOSE))


def exit_pnl(attempt: AttemptRecord, payout: Decimal = ZERO) -> Decimal:
    """Realised P&L of a position's exit: its market's ``payout`` on what was still held
    plus what closing sold, less what the position cost."""
    return payout + close_proceeds(attempt) - position_cost(attempt)
