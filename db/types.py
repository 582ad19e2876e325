"""Column types that keep money exact and times aware-UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

MICROS = Decimal("0.000001")


def to_micros(value: Decimal) -> int:
    """Decimal dollars -> integer micro-dollars (half-even below a micro-dollar)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError("money must be finite")
    return int((value / MICROS).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_micros(value: int) -> Decimal:
    return (Decimal(value) * MICROS).quantize(MICROS)


class Money(sa.types.TypeDecorator[Decimal]):
    """Exact money: ``Decimal`` in Python, integer micro-dollars in the database.

    Integer storage is exact on every backend (SQLite has no exact NUMERIC) and sums in
    SQL stay exact. Values finer than a micro-dollar are rounded half-even; venue amounts
    never carry that precision.
    """

    impl = sa.BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_micros(int(value))


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in Python; naive-UTC text on SQLite, timestamptz on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """An exact Decimal of any precision, kept as its text (``0.300000`` stays so): for
    figures that are not money amounts (probabilities, sums of per-contract costs)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"a finite Decimal is required, got {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
