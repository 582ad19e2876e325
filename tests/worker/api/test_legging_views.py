"""The legging decoders: an opportunity's ``legging`` quote as the worker's encoder writes
it (absent or null: none), the ``/api/legging`` answer as the worker's pricer builds it,
and a malformed figure named by its path, as every other field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from tests.dashboard.protocol import domain_opportunity
from tests.worker.api.event_samples import OPPORTUNITY_WIRE
from worker.api import schemas, views
from worker.api.views import ViewError, decode_view
from worker.domain.events import opportunity_change
from worker.domain.legging import CellCount, CellKey, build_table
from worker.domain.mapping import LeggingQuote, OpportunityEvent, OpportunityEventKind
from worker.domain.markets import Venue
from worker.domain.opportunity_template import with_legging
from worker.engine.legging import LeggingPricer

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
QUOTE_WIRE: dict[str, Any] = dict(OPPORTUNITY_WIRE["legging"])  # type: ignore[call-overload]


def sent(type_: str, data: Any) -> dict[str, Any]:
    return schemas.decode_server_message(schemas.dumps(schemas.message(type_, data)))


def opened(data: dict[str, Any]) -> views.OpportunityView:
    view = decode_view(sent(schemas.OPPORTUNITY_OPENED, data)).data
    assert isinstance(view, views.OpportunityView)
    return view


def test_an_opportunitys_legging_quote_reads_exactly_as_the_encoder_wrote_it() -> None:
    quote = LeggingQuote("kalshi", "kalshi/nba/0.40-0.60/le0.25", 12, D("0.083333"), D("0.041"), D("0.995900"),
                         D("1.0060"))
    opp = with_legging(domain_opportunity(2), quote)
    data = schemas.event_message(opportunity_change(OpportunityEvent(OpportunityEventKind.OPENED, opp, T0)))["data"]
    assert opened(data).legging == views.LeggingQuoteView(Venue.KALSHI, "kalshi/nba/0.40-0.60/le0.25", 12,
                                                           D("0.083333"), D("0.041"), D("0.995900"), D("1.0060"))
    # The documented sample too.
    sample = opened(dict(OPPORTUNITY_WIRE)).legging
    assert sample == views.LeggingQuoteView(Venue.POLYMARKET, "polymarket/nba/0.40-0.60/le1", 40, D("0.1"), D("0.05"),
                                            D("0.320"), D("3.3229"))


def test_no_legging_quote_null_or_absent_is_none() -> None:
    data = schemas.event_message(opportunity_change(
        OpportunityEvent(OpportunityEventKind.UPDATED, domain_opportunity(1), T0)))["data"]
    assert data["legging"] is None
    assert opened(data).legging is None
    del data["legging"]
    assert opened(data).legging is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("p_fail", "0.1", "must be an exact number, got a string"),
        ("p_fail", D("1.5"), "must be a probability between 0 and 1, got 1.5"),
        ("p_fail", D("-0.1"), "must be a probability between 0 and 1, got -0.1"),
        ("samples", D("40.5"), "must be a whole number, got a number"),
        ("samples", -1, "must not be negative, got -1"),
        ("second_venue", "nyse", "'nyse' is not a Venue"),
        ("expected_roi_pct", None, "must not be null"),
        ("cost", True, "must be an exact number, got a boolean"),
    ],
)
def test_a_malformed_quote_is_an_error_naming_its_field(field: str, value: Any, problem: str) -> None:
    data = {**OPPORTUNITY_WIRE, "legging": {**QUOTE_WIRE, field: value}}
    with pytest.raises(ViewError) as caught:
        opened(data)
    assert caught.value.where == f"opportunity_opened.data.legging.{field}"
    assert caught.value.problem == problem


def test_a_quote_that_is_not_an_object_or_lacks_a_field_is_an_error() -> None:
    with pytest.raises(ViewError, match=r"^opportunity_opened\.data\.legging: must be an object, got an array$"):
        opened({**OPPORTUNITY_WIRE, "legging": [1]})
    partial = {k: v for k, v in QUOTE_WIRE.items() if k != "expected_edge"}
    with pytest.raises(ViewError, match=r"^opportunity_opened\.data\.legging\.expected_edge: missing$"):
        opened({**OPPORTUNITY_WIRE, "legging": partial})


def api_answer(body: Any) -> Any:
    """An ``/api`` answer as it comes off the wire (exact numbers)."""
    return schemas.decode_server_message(schemas.dumps({"type": "answer", "body": body}))["body"]


def test_the_api_legging_answer_reads_as_the_pricer_builds_it() -> None:
    cell = CellKey("polymarket", "nba", "0.40-0.60", "le1")
    table = build_table({cell: CellCount(10, 4, D("0.20")), CellKey("kalshi", "nfl", "0.20-0.40", "gt1"):
                         CellCount(40, 2, D("0.06"))}, updated_at=T0)
    body = api_answer({**LeggingPricer(table).figures(), "price_legging_risk": True})
    got = views.decode_api_legging(body)
    assert got.updated_at == T0 and got.samples == 50 and got.price_legging_risk is True
    assert [(r.key.venue, r.key.league, r.key.price_band, r.key.depth_band) for r in got.rows] == [
        ("kalshi", "nfl", "0.20-0.40", "gt1"), ("polymarket", "nba", "0.40-0.60", "le1"),
        ("kalshi", "*", "*", "*"), ("polymarket", "*", "*", "*"), ("*", "*", "*", "*")]
    poly = got.rows[1]
    # Computed here: 4 of 10 fail (0.4 raw); the Polymarket pool is the cell itself (10
    # samples) pulled toward the overall 6/50 = 0.12 with weight 10/30, so the pool is
    # 1/3 × 0.4 + 2/3 × 0.12 = 0.213333 (to the 6 places the pool is kept at), and the cell
    # 1/3 × 0.4 + 2/3 × 0.213333 = 0.2755553… → 0.275555.
    assert (poly.samples, poly.failures, poly.raw_p_fail, poly.weight) == (10, 4, D("0.4"), D("0.333333"))
    assert got.rows[3].p_fail == D("0.213333") and poly.p_fail == D("0.275555") and not views.pooled(poly) and views.pooled(got.rows[-1])
    assert poly.raw_cost == D("0.05")  # 0.20 over 4 failures
    assert got.rows[-1].samples == 50 and got.rows[-1].failures == 6


def test_the_empty_answer_of_a_worker_without_estimates() -> None:
    got = views.decode_api_legging(api_answer({"updated_at": None, "samples": 0, "rows": [],
                                               "price_legging_risk": False}))
    assert got == views.LeggingEstimatesView(None, 0, False, ())


def test_a_malformed_estimates_row_is_named() -> None:
    row = {"venue": "kalshi", "league": "nba", "price_band": "0.40-0.60", "depth_band": "le1", "samples": 3,
           "failures": 4, "raw_p_fail": D(1), "raw_cost": D(0), "p_fail": D(1), "cost": D(0), "weight": D("0.1"),
           "ci_low": D(0), "ci_high": D(1)}
    body = {"updated_at": "2026-12-07T09:30:00Z", "samples": 3, "price_legging_risk": False, "rows": [row]}
    with pytest.raises(ViewError, match=r"^/api/legging\.rows\[0\]\.failures: 4 failures of 3 samples$"):
        views.decode_api_legging(body)
    with pytest.raises(ViewError, match=r"^/api/legging\.rows\[0\]\.ci_high: must be a probability"):
        views.decode_api_legging({**body, "rows": [{**row, "failures": 1, "ci_high": D(2)}]})
    with pytest.raises(ViewError, match=r"^/api/legging\.price_legging_risk: missing$"):
        views.decode_api_legging({k: v for k, v in body.items() if k != "price_legging_risk"})
