"""Legging counts from books: a constructed sequence whose leg 2 quote is pulled before
t + H with a known probability is counted back within its confidence interval, with the
cost computed here by hand; and a small recording through the matcher and the reader."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.worker.replay.test_driver import (
    GAMMA,
    HOU_NO,
    HOU_YES,
    KALSHI,
    KINGS_REF,
    ROCKETS_REF,
    T0,
    kalshi_books,
    lv,
    token_book,
)
from worker.domain.books import OrderBook, two_sided_from_bids
from worker.domain.legging import CellCount, cell_of, wilson_interval
from worker.domain.markets import Venue
from worker.replay.legging import LeggingSampler, Side, Watch, count_recording, sizes_for
from worker.replay.reader import open_recording
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter

D = Decimal
LATENCY = {Venue.KALSHI: 60, Venue.POLYMARKET: 150, Venue.POLYMARKET_US: 60}
P_PULL = 0.3
N = 1000


def kalshi_yes(at: datetime, asks: list[tuple[str, str]]) -> list[OrderBook]:
    """Kalshi's YES and NO books with the YES asks given (NO bids = 1 - them)."""
    no_bids = [(str(1 - D(p)), s) for p, s in asks]
    return list(two_sided_from_bids(HOU_YES, HOU_NO, lv(("0.38", "50")), lv(*no_bids), at))


def poly(at: datetime) -> list[OrderBook]:
    """Leg 1 (the thinner): the Kings token asks 0.50 x 10 (its own best bid 0.45); the
    Rockets token asks 0.54, so the Kings bid is 1 - 0.54 = 0.46 (the better one)."""
    return [
        OrderBook.build(KINGS_REF, lv(("0.45", "10")), lv(("0.50", "10")), at),
        OrderBook.build(ROCKETS_REF, lv(("0.40", "10")), lv(("0.54", "10")), at),
    ]


def test_a_known_pull_rate_is_recovered_within_its_interval_with_the_cost_by_hand() -> None:
    rng = random.Random(20261207)
    watch = Watch("nba", Side(HOU_YES, HOU_NO), Side(KINGS_REF, ROCKETS_REF))
    sampler = LeggingSampler([watch], LATENCY)
    normal = [("0.40", "100"), ("0.43", "1000")]
    pulled_asks = [("0.43", "1000")]
    pulled = 0
    for i in range(N):
        t = T0 + timedelta(seconds=i)
        for book in poly(t) + kalshi_yes(t, normal):
            sampler.on_book(book)
        # Leg 1 (Polymarket, 150 ms) then leg 2 (Kalshi, 60 ms): checked at t + 210 ms.
        if rng.random() < P_PULL:
            pulled += 1
            for book in kalshi_yes(t + timedelta(milliseconds=100), pulled_asks):
                sampler.on_book(book)
        for book in kalshi_yes(t + timedelta(milliseconds=500), normal):
            sampler.on_book(book)
    counts = sampler.finish()
    assert sampler.samples == N
    # Sizes 20, 45, 90 (within the top's 100 at 0.40) and 150 (beyond it).
    assert sizes_for(D(100)) == [D(20), D(45), D(90), D(150)]
    # Independent costs: pulled, hedging costs 0.43 - 0.40 = 0.03 and unwinding the Kings
    # token 0.50 - 0.46 = 0.04: the hedge. Size 150 is quoted at its average at t, 100 at
    # 0.40 and 50 at 0.43 (0.41): unpulled it fills at that average; pulled, all at 0.43,
    # 0.02 worse (exact figures, so the sums are exact too).
    hedge_pulled = D("0.43") - D("0.40")
    hedge_150 = D("0.43") - (D(100) * D("0.40") + D(50) * D("0.43")) / D(150)
    for size in (D(20), D(45), D(90)):
        key = cell_of(Venue.KALSHI, "nba", D("0.40"), size, D(100))
        c = counts[key]
        assert c.samples == N and c.failures == pulled
        low, high = wilson_interval(c.failures, c.samples)
        assert low <= D(str(P_PULL)) <= high, (size, c)
        assert c.cost_sum == hedge_pulled * pulled
    big = counts[cell_of(Venue.KALSHI, "nba", D("0.40"), D(150), D(100))]
    assert big == CellCount(N, pulled, hedge_150 * pulled)
    assert set(counts) == {cell_of(Venue.KALSHI, "nba", D("0.40"), s, D(100)) for s in sizes_for(D(100))}


def test_leg_two_is_the_deeper_leg_and_kalshi_on_equal_depth() -> None:
    watch = Watch("nba", Side(HOU_YES, HOU_NO), Side(KINGS_REF, ROCKETS_REF))
    sampler = LeggingSampler([watch], LATENCY, sample_every_s=1.0)
    t = T0
    # Kalshi thinner (5 against 10): leg 2 is the Kings token at 0.50.
    for book in poly(t) + kalshi_yes(t, [("0.40", "5")]):
        sampler.on_book(book)
    # Equal depth (10 and 10), two seconds later: Kalshi is leg 2.
    t2 = t + timedelta(seconds=2)
    for book in kalshi_yes(t2, [("0.40", "10")]) + poly(t2):
        sampler.on_book(book)
    sampler.on_book(poly(t2 + timedelta(seconds=0.5))[0])
    counts = sampler.finish()
    venues = {k.venue for k in counts}
    assert venues == {"polymarket", "kalshi"}
    assert cell_of(Venue.POLYMARKET, "nba", D("0.50"), D(2), D(10)) in counts
    assert cell_of(Venue.KALSHI, "nba", D("0.40"), D(2), D(10)) in counts


def test_thinning_takes_at_most_one_sample_a_second_per_direction() -> None:
    watch = Watch("nba", Side(HOU_YES, HOU_NO), Side(KINGS_REF, ROCKETS_REF))
    sampler = LeggingSampler([watch], LATENCY, sample_every_s=1.0)
    for ms in range(0, 3000, 100):  # 30 updates over 3 s: samples at 0, 1 and 2 s
        for book in poly(T0 + timedelta(milliseconds=ms)) + kalshi_yes(T0 + timedelta(milliseconds=ms), [("0.40", "100")]):
            sampler.on_book(book)
    assert sampler.samples == 3


def record_pull(directory: Path) -> None:
    """The replay fixtures' markets; every second for 40 s, Kalshi deep and the Kings token
    thin; the Kalshi YES quote pulled 100 ms later every other second."""
    writer = RecordWriter(directory, 10**9, poll_s=0.01)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (KALSHI,)))
    writer.offer(ListingSnapshot(Venue.POLYMARKET, T0, (GAMMA,)))
    for i in range(40):
        t = T0 + timedelta(seconds=1 + i)
        events: list[RecordedBook] = [
            token_book(KINGS_REF, t, "0.45", "0.50", "10"),
            token_book(ROCKETS_REF, t, "0.40", "0.54", "10"),
            *kalshi_books(t, "0.38", "0.40", "100"),
        ]
        if i % 2:
            events += kalshi_books(t + timedelta(milliseconds=100), "0.38", "0.43", "100")
        events += kalshi_books(t + timedelta(milliseconds=500), "0.38", "0.40", "100")
        for event in events:
            writer.offer(event)
    writer.close()


def test_a_recording_is_matched_and_counted(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record_pull(rec)
    out = count_recording(open_recording(rec), poly_venue=Venue.POLYMARKET, latency_ms=LATENCY)
    assert out.mappings == 1
    # Direction Kalshi YES + Kings: leg 2 Kalshi YES at 0.40 (depth 100), pulled half the time.
    key = cell_of(Venue.KALSHI, "nba", D("0.40"), D(20), D(100))
    assert out.counts[key].samples == 40 and out.counts[key].failures == 20
    assert out.counts[key].cost_sum == 20 * (D("0.43") - D("0.40"))


def test_a_window_samples_from_its_start_with_the_books_as_they_stood(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record_pull(rec)
    start = T0 + timedelta(seconds=20, milliseconds=700)  # after the 20th second's books
    out = count_recording(open_recording(rec), poly_venue=Venue.POLYMARKET, latency_ms=LATENCY, start=start)
    key = cell_of(Venue.KALSHI, "nba", D("0.40"), D(20), D(100))
    # Seconds 21..40: 20 samples, the odd ones (i = 21, 23, …, 39: 10) pulled.
    assert out.mappings == 1 and out.counts[key].samples == 20 and out.counts[key].failures == 10
