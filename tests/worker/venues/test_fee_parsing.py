"""Each market's own fee parameters, read by the venue parsers; no guessed rate.

Polymarket: docs.polymarket.com/market-data/market-details, "Trading Fees" (read
2026-12-06): ``feesEnabled`` and ``feeSchedule`` {``rate``, ``exponent``, ``takerOnly``,
``rebateRate``}. Polymarket US: docs.polymarket.us/faqs/fees (the schedule is the
exchange's; ``feeCoefficient`` is documented only as a field name).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from tests.worker.venues.contract.fakes import fixture
from worker.domain.fees import FeeModel, FeeSchedule
from worker.venues.common.parsing import MarketRefused
from worker.venues.polymarket.parse import parse_events, parse_market
from worker.venues.polymarket_us.parse import parse_events as us_events

D = Decimal


def gamma() -> list[dict[str, Any]]:
    return copy.deepcopy(fixture("gamma_events.json"))


def moneyline(events: list[dict[str, Any]]) -> dict[str, Any]:
    market: dict[str, Any] = events[0]["markets"][0]
    return market


def test_the_markets_fee_schedule_is_read_rate_and_exponent() -> None:
    events = gamma()
    moneyline(events)["feeSchedule"] = {"exponent": 2, "rate": 0.25, "takerOnly": True, "rebateRate": 0.2}
    m = parse_events(events)[0]
    assert m.fees == FeeSchedule.polymarket(D("0.25"), 2)
    assert m.fees.taker_fee(D(100), D("0.50")) == D("1.5625")  # 100 × 0.25 × 0.25²


def test_string_fields_are_read_exactly() -> None:
    events = gamma()
    moneyline(events)["feeSchedule"] = {"exponent": "1", "rate": "0.03", "takerOnly": True}
    assert parse_events(events)[0].fees == FeeSchedule.polymarket(D("0.03"))


def test_fees_disabled_means_no_fee_whatever_the_schedule_says() -> None:
    events = gamma()
    moneyline(events)["feesEnabled"] = False
    m = parse_events(events)[0]
    assert m.fees == FeeSchedule.none(FeeModel.POLYMARKET)
    assert m.fees.taker_fee(D(100), D("0.5")) == 0


@pytest.mark.parametrize("enabled", [True, None])
def test_fees_enabled_or_unstated_without_a_schedule_refuses_the_market(enabled: bool | None) -> None:
    events = gamma()
    market = moneyline(events)
    del market["feeSchedule"]
    if enabled is None:
        market.pop("feesEnabled", None)
    else:
        market["feesEnabled"] = enabled
    with pytest.raises(MarketRefused, match="no feeSchedule rate"):
        parse_market(market, events[0])
    refused: list[MarketRefused] = []
    markets = parse_events(events, refused)
    # The rest of the listing stands: only the market without fees is left out.
    assert [m.market_id for m in markets] == ["555002"]
    assert [r.market_id for r in refused] == ["555001"]


def test_a_schedule_without_a_rate_or_with_a_fractional_exponent_is_refused() -> None:
    events = gamma()
    moneyline(events)["feeSchedule"] = {"exponent": 1, "takerOnly": True}
    with pytest.raises(MarketRefused):
        parse_market(moneyline(events), events[0])
    for exponent in (1.5, -1, 9):
        moneyline(events)["feeSchedule"] = {"exponent": exponent, "rate": 0.03}
        with pytest.raises(MarketRefused, match="exponent"):
            parse_market(moneyline(events), events[0])
    moneyline(events)["feeSchedule"] = {"exponent": 1, "rate": "three percent"}
    with pytest.raises(MarketRefused, match="unreadable"):
        parse_market(moneyline(events), events[0])


def test_a_schedule_that_is_not_taker_only_charges_makers_the_same_curve() -> None:
    events = gamma()
    moneyline(events)["feeSchedule"] = {"exponent": 1, "rate": 0.03, "takerOnly": False}
    m = parse_events(events)[0]
    assert m.fees.maker_rate == D("0.03")
    assert m.fees.maker_fee(D(10), D("0.50")) == D("0.075")


def test_polymarket_us_markets_use_the_faq_schedule_not_fee_coefficient() -> None:
    payload = copy.deepcopy(fixture("pmus_events.json"))
    for ev in payload["events"]:
        for m in ev["markets"]:
            m["feeCoefficient"] = "0.5"  # meaningless to us: no documented formula uses it
    for m in us_events(payload):
        assert m.fees == FeeSchedule.polymarket_us()
        assert m.fees.taker_fee(D(1000), D("0.65")) == D("1.95")
