"""The views of legging risk: an opportunity's ``legging`` quote (the expected edge beside
the locked one) and the estimates ``GET /api/legging`` serves (see
:mod:`worker.domain.legging` for what the figures mean)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from worker.api.views.reading import (
    Obj,
    ViewError,
    array_of,
    count,
    enum_of,
    flag,
    moment,
    number,
    text,
)
from worker.domain.legging import POOLED, CellKey, LeggingEstimate
from worker.domain.markets import Venue


def probability(value: object, where: str) -> Decimal:
    """An exact number between 0 and 1."""
    p = number(value, where)
    if not Decimal(0) <= p <= Decimal(1):
        raise ViewError(where, f"must be a probability between 0 and 1, got {p}")
    return p


def _samples(value: object, where: str) -> int:
    n = count(value, where)
    if n < 0:
        raise ViewError(where, f"must not be negative, got {n}")
    return n


@dataclass(frozen=True, slots=True)
class LeggingQuoteView:
    """An opportunity's legging risk at its size: leg 2's venue, its cell and the samples
    its estimate rests on, P(leg 2 fails), the cost per contract of a failure (dollars),
    and the expected edge (dollars) and ROI (percent) after that risk."""

    second_venue: Venue
    cell: str
    samples: int
    p_fail: Decimal
    cost: Decimal
    expected_edge: Decimal
    expected_roi_pct: Decimal


def decode_legging_quote(o: Obj) -> LeggingQuoteView:
    return LeggingQuoteView(
        o.req("second_venue", enum_of(Venue)),
        o.req("cell", text),
        o.req("samples", _samples),
        o.req("p_fail", probability),
        o.req("cost", number),
        o.req("expected_edge", number),
        o.req("expected_roi_pct", number),
    )




#: One row of the estimates: the domain's own estimate of a cell (leg 2's venue, league,
#: price band, size ÷ depth band), of a venue's pool (league and bands ``*``) or of every
#: venue's (all ``*``); ``pooled(row)`` tells a pool.
LeggingRowView = LeggingEstimate


def pooled(row: LeggingEstimate) -> bool:
    return row.key.league == POOLED


def _row(value: object, where: str) -> LeggingRowView:
    o = Obj(value, where)
    row = LeggingEstimate(
        CellKey(o.req("venue", text), o.req("league", text), o.req("price_band", text), o.req("depth_band", text)),
        o.req("samples", _samples),
        o.req("failures", _samples),
        o.req("raw_p_fail", probability),
        o.req("raw_cost", number),
        o.req("p_fail", probability),
        o.req("cost", number),
        o.req("weight", probability),
        o.req("ci_low", probability),
        o.req("ci_high", probability),
    )
    if row.failures > row.samples:
        raise ViewError(f"{where}.failures", f"{row.failures} failures of {row.samples} samples")
    return row


@dataclass(frozen=True, slots=True)
class LeggingEstimatesView:
    """``GET /api/legging``: when the estimates were last refreshed (None: never), the
    samples they rest on, whether ``EXECUTOR_PRICE_LEGGING_RISK`` applies them to
    ``min_roi``, and every row (cells, then each venue's pool, then every venue's)."""

    updated_at: datetime | None
    samples: int
    price_legging_risk: bool
    rows: tuple[LeggingRowView, ...]


def decode_api_legging(body: object) -> LeggingEstimatesView:
    o = Obj(body, "/api/legging")
    return LeggingEstimatesView(
        o.null("updated_at", moment),
        o.req("samples", _samples),
        o.req("price_legging_risk", flag),
        o.req("rows", array_of(_row)),
    )
