"""The paper exchange's own fee arithmetic, written from the venues' fee documents.

Independent of ``worker.domain.fees`` on purpose: the engine's fee *estimate* is checked
against what this exchange *charges*, and a wrong formula shared by both would balance and
hide the error. An import-linter contract (``pyproject.toml``) forbids
``paper_exchange`` from importing ``worker.domain.fees``. The arithmetic is also
different in kind: exact fractions (:class:`fractions.Fraction`) rounded with integer
operations, one :class:`~decimal.Decimal` per fee at the end.

What each venue charges a taker (sources read 2026-12-06; ``docs/venues-money.md``):

* Kalshi — https://kalshi.com/docs/kalshi-fee-schedule.pdf and
  https://docs.kalshi.com/getting_started/fee_rounding: ``0.07 × C × P × (1 − P)``, rounded
  up to the cent; the per-fill rounding fees and the per-order accumulator make "the total
  fee across many small fills converge to what a single equivalent fill would cost". The
  paper charges that figure per **order**: ``ceil_cent(Σ 0.07·q·p·(1−p))`` over the
  order's fills, spread cumulatively so the fills add up to it exactly (each fill pays
  ``ceil_cent(exact so far) − fees already charged``). Makers: 0.0175 on the series that
  charge makers; none of the paper's series does.
* Polymarket — https://docs.polymarket.com/trading/fees and /market-data/market-details:
  each market's ``feeSchedule``; the paper's sports markets serve ``rate`` 0.03,
  ``exponent`` 1, taker only (the public 2026 tables list sports at 0.03). Fee per fill
  (one match per price level) ``C × rate × (p(1 − p))^exponent`` in USDC. Rounding: the
  docs say "Fees are rounded to 5 decimal places. The smallest fee charged is 0.00001
  pUSD" without saying which way; we round **up** at the 5th decimal (0.00001, ten
  micro-USDC, a whole number of USDC's 6-decimal units), the direction in which the
  engine's estimate — which must never be below a venue's charge — equals the paper's
  charge. Taken in USDC on top of a buy's price, as CLOB V2 does (buyers receive every
  share; docs/venues-money.md cites the official V2 SDK).
* Polymarket US — https://docs.polymarket.us/faqs/fees: taker 30 bps of the fee notional
  (buyers ``C × p``, sellers ``C × (1 − p)``, ``p`` the long price the paper stores) per
  execution, rounded to the cent with banker's rounding, no minimum. The paper's fill is
  one execution. Makers earn a 20 bps rebate on the venue; the paper pays none.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

#: Kalshi's taker multiplier, 7/100.
KALSHI_TAKER = Fraction(7, 100)
#: The ``feeSchedule`` of every paper Gamma market (sports): served by ``wire.gamma_market``.
POLYMARKET_RATE = Decimal("0.03")
POLYMARKET_EXPONENT = 1
#: Polymarket fees are whole multiples of 10^-5 USDC.
POLYMARKET_DECIMALS = 5
#: Polymarket US taker fee in basis points of the fee notional.
POLYMARKET_US_TAKER_BPS = 30

Fill = tuple[Decimal, Decimal]  # (price on the instrument, quantity)


def _ceil(x: Fraction, decimals: int) -> Decimal:
    """``x`` rounded toward +inf to ``decimals`` places."""
    scaled = x * 10**decimals
    return Decimal(-((-scaled.numerator) // scaled.denominator)).scaleb(-decimals)


def _half_even(x: Fraction, decimals: int) -> Decimal:
    """``x`` rounded to ``decimals`` places, ties to even (``round`` on a Fraction)."""
    return Decimal(round(x * 10**decimals)).scaleb(-decimals)


def kalshi_taker_fees(fills: Sequence[Fill], rate: Fraction = KALSHI_TAKER) -> list[Decimal]:
    """Each fill's share of one taker order's fee; the shares add up to
    ``ceil_cent(Σ rate·q·p·(1−p))`` exactly (``rate`` 0.07 but on a series that says else)."""
    exact = Fraction(0)
    charged = Decimal(0)
    out: list[Decimal] = []
    for price, qty in fills:
        p = Fraction(price)
        exact += rate * Fraction(qty) * p * (1 - p)
        due = _ceil(exact, 2)
        out.append(due - charged)
        charged = due
    return out


def polymarket_fill_fee(
    price: Decimal, qty: Decimal, rate: Decimal = POLYMARKET_RATE, exponent: int = POLYMARKET_EXPONENT
) -> Decimal:
    """Taker fee of one Polymarket fill, in USDC, rounded up at the 5th decimal (the
    market's ``feeSchedule`` rate and exponent; the paper world's markets: 0.03 and 1)."""
    p = Fraction(price)
    curve = (p * (1 - p)) ** exponent
    return _ceil(Fraction(qty) * Fraction(rate) * curve, POLYMARKET_DECIMALS)


def polymarket_us_fill_fee(price: Decimal, qty: Decimal, side: str, bps: Fraction = Fraction(POLYMARKET_US_TAKER_BPS)) -> Decimal:
    """Taker fee of one Polymarket US execution at long price ``price``: 30 bps of
    ``qty × price`` for a buy of the long side, of ``qty × (1 − price)`` for a sell (which
    is also how a BUY_SHORT trades), banker's rounding to the cent."""
    p = Fraction(price)
    notional = Fraction(qty) * (p if side == "buy" else 1 - p)
    return _half_even(notional * bps / 10_000, 2)


def taker_fees(
    venue: str, side: str, fills: Sequence[Fill], rate: Decimal | None = None, exponent: int | None = None
) -> list[Decimal]:
    """The fee of each fill of one taker order, in fill order (``side`` buy/sell on the
    instrument, prices the instrument's own). ``rate`` (and Polymarket's ``exponent``) is
    the market's own taker rate where it lists one (a replay of recorded markets); None:
    the venue's standard rate, which every paper-world market charges."""
    if venue == "kalshi":
        return kalshi_taker_fees(fills, KALSHI_TAKER if rate is None else Fraction(rate))
    if venue == "polymarket":
        return [
            polymarket_fill_fee(p, q, POLYMARKET_RATE if rate is None else rate,
                                POLYMARKET_EXPONENT if exponent is None else exponent)
            for p, q in fills
        ]
    if venue == "polymarket_us":
        bps = Fraction(POLYMARKET_US_TAKER_BPS) if rate is None else Fraction(rate) * 10_000
        return [polymarket_us_fill_fee(p, q, side, bps) for p, q in fills]
    raise ValueError(f"no fees known for venue {venue!r}")


def maker_fee(venue: str, price: Decimal, qty: Decimal) -> Decimal:
    """A resting order's fill: no paper market charges makers (Kalshi's maker fee applies
    only to the series that charge makers; Polymarket is taker-only; Polymarket US's
    maker rebate is not paid by the paper)."""
    return Decimal(0)


def polymarket_fee_rate_bps(is_taker: bool) -> int:
    """``fee_rate_bps`` of a paper CLOB trade: the market's rate in basis points (300 for
    0.03) for a taker fill, 0 for a maker fill (the schedule is taker-only)."""
    return int(POLYMARKET_RATE * 10_000) if is_taker else 0
