"""Fee-unit tables: what one contract costs at a price, looked up once per level.

The depth walk (:mod:`~worker.engine.scanner.depth`)
and the scanner's book slots price a level with one dictionary look-up here instead of
the fee schedule's Decimal arithmetic (hot path).
"""

from __future__ import annotations

from decimal import Decimal

from worker.domain.fees import FeeSchedule
from worker.domain.money import ONE


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


def fee_units(schedule: FeeSchedule) -> FeeUnits:
    """The shared :class:`FeeUnits` table of a fee schedule (schedules are values: two
    markets with the same parameters share one table)."""
    table = _FEE_UNITS.get(schedule)
    if table is None:
        table = _FEE_UNITS[schedule] = FeeUnits(schedule)
    return table
