"""An arbitrage refused only because its game was busy is tried once the game is free.

The risk manager admits one attempt per game at a time. The feed runs as in the worker
(its book streams from an in-process paper exchange, its consumer submitting to a real
executor); the exchange's books are pinned, so nothing moves once they have arrived: the
second arbitrage of the game gets no new quote after the first attempt ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_venue import bus_message
from tests.support.waiting import wait_until
from tests.worker.engine.paper_desk import PaperDesk, paper_desk
from worker.domain.attempts import AttemptState
from worker.domain.mapping import Direction, MarketMapping
from worker.engine.executor import RiskConfig

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[PaperDesk, list[tuple[str, Any]]]]:
    published: list[tuple[str, Any]] = []
    async with paper_desk(
        tmp_path,
        # Only the pinned edges clear 20 %: the drifting books of the other games never do.
        settings={"min_bet": D("0.50"), "max_bet": D("20"), "max_daily_loss": D("1000"), "min_roi": D(20)},
        risk=RiskConfig(max_book_age_ms=60_000, suspicious_roi=D(1000)), faults=lambda faults: None,  # none but scripted ones
        publish=lambda e, d=None: published.append(bus_message(e, d)),
    ) as d:
        try:
            yield d, published
        finally:
            await d.feed.stop()
            await d.executor.wait_idle()


def one_game(desk: PaperDesk) -> tuple[MarketMapping, MarketMapping]:
    """A game far from its start, as its two mappings (by Kalshi ticker)."""
    now = datetime.now(UTC)
    games: dict[str, list[MarketMapping]] = {}
    for m in desk.feed.mappings.values():
        if m.start_time is not None and m.start_time > now + timedelta(hours=2):
            games.setdefault(m.kalshi_event_ticker, []).append(m)
    pairs = [sorted(ms, key=lambda m: m.kalshi_ticker) for ms in games.values() if len(ms) == 2]
    a, b = min(pairs, key=lambda p: p[0].start_time or now)
    return a, b


def pin_two_arbitrages(desk: PaperDesk, a: MarketMapping, b: MarketMapping) -> None:
    """Both Kalshi-NO pairs of the game pay: a's NO (0.44) with a's token (0.30), and b's
    NO (0.05) with b's token (0.72, the mirror of a's 0.28 bid); the YES pairs cost over $1."""
    exchange = desk.server.state.exchange

    def pin(instrument_id: str, bid: D, ask: D) -> None:
        instrument = exchange.world.instrument(instrument_id)
        assert instrument is not None, instrument_id
        exchange.pin_book(instrument, [(bid, D(500))], [(ask, D(500))])

    pin(a.poly_market, D("0.28"), D("0.30"))
    pin(a.kalshi_ticker, D("0.56"), D("0.58"))
    pin(b.kalshi_ticker, D("0.95"), D("0.97"))


async def test_an_arbitrage_refused_while_its_game_was_busy_trades_once_the_attempt_failed(
    desk: tuple[PaperDesk, list[tuple[str, Any]]],
) -> None:
    d, published = desk
    a, b = one_game(d)
    game_key = a.kalshi_event_ticker
    pin_two_arbitrages(d, a, b)
    ids = {f"opp_{m.id.removeprefix('map_')}_{Direction.KALSHI_NO.value}" for m in (a, b)}

    # The game's lock is held: whichever arbitrage is admitted first waits in PLANNED, and
    # the other one is refused because the game is busy.
    async with d.executor.game_lock(game_key):
        d.feed.start()
        refused = await wait_until(
            lambda: [m for t, m in published if t == "refusal" and m["opportunity_id"] in ids],
            60, "the game's second arbitrage refused",
        )
        assert [m["reason"] for m in refused] == ["game_busy"], refused
        (first,) = await d.attempts.list_all()
        assert first.state is AttemptState.PLANNED and first.game_key == game_key
        d.server.state.faults.script(["reject"], [])  # the first attempt's leg 1 is refused

    # The first attempt fails; the books do not move again, yet the other arbitrage trades.
    async def second_attempt_ended() -> Any:
        rows = await d.attempts.list_all()
        return len(rows) == 2 and all(r.state.terminal for r in rows) and rows

    rows = await wait_until(second_attempt_ended, 60, "the refused arbitrage tried again")
    by_id = {r.id: r for r in rows}
    failed = by_id.pop(first.id)
    (second,) = by_id.values()
    assert failed.state is AttemptState.FAILED
    assert second.state is AttemptState.HEDGED, second.reason
    assert second.game_key == game_key
    assert {failed.details["opportunity_id"], second.details["opportunity_id"]} == ids
    assert refused[0]["opportunity_id"] == second.details["opportunity_id"]
