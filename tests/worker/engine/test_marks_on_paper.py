"""The books' marks against the paper exchange's own books.

A real executor and feed trade one pinned arbitrage on an in-process paper exchange (its
books pinned, so nothing moves). The books then value the open position at the scanner's
marks: each held contract's bid must be the best bid the exchange itself serves for that
contract in the venue's own format (Kalshi's ``orderbook_fp`` NO bids, the Polymarket
token's bids), computed by the exchange's arithmetic, never ours; the hedged pair counts
$1 a contract in total, so its unrealised P&L is its locked edge; a mark older than the
book-age limit is no mark.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from paper_exchange.kalshi.wire import kalshi_orderbook
from tests.support.waiting import wait_until
from tests.worker.engine.paper_desk import PaperDesk, paper_desk
from worker.domain.markets import Venue
from worker.engine.executor import RiskConfig

pytestmark = pytest.mark.timeout(120)
MAX_AGE_MS = 60_000
published: list[Any] = []


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[PaperDesk]:
    published.clear()
    async with paper_desk(
        tmp_path,
        # Only the pinned edge clears 20 %: the drifting books of the other games never do.
        settings={"min_bet": D("0.50"), "max_bet": D("20"), "max_daily_loss": D("1000"), "min_roi": D(20)},
        risk=RiskConfig(max_book_age_ms=MAX_AGE_MS, suspicious_roi=D(1000)), faults=lambda faults: None,
        publish=lambda event, *_: published.append(event),
    ) as d:
        try:
            yield d
        finally:
            await d.feed.stop()
            await d.executor.wait_idle()


def exchange_best_bid(d: PaperDesk, venue: str, contract_id: str, side: str) -> D:
    """The best bid the exchange serves for a contract, read from its own book."""
    ex = d.server.state.exchange
    instrument = ex.world.instrument(contract_id)
    assert instrument is not None, contract_id
    if venue == Venue.KALSHI.value:
        market = ex.world.market(instrument.market_key)
        assert market is not None
        book = kalshi_orderbook(ex, market, datetime.now(UTC))["orderbook_fp"]
        levels = book["yes_dollars" if side == "yes" else "no_dollars"]
        return D(levels[-1][0])  # best last
    bids, _ = ex.instrument_book(instrument)
    return D(bids[0][0])


async def test_open_position_is_marked_at_the_exchange_s_own_best_bids(desk: PaperDesk) -> None:
    d = desk
    now = datetime.now(UTC)
    mapping = min(
        (m for m in d.feed.mappings.values() if m.start_time is not None and m.start_time > now + timedelta(hours=2)),
        key=lambda m: (m.start_time, m.kalshi_ticker),
    )
    ex = d.server.state.exchange

    def pin(instrument_id: str, bid: str, ask: str) -> None:
        instrument = ex.world.instrument(instrument_id)
        assert instrument is not None, instrument_id
        ex.pin_book(instrument, [(D(bid), D(500))], [(D(ask), D(500))])

    # Kalshi NO at 0.44 (YES bid 0.56) with the mapped token at 0.30: 26 % before fees.
    pin(mapping.poly_market, "0.28", "0.30")
    pin(mapping.kalshi_ticker, "0.56", "0.58")
    d.feed.start()

    async def position() -> Any:
        rows = await d.trades.list_positions("open")
        attempts = await d.attempts.list_all()
        return rows if rows and attempts and all(a.state.terminal for a in attempts) else None

    (pos,) = await wait_until(position, 60, "the pinned arbitrage traded")
    await d.executor.refresher.refresh()
    books = d.executor.last_books
    assert books is not None and books["mark_max_age_ms"] == MAX_AGE_MS
    (held,) = [h for h in books["positions"] if h["position_id"] == pos.id]
    assert {g["venue"] for g in held["legs"]} == {"kalshi", "polymarket"}
    for leg in held["legs"]:
        oracle = exchange_best_bid(d, leg["venue"], leg["contract_id"], leg["side"])
        assert leg["bid"] == oracle, (leg, oracle)
    # By hand: the NO bid is 1 − the YES ask 0.58; the token's bid was pinned at 0.28.
    assert sorted(g["bid"] for g in held["legs"]) == [D("0.28"), D("0.42")]
    # A hedged pair is worth $1 a contract in total: its unrealised P&L is its locked edge.
    assert held["hedged"] == D(pos.poly_contracts) == D(pos.kalshi_contracts)
    assert held["value"] == held["hedged"] and held["unrealised"] == held["hedged"] - D(str(pos.cost))
    assert books["total"]["unrealised"] == books["locked_edge"] == held["unrealised"]
    # Per venue each leg counts at its bid (what selling it now would bring).
    for leg in held["legs"]:
        venue = books["venues"][leg["venue"]]
        assert venue["at_mark"] == leg["quantity"] * leg["bid"]
        assert venue["unrealised"] == venue["at_mark"] - venue["open_cost"]
        assert venue["equity"] == venue["cash"] + venue["at_mark"] + venue["to_redeem"]

    # Once the marks are older than the limit there is no mark; the pair still counts $1.
    assert d.executor.marks is not None
    raw = d.executor._books
    assert raw is not None
    later = raw.at_marks(d.executor.marks, datetime.now(UTC) + timedelta(milliseconds=MAX_AGE_MS + 1000), MAX_AGE_MS)
    stale = later.wire()
    (unmarked,) = [h for h in stale["positions"] if h["position_id"] == pos.id]
    assert [g["bid"] for g in unmarked["legs"]] == [None, None]
    assert unmarked["value"] == unmarked["hedged"]
    assert stale["venues"]["kalshi"]["at_mark"] is None and stale["venues"]["kalshi"]["unmarked"] == 1
    assert stale["total"]["at_mark"] is not None

    # The books follow the marks: a new bid on the exchange is published, revalued, by the
    # executor's mark loop (no balance read needed).
    pin(mapping.poly_market, "0.25", "0.30")
    d.executor._mark_interval = 0.05
    loop = asyncio.create_task(d.executor._mark_loop())

    def token_bid() -> Any:
        for event in reversed(published):
            books = getattr(event, "books", None)
            if books is None:
                continue
            for h in books.positions:
                for g in h.legs:
                    if h.position_id == pos.id and g.venue is Venue.POLYMARKET and g.bid == D("0.25"):
                        return h
        return None

    try:
        moved = await wait_until(token_bid, 30, "a balance_update with the token's new bid")
    finally:
        loop.cancel()
    assert moved.unrealised == held["unrealised"]  # hedged: the pair still pays $1
