"""Review governs trading: the feed, the mapping store and the executor on the paper exchange.

A game is listed as two mappings (one per Kalshi market, each with its team's Polymarket
token). The paper exchange's books are pinned so that exactly one pair of a game is an
arbitrage, the books are handed to the feed as its streams would (``on_book``), and the
feed's own queue is submitted as its consumer does: no sleeping, no stubbed engine part.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from db.attempts import AttemptRepository
from db.mappings import SqlMappingStore
from paper_exchange.app import PaperServer
from tests.support.fake_venue import bus_message
from tests.worker.engine.paper_desk import paper_desk
from worker.domain.attempts import AttemptRecord, AttemptState, Refusal, RefusalReason
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    Direction,
    MappingStatus,
    MarketMapping,
    NotTradeable,
    OpportunityEvent,
    OpportunityEventKind,
    TradePermission,
)
from worker.domain.markets import Venue
from worker.domain.ports import VenuePort
from worker.engine.executor import Executor, RiskConfig
from worker.engine.executor.pipeline import OpportunityPipeline

pytestmark = pytest.mark.timeout(120)


@dataclass
class Desk:
    server: PaperServer
    venues: dict[Venue, VenuePort]
    store: SqlMappingStore
    attempts: AttemptRepository
    executor: Executor
    feed: OpportunityPipeline
    published: list[tuple[str, Any]] = field(default_factory=list)  # the executor's bus messages
    events: list[OpportunityEvent] = field(default_factory=list)  # the feed's wire hook

    def wire(self) -> list[OpportunityEvent]:
        """Every opportunity event the feed handed to the wire so far (its outbox drained)."""
        self.feed.flush_events()
        return self.events

    def refusals(self) -> list[Any]:
        return [d for t, d in self.published if t == "refusal"]

    def game(self) -> tuple[MarketMapping, MarketMapping]:
        """A Polymarket game far from its start, as its two mappings (by Kalshi ticker)."""
        now = datetime.now(UTC)
        games: dict[str, list[MarketMapping]] = {}
        for m in self.feed.mappings.values():
            if m.start_time is not None and m.start_time > now + timedelta(hours=2):
                games.setdefault(m.kalshi_event_ticker, []).append(m)
        pairs = [sorted(ms, key=lambda m: m.kalshi_ticker) for ms in games.values() if len(ms) == 2]
        assert pairs, "no paper game with both directions listed"
        a, b = min(pairs, key=lambda p: p[0].start_time or now)
        return a, b

    def pin_arbitrage(self, a: MarketMapping, b: MarketMapping, poly_ask: D = D("0.40"), yes_bid: D = D("0.55")) -> None:
        """Exactly one pair of the game is an arbitrage: ``a``'s Kalshi NO (at 1 − the YES
        bid, 0.45) with ``a``'s team token (0.40); every other pair costs $1 or more."""
        exchange = self.server.state.exchange
        world = exchange.world

        def pin(instrument_id: str, bid: D, ask: D) -> None:
            instrument = world.instrument(instrument_id)
            assert instrument is not None, instrument_id
            exchange.pin_book(instrument, [(bid, D(500))], [(ask, D(500))])

        pin(a.poly_market, poly_ask - D("0.02"), poly_ask)
        pin(a.kalshi_ticker, yes_bid, yes_bid + D("0.02"))
        other = 1 - poly_ask
        pin(b.kalshi_ticker, other - D("0.02"), other)

    async def feed_books(self, *mappings: MarketMapping) -> None:
        """Each contract's current book, handed to the feed as its stream would."""
        for m in mappings:
            for ref in (m.kalshi_yes, m.kalshi_no):
                self.feed.on_book(await self.venues[Venue.KALSHI].get_book(ref))
            for ref in (m.poly_same, m.poly_other):
                self.feed.on_book(await self.venues[Venue.POLYMARKET].get_book(ref))

    async def decide(self, mapping_id: str, status: MappingStatus) -> None:
        """As the worker does: the store records it, then the running feed applies it."""
        await self.store.decide(mapping_id, status, datetime.now(UTC))
        self.feed.decide(mapping_id, status)

    async def submit_pending(self) -> list[AttemptRecord | Refusal]:
        """What the feed's consumer does with its queue."""
        results: list[AttemptRecord | Refusal] = []
        for event in self.feed.take_pending():
            cand = self.feed.candidate(event)
            assert cand is not None
            results.append(await self.executor.submit(cand))
        return results


@asynccontextmanager
async def open_desk(tmp_path: Path, risk: RiskConfig) -> AsyncIterator[Desk]:
    published: list[tuple[str, Any]] = []
    events: list[OpportunityEvent] = []

    def every_order_behaves(faults: Any) -> None:
        faults.order_fault = lambda: None
        faults.slip = lambda: False

    async with paper_desk(
        tmp_path, settings={"min_bet": D("0.50"), "max_bet": D("20"), "max_daily_loss": D("1000")},
        risk=risk, faults=every_order_behaves, publish=lambda e, d=None: published.append(bus_message(e, d)),
        mapping_store=SqlMappingStore, on_event=events.append,
    ) as base:
        assert isinstance(base.mappings, SqlMappingStore)
        desk = Desk(base.server, base.venues, base.mappings, base.attempts, base.executor, base.feed, published, events)
        try:
            yield desk
        finally:
            await desk.executor.wait_idle()


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with open_desk(tmp_path, RiskConfig(max_book_age_ms=60_000)) as d:
        yield d


@pytest.fixture
async def strict_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """``EXECUTOR_REQUIRE_CONFIRMATION=true``: only confirmed games trade."""
    async with open_desk(tmp_path, RiskConfig(max_book_age_ms=60_000, require_confirmation=True)) as d:
        yield d


async def test_rejecting_one_direction_stops_the_whole_game(desk: Desk) -> None:
    a, b = desk.game()
    assert a.review_key == b.review_key and a.id != b.id
    desk.pin_arbitrage(a, b)
    await desk.feed_books(a, b)
    # The one arbitrage of the game, on a's Kalshi NO: what "may trade" before the review.
    [opened] = [e for e in desk.feed._pending.values()]
    assert opened.opportunity.mapping_id == a.id and opened.opportunity.direction is Direction.KALSHI_NO
    assert desk.feed.permission(a.id) == TradePermission(True)

    # The operator rejects the game's *other* row (b): a's pair stops trading too.
    await desk.decide(b.id, MappingStatus.REJECTED)
    for m in (a, b):
        stored = await desk.store.get(m.id)
        assert stored is not None and stored.status is MappingStatus.REJECTED
        assert desk.feed.mappings[m.id].status is MappingStatus.REJECTED
        assert desk.feed.permission(m.id) == TradePermission(False, NotTradeable.REJECTED, "rejected by the operator")
    closed = [e for e in desk.wire() if e.kind is OpportunityEventKind.CLOSED]
    assert [(e.opportunity.id, e.reason) for e in closed] == [(opened.opportunity.id, CloseReason.MAPPING_REJECTED)]
    assert await desk.submit_pending() == []  # the queued quote was withdrawn with it

    # A quote taken before the decision, submitted after it, is refused with the reason.
    cand = desk.feed.candidate(opened)
    assert cand is not None
    refused = await desk.executor.submit(cand)
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.MAPPING_REJECTED
    assert desk.refusals()[-1]["reason"] == "mapping_rejected"

    # Fresh books, and a rediscovery (the game listed again): still nothing on this game.
    desk.wire().clear()
    desk.pin_arbitrage(a, b, poly_ask=D("0.38"))
    await desk.feed_books(a, b)
    await desk.feed.discover()
    assert {desk.feed.mappings[m.id].status for m in (a, b)} == {MappingStatus.REJECTED}
    await desk.feed_books(a, b)
    assert [e for e in desk.wire() if e.opportunity.mapping_id in (a.id, b.id)] == []
    assert await desk.submit_pending() == []
    assert await desk.attempts.list_all() == []

    # The operator changes their mind (confirms a's row): the game is priced and trades again.
    await desk.decide(a.id, MappingStatus.CONFIRMED)
    assert desk.feed.permission(b.id) == TradePermission(True)
    await desk.feed_books(a, b)
    [admitted] = await desk.submit_pending()
    assert isinstance(admitted, AttemptRecord) and admitted.mapping_id == a.id


async def test_unconfirmed_high_pair_is_refused_until_the_game_is_confirmed(strict_desk: Desk) -> None:
    desk = strict_desk
    a, b = desk.game()
    assert a.confidence is Confidence.HIGH and a.status is MappingStatus.CANDIDATE
    awaiting = TradePermission(False, NotTradeable.NOT_CONFIRMED, "awaiting confirmation")
    assert desk.feed.permission(a.id) == awaiting and desk.feed.permission(b.id) == awaiting
    desk.pin_arbitrage(a, b)
    await desk.feed_books(a, b)
    [refused] = await desk.submit_pending()
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.NOT_CONFIRMED
    assert refused.detail == "awaiting confirmation"
    assert desk.refusals()[-1]["reason"] == "not_confirmed"
    assert await desk.attempts.list_all() == []

    # Confirming the other row confirms the game: a's open quote is handed over again.
    await desk.decide(b.id, MappingStatus.CONFIRMED)
    assert desk.feed.permission(a.id) == TradePermission(True)
    stored = await desk.store.get(a.id)
    assert stored is not None and stored.status is MappingStatus.CONFIRMED
    [admitted] = await desk.submit_pending()
    assert isinstance(admitted, AttemptRecord), admitted
    assert admitted.mapping_id == a.id
    await desk.executor.wait_idle()
    done = await desk.attempts.get(admitted.id)
    assert done is not None and done.state is AttemptState.HEDGED, done.reason
