"""The recording's writer: parts per venue and kind, rotation, dropping, the disk cap."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.worker.replay.samples import T0, market, ref, update
from worker.clock import FakeClock
from worker.domain.markets import Venue
from worker.replay.codec import micros
from worker.replay.recording import ListingSnapshot
from worker.replay.writer import RecordWriter

BIG = 10**9


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_parts_rotate_on_the_clock_and_carry_their_metadata(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = RecordWriter(tmp_path, BIG, clock=clock, rotate_s=60, poll_s=0.01)
    writer.start()
    k = ref(Venue.KALSHI)
    writer.offer_update(Venue.KALSHI, update(k, T0, sequence=1))
    writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(seconds=1), sequence=2))
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (market(Venue.KALSHI),)))
    assert await asyncio.to_thread(writer.sync)
    # open parts are .tmp until closed: a crash now leaves one unfinished part per kind
    assert _files(tmp_path) == ["kalshi/books/books-000000.parquet.tmp", "kalshi/listings/listings-000000.parquet.tmp"]
    await clock.advance(59)
    writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(seconds=59), sequence=3))
    assert await asyncio.to_thread(writer.sync)
    assert not any(name.endswith(".parquet") for name in _files(tmp_path))
    await clock.advance(2)  # the parts are 61 s old: the next update starts a new one
    writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(seconds=61), sequence=4))
    assert await asyncio.to_thread(writer.sync)
    assert "kalshi/books/books-000000.parquet" in _files(tmp_path)
    assert "kalshi/books/books-000001.parquet.tmp" in _files(tmp_path)
    await asyncio.to_thread(writer.close)
    assert _files(tmp_path) == [
        "kalshi/books/books-000000.parquet", "kalshi/books/books-000001.parquet",
        "kalshi/listings/listings-000000.parquet",
    ]
    first = pq.ParquetFile(tmp_path / "kalshi/books/books-000000.parquet")
    meta = {k.decode(): v.decode() for k, v in first.metadata.metadata.items()}
    assert meta["rows"] == "3" and meta["part"] == "0" and meta["venue"] == "kalshi" and meta["kind"] == "books"
    assert meta["first_received_us"] == str(micros(T0))
    assert meta["last_received_us"] == str(micros(T0 + timedelta(seconds=59)))
    assert meta["dropped"] == "0"
    assert first.metadata.row_group(0).column(0).compression == "ZSTD"
    assert first.read().column("sequence").to_pylist() == [1, 2, 3]
    assert writer.parts[("kalshi", "books")] == 2 and writer.rows[("kalshi", "books")] == 4


def test_a_full_queue_drops_and_counts_without_waiting(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path, BIG, queue_size=3)  # not started: nothing drains the queue
    k = ref(Venue.KALSHI)
    began = time.perf_counter()
    taken = [writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(seconds=i))) for i in range(5)]
    assert time.perf_counter() - began < 0.5  # never waits for room
    assert taken == [True, True, True, False, False]
    assert not writer.offer(ListingSnapshot(Venue.KALSHI, T0, ()))
    assert writer.dropped == 3
    writer.start()
    writer.close()
    table = pq.read_table(tmp_path / "kalshi/books/books-000000.parquet")
    assert table.num_rows == 3
    meta = pq.read_metadata(tmp_path / "kalshi/books/books-000000.parquet").metadata
    assert meta[b"dropped"] == b"3"


def _one_part(writer: RecordWriter, venue: Venue) -> None:
    for i in range(200):
        writer.offer_update(venue, update(ref(venue, i), T0 + timedelta(seconds=i)))
    assert writer.sync(close_parts=True)


def test_the_cap_deletes_the_oldest_parts_first_across_venues(tmp_path: Path) -> None:
    probe = RecordWriter(tmp_path / "probe", BIG)
    probe.start()
    _one_part(probe, Venue.KALSHI)
    probe.close()
    size = (tmp_path / "probe/kalshi/books/books-000000.parquet").stat().st_size

    writer = RecordWriter(tmp_path / "rec", int(size * 2.5))
    writer.start()
    for venue in (Venue.KALSHI, Venue.POLYMARKET, Venue.KALSHI, Venue.POLYMARKET):
        _one_part(writer, venue)
    writer.close()
    assert _files(tmp_path / "rec") == ["kalshi/books/books-000001.parquet", "polymarket/books/books-000001.parquet"]
    assert writer.deleted == 2


def test_a_writer_started_again_continues_the_numbering(tmp_path: Path) -> None:
    first = RecordWriter(tmp_path, BIG)
    first.start()
    _one_part(first, Venue.KALSHI)
    first.close()
    first.start()  # a reconnect: same writer, new part
    _one_part(first, Venue.KALSHI)
    first.close()
    second = RecordWriter(tmp_path, BIG)  # a restarted worker on the same directory
    second.start()
    _one_part(second, Venue.KALSHI)
    second.close()
    assert _files(tmp_path) == [f"kalshi/books/books-00000{i}.parquet" for i in range(3)]


def test_a_writer_that_cannot_create_its_directory_fails_once_and_drops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    writer = RecordWriter(blocker / "rec", BIG)
    with caplog.at_level(logging.ERROR, logger="worker.replay.writer"):
        writer.hold()  # never raises: recording must not stop trading
        writer.hold()  # the connection's second venue
    assert writer.failed is not None and "NotADirectoryError" in writer.failed
    assert not writer.offer_update(Venue.KALSHI, update(ref(Venue.KALSHI), T0))
    assert [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()] == [
        f"recording into {blocker / 'rec'} stopped ({writer.failed}); trading goes on without recording"
    ]
    writer.close()


async def test_a_disk_failure_after_start_stops_recording_once_and_the_thread_lives_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "rec"
    writer = RecordWriter(root, BIG, poll_s=0.01)
    assert writer.start()
    k = ref(Venue.KALSHI)
    writer.offer_update(Venue.KALSHI, update(k, T0))
    assert await asyncio.to_thread(writer.sync)
    # The directory goes (removed by hand, a disk gone) and a file takes its place.
    shutil.rmtree(root)
    root.write_text("in the way")
    with caplog.at_level(logging.ERROR, logger="worker.replay.writer"):
        assert await asyncio.to_thread(writer.sync, close_parts=True)  # the part cannot be renamed
        for i in range(50):
            writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(seconds=i)))
        assert await asyncio.to_thread(writer.sync)
    assert writer.failed is not None
    assert len([r for r in caplog.records if "stopped" in r.getMessage()]) == 1
    assert not writer.offer_update(Venue.KALSHI, update(k, T0))  # dropped at once, never queued
    assert writer._thread is not None and writer._thread.is_alive()
    await asyncio.to_thread(writer.close)
    # Started again (a worker's next connection), it records once its directory is back.
    root.unlink()
    assert writer.start() and writer.failed is None
    writer.offer_update(Venue.KALSHI, update(k, T0 + timedelta(minutes=1)))
    await asyncio.to_thread(writer.close)
    assert [p.name for p in (root / "kalshi/books").iterdir()] == ["books-000001.parquet"]  # numbering goes on
