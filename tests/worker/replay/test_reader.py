"""Reading a recording: every venue merged by receive time; what cannot be read is skipped
and said."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.worker.replay.samples import T0, book, market, ref, update
from worker.domain.books import OrderBook
from worker.domain.markets import OutcomeSide, Venue
from worker.domain.ports import BookUpdate
from worker.replay.reader import open_recording
from worker.replay.recording import BookFilter, ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter

BIG = 10**9


def _record(directory: Path, plan: list[tuple[Venue, int]], parts_of: int = 1) -> None:
    """Book updates of ``venue`` at ``T0 + seconds``, a part closed every ``parts_of``."""
    writer = RecordWriter(directory, BIG)
    writer.start()
    for i, (venue, seconds) in enumerate(plan):
        writer.offer_update(venue, update(ref(venue, i), T0 + timedelta(seconds=seconds), sequence=i))
        if (i + 1) % parts_of == 0:
            assert writer.sync(close_parts=True)
    writer.close()


def test_venues_are_merged_in_receive_time_order(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (market(Venue.KALSHI, "K1"),)))
    writer.offer(ListingSnapshot(Venue.POLYMARKET, T0 + timedelta(seconds=1), (market(Venue.POLYMARKET, "P1"),
                                                                               market(Venue.POLYMARKET, "P2"))))
    writer.offer(ListingSnapshot(Venue.POLYMARKET_US, T0, ()))
    seconds = {Venue.KALSHI: [2, 5, 9, 12], Venue.POLYMARKET: [3, 4, 10], Venue.POLYMARKET_US: [1, 11]}
    for venue, times in seconds.items():
        for i, s in enumerate(times):
            writer.offer_update(venue, update(ref(venue, i), T0 + timedelta(seconds=s), sequence=s))
            if i == 1:
                assert writer.sync(close_parts=True)  # more than one part per venue
    writer.close()

    rec = open_recording(tmp_path)
    assert rec.info.venues == (Venue.KALSHI, Venue.POLYMARKET, Venue.POLYMARKET_US)
    assert rec.info.start == T0 and rec.info.end == T0 + timedelta(seconds=12)
    assert rec.info.skipped == [] and rec.info.dropped == 0
    events = list(rec.events())
    assert [e.received_at for e in events] == sorted(e.received_at for e in events)
    books = [e for e in events if isinstance(e, RecordedBook)]
    assert [(b.venue, b.book.sequence) for b in books] == sorted(
        ((v, s) for v, ts in seconds.items() for s in ts), key=lambda vs: vs[1]
    )
    assert books[0].book == update(ref(Venue.POLYMARKET_US, 0), T0 + timedelta(seconds=1), sequence=1).book
    listings = [e for e in events if isinstance(e, ListingSnapshot)]
    assert [(s.venue, [m.market_id for m in s.markets]) for s in listings] == [
        (Venue.KALSHI, ["K1"]), (Venue.POLYMARKET_US, []), (Venue.POLYMARKET, ["P1", "P2"]),
    ]
    assert listings[2].markets[0] == market(Venue.POLYMARKET, "P1")


def test_a_window_starts_with_each_venues_latest_listing(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    for s in (0, 30, 90):
        writer.offer(ListingSnapshot(Venue.KALSHI, T0 + timedelta(seconds=s), (market(Venue.KALSHI, f"K{s}"),)))
    for s in range(0, 100, 10):
        writer.offer_update(Venue.KALSHI, update(ref(Venue.KALSHI), T0 + timedelta(seconds=s), sequence=s))
    writer.close()
    events = list(open_recording(tmp_path).events(T0 + timedelta(seconds=40), T0 + timedelta(seconds=90)))
    first = events[0]
    assert isinstance(first, ListingSnapshot) and first.markets[0].market_id == "K30"
    # the book as it stood at 40 s (received at 30 s), then the window's own
    assert [e.book.sequence for e in events if isinstance(e, RecordedBook)] == [30, 40, 50, 60, 70, 80, 90]
    assert [e.markets[0].market_id for e in events if isinstance(e, ListingSnapshot)] == ["K30", "K90"]


def test_a_missing_part_and_a_truncated_last_part_are_skipped_and_said(tmp_path: Path) -> None:
    # Kalshi: 5 parts of 2 updates (seconds 0..9); Polymarket: 2 parts.
    _record(tmp_path, [(Venue.KALSHI, s) for s in range(10)] + [(Venue.POLYMARKET, s) for s in range(4)], parts_of=2)
    books = tmp_path / "kalshi" / "books"
    (books / "books-000002.parquet").unlink()  # seconds 4 and 5
    last = books / "books-000004.parquet"  # seconds 8 and 9
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    (books / "books-000005.parquet.tmp").write_bytes(b"PAR1 half a part")  # a crashed writer's part

    rec = open_recording(tmp_path)
    reasons = {Path(s.path).name: s.reason for s in rec.info.skipped}
    assert set(reasons) == {"books-000002.parquet", "books-000004.parquet", "books-000005.parquet.tmp"}
    assert reasons["books-000002.parquet"].startswith("missing part")
    assert "T18:00:03" in reasons["books-000002.parquet"] and "T18:00:06" in reasons["books-000002.parquet"]
    assert reasons["books-000004.parquet"].startswith("unreadable")
    assert reasons["books-000005.parquet.tmp"].startswith("unfinished")
    assert rec.info.parts == 5  # kalshi 0, 1, 3 and polymarket 0, 1
    assert rec.info.end == T0 + timedelta(seconds=7)
    kalshi = [e.received_at.second for e in rec.events() if isinstance(e, RecordedBook) and e.venue is Venue.KALSHI]
    assert kalshi == [0, 1, 2, 3, 6, 7]
    poly = [e.received_at.second for e in rec.events() if isinstance(e, RecordedBook) and e.venue is Venue.POLYMARKET]
    assert poly == [0, 1, 2, 3]


def test_venues_and_a_book_filter_leave_out_what_a_replay_does_not_trade(tmp_path: Path) -> None:
    # One batch per part (a part closed after every update), so the filter set between
    # two reads applies to every book read after it.
    plan = [(Venue.KALSHI, 1), (Venue.POLYMARKET_US, 2), (Venue.KALSHI, 3), (Venue.KALSHI, 4), (Venue.POLYMARKET, 5)]
    _record(tmp_path, plan)
    recording = open_recording(tmp_path)
    wanted = BookFilter()
    seen: list[tuple[Venue, str]] = []
    for event in recording.events(venues=(Venue.KALSHI, Venue.POLYMARKET), books=wanted):
        assert isinstance(event, RecordedBook)
        seen.append((event.venue, event.book.contract.contract_id))
        if len(seen) == 1:  # after the first book: only Kalshi's third contract (index 3)
            wanted.keep_only(Venue.KALSHI, frozenset({ref(Venue.KALSHI, 3).contract_id}))
    assert seen == [
        (Venue.KALSHI, ref(Venue.KALSHI, 0).contract_id),
        (Venue.KALSHI, ref(Venue.KALSHI, 3).contract_id),
        (Venue.POLYMARKET, ref(Venue.POLYMARKET, 4).contract_id),  # no filter for this venue
    ]


async def test_a_part_still_being_written_is_said_to_be_open_not_crashed(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, BIG, poll_s=0.01)
    writer.start()
    writer.offer_update(Venue.KALSHI, update(ref(Venue.KALSHI), T0))
    assert await asyncio.to_thread(writer.sync)  # a recording in progress: its part is open
    [skipped] = open_recording(tmp_path).info.skipped
    assert skipped.reason == "unfinished part (.tmp): still being written, or the writer stopped before closing it"
    await asyncio.to_thread(writer.close)
    assert open_recording(tmp_path).info.skipped == []


def test_a_venues_own_time_of_an_update_is_kept_beside_the_receive_time(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    at = T0 + timedelta(seconds=1)
    sent = T0 + timedelta(milliseconds=930)
    plain = update(ref(Venue.POLYMARKET, 1), at)
    writer.offer_update(Venue.POLYMARKET, BookUpdate(plain.book, plain.snapshot, sent))
    writer.offer_update(Venue.KALSHI, update(ref(Venue.KALSHI, 2), at, sequence=77))
    writer.close()
    books = [e for e in open_recording(tmp_path).events() if isinstance(e, RecordedBook)]
    by_venue = {b.venue: b for b in books}
    assert by_venue[Venue.POLYMARKET].venue_ts == sent and by_venue[Venue.POLYMARKET].received_at == at
    assert by_venue[Venue.KALSHI].venue_ts is None and by_venue[Venue.KALSHI].book.sequence == 77


def test_a_window_starts_from_each_contracts_latest_book_before_it(tmp_path: Path) -> None:
    # Contract 1 updates at 1 s and 3 s, contract 2 only at 2 s, contract 3 at 6 s; a
    # window from 5 s starts from contract 1's book of 3 s and contract 2's of 2 s.
    plan = [(Venue.KALSHI, 1), (Venue.KALSHI, 2), (Venue.KALSHI, 3), (Venue.KALSHI, 6)]
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    contracts = [1, 2, 1, 3]
    for (venue, seconds), n in zip(plan, contracts, strict=True):
        writer.offer_update(venue, update(ref(venue, n), T0 + timedelta(seconds=seconds), sequence=seconds))
        assert writer.sync(close_parts=seconds == 2)  # the first two in a part of their own
    writer.close()
    events = list(open_recording(tmp_path).events(T0 + timedelta(seconds=5)))
    got = [(e.book.contract.contract_id, e.book.sequence) for e in events if isinstance(e, RecordedBook)]
    assert got == [(ref(Venue.KALSHI, 2).contract_id, 2), (ref(Venue.KALSHI, 1).contract_id, 3),
                   (ref(Venue.KALSHI, 3).contract_id, 6)]


def test_each_row_of_a_part_reads_back_as_written(tmp_path: Path) -> None:
    # One part whose rows mix what the reader builds column by column: venue times and
    # sequences present and absent, snapshots and deltas, an empty side, rows sharing a
    # receive time, two contracts' sides.
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    written = []
    for i in range(12):
        contract = ref(Venue.POLYMARKET, i % 2, OutcomeSide.TOKEN)
        at = T0 + timedelta(seconds=i // 2)  # two rows an instant
        b = book(contract, at, bid=f"0.{40 + i}", sequence=i if i % 3 else None)
        if i == 5:
            b = OrderBook(contract, (), b.asks, at, None)
        sent = None if i % 4 == 0 else at - timedelta(milliseconds=10 * i)
        writer.offer_update(Venue.POLYMARKET, BookUpdate(b, snapshot=i % 5 == 0, venue_ts=sent))
        written.append((b, i % 5 == 0, sent))
    writer.close()
    read = [e for e in open_recording(tmp_path).events() if isinstance(e, RecordedBook)]
    assert [(e.book, e.snapshot, e.venue_ts) for e in read] == written
    assert all(e.venue is Venue.POLYMARKET and e.received_at.tzinfo is not None for e in read)
    assert read[5].book.bids == () and read[4].book.bids[0].price == Decimal("0.44")


def test_a_market_unchanged_since_the_last_listing_is_read_once_and_a_changed_one_anew(tmp_path: Path) -> None:
    from dataclasses import replace

    same, moved = market(Venue.KALSHI, "K1"), market(Venue.KALSHI, "K2")
    later = replace(moved, volume=Decimal("12345.50"))
    writer = RecordWriter(tmp_path, BIG)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (same, moved)))
    writer.offer(ListingSnapshot(Venue.KALSHI, T0 + timedelta(seconds=60), (same, later)))
    assert writer.sync(close_parts=True)  # the next snapshot in a part of its own
    writer.offer(ListingSnapshot(Venue.KALSHI, T0 + timedelta(seconds=120), (same, later, same)))
    writer.close()
    first, second, third = [e for e in open_recording(tmp_path).events() if isinstance(e, ListingSnapshot)]
    assert first.markets == (same, moved) and second.markets == (same, later) and third.markets == (same, later, same)
    assert second.markets[0] is first.markets[0]  # the same text: the market already read
    assert second.markets[1] is not first.markets[1] and second.markets[1].volume == Decimal("12345.50")
    assert third.markets[0] is second.markets[0] and third.markets[1] is second.markets[1]
