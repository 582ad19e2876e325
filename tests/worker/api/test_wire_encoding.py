"""``to_wire``: domain values to JSON-ready data, exactly, the second time as the first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D
from enum import Enum

import pytest

from worker.api.schemas import dumps, to_wire
from worker.domain.markets import ContractRef, OutcomeSide, Venue


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Inner:
    ref: ContractRef
    colour: Colour
    at: datetime


@dataclass(frozen=True)
class Outer:
    price: D
    count: int
    flag: bool
    name: str | None
    day: date
    inner: tuple[Inner, ...]
    extra: dict[str, D]


def sample() -> Outer:
    ref = ContractRef(Venue.POLYMARKET_US, "aec-nba-hou-sac", "aec-nba-hou-sac", OutcomeSide.SHORT)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    return Outer(
        D("0.4500"),
        3,
        True,
        None,
        date(2026, 1, 2),
        (Inner(ref, Colour.RED, at),),
        {"fee": D("0.01")},
    )


EXPECTED = {
    "price": D("0.4500"),
    "count": 3,
    "flag": True,
    "name": None,
    "day": "2026-01-02",
    "inner": [
        {
            "ref": {
                "venue": "polymarket_us",
                "market_id": "aec-nba-hou-sac",
                "contract_id": "aec-nba-hou-sac",
                "side": "short",
            },
            "colour": "red",
            "at": "2026-01-02T08:04:05Z",
        }
    ],
    "extra": {"fee": D("0.01")},
}


def test_nested_dataclasses_enums_and_times_encode_exactly_and_alike_every_time() -> None:
    first, second = to_wire(sample()), to_wire(sample())  # the second reads cached field names
    assert first == second == EXPECTED
    assert type(first["inner"][0]["ref"]["venue"]) is str  # the enum's value, not the enum
    assert '"price":0.4500' in dumps(first)


def test_floats_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_wire(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="non-finite"):
        to_wire(float("nan"))
    with pytest.raises(TypeError, match="cannot be sent"):
        to_wire(object())
    assert to_wire(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"
