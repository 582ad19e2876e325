"""Markets and books for the recording tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.leagues import League
from worker.domain.markets import (
    ContractRef,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    TeamRef,
    Venue,
)
from worker.domain.ports import BookUpdate

T0 = datetime(2026, 3, 1, 18, tzinfo=UTC)
D = Decimal


def market(venue: Venue = Venue.POLYMARKET, market_id: str = "m1") -> Market:
    """A market with every field set, Decimals with telling exponents."""
    side = OutcomeSide.TOKEN if venue is Venue.POLYMARKET else OutcomeSide.YES
    return Market(
        venue=venue,
        market_id=market_id,
        event_id="ev-1",
        event_title="Rockets at Kings",
        title="Rockets vs. Kings",
        league=League.NBA,
        kind=MarketKind.GAME_WINNER,
        outcomes=(
            Outcome(venue, market_id, f"{market_id}-a", side, "Rockets", "HOU", "Houston Rockets", D("0.450"), D("0.46")),
            Outcome(venue, market_id, f"{market_id}-b", side, "Kings", None, None, None, D("0.5500")),
        ),
        tick_size=D("0.001"),
        min_size=D("5.00"),
        fees=FeeSchedule.polymarket(D("0.0300"), 2, D("0.010")),
        status=MarketStatus.OPEN,
        start_time=T0 + timedelta(hours=1, microseconds=123),
        close_time=None,
        rules="Resolves to the winner.",
        volume=D("12345.670"),
        url="https://example.invalid/m1",
        event_slug="nba-hou-sac-2026-03-01",
        slug="nba-hou-sac",
        series=None,
        condition_id="0xabc",
        sports_market_type="moneyline",
        line=D("-3.50"),
        neg_risk=True,
        away=TeamRef("HOU", "Houston Rockets"),
        home=TeamRef(None),
        game_date=date(2026, 3, 1),
        extra={"gamma_id": "42", "note": "é ünïcode"},
    )


def ref(venue: Venue = Venue.KALSHI, n: int = 1, side: OutcomeSide = OutcomeSide.YES) -> ContractRef:
    return ContractRef(venue, f"MKT-{n}", f"MKT-{n}", side)


def book(contract: ContractRef, at: datetime, bid: str = "0.45", ask: str = "0.47", sequence: int | None = None) -> OrderBook:
    return OrderBook.build(
        contract,
        [PriceLevel(D(bid), D("10")), PriceLevel(D(bid) - D("0.01"), D("2.50"))],
        [PriceLevel(D(ask), D("7")), PriceLevel(D(ask) + D("0.010"), D("100"))],
        at,
        sequence,
    )


def update(contract: ContractRef, at: datetime, **kw: object) -> BookUpdate:
    return BookUpdate(book(contract, at, **kw), snapshot=False)  # type: ignore[arg-type]
