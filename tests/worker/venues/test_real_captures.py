"""Listing parsers on real captured venue payloads (tests/fixtures/real, each with its
source), and one broken market put into a real page: refused alone, with its reason,
while every other market of the page is kept.

Expected ids, prices and counts below were read off the raw files by hand (the ids in the
order the file lists them), never produced by the parsers. Polymarket US has no real
capture (tests/fixtures/real/polymarket_us/README.md): its page is the documented-shape
contract fixture.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from worker.domain.fees import FeeModel
from worker.domain.markets import League, MarketKind, MarketStatus, OutcomeSide
from worker.venues.common.parsing import MarketRefused, PayloadError
from worker.venues.kalshi.parse import parse_events as kalshi_events
from worker.venues.kalshi.parse import parse_market as kalshi_market
from worker.venues.polymarket.parse import parse_events as gamma_events
from worker.venues.polymarket_us.parse import parse_events as pmus_events
from worker.venues.polymarket_us.parse import parse_markets as pmus_markets

REAL = Path(__file__).parents[2] / "fixtures" / "real"
CONTRACT = Path(__file__).parent / "contract" / "fixtures"
D = Decimal


def real(path: str) -> Any:
    return json.loads((REAL / path).read_text("utf-8"))


def refused_pairs(refused: list[MarketRefused]) -> list[tuple[str, str]]:
    return [(r.market_id, r.reason) for r in refused]


# -- sources ------------------------------------------------------------------------------


#: Every captured venue payload (``rules/`` holds quoted texts, with their own README).
CAPTURES = sorted(
    str(p.relative_to(REAL))
    for venue in ("kalshi", "polymarket", "polymarket_us")
    for p in (REAL / venue).glob("*.json")
    if not p.name.endswith(".source.json")
)


@pytest.mark.parametrize("name", CAPTURES)
def test_every_real_capture_names_its_source(name: str) -> None:
    source = json.loads((REAL / f"{name}.source.json").read_text("utf-8"))
    assert source["repository"].count("/") == 1
    commit = source["commit"]
    assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit)
    assert source["path"].endswith(".json") and source["captured_from"]


# -- Kalshi -------------------------------------------------------------------------------

KALSHI_TICKERS = [
    "KXELONMARS-99",
    "KXNEXTNATOSECGEN-99-KIOH",
    "KXNEXTNATOSECGEN-99-KKAL",
    "KXNEXTNATOSECGEN-99-BWAL",
    "KXNEXTNATOSECGEN-99-MFRE",
    "KXNEXTNATOSECGEN-99-ULEY",
    "KXNEXTNATOSECGEN-99-PPAV",
    "KXNEXTNATOSECGEN-99-ASTU",
    "KXNEXTNATOSECGEN-99-KSTA",
]


def test_kalshi_real_events_page_parses_every_market() -> None:
    refused: list[MarketRefused] = []
    markets, cursor = kalshi_events(real("kalshi/events_nested.json"), refused)
    assert [m.market_id for m in markets] == KALSHI_TICKERS
    assert cursor == "CgYI8OG8lQ8SE0tYTkVYVE5BVE9TRUNHRU4tOTk" and refused == []
    kioh = markets[1]
    yes = kioh.outcome(kioh.market_id, OutcomeSide.YES)
    no = kioh.outcome(kioh.market_id, OutcomeSide.NO)
    assert (yes.label, yes.bid, yes.ask) == ("Klaus Iohannis", D("0.0800"), D("0.1400"))
    assert (no.bid, no.ask) == (D("0.8600"), D("0.9200"))
    assert kioh.status is MarketStatus.OPEN and kioh.volume == D("134.00")
    assert kioh.event_id == "KXNEXTNATOSECGEN-99" and kioh.series == "KXNEXTNATOSECGEN"
    assert kioh.start_time == datetime(2099, 1, 1, 15, 0, tzinfo=UTC)  # occurrence_datetime
    assert markets[0].rules.startswith("If Elon Musk visits Mars before the earlier of his death")


def _nba_event() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    raw = real("kalshi/nba_event.json")
    return raw["event"], raw["markets"]


def test_kalshi_real_nba_game_markets_read_league_date_and_teams() -> None:
    event, markets = _nba_event()
    nested = {**event, "markets": markets}
    sas, nyk = (kalshi_market(m, nested) for m in markets)
    assert (sas.market_id, nyk.market_id) == ("KXNBAGAME-26JUN13NYKSAS-SAS", "KXNBAGAME-26JUN13NYKSAS-NYK")
    for m in (sas, nyk):
        assert m.league is League.NBA and m.kind is MarketKind.GAME_WINNER
        assert m.game_date == date(2026, 6, 13)
        assert (m.away and m.away.code, m.home and m.home.code) == ("NYK", "SAS")
        assert m.status is MarketStatus.SETTLED  # "finalized"
        assert m.start_time == datetime(2026, 6, 14, 3, 30, tzinfo=UTC)
    yes = nyk.outcome(nyk.market_id, OutcomeSide.YES)
    assert (yes.label, yes.team_code, yes.bid, yes.ask) == ("New York", "NYK", D("0.0000"), D("1.0000"))
    assert nyk.volume == D("107027102.30")


@pytest.mark.parametrize(
    ("breakage", "reason_part"),
    [
        ({"yes_ask_dollars": "n/a"}, "not a decimal: 'n/a'"),
        ({"ticker": None}, "kalshi market without ticker"),
        ({"expected_expiration_time": "tomorrow"}, "not a timestamp: 'tomorrow'"),
        ({"tick_size_dollars": []}, "not a decimal"),
    ],
)
def test_kalshi_broken_market_in_a_real_page_is_refused_alone(breakage: dict[str, Any], reason_part: str) -> None:
    page = real("kalshi/events_nested.json")
    nato = page["events"][1]
    broken = {**copy.deepcopy(nato["markets"][0]), "ticker": "KXNEXTNATOSECGEN-99-BROKEN", **breakage}
    nato["markets"].insert(3, broken)
    refused: list[MarketRefused] = []
    markets, _ = kalshi_events(page, refused)
    assert [m.market_id for m in markets] == KALSHI_TICKERS
    [(market_id, reason)] = refused_pairs(refused)
    expected_id = "event KXNEXTNATOSECGEN-99 market #3" if breakage.get("ticker", 1) is None else "KXNEXTNATOSECGEN-99-BROKEN"
    assert market_id == expected_id and reason_part in reason


def test_kalshi_real_nba_page_keeps_both_teams_when_a_third_market_is_garbage() -> None:
    event, markets = _nba_event()
    page = {"cursor": "", "events": [{**event, "markets": [markets[0], "not a market", markets[1]]}]}
    refused: list[MarketRefused] = []
    parsed, cursor = kalshi_events(page, refused)
    assert [m.market_id for m in parsed] == ["KXNBAGAME-26JUN13NYKSAS-SAS", "KXNBAGAME-26JUN13NYKSAS-NYK"]
    assert cursor is None
    assert refused_pairs(refused) == [("event KXNBAGAME-26JUN13NYKSAS market #1", "market is not an object: str")]


def test_kalshi_event_that_is_not_an_object_is_refused_alone() -> None:
    page = real("kalshi/events_nested.json")
    page["events"].insert(1, ["not", "an", "event"])
    refused: list[MarketRefused] = []
    markets, _ = kalshi_events(page, refused)
    assert [m.market_id for m in markets] == KALSHI_TICKERS
    assert refused_pairs(refused) == [("event #1", "event is not an object: list")]


def test_kalshi_page_of_the_wrong_shape_still_raises() -> None:
    with pytest.raises(PayloadError):
        kalshi_events({"events": "none"})
    with pytest.raises(PayloadError):
        kalshi_events([])  # type: ignore[arg-type]


# -- Polymarket (Gamma) -------------------------------------------------------------------

GAMMA_IDS = ["516950", "678876", "691547", "517231", "2694508", "597964", "623939"]


def test_gamma_real_page_refuses_only_the_market_without_clob_tokens() -> None:
    refused: list[MarketRefused] = []
    markets = gamma_events(real("polymarket/gamma_events.json"), refused)
    # 1642124 "Kraken IPO by June 30, 2026?" has outcomes but no clobTokenIds in the capture.
    assert [m.market_id for m in markets] == GAMMA_IDS
    assert refused_pairs(refused) == [("1642124", "no clobTokenIds: the market has no CLOB tokens to trade")]


def test_gamma_real_market_tokens_quotes_and_fees_come_from_the_capture() -> None:
    markets = {m.market_id: m for m in gamma_events(real("polymarket/gamma_events.json"), [])}
    m = markets["691547"]
    yes, no = m.outcomes
    assert (yes.label, no.label) == ("Yes", "No")
    assert yes.contract_id == "34626184950254225208692030156208941308358060420950772251072421141618169142241"
    assert no.contract_id == "28557614648090529004584076028720900603196666949274543515794672175624115225556"
    # bestBid 0.22 / bestAsk 0.31 quote "Yes"; "No" is the complement.
    assert (yes.bid, yes.ask, no.bid, no.ask) == (D("0.22"), D("0.31"), D("0.69"), D("0.78"))
    assert m.fees.model is FeeModel.POLYMARKET and m.fees.taker_rate == D("0.04") and m.fees.exponent == 1
    assert m.tick_size == D("0.01") and m.min_size == D("5") and m.status is MarketStatus.OPEN
    assert markets["516950"].status is MarketStatus.CLOSED  # "closed": true
    assert markets["516950"].tick_size == D("0.001")


def _gamma_page_with(broken: dict[str, Any]) -> list[Any]:
    page = real("polymarket/gamma_events.json")
    kraken = page[0]
    kraken["markets"].insert(2, {**copy.deepcopy(kraken["markets"][2]), "id": "9999999", **broken})
    return page


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ({"clobTokenIds": '["1234", '}, "clobTokenIds is garbled (not a JSON list: '[\"1234\", ')"),
        ({"clobTokenIds": '["1", "2", "3"]'}, "2 outcomes but 3 clobTokenIds"),
        ({"outcomePrices": '["0.265"]'}, "2 outcomes but 1 outcomePrices"),
        ({"clobTokenIds": '["77", "77"]'}, "clobTokenIds are empty or repeated: ['77', '77']"),
        ({"outcomes": 42}, "outcomes is garbled (not a list: 42)"),
        ({"bestBid": "high"}, "not a decimal: 'high'"),
        ({"gameStartTime": "soon"}, "not a timestamp: 'soon'"),
        ({"feesEnabled": True, "feeSchedule": None},
         "fees are enabled (or not stated) and the market has no feeSchedule rate"),
    ],
)
def test_gamma_broken_market_in_a_real_page_is_refused_alone(breakage: dict[str, Any], reason: str) -> None:
    refused: list[MarketRefused] = []
    markets = gamma_events(_gamma_page_with(breakage), refused)
    assert [m.market_id for m in markets] == GAMMA_IDS
    assert refused_pairs(refused) == [
        ("9999999", reason),
        ("1642124", "no clobTokenIds: the market has no CLOB tokens to trade"),
    ]


def test_gamma_market_without_id_is_named_by_its_place_in_the_event() -> None:
    refused: list[MarketRefused] = []
    markets = gamma_events(_gamma_page_with({"id": None}), refused)
    assert [m.market_id for m in markets] == GAMMA_IDS
    assert refused_pairs(refused)[0] == ("event 16183 market #2", "gamma market without id")


def test_gamma_page_of_the_wrong_shape_still_raises() -> None:
    with pytest.raises(PayloadError):
        gamma_events("[]")


# -- Polymarket US (no real capture: the documented-shape contract fixture) -----------------


def _pmus_page() -> dict[str, Any]:
    raw = json.loads((CONTRACT / "pmus_events.json").read_text("utf-8"))
    page: dict[str, Any] = raw["payload"]
    return page


PMUS_SLUGS = ["aec-nba-nyk-bos-2026-10-08", "tsc-nba-nyk-bos-2026-10-08-221pt5"]


def test_pmus_documented_page_parses() -> None:
    refused: list[MarketRefused] = []
    assert [m.market_id for m in pmus_events(_pmus_page(), refused)] == PMUS_SLUGS
    assert refused == []


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        ({"marketSides": "long"}, "market side is not an object"),
        ({"bestBidQuote": {"value": "cheap", "currency": "USD"}}, "not a decimal: 'cheap'"),
        ({"orderPriceMinTickSize": {"v": 1}}, "not a decimal: {'v': 1}"),
    ],
)
def test_pmus_broken_market_in_a_page_is_refused_alone(breakage: dict[str, Any], reason: str) -> None:
    page = _pmus_page()
    markets = page["events"][0]["markets"]
    markets.insert(1, {**copy.deepcopy(markets[0]), "slug": "aec-nba-broken", **breakage})
    refused: list[MarketRefused] = []
    assert [m.market_id for m in pmus_events(page, refused)] == PMUS_SLUGS
    assert refused_pairs(refused) == [("aec-nba-broken", reason)]


def test_pmus_markets_listing_refuses_a_market_alone() -> None:
    good = _pmus_page()["events"][0]["markets"]
    body = {"markets": [good[0], {"slug": "", "question": "?"}, good[1]], "hasMore": True}
    refused: list[MarketRefused] = []
    markets, more = pmus_markets(body, refused)
    assert [m.market_id for m in markets] == PMUS_SLUGS and more is True
    assert refused_pairs(refused) == [("market #1", "polymarket us market without slug")]
