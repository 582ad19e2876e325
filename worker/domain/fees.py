"""Fee formulas of the three venues, pure functions on Decimal.

Sources (see ``shared/design/VENUES.md``):

* **Kalshi** — fee schedule (kalshi.com/docs/kalshi-fee-schedule.pdf; docs.kalshi.com
  "Fee Rounding"): taker ``ceil_to_cent(0.07 × C × P × (1 − P))`` *per order*, and for the
  series that charge makers ``ceil_to_cent(0.0175 × C × P × (1 − P))``. Rounding up to the
  cent happens once per order, not per contract, which is why small orders pay
  proportionally more. (Kalshi's accumulator may refund sub-cent over-payment to direct
  members afterwards; we estimate the full rounded-up charge, the upper bound.)
* **Polymarket** (docs.polymarket.com/trading/fees): taker-only,
  ``fee = C × rate × p × (1 − p)``; sports rate 0.05; makers pay nothing. The venue
  charges with 5-decimal precision (0.00001 pUSD minimum). Whether it rounds or floors at
  the 5th decimal is not stated unambiguously, so we round **up** at 5 decimals: the
  estimate is never below what the venue takes.
* **Polymarket US**: per-market ``feeCoefficient`` (≈ 0.0695 on sports),
  ``fee ≈ coefficient × C × p × (1 − p)``. Its rounding is not documented in anything we
  could find; we round **up to the cent** per order, the conservative direction for the
  buyer (never under-estimate a fee).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from worker.domain.money import CENT, ONE, ZERO, ceil_to_cent, quantize_up

KALSHI_TAKER_RATE = Decimal("0.07")
KALSHI_MAKER_RATE = Decimal("0.0175")
POLYMARKET_SPORTS_TAKER_RATE = Decimal("0.05")
POLYMARKET_FEE_STEP = Decimal("0.00001")
POLYMARKET_US_SPORTS_COEFFICIENT = Decimal("0.0695")


def _check(count: Decimal, price: Decimal) -> None:
    if count < 0:
        raise ValueError("count must not be negative")
    if not (ZERO <= price <= ONE):
        raise ValueError(f"price {price} is outside [0, 1]")


def _variance_term(count: Decimal, price: Decimal) -> Decimal:
    return count * price * (ONE - price)


def kalshi_taker_fee(count: Decimal, price: Decimal, rate: Decimal = KALSHI_TAKER_RATE) -> Decimal:
    """Kalshi taker fee of one order of ``count`` contracts at ``price``: rounded up to the cent."""
    _check(count, price)
    return ceil_to_cent(rate * _variance_term(count, price))


def kalshi_maker_fee(count: Decimal, price: Decimal, rate: Decimal = KALSHI_MAKER_RATE) -> Decimal:
    """Kalshi maker fee (only on series that charge makers), rounded up to the cent per order."""
    _check(count, price)
    return ceil_to_cent(rate * _variance_term(count, price))


def polymarket_taker_fee(
    shares: Decimal, price: Decimal, rate: Decimal = POLYMARKET_SPORTS_TAKER_RATE
) -> Decimal:
    """Polymarket taker fee ``C × rate × p × (1 − p)``, rounded up at 5 decimals."""
    _check(shares, price)
    return quantize_up(rate * _variance_term(shares, price), POLYMARKET_FEE_STEP).quantize(
        POLYMARKET_FEE_STEP
    )


def polymarket_us_taker_fee(
    quantity: Decimal, price: Decimal, coefficient: Decimal = POLYMARKET_US_SPORTS_COEFFICIENT
) -> Decimal:
    """Polymarket US taker fee ``coefficient × C × p × (1 − p)``, rounded up to the cent."""
    _check(quantity, price)
    return ceil_to_cent(coefficient * _variance_term(quantity, price))


class FeeModel(StrEnum):
    """Which venue formula (and rounding) a schedule applies."""

    KALSHI = "kalshi"
    POLYMARKET = "polymarket"
    POLYMARKET_US = "polymarket_us"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's fees: the venue formula plus its taker and maker rates.

    ``taker_rate`` is Kalshi's 0.07, Polymarket's ``feeSchedule`` rate, or Polymarket US's
    ``feeCoefficient``; ``maker_rate`` is zero except on Kalshi series that charge makers.
    A market with fees disabled has both rates at zero.
    """

    model: FeeModel
    taker_rate: Decimal
    maker_rate: Decimal = ZERO

    def taker_fee(self, count: Decimal, price: Decimal) -> Decimal:
        """Fee of one taker order of ``count`` at ``price`` (money rule: per order, rounded up)."""
        if self.taker_rate == 0:
            _check(count, price)
            return ZERO
        if self.model is FeeModel.KALSHI:
            return kalshi_taker_fee(count, price, self.taker_rate)
        if self.model is FeeModel.POLYMARKET:
            return polymarket_taker_fee(count, price, self.taker_rate)
        return polymarket_us_taker_fee(count, price, self.taker_rate)

    def maker_fee(self, count: Decimal, price: Decimal) -> Decimal:
        """Fee of a resting (maker) fill; only Kalshi charges it, on some series."""
        _check(count, price)
        if self.maker_rate == 0 or self.model is not FeeModel.KALSHI:
            return ZERO
        return kalshi_maker_fee(count, price, self.maker_rate)

    @staticmethod
    def kalshi(maker_rate: Decimal = ZERO) -> FeeSchedule:
        return FeeSchedule(FeeModel.KALSHI, KALSHI_TAKER_RATE, maker_rate)

    @staticmethod
    def polymarket(rate: Decimal = POLYMARKET_SPORTS_TAKER_RATE) -> FeeSchedule:
        return FeeSchedule(FeeModel.POLYMARKET, rate)

    @staticmethod
    def polymarket_us(coefficient: Decimal = POLYMARKET_US_SPORTS_COEFFICIENT) -> FeeSchedule:
        return FeeSchedule(FeeModel.POLYMARKET_US, coefficient)


__all__ = [
    "CENT",
    "KALSHI_MAKER_RATE",
    "KALSHI_TAKER_RATE",
    "POLYMARKET_SPORTS_TAKER_RATE",
    "POLYMARKET_US_SPORTS_COEFFICIENT",
    "FeeModel",
    "FeeSchedule",
    "kalshi_maker_fee",
    "kalshi_taker_fee",
    "polymarket_taker_fee",
    "polymarket_us_taker_fee",
]
