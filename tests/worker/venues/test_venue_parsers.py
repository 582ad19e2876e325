"""Pure parsers on the contract fixtures: structured fields a matcher relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tests.worker.venues.contract.fakes import fixture
from worker.domain.fees import FeeSchedule
from worker.domain.markets import League, MarketKind, MarketStatus, OutcomeSide
from worker.venues.kalshi.parse import parse_events as kalshi_events
from worker.venues.kalshi.parse import parse_orderbook
from worker.venues.polymarket.parse import parse_book as clob_book
from worker.venues.polymarket.parse import parse_events as gamma_events
from worker.venues.polymarket_us.parse import parse_book as us_book
from worker.venues.polymarket_us.parse import parse_events as us_events


def test_kalshi_event_ticker_gives_date_away_home_and_team_code() -> None:
    markets, cursor = kalshi_events(fixture("kalshi_events.json"))
    hou = markets[0]
    assert cursor is None and hou.league is League.NBA and hou.kind is MarketKind.GAME_WINNER
    assert hou.game_date == date(2026, 1, 11)
    assert (hou.away and hou.away.code, hou.home and hou.home.code) == ("HOU", "SAC")
    yes = hou.outcome(hou.market_id, OutcomeSide.YES)
    assert yes.label == "Houston" and yes.team_code == "HOU" and yes.ask == Decimal("0.4300")
    assert hou.status is MarketStatus.OPEN and hou.volume == Decimal("15230.00")


def test_kalshi_yes_ask_is_one_minus_best_no_bid() -> None:
    yes, no = parse_orderbook("T", fixture("kalshi_orderbook.json"), datetime.now(UTC))
    assert yes.best_ask is not None and yes.best_ask.price == Decimal("0.43")
    assert yes.best_ask.size == Decimal("4.00")
    assert no.best_ask is not None and no.best_ask.price == Decimal("0.59")


def test_gamma_decodes_json_strings_and_tells_moneyline_from_spread() -> None:
    markets = gamma_events(fixture("gamma_events.json"))
    ml, spread = markets
    assert ml.kind is MarketKind.GAME_WINNER and spread.kind is MarketKind.SPREAD
    assert [o.label for o in ml.outcomes] == ["Rockets", "Kings"]
    assert ml.outcomes[0].contract_id.startswith("7132")
    assert ml.start_time == datetime(2026, 1, 12, 3, 0, tzinfo=UTC)
    assert (ml.away and ml.away.code, ml.home and ml.home.code) == ("hou", "sac")
    assert ml.min_size == Decimal("5") and spread.line == Decimal("-5.5")


def test_clob_book_best_level_last_is_sorted_first() -> None:
    book = clob_book(fixture("clob_book.json"), datetime.now(UTC))
    assert book.best_bid is not None and book.best_bid.price == Decimal("0.42")
    assert book.best_ask is not None and book.best_ask.price == Decimal("0.43")


def test_polymarket_us_long_side_read_from_market_sides() -> None:
    winner, total = us_events(fixture("pmus_events.json"))
    assert winner.kind is MarketKind.GAME_WINNER and total.kind is MarketKind.TOTAL
    long, short = winner.outcomes
    assert long.side is OutcomeSide.LONG and long.team_code == "NYK"
    assert short.label == "Boston Celtics" and short.team_name == "Boston Celtics"
    assert winner.tick_size == Decimal("0.005")
    # The FAQ's exchange-wide schedule, whatever the market's undocumented feeCoefficient says
    # (the fixture carries 0.0695): 30 bps of 1,000 × $0.65 is $1.95 (docs.polymarket.us/faqs/fees).
    assert winner.fees == FeeSchedule.polymarket_us()
    assert winner.fees.taker_fee(Decimal(1000), Decimal("0.65")) == Decimal("1.95")


def test_polymarket_us_short_book_is_complement_of_long() -> None:
    long, short = us_book(fixture("pmus_book.json"), datetime.now(UTC))
    assert long.best_bid is not None and long.best_bid.price == Decimal("0.415")
    assert short.best_ask is not None and short.best_ask.price == Decimal("0.585")
