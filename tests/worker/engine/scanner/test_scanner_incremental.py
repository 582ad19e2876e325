"""The scanner re-evaluates only what a book update can change, and nothing it should not skip."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

import worker.engine.scanner.scanner as scanner_module
from worker.clock import FakeClock
from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    Direction,
    MarketMapping,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.domain.ports import BookUpdate
from worker.engine.scanner.scanner import Scanner

NOW = datetime(2026, 1, 11, 18, 0, tzinfo=UTC)
START = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)
K = "KXNBAGAME-26JAN11HOUSAC-HOU"
SLUG = "aec-nba-hou-sac-2026-01-11"


def lv(*pairs: tuple[str, str]) -> tuple[PriceLevel, ...]:
    return tuple(PriceLevel(D(p), D(s)) for p, s in pairs)


def kalshi() -> Market:
    return Market(
        Venue.KALSHI, K, "KXNBAGAME-26JAN11HOUSAC", "Houston at Sacramento", "t", League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.KALSHI, K, K, OutcomeSide.YES, "Houston"),
            Outcome(Venue.KALSHI, K, K, OutcomeSide.NO, "Houston"),
        ),
        D("0.01"), D(1), FeeSchedule.kalshi(), MarketStatus.OPEN, start_time=START,
        rules="If Houston wins, Yes.",
    )  # fmt: skip


def gamma() -> Market:
    return Market(
        Venue.POLYMARKET, "700001", "90001", "Rockets vs. Kings", "t", League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.POLYMARKET, "700001", "5001", OutcomeSide.TOKEN, "Kings"),
            Outcome(Venue.POLYMARKET, "700001", "5002", OutcomeSide.TOKEN, "Rockets"),
        ),
        D("0.01"), D(1), FeeSchedule.polymarket(D("0.03")), MarketStatus.OPEN, start_time=START,
        rules="Resolves to the winner.",
    )  # fmt: skip


def pmus() -> Market:
    return Market(
        Venue.POLYMARKET_US, SLUG, "ev", "Rockets vs. Kings", "t", League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.LONG, "Rockets"),
            Outcome(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.SHORT, "Kings"),
        ),
        D("0.01"), D(1), FeeSchedule.polymarket_us(), MarketStatus.OPEN, start_time=START,
        rules="Resolves to the winner.",
    )  # fmt: skip


def gamma_mapping() -> MarketMapping:
    return MarketMapping(
        K, "KXNBAGAME-26JAN11HOUSAC", Venue.POLYMARKET, "5002", "", "5001", "nba",
        date(2026, 1, 11), "nba:HOU", "nba:SAC", "nba:HOU", "Houston at Sacramento",
        Confidence.HIGH, ("test",), START, "700001",
    )  # fmt: skip


def pmus_mapping() -> MarketMapping:
    return MarketMapping(
        K, "KXNBAGAME-26JAN11HOUSAC", Venue.POLYMARKET_US, SLUG, "long", "", "nba",
        date(2026, 1, 11), "nba:HOU", "nba:SAC", "nba:HOU", "Houston at Sacramento",
        Confidence.HIGH, ("test",), START,
    )  # fmt: skip


def kalshi_books(
    yes_bids: tuple[PriceLevel, ...], no_bids: tuple[PriceLevel, ...]
) -> list[OrderBook]:
    m = gamma_mapping()
    return list(two_sided_from_bids(m.kalshi_yes, m.kalshi_no, yes_bids, no_bids, NOW))


def token(tok: str, asks: tuple[PriceLevel, ...]) -> OrderBook:
    return OrderBook.build(
        ContractRef(Venue.POLYMARKET, "700001", tok, OutcomeSide.TOKEN), [], asks, NOW
    )


def long_book(bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...]) -> OrderBook:
    ref = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.LONG)
    return OrderBook.build(ref, bids, asks, NOW)


def test_a_token_update_re_evaluates_only_the_direction_buying_that_token() -> None:
    sc = Scanner(lambda e: None)
    sc.add_mapping(gamma_mapping(), kalshi(), gamma())
    sc.on_books(kalshi_books(lv(("0.55", "40")), lv(("0.40", "40"))), NOW)
    assert sc.evaluations == 2  # YES and NO books: both directions
    sc.on_book(token("5002", lv(("0.45", "40"))), NOW)  # Rockets: bought with Kalshi NO
    assert sc.evaluations == 3


def test_polymarket_us_long_book_prices_the_short_side_bought_with_kalshi_yes() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.add_mapping(pmus_mapping(), kalshi(), pmus())
    sc.on_books(kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))), NOW)  # YES ask 0.40
    # Rockets (long) bid 0.55 is a Kings (short) offer at 0.45.
    sc.on_book(long_book(lv(("0.55", "30")), lv(("0.57", "30"))), NOW)
    assert [e.kind for e in events] == [OpportunityEventKind.OPENED]
    opp = events[0].opportunity
    assert opp.direction is Direction.KALSHI_YES
    assert opp.poly_leg.contract.side is OutcomeSide.SHORT
    assert opp.poly_leg.price == D("0.45") and opp.poly_leg.label == "SHORT Kings"
    assert opp.size == D(30)


def test_short_side_is_derived_for_a_mapping_added_after_its_long_book_arrived() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.on_book(long_book(lv(("0.55", "30")), lv(("0.57", "30"))), NOW)
    sc.add_mapping(pmus_mapping(), kalshi(), pmus())
    short = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.SHORT)
    assert sc.asks(short) == lv(("0.45", "30"))
    sc.on_books(kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))), NOW)
    assert [e.opportunity.poly_leg.contract for e in events] == [short]


def test_the_executor_feed_reads_depth_from_the_scanner_ladders_short_side_included() -> None:
    """The risk manager's depth (contracts up to each leg's limit) comes from the ladders
    the scanner priced the opportunity from: a Polymarket US SHORT leg has one too."""
    from worker.engine.executor.pipeline import OpportunityPipeline

    events: list[OpportunityEvent] = []
    feed = OpportunityPipeline(None, None, None, clock=FakeClock(NOW), on_event=events.append)  # type: ignore[arg-type]
    mapping = pmus_mapping()
    feed.mappings[mapping.id] = mapping
    feed.scanner.add_mapping(mapping, kalshi(), pmus())
    for book in kalshi_books(lv(("0.30", "50")), lv(("0.60", "20"), ("0.59", "30"))):
        feed.on_book(book)  # YES asks 0.40 x 20, 0.41 x 30
    feed.on_book(long_book(lv(("0.55", "25"), ("0.54", "40")), lv(("0.57", "30"))))
    feed.flush_events()
    (event,) = [e for e in events if e.kind is OpportunityEventKind.OPENED]
    opp = event.opportunity
    assert opp.poly_leg.contract.side is OutcomeSide.SHORT  # asks 0.45 x 25, 0.46 x 40
    candidate = feed.candidate(event)
    assert candidate is not None
    limits = {leg.contract: leg.price for leg in opp.legs}
    expected = {
        opp.kalshi_leg.contract: sum(
            (
                lvl.size
                for lvl in lv(("0.40", "20"), ("0.41", "30"))
                if lvl.price <= limits[opp.kalshi_leg.contract]
            ),
            D(0),
        ),
        opp.poly_leg.contract: sum(
            (
                lvl.size
                for lvl in lv(("0.45", "25"), ("0.46", "40"))
                if lvl.price <= limits[opp.poly_leg.contract]
            ),
            D(0),
        ),
    }
    assert candidate.depth == expected
    assert all(v > 0 for v in expected.values())


def test_a_polymarket_us_short_leg_is_as_old_as_the_long_book_it_is_derived_from() -> None:
    """The risk manager refuses legs whose book is too old: a SHORT leg's age is its LONG
    book's, not the time the opportunity was last evaluated (a fresh Kalshi book would
    otherwise make a stale Polymarket US book look fresh)."""
    from worker.engine.executor.pipeline import OpportunityPipeline

    events: list[OpportunityEvent] = []
    feed = OpportunityPipeline(None, None, None, clock=FakeClock(NOW), on_event=events.append)  # type: ignore[arg-type]
    mapping = pmus_mapping()
    feed.mappings[mapping.id] = mapping
    feed.scanner.add_mapping(mapping, kalshi(), pmus())
    old = NOW - timedelta(seconds=45)
    long_ref = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.LONG)
    feed.on_book(OrderBook.build(long_ref, lv(("0.55", "30")), lv(("0.57", "30")), old))
    for book in kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))):
        feed.on_book(book)  # received at NOW: this evaluation opens the opportunity
    feed.flush_events()
    (event,) = [e for e in events if e.kind is OpportunityEventKind.OPENED]
    short = event.opportunity.poly_leg.contract
    assert short.side is OutcomeSide.SHORT and event.opportunity.updated_at == NOW
    candidate = feed.candidate(event)
    assert candidate is not None
    assert candidate.book_times[short] == old
    assert candidate.book_times[event.opportunity.kalshi_leg.contract] == NOW
    # A leg whose book time is unknown is never taken for fresh: it is older than any limit.
    feed.scanner = Scanner(lambda e: None)  # knows no book
    unknown = feed.candidate(event)
    assert unknown is not None
    assert all(NOW - at > timedelta(days=365) for at in unknown.book_times.values())


def test_book_times_follow_each_book_a_short_side_derived_later_included() -> None:
    sc = Scanner(lambda e: None)
    long_ref = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.LONG)
    short = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.SHORT)
    early, late = NOW - timedelta(seconds=20), NOW - timedelta(seconds=5)
    sc.on_book(OrderBook.build(long_ref, lv(("0.55", "30")), lv(("0.57", "30")), early), NOW)
    assert sc.book_time(long_ref) == early and sc.book_time(short) is None
    sc.add_mapping(pmus_mapping(), kalshi(), pmus())  # derives SHORT from the known LONG book
    assert sc.book_time(short) == early
    sc.on_book(OrderBook.build(long_ref, lv(("0.54", "30")), lv(("0.56", "30")), late), NOW)
    sc.on_books(kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))), NOW)
    m = pmus_mapping()
    assert dict(sc.book_times()) == {long_ref: late, short: late, m.kalshi_yes: NOW, m.kalshi_no: NOW}


class _Stream:
    """A venue port whose book stream yields what the test puts in its queue."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.queue: asyncio.Queue[OrderBook] = asyncio.Queue()

    async def stream_books(self, contracts: object) -> AsyncIterator[BookUpdate]:
        while True:
            yield BookUpdate(await self.queue.get(), True)


class _FeedRig:
    """An :class:`OpportunityPipeline` on a Gamma mapping whose books come from queues, with
    a hook that records each event (and fails if it runs inside a book update) and an
    executor that records each submission, all in one log."""

    def __init__(self) -> None:
        from worker.engine.executor.pipeline import OpportunityPipeline

        self.log: list[str] = []
        self.in_update = False
        log = self.log

        class Executor:
            async def submit(self, candidate: object) -> None:
                log.append("submit")

            def on_attempt_end(self, listener: object) -> None:
                pass

            def off_attempt_end(self, listener: object) -> None:
                pass

        self.kalshi, self.poly = _Stream(Venue.KALSHI), _Stream(Venue.POLYMARKET)
        self.feed = OpportunityPipeline(Executor(), self.kalshi, self.poly, clock=FakeClock(NOW), on_event=self.hook)  # type: ignore[arg-type]
        mapping = gamma_mapping()
        self.feed.mappings[mapping.id] = mapping
        self.feed.scanner.add_mapping(mapping, kalshi(), gamma())
        real_on_book = self.feed.on_book

        def on_book(book: OrderBook) -> None:
            self.in_update = True
            try:
                real_on_book(book)
            finally:
                self.in_update = False

        self.feed.on_book = on_book  # type: ignore[method-assign]
        for book in kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))):
            self.kalshi.queue.put_nowait(book)  # YES asks 0.40 x 50

    def hook(self, event: OpportunityEvent) -> None:
        assert not self.in_update, "the hook ran inside a book update"
        self.log.append(f"{event.kind.value} {event.opportunity.direction.value}")

    async def until(self, done: Callable[[], bool]) -> None:
        for _ in range(2000):
            if done():
                return
            await asyncio.sleep(0)


async def test_the_feed_encodes_events_after_the_update_in_order() -> None:
    """The worker's ``on_event`` hook (wire encoding, the curve included) never runs inside
    the scanner's handling of a book: the feed queues the event and its own task hands
    the events over in the order the scanner published them; the executor still gets
    the opportunity."""
    rig = _FeedRig()
    rig.feed.start()
    try:
        rig.poly.queue.put_nowait(token("5001", lv(("0.55", "50"))))  # Kings: opens KALSHI_YES
        await rig.until(lambda: len(rig.log) >= 2)
        rig.poly.queue.put_nowait(token("5001", lv(("0.61", "50"))))  # edge gone: closes it
        await rig.until(lambda: len(rig.log) >= 3)
    finally:
        await rig.feed.stop()
    assert sorted(rig.log) == ["closed kalshi_yes", "opened kalshi_yes", "submit"]
    assert rig.feed.take_pending() == []
    cards = [x for x in rig.log if x != "submit"]
    assert cards == ["opened kalshi_yes", "closed kalshi_yes"]


async def test_stop_publishes_what_was_queued_and_drops_quotes_not_yet_submitted() -> None:
    rig = _FeedRig()
    for book in [*kalshi_books(lv(("0.30", "50")), lv(("0.60", "50"))), token("5001", lv(("0.55", "50")))]:
        rig.feed.on_book(book)  # no task running: the event waits in both queues
    assert rig.log == []
    await rig.feed.stop()
    assert rig.log == ["opened kalshi_yes"]
    assert rig.feed.take_pending() == []


async def test_a_burst_of_events_is_encoded_in_slices_with_other_tasks_running_between() -> None:
    rig = _FeedRig()
    seen: list[int] = []
    books = 250  # each opens or closes the opportunity: one event each

    async def probe() -> None:
        while True:
            seen.append(sum(x != "submit" for x in rig.log))
            await asyncio.sleep(0)

    rig.feed.start()
    watcher = asyncio.create_task(probe())
    try:
        for i in range(books):
            rig.poly.queue.put_nowait(token("5001", lv(("0.55" if i % 2 == 0 else "0.61", "50"))))
        await rig.until(lambda: sum(x != "submit" for x in rig.log) >= books)
    finally:
        watcher.cancel()
        await rig.feed.stop()
    cards = [x for x in rig.log if x != "submit"]
    assert cards == [("opened" if i % 2 == 0 else "closed") + " kalshi_yes" for i in range(books)]
    assert any(0 < n < books for n in seen), seen[:20]  # the probe ran mid-burst


def test_identical_or_equal_ladders_resent_publish_nothing_and_skip_the_walk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walks: list[str] = []
    real = scanner_module.opportunity_after_top

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        walks.append(args[1].direction)
        return real(*args, **kwargs)

    monkeypatch.setattr(scanner_module, "opportunity_after_top", counting)
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.add_mapping(gamma_mapping(), kalshi(), gamma())
    books = kalshi_books(lv(("0.55", "40")), lv())  # NO ask 0.45
    sc.on_books(books, NOW)
    rockets = token("5002", lv(("0.45", "40")))
    sc.on_book(rockets, NOW)
    sc.on_book(token("5001", lv(("0.70", "40"))), NOW)  # Kings: no edge with Kalshi YES
    assert [e.kind for e in events] == [OpportunityEventKind.OPENED]
    n = len(walks)
    assert n >= 1  # the opening was walked
    sc.on_book(rockets, NOW)  # the very same book object
    sc.on_book(token("5002", lv(("0.45", "40"))), NOW)  # an equal ladder, new objects
    sc.on_books(books, NOW)  # the same Kalshi books: neither direction can change
    assert len(walks) == n
    assert len(events) == 1
    sc.on_book(token("5002", lv(("0.44", "40"))), NOW)  # a real change is walked
    assert len(walks) == n + 1
    assert events[-1].kind is OpportunityEventKind.UPDATED


def test_market_closure_closes_both_directions_and_reopening_re_evaluates() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.add_mapping(gamma_mapping(), kalshi(), gamma())
    sc.on_books(kalshi_books(lv(("0.55", "40")), lv(("0.55", "40"))), NOW)  # asks 0.45/0.45
    sc.on_book(token("5002", lv(("0.45", "40"))), NOW)
    sc.on_book(token("5001", lv(("0.45", "40"))), NOW)
    assert {e.opportunity.direction for e in events} == set(Direction)
    later = NOW + timedelta(minutes=1)
    sc.on_market_status(Venue.POLYMARKET, "700001", MarketStatus.PAUSED, later)
    assert [(e.kind, e.reason) for e in events[2:]] == [
        (OpportunityEventKind.CLOSED, CloseReason.MARKET_CLOSED)
    ] * 2
    assert sc.open_opportunities == []
    sc.on_book(token("5002", lv(("0.44", "40"))), later)  # still closed: nothing opens
    assert len(events) == 4
    sc.on_market_status(Venue.POLYMARKET, "700001", MarketStatus.OPEN, later)
    assert [e.kind for e in events[4:]] == [OpportunityEventKind.OPENED] * 2


def test_marks_are_each_held_contract_s_own_best_bid_from_the_opposite_asks() -> None:
    """The mark of a held contract is its best bid, read back from the books' own bids:
    Kalshi's YES and NO bids, and a Polymarket US LONG book's bid (its SHORT side's bid is
    1 − the LONG ask, as the venue quotes a short)."""
    sc = Scanner(lambda e: None)
    sc.add_mapping(pmus_mapping(), kalshi(), pmus())
    m = pmus_mapping()
    long_ref = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.LONG)
    short_ref = ContractRef(Venue.POLYMARKET_US, SLUG, SLUG, OutcomeSide.SHORT)
    assert sc.mark(m.kalshi_yes) is None and sc.mark(long_ref) is None  # no book yet
    sc.on_books(kalshi_books(lv(("0.55", "40"), ("0.54", "10")), lv(("0.40", "40"))), NOW)
    sc.on_book(long_book(lv(("0.61", "30")), lv(("0.63", "30"))), NOW)
    marks = {ref: sc.mark(ref) for ref in (m.kalshi_yes, m.kalshi_no, long_ref, short_ref)}
    assert {ref: (mk.bid, mk.at) for ref, mk in marks.items() if mk is not None} == {
        m.kalshi_yes: (D("0.55"), NOW), m.kalshi_no: (D("0.40"), NOW),
        long_ref: (D("0.61"), NOW), short_ref: (D("0.37"), NOW),
    }
    # No bid at all (the opposite side has no asks): no mark, not a zero.
    sc.on_books(kalshi_books((), lv(("0.40", "40"))), NOW)
    assert sc.mark(m.kalshi_yes) is None and sc.mark(m.kalshi_no) is not None
