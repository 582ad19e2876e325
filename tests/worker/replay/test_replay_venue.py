"""The replay's venues: orders wait their venue's latency on the replay clock and fill
against the book as recorded then, through the paper exchange's matching engine.

Markets come from captured listings parsed by our own parsers (Kalshi: a real NBA event;
Polymarket and Polymarket US: the documented-shape contract fixtures), books are built as
the venue streams deliver them. Expected fees are worked out by hand from each venue's
published formula (paper_exchange/fees.py cites them), never with our fee code.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.worker.venues.contract.fakes import fixture
from worker.clock import FakeClock
from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.errors import InsufficientBalance, OrderNotFound, OrderRejected, VenueUnavailable
from worker.domain.fees import FeeSchedule
from worker.domain.leagues import League
from worker.domain.markets import ContractRef, Market, MarketStatus, OutcomeSide, Venue
from worker.domain.orders import Order, OrderAction, OrderIntent, OrderState, TimeInForce
from worker.domain.ports import VenuePort
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.venue import ReplayExchange
from worker.venues.kalshi.parse import parse_market as kalshi_market
from worker.venues.polymarket.parse import parse_events as gamma_events
from worker.venues.polymarket_us.parse import parse_events as pmus_events

D = Decimal
T0 = datetime(2026, 6, 13, 23, 0, tzinfo=UTC)
REAL = Path(__file__).parents[2] / "fixtures" / "real"
LATENCY = {Venue.KALSHI: 0.1, Venue.POLYMARKET: 0.15, Venue.POLYMARKET_US: 0.05}
CASH = {Venue.KALSHI: D(1000), Venue.POLYMARKET: D(1000), Venue.POLYMARKET_US: D(1000)}


def kalshi_markets() -> list[Market]:
    raw = json.loads((REAL / "kalshi" / "nba_event.json").read_text("utf-8"))
    event = {**raw["event"], "markets": raw["markets"]}
    # The capture is of a finished game (finalized); replayed here as still trading.
    return [replace(kalshi_market(m, event), status=MarketStatus.OPEN) for m in raw["markets"]]


def gamma_market() -> Market:
    return next(m for m in gamma_events(fixture("gamma_events.json")) if m.market_id == "555001")


def pmus_market() -> Market:
    return next(m for m in pmus_events(fixture("pmus_events.json")) if m.market_id.startswith("aec-"))


SAS, NYK = kalshi_markets()
GAMMA = gamma_market()
PMUS = pmus_market()
SAS_YES = SAS.outcome(SAS.market_id, OutcomeSide.YES).ref
SAS_NO = SAS.outcome(SAS.market_id, OutcomeSide.NO).ref
NYK_YES = NYK.outcome(NYK.market_id, OutcomeSide.YES).ref
ROCKETS, KINGS = (o.ref for o in GAMMA.outcomes)  # outcome 0, outcome 1
LONG = PMUS.outcome(PMUS.market_id, OutcomeSide.LONG).ref
SHORT = PMUS.outcome(PMUS.market_id, OutcomeSide.SHORT).ref


def lv(*pairs: tuple[str, str]) -> list[PriceLevel]:
    return [PriceLevel(D(p), D(s)) for p, s in pairs]


def kalshi_book(at: datetime, yes_bids: list[PriceLevel], no_bids: list[PriceLevel], ref: ContractRef = SAS_YES) -> RecordedBook:
    """A Kalshi update as the stream delivers it: bids of both sides; the YES book."""
    no_ref = replace(ref, side=OutcomeSide.NO)
    yes, _ = two_sided_from_bids(ref, no_ref, yes_bids, no_bids, at)
    return RecordedBook(Venue.KALSHI, yes, snapshot=True)


def book(ref: ContractRef, at: datetime, bids: list[PriceLevel], asks: list[PriceLevel]) -> RecordedBook:
    return RecordedBook(ref.venue, OrderBook.build(ref, bids, asks, at), snapshot=False)


def intent(ref: ContractRef, price: str, size: int, tif: TimeInForce = TimeInForce.FOK,
           action: OrderAction = OrderAction.BUY, cid: str = "c1") -> OrderIntent:
    return OrderIntent(ref, action, D(price), D(size), tif, cid)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ex(clock: FakeClock) -> Iterator[ReplayExchange]:
    e = ReplayExchange(clock, LATENCY, CASH, refill_s=15.0)
    e.apply(ListingSnapshot(Venue.KALSHI, T0, (SAS, NYK)))
    e.apply(ListingSnapshot(Venue.POLYMARKET, T0, (GAMMA,)))
    e.apply(ListingSnapshot(Venue.POLYMARKET_US, T0, (PMUS,)))
    yield e
    e.close()


async def on_its_way(clock: FakeClock) -> None:
    """Let a just-started order reach its latency wait on the replay clock (as the driver
    lets every task run before it moves the clock)."""
    for _ in range(20):
        if clock.sleepers:
            return
        await asyncio.sleep(0)  # a turn of the loop, no time
    raise AssertionError("the order never started its latency wait")


async def send(ex: ReplayExchange, clock: FakeClock, it: OrderIntent) -> Order:
    """Place ``it`` and let the replay clock run the venue's latency."""
    task = asyncio.ensure_future(ex.port(it.contract.venue).place_order(it))
    await on_its_way(clock)
    await clock.advance(LATENCY[it.contract.venue])
    return await task


def test_ports_are_venue_ports(ex: ReplayExchange) -> None:
    for venue in Venue:
        port = ex.port(venue)
        assert isinstance(port, VenuePort) and port.venue is venue and ex.port(venue) is port


async def test_an_order_fills_against_the_book_recorded_at_t_plus_latency(ex: ReplayExchange, clock: FakeClock) -> None:
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.55", "100"))))  # YES ask 0.45: what the decision saw
    task = asyncio.ensure_future(ex.port(Venue.KALSHI).place_order(intent(SAS_YES, "0.50", 10)))
    await on_its_way(clock)
    await clock.advance(0.05)
    ex.apply(kalshi_book(clock.now(), lv(("0.40", "100")), lv(("0.52", "100"))))  # at t+0.05: YES ask 0.48
    assert not task.done()  # still on its way
    await clock.advance(0.06)  # past t + 0.1: the order arrives at t + 0.1
    order = await task
    ex.apply(kalshi_book(clock.now(), lv(("0.40", "100")), lv(("0.60", "100"))))  # later: not seen
    assert order.state is OrderState.FILLED and order.avg_fill_price == D("0.48")
    assert [(f.price, f.size) for f in order.fills] == [(D("0.48"), D(10))]
    assert order.updated_at == T0 + timedelta(seconds=0.1)


async def test_fok_that_cannot_fill_completely_fills_nothing(ex: ReplayExchange, clock: FakeClock) -> None:
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.55", "30"), ("0.54", "20"))))
    order = await send(ex, clock, intent(SAS_YES, "0.46", 51))
    assert order.state is OrderState.CANCELED and order.filled_size == 0 and order.fills == ()
    assert (await ex.port(Venue.KALSHI).balance()).available == D(1000)
    assert ex.ledger()["kalshi"]["fills"] == 0


async def test_ioc_fills_what_it_can_and_the_taken_depth_stays_gone_until_refilled(
    ex: ReplayExchange, clock: FakeClock
) -> None:
    port = ex.port(Venue.KALSHI)
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.55", "30"), ("0.54", "20"), ("0.50", "100"))))
    first = await send(ex, clock, intent(SAS_YES, "0.46", 80, TimeInForce.IOC))
    assert first.state is OrderState.CANCELED and first.filled_size == 50
    assert [(f.price, f.size) for f in first.fills] == [(D("0.45"), D(30)), (D("0.46"), D(20))]
    assert first.avg_fill_price == (D("0.45") * 30 + D("0.46") * 20) / 50
    # Right after (the recording repeats the same levels): the taken depth is gone.
    ex.apply(kalshi_book(clock.now(), lv(("0.40", "100")), lv(("0.55", "30"), ("0.54", "20"), ("0.50", "100"))))
    assert (await port.get_book(SAS_YES)).asks == tuple(lv(("0.50", "100")))
    second = await send(ex, clock, intent(SAS_YES, "0.46", 10, TimeInForce.IOC, cid="c2"))
    assert second.filled_size == 0 and second.state is OrderState.CANCELED
    # After refill_s the makers are back.
    await clock.advance(15)
    third = await send(ex, clock, intent(SAS_YES, "0.46", 10, TimeInForce.IOC, cid="c3"))
    assert third.filled_size == 10 and third.avg_fill_price == D("0.45")


async def test_kalshi_fee_is_the_published_example(ex: ReplayExchange, clock: FakeClock) -> None:
    # kalshi-fee-schedule.pdf: 0.07 × C × P × (1 − P) rounded up to the cent;
    # 100 contracts at $0.50: 0.07 × 100 × 0.25 = $1.75.
    ex.apply(kalshi_book(T0, lv(("0.45", "100")), lv(("0.50", "100"))))
    order = await send(ex, clock, intent(SAS_YES, "0.50", 100))
    assert order.fee_paid == D("1.75")
    assert (await ex.port(Venue.KALSHI).balance()).available == D(1000) - D(50) - D("1.75")


async def test_polymarket_fee_is_rate_times_p_times_one_minus_p_per_fill(ex: ReplayExchange, clock: FakeClock) -> None:
    # docs.polymarket.com/trading/fees: C × rate × p(1 − p), the paper's sports rate 0.03,
    # rounded up at the 5th decimal; one fill per level.
    # 100 at 0.50: 100 × 0.03 × 0.25 = 0.75; 7 at 0.43: 7 × 0.03 × 0.2451 = 0.051471 → 0.05148.
    ex.apply(book(ROCKETS, T0, lv(("0.40", "100")), lv(("0.50", "100"), ("0.43", "7"))))
    port = ex.port(Venue.POLYMARKET)
    order = await send(ex, clock, intent(ROCKETS, "0.50", 107))
    assert [(f.price, f.size, f.fee) for f in order.fills] == [
        (D("0.43"), D(7), D("0.05148")),
        (D("0.50"), D(100), D("0.75")),
    ]
    assert order.fee_paid == D("0.80148")
    assert (await port.balance()).available == D(1000) - D("3.01") - D(50) - D("0.80148")
    assert await port.redeemable() == {}


async def test_polymarket_us_fee_is_the_published_example(ex: ReplayExchange, clock: FakeClock) -> None:
    # docs.polymarket.us/faqs/fees: 30 bps of the notional, rounded to the cent;
    # 1,000 contracts at $0.65: $1.95.
    ex.apply(book(LONG, T0, lv(("0.60", "1000")), lv(("0.65", "1000"))))
    order = await send(ex, clock, intent(LONG, "0.65", 1000))
    assert order.fee_paid == D("1.95") and order.avg_fill_price == D("0.65")
    assert (await ex.port(Venue.POLYMARKET_US).balance()).available == D(1000) - D(650) - D("1.95")


async def test_kalshi_no_buy_fills_at_the_no_price_and_pays_it(ex: ReplayExchange, clock: FakeClock) -> None:
    port = ex.port(Venue.KALSHI)
    ex.apply(kalshi_book(T0, lv(("0.40", "50"), ("0.39", "100")), lv(("0.55", "100"))))  # NO asks 0.60, 0.61
    order = await send(ex, clock, intent(SAS_NO, "0.61", 60))
    assert order.contract == SAS_NO and order.action is OrderAction.BUY
    assert [(f.price, f.size) for f in order.fills] == [(D("0.60"), D(50)), (D("0.61"), D(10))]
    cost = D("0.60") * 50 + D("0.61") * 10  # 36.10
    # Fee on the YES prices sold (p(1 − p) is the same): 0.07 × (50 × 0.4 × 0.6 + 10 × 0.39 × 0.61)
    # = 0.07 × 14.379 = 1.00653 → 1.01.
    assert order.avg_fill_price == cost / 60 and order.fee_paid == D("1.01")
    assert (await port.balance()).available == D(1000) - cost - D("1.01")
    [pos] = await port.positions()
    assert (pos.contract.contract_id, pos.contract.side, pos.size) == (SAS.market_id, OutcomeSide.NO, D(60))
    assert order.venue_order_id is not None
    fills = await port.order_fills(order.venue_order_id)
    assert [(f.contract.side, f.action, f.price) for f in fills] == [
        (OutcomeSide.NO, OrderAction.BUY, D("0.60")), (OutcomeSide.NO, OrderAction.BUY, D("0.61"))]
    assert sum(f.fee for f in fills) == D("1.01")
    # The YES bids it took are gone from the book; the NO book shows what is left.
    assert (await port.get_book(SAS_NO)).asks == tuple(lv(("0.61", "90")))


async def test_polymarket_us_short_buy_hits_the_long_bids(ex: ReplayExchange, clock: FakeClock) -> None:
    port = ex.port(Venue.POLYMARKET_US)
    ex.apply(book(LONG, T0, lv(("0.65", "200")), lv(("0.70", "200"))))  # SHORT ask 0.35
    order = await send(ex, clock, intent(SHORT, "0.35", 100))
    assert order.state is OrderState.FILLED and order.avg_fill_price == D("0.35")
    # 30 bps of the short's notional 100 × 0.35 = 0.105, banker's rounding to the cent: 0.10.
    assert order.fee_paid == D("0.10")
    assert (await port.balance()).available == D(1000) - D(35) - D("0.10")
    [pos] = await port.positions()
    assert (pos.contract.side, pos.size, pos.avg_price) == (OutcomeSide.SHORT, D(100), D("0.35"))


async def test_the_complementary_token_book_is_mirrored_onto_the_market(ex: ReplayExchange, clock: FakeClock) -> None:
    # Only the Kings (outcome 1) book arrives: a Kings bid at 0.52 is a Rockets ask at 0.48.
    ex.apply(book(KINGS, T0, lv(("0.52", "40")), lv(("0.54", "40"))))
    port = ex.port(Venue.POLYMARKET)
    assert (await port.get_book(ROCKETS)).asks == tuple(lv(("0.48", "40")))
    order = await send(ex, clock, intent(ROCKETS, "0.48", 10))
    assert order.avg_fill_price == D("0.48")
    assert (await port.get_book(KINGS)).bids == tuple(lv(("0.52", "30")))


async def test_a_rejection_raises_and_changes_nothing(ex: ReplayExchange, clock: FakeClock) -> None:
    port = ex.port(Venue.KALSHI)
    ex.apply(kalshi_book(T0, lv(("0.40", "5000")), lv(("0.50", "5000"))))
    before = await port.get_book(SAS_YES)
    task = asyncio.ensure_future(port.place_order(intent(SAS_YES, "0.50", 2000)))  # 1000 + fees > 1000
    await on_its_way(clock)
    await clock.advance(LATENCY[Venue.KALSHI])
    with pytest.raises(InsufficientBalance) as err:
        await task
    assert isinstance(err.value, OrderRejected) and err.value.code == "insufficient_balance"
    assert "insufficient balance" in str(err.value)
    assert (await port.balance()).available == D(1000)
    assert await port.get_book(SAS_YES) == before
    assert await port.find_order(intent(SAS_YES, "0.50", 2000)) is None
    assert ex.ledger()["kalshi"]["orders"] == 0


async def test_orders_off_grid_or_on_unknown_or_delisted_markets_are_rejected(ex: ReplayExchange, clock: FakeClock) -> None:
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.50", "100"))))
    with pytest.raises(OrderRejected, match="grid"):
        await send(ex, clock, intent(SAS_YES, "0.505", 1, cid="grid"))
    unknown = ContractRef(Venue.KALSHI, "KXNBAGAME-X-Y", "KXNBAGAME-X-Y", OutcomeSide.YES)
    with pytest.raises(OrderRejected, match="in the recording"):
        await send(ex, clock, intent(unknown, "0.50", 1, cid="unknown"))
    # The next listing no longer has SAS: it is closed; NYK still trades.
    ex.apply(ListingSnapshot(Venue.KALSHI, clock.now(), (NYK,)))
    with pytest.raises(OrderRejected, match="not open") as err:
        await send(ex, clock, intent(SAS_YES, "0.50", 1, cid="closed"))
    assert err.value.code == "market_closed"
    assert [m.market_id for m in await ex.port(Venue.KALSHI).list_markets()] == [NYK.market_id]


async def test_lookups_answer_from_the_exchange(ex: ReplayExchange, clock: FakeClock) -> None:
    port = ex.port(Venue.POLYMARKET)
    ex.apply(book(ROCKETS, T0, lv(("0.40", "100")), lv(("0.45", "100"))))
    it = intent(ROCKETS, "0.45", 10, cid="look")
    prepared = await port.prepare_order(it)
    assert prepared.venue_order_id is not None and prepared.venue_order_id.startswith("0x")  # its hash, up front
    assert await port.find_order(it) is None
    task = asyncio.ensure_future(port.send_order(prepared))
    await on_its_way(clock)
    await clock.advance(LATENCY[Venue.POLYMARKET])
    sent = await task
    assert sent.venue_order_id == prepared.venue_order_id
    assert await port.get_order(prepared.venue_order_id) == sent
    assert await port.find_order(it) == sent
    assert [f.venue_order_id for f in await port.fills()] == [prepared.venue_order_id]
    assert await port.fills(clock.now() + timedelta(seconds=1)) == []
    with pytest.raises(OrderNotFound):
        await port.get_order("0xnone")
    with pytest.raises(OrderNotFound):
        await port.cancel_order("0xnone")
    assert (await port.cancel_order(prepared.venue_order_id)).state is OrderState.FILLED
    [pos] = await port.positions()
    assert (pos.contract, pos.size) == (ContractRef(Venue.POLYMARKET, GAMMA.market_id, ROCKETS.contract_id, OutcomeSide.TOKEN), D(10))


async def test_a_kalshi_retry_with_the_same_client_id_returns_the_first_order(ex: ReplayExchange, clock: FakeClock) -> None:
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.50", "100"))))
    first = await send(ex, clock, intent(SAS_YES, "0.50", 10, cid="same"))
    again = await send(ex, clock, intent(SAS_YES, "0.50", 10, cid="same"))
    assert again.venue_order_id == first.venue_order_id
    assert ex.ledger()["kalshi"]["orders"] == 1


async def test_stream_books_yields_the_subscribed_contracts_books_only(ex: ReplayExchange, clock: FakeClock) -> None:
    first = kalshi_book(T0, lv(("0.40", "100")), lv(("0.55", "100")))
    ex.apply(first)
    stream = ex.port(Venue.KALSHI).stream_books([SAS_YES, ROCKETS])  # ROCKETS: another venue's
    initial = await anext(stream)
    assert initial.snapshot and initial.book is first.book
    ex.apply(kalshi_book(T0, lv(("0.30", "1")), lv(("0.65", "1")), ref=NYK_YES))  # not subscribed
    ex.apply(book(ROCKETS, T0, lv(("0.40", "1")), lv(("0.45", "1"))))  # not this venue's stream
    second = kalshi_book(T0 + timedelta(seconds=1), lv(("0.41", "100")), lv(("0.55", "100")))
    ex.apply(second)
    update = await anext(stream)
    assert update.book is second.book and update.snapshot
    await stream.aclose()  # type: ignore[attr-defined]  # an async generator
    ex.apply(kalshi_book(T0, lv(("0.42", "100")), lv(("0.55", "100"))))  # nobody listens: nothing queued
    assert ex._subscribers == []


async def test_list_markets_is_the_latest_listing_by_league(ex: ReplayExchange) -> None:
    port = ex.port(Venue.KALSHI)
    assert [m.market_id for m in await port.list_markets()] == [SAS.market_id, NYK.market_id]
    assert await port.list_markets([League.NFL]) == []
    assert len(await port.list_markets([League.NBA])) == 2


async def test_get_book_without_a_recorded_book_is_unavailable(ex: ReplayExchange) -> None:
    with pytest.raises(VenueUnavailable):
        await ex.port(Venue.POLYMARKET_US).get_book(LONG)


async def test_markets_settle_only_when_told(ex: ReplayExchange, clock: FakeClock) -> None:
    kalshi, poly = ex.port(Venue.KALSHI), ex.port(Venue.POLYMARKET)
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.50", "100"))))
    ex.apply(book(ROCKETS, T0, lv(("0.40", "100")), lv(("0.45", "100"))))
    await send(ex, clock, intent(SAS_NO, "0.60", 10))  # NO at 0.60, fee ceil(0.168) = 0.17
    await send(ex, clock, intent(ROCKETS, "0.45", 10))  # fee 10 × 0.03 × 0.2475 = 0.07425
    assert await kalshi.resolution(SAS_NO) is None and await kalshi.redeemable() is None
    # Nothing settled yet: the ports say so (the settlement pass skips reading positions).
    assert kalshi.resolved_nothing() and poly.resolved_nothing()
    ex.resolve_market(Venue.KALSHI, SAS.market_id, D(0))  # NYK won: SAS NO pays 1
    assert not kalshi.resolved_nothing() and not poly.resolved_nothing()
    res = await kalshi.resolution(SAS_NO)
    assert res is not None and res.payout(SAS_NO) == D(1) and res.payout(SAS_YES) == D(0)
    assert (await kalshi.balance()).available == D(1000) - D(6) - D("0.17") + D(10)
    assert await kalshi.positions() == []
    ex.resolve_market(Venue.POLYMARKET, GAMMA.market_id, D(1))  # Rockets won: redeem 10 tokens
    assert await poly.redeemable() == {ROCKETS.contract_id: D(10)}
    ledger = ex.ledger()
    assert ledger["kalshi"]["payouts"] == D(10) and ledger["polymarket"]["redeemable"] == D(10)


async def test_the_ledger_is_the_exchanges_own_account(ex: ReplayExchange, clock: FakeClock) -> None:
    ex.apply(kalshi_book(T0, lv(("0.40", "100")), lv(("0.50", "100"))))
    await send(ex, clock, intent(SAS_YES, "0.50", 100))  # fee 1.75
    await send(ex, clock, intent(SAS_YES, "0.50", 500, cid="c2"))  # FOK: no depth left
    k = ex.ledger()["kalshi"]
    assert (k["opening_cash"], k["cash"]) == (D(1000), D("948.25"))
    assert (k["orders"], k["orders_by_status"], k["fills"]) == (2, {"filled": 1, "canceled": 1}, 1)
    assert (k["contracts"], k["notional"], k["fees"]) == (D(100), D(50), D("1.75"))
    assert k["positions"] == {SAS.market_id: D(100)}
    assert ex.ledger()["polymarket_us"]["cash"] == D(1000)


def test_markets_the_paper_cannot_trade_are_left_off_with_a_reason(clock: FakeClock) -> None:
    ex = ReplayExchange(clock, LATENCY, CASH)
    lone = replace(GAMMA, outcomes=GAMMA.outcomes[:1])
    ex.apply(ListingSnapshot(Venue.POLYMARKET, T0, (lone,)))
    assert ex.unsupported == {f"polymarket:{GAMMA.market_id}": "1 tokens, not a pair"}
    assert ex.route(ROCKETS) is None
    ex.apply(book(ROCKETS, T0, lv(("0.40", "1")), lv(("0.45", "1"))))
    assert ex.books_unlisted == 1
    ex.close()


async def test_a_market_is_charged_the_taker_rate_it_lists(clock: FakeClock) -> None:
    # A recorded Gamma market whose feeSchedule says 0.04 (real captures list 0.04 on
    # some sports markets): 100 at 0.50 → 100 × 0.04 × 0.25 = 1.00, not the paper
    # world's 0.03 (0.75). Worked by hand from docs.polymarket.com/trading/fees.
    ex = ReplayExchange(clock, LATENCY, CASH)
    ex.apply(ListingSnapshot(Venue.POLYMARKET, T0, (replace(GAMMA, fees=FeeSchedule.polymarket(D("0.04"))),)))
    ex.apply(book(ROCKETS, T0, lv(("0.40", "100")), lv(("0.50", "100"))))
    order = await send(ex, clock, intent(ROCKETS, "0.50", 100))
    assert order.fee_paid == D("1.00")
    ex.close()


def test_closing_the_exchange_closes_its_store_and_may_be_done_twice(clock: FakeClock) -> None:
    e = ReplayExchange(clock, LATENCY, CASH)
    e.close()
    e.close()  # the driver closes it in a finally that may run after an earlier close
    with pytest.raises(sqlite3.ProgrammingError):
        e.ledger()
