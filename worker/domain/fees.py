"""Fee estimates of the three venues, pure functions on Decimal, per market.

What each venue documents (sources read 2026-12-06; ``docs/venues-money.md`` has the
details, the sources that disagree and which one we follow):

* **Kalshi** — fee schedule (kalshi.com/docs/kalshi-fee-schedule.pdf) and
  docs.kalshi.com/getting_started/fee_rounding: taker ``0.07 × C × P × (1 − P)``, makers
  ``0.0175 × C × P × (1 − P)`` on the series that charge makers. Rounded **up to the cent
  once per order**: the venue's per-fill rounding fees and its accumulator make "the total
  fee across many small fills converge to what a single equivalent fill would cost".
* **Polymarket** (docs.polymarket.com/trading/fees, /market-data/market-details): every
  market carries its own ``feeSchedule`` (``rate``, ``exponent``, ``takerOnly``,
  ``rebateRate``) and ``feesEnabled``; ``fee = C × rate × (p × (1 − p))^exponent``, takers
  only, charged per match. "Fees are rounded to 5 decimal places. The smallest fee charged
  is 0.00001 pUSD." The direction is not stated, so we round **up** at the fifth decimal:
  the estimate is never below what the venue takes (at most 0.00001 above, per fill).
* **Polymarket US** (docs.polymarket.us/faqs/fees): taker 30 bps of the fee notional —
  buyers ``C × p``, sellers ``C × (1 − p)`` — "rounded to the nearest $0.01 using
  banker's rounding (round half to even)", no minimum, per trade (one execution).

A schedule is the market's own: parsers build it from the market's fields, never from a
guessed default. Its :attr:`FeeSchedule.rounding` says how the venue rounds: to which
step, in which direction, and whether once per order (Kalshi) or once per fill/execution
(Polymarket, Polymarket US). :meth:`FeeSchedule.order_fee` is the fee of one taker order
that fills at several prices, rounded the venue's way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from worker.domain.money import CENT, ONE, ZERO

KALSHI_TAKER_RATE = Decimal("0.07")
KALSHI_MAKER_RATE = Decimal("0.0175")
#: Polymarket's fee precision: "rounded to 5 decimal places" (docs.polymarket.com).
POLYMARKET_FEE_STEP = Decimal("0.00001")
#: Polymarket US taker fee, 30 bps of the fee notional (docs.polymarket.us/faqs/fees).
POLYMARKET_US_TAKER_RATE = Decimal("0.0030")


def _check(count: Decimal, price: Decimal) -> None:
    if count < 0:
        raise ValueError("count must not be negative")
    if not (ZERO <= price <= ONE):
        raise ValueError(f"price {price} is outside [0, 1]")


class FeeModel(StrEnum):
    """Which venue formula (and rounding) a schedule applies."""

    KALSHI = "kalshi"
    POLYMARKET = "polymarket"
    POLYMARKET_US = "polymarket_us"


@dataclass(frozen=True, slots=True)
class FeeRounding:
    """How a venue rounds a taker fee: ``exact.quantize(step, mode)``, applied once per
    order (``per_order``: the exact fees of all the order's fills are summed first) or
    once per fill (each fill rounded, then summed)."""

    step: Decimal
    mode: str
    per_order: bool

    def apply(self, exact: Decimal) -> Decimal:
        return exact.quantize(self.step, self.mode)


KALSHI_ROUNDING = FeeRounding(CENT, ROUND_CEILING, per_order=True)
POLYMARKET_ROUNDING = FeeRounding(POLYMARKET_FEE_STEP, ROUND_CEILING, per_order=False)
POLYMARKET_US_ROUNDING = FeeRounding(CENT, ROUND_HALF_EVEN, per_order=False)
#: A schedule without taker fees: the fee is ``0`` (the representation of ``ZERO``).
NO_FEE_ROUNDING = FeeRounding(ONE, ROUND_CEILING, per_order=True)
_ROUNDING = {
    FeeModel.KALSHI: KALSHI_ROUNDING,
    FeeModel.POLYMARKET: POLYMARKET_ROUNDING,
    FeeModel.POLYMARKET_US: POLYMARKET_US_ROUNDING,
}


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A market's fees: the venue formula plus the market's own parameters.

    ``taker_rate`` is Kalshi's 0.07, the Polymarket market's ``feeSchedule.rate`` (with
    its ``exponent``), or Polymarket US's 30 bps; ``maker_rate`` is zero except on Kalshi
    series that charge makers and Polymarket schedules that are not ``takerOnly``. A
    market with fees disabled has both rates at zero.

    Money rule: :meth:`unit` is the exact fee of one contract; a fee is always a sum of
    ``count × unit`` rounded the venue's way (:attr:`rounding`), so every estimate of the
    project (the scanner's fast walk included) is this arithmetic. Exact in Decimal's 28
    digits for the prices and sizes venues use and the exponents Polymarket publishes (1
    and 2).
    """

    model: FeeModel
    taker_rate: Decimal
    maker_rate: Decimal = ZERO
    exponent: int = 1

    def __post_init__(self) -> None:
        if self.taker_rate < 0 or self.maker_rate < 0:
            raise ValueError("fee rates must not be negative")
        if isinstance(self.exponent, bool) or not isinstance(self.exponent, int):
            raise TypeError("the fee exponent must be an int")
        if self.exponent < 0:
            raise ValueError("the fee exponent must not be negative")

    def to_record(self) -> dict[str, str | int]:
        """A JSON-able copy (an attempt keeps its legs' schedules across restarts)."""
        return {"model": self.model.value, "taker_rate": str(self.taker_rate),
                "maker_rate": str(self.maker_rate), "exponent": self.exponent}

    @staticmethod
    def from_record(data: Mapping[str, object]) -> FeeSchedule:
        return FeeSchedule(
            FeeModel(str(data["model"])),
            Decimal(str(data["taker_rate"])),
            Decimal(str(data.get("maker_rate", "0"))),
            int(str(data.get("exponent", 1))),
        )

    @property
    def rounding(self) -> FeeRounding:
        """The venue's rounding of a taker fee (see :class:`FeeRounding`)."""
        if self.taker_rate == 0:
            return NO_FEE_ROUNDING
        return _ROUNDING[self.model]

    def _curve(self, price: Decimal, rate: Decimal, sell: bool) -> Decimal:
        if self.model is FeeModel.KALSHI:
            return rate * price * (ONE - price)
        if self.model is FeeModel.POLYMARKET:
            return rate * (price * (ONE - price)) ** self.exponent
        # Polymarket US: buyers pay on C × p, sellers on C × (1 − p).
        return rate * (ONE - price if sell else price)

    def unit(self, price: Decimal, *, sell: bool = False) -> Decimal:
        """Exact taker fee of one contract traded at ``price`` (a buy unless ``sell``), before
        any rounding. ``price`` is the traded contract's own price (a Polymarket US SHORT
        at its short price)."""
        return self._curve(price, self.taker_rate, sell)

    def taker_fee(self, count: Decimal, price: Decimal, *, sell: bool = False) -> Decimal:
        """Fee of one taker order (or fill) of ``count`` at one ``price``, rounded the venue's
        way."""
        _check(count, price)
        if self.taker_rate == 0:
            return ZERO
        return self.rounding.apply(count * self.unit(price, sell=sell))

    def order_fee(
        self, fills: Iterable[tuple[Decimal, Decimal]], *, sell: bool = False
    ) -> Decimal:
        """Fee of one taker order filled as ``(count, price)`` at several prices.

        Kalshi rounds the order's exact total once; Polymarket and Polymarket US round each
        fill (one fill per price level taken) and the order pays the sum.
        """
        rounding = self.rounding
        total = ZERO
        for count, price in fills:
            _check(count, price)
            exact = count * self.unit(price, sell=sell)
            total += exact if rounding.per_order else rounding.apply(exact)
        if self.taker_rate == 0:
            return ZERO
        return rounding.apply(total) if rounding.per_order else total

    def maker_fee(self, count: Decimal, price: Decimal) -> Decimal:
        """Fee of a resting (maker) fill: Kalshi series that charge makers, Polymarket
        schedules that are not taker-only; zero otherwise (Polymarket US makers earn a
        rebate, which we do not model)."""
        _check(count, price)
        if self.maker_rate == 0 or self.model is FeeModel.POLYMARKET_US:
            return ZERO
        return _ROUNDING[self.model].apply(count * self._curve(price, self.maker_rate, False))

    @staticmethod
    def kalshi(maker_rate: Decimal = ZERO) -> FeeSchedule:
        return FeeSchedule(FeeModel.KALSHI, KALSHI_TAKER_RATE, maker_rate)

    @staticmethod
    def polymarket(rate: Decimal, exponent: int = 1, maker_rate: Decimal = ZERO) -> FeeSchedule:
        """A Polymarket market's ``feeSchedule`` (there is no default rate: rates differ by
        category and change; read the market's)."""
        return FeeSchedule(FeeModel.POLYMARKET, rate, maker_rate, exponent)

    @staticmethod
    def polymarket_us(rate: Decimal = POLYMARKET_US_TAKER_RATE) -> FeeSchedule:
        return FeeSchedule(FeeModel.POLYMARKET_US, rate)

    @staticmethod
    def none(model: FeeModel) -> FeeSchedule:
        """A market of ``model`` that charges no fee (Polymarket ``feesEnabled: false``)."""
        return FeeSchedule(model, ZERO)


def kalshi_taker_fee(count: Decimal, price: Decimal, rate: Decimal = KALSHI_TAKER_RATE) -> Decimal:
    """Kalshi taker fee of one order of ``count`` contracts at ``price``: rounded up to the cent."""
    return FeeSchedule(FeeModel.KALSHI, rate).taker_fee(count, price)


def kalshi_maker_fee(count: Decimal, price: Decimal, rate: Decimal = KALSHI_MAKER_RATE) -> Decimal:
    """Kalshi maker fee (only on series that charge makers), rounded up to the cent per order."""
    return FeeSchedule(FeeModel.KALSHI, KALSHI_TAKER_RATE, rate).maker_fee(count, price)


def polymarket_taker_fee(
    shares: Decimal, price: Decimal, rate: Decimal, exponent: int = 1
) -> Decimal:
    """Polymarket taker fee ``C × rate × (p(1 − p))^exponent`` of one match, rounded up at
    5 decimals. ``rate`` and ``exponent`` are the market's ``feeSchedule``."""
    return FeeSchedule.polymarket(rate, exponent).taker_fee(shares, price)


def polymarket_us_taker_fee(
    quantity: Decimal,
    price: Decimal,
    *,
    sell: bool = False,
    rate: Decimal = POLYMARKET_US_TAKER_RATE,
) -> Decimal:
    """Polymarket US taker fee of one execution: 30 bps of ``C × p`` (buy) or
    ``C × (1 − p)`` (sell), banker's rounding to the cent."""
    return FeeSchedule.polymarket_us(rate).taker_fee(quantity, price, sell=sell)


__all__ = [
    "CENT",
    "KALSHI_MAKER_RATE",
    "KALSHI_ROUNDING",
    "KALSHI_TAKER_RATE",
    "NO_FEE_ROUNDING",
    "POLYMARKET_FEE_STEP",
    "POLYMARKET_ROUNDING",
    "POLYMARKET_US_ROUNDING",
    "POLYMARKET_US_TAKER_RATE",
    "FeeModel",
    "FeeRounding",
    "FeeSchedule",
    "kalshi_maker_fee",
    "kalshi_taker_fee",
    "polymarket_taker_fee",
    "polymarket_us_taker_fee",
]
