"""Decimal money helpers.

Every price, size, fee and amount in the project is a :class:`decimal.Decimal`. Floats
are refused at the boundary (``D(0.1)`` raises) because a float has already lost the
exact value a venue sent; parse the venue's string instead.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

ZERO = Decimal("0")
ONE = Decimal("1")
CENT = Decimal("0.01")
#: Polymarket's collateral (USDC / pUSD) has 6 decimals on chain.
MICRO = Decimal("0.000001")

Number = Decimal | int | str


def D(x: Number) -> Decimal:
    """Exact Decimal from a Decimal, an int or a numeric string; floats are refused.

    Raises ``TypeError`` for floats/bools and ``ValueError`` for non-numeric or
    non-finite strings, so a malformed venue payload fails loudly instead of turning
    into NaN money.
    """
    if isinstance(x, (bool, float)):
        raise TypeError(f"refusing {type(x).__name__} as money: pass a str or Decimal")
    if isinstance(x, Decimal):
        value = x
    elif isinstance(x, int):
        value = Decimal(x)
    elif isinstance(x, str):
        try:
            value = Decimal(x.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a decimal number: {x!r}") from exc
    else:
        raise TypeError(f"cannot make money of {type(x).__name__}")
    if not value.is_finite():
        raise ValueError(f"not a finite number: {x!r}")
    return value


def quantize_up(x: Decimal, step: Decimal) -> Decimal:
    """Round ``x`` up (toward +inf) to a multiple of ``step`` (e.g. a tick or a cent)."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (x / step).to_integral_value(rounding=ROUND_CEILING) * step


def quantize_down(x: Decimal, step: Decimal) -> Decimal:
    """Round ``x`` down (toward -inf) to a multiple of ``step``."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (x / step).to_integral_value(rounding=ROUND_FLOOR) * step


def quantize_nearest(x: Decimal, step: Decimal) -> Decimal:
    """Round ``x`` to the nearest multiple of ``step`` (banker's rounding on ties)."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (x / step).to_integral_value(rounding=ROUND_HALF_EVEN) * step


def ceil_to_cent(x: Decimal) -> Decimal:
    """Round up to the next cent: ``0.0101 -> 0.02``, ``0.02 -> 0.02``, ``-0.015 -> -0.01``."""
    return quantize_up(x, CENT).quantize(CENT)


def floor_to_cent(x: Decimal) -> Decimal:
    """Round down to the cent."""
    return quantize_down(x, CENT).quantize(CENT)


def is_multiple_of(x: Decimal, step: Decimal) -> bool:
    """True when ``x`` lies exactly on the grid of ``step`` (a tick, a size increment)."""
    if step <= 0:
        raise ValueError("step must be positive")
    return (x % step) == 0


def from_micro(units: int | str) -> Decimal:
    """USDC integer micro-units (6 decimals, as ``/balance-allowance`` sends) to dollars."""
    return D(int(units)) * MICRO


def to_micro(x: Decimal) -> int:
    """Dollars to integer micro-units; refuses amounts finer than a micro-dollar."""
    scaled = x / MICRO
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{x} is finer than a micro-dollar")
    return int(scaled)


def complement(price: Decimal) -> Decimal:
    """The price of the opposite side of a binary contract: ``1 - p``."""
    return ONE - price
