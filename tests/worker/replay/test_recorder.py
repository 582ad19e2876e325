"""The recording venue records what it passes on; the record loop follows the listing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.support.waiting import wait_until
from tests.worker.replay.samples import T0, market, update
from worker.clock import FakeClock
from worker.domain.discovery import ListingRefusal
from worker.domain.markets import ContractRef, League, Market, Venue
from worker.domain.ports import BookUpdate, ListingRefusalSource, VenuePort
from worker.replay.reader import open_recording
from worker.replay.recorder import Recorder, RecordingVenue, contracts_of, record_venues
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter

BIG = 10**9


class ScriptedVenue:
    """A venue port whose listing and book stream the test sets."""

    def __init__(self, venue: Venue, markets: list[Market], clock: FakeClock) -> None:
        self.venue = venue
        self.markets = markets
        self.clock = clock
        self.streams: list[list[ContractRef]] = []
        self.closed = False
        self.feed: asyncio.Queue[BookUpdate] = asyncio.Queue()
        self.extra = "reached through the wrapper"

    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        return list(self.markets)

    async def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        self.streams.append(list(contracts))
        while True:
            yield await self.feed.get()

    async def balance(self) -> Any:
        return "balance"

    async def aclose(self) -> None:
        self.closed = True


class RefusingVenue(ScriptedVenue):
    def listing_refusals(self) -> Sequence[ListingRefusal]:
        return ()


async def test_the_recording_venue_records_listings_and_books_it_passes_on(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    inner = ScriptedVenue(Venue.POLYMARKET, [market(Venue.POLYMARKET)], clock)
    writer = RecordWriter(tmp_path, BIG)
    port = RecordingVenue(inner, writer)  # type: ignore[arg-type]
    assert isinstance(port, VenuePort) and not isinstance(port, ListingRefusalSource)
    assert isinstance(RecordingVenue(RefusingVenue(Venue.KALSHI, [], clock), writer), ListingRefusalSource)  # type: ignore[arg-type]
    assert port.venue is Venue.POLYMARKET and port.extra == "reached through the wrapper"
    assert await port.balance() == "balance"

    assert await port.list_markets() == [market(Venue.POLYMARKET)]
    refs = contracts_of(inner.markets)
    sent = [update(refs[0], T0 + timedelta(seconds=1), sequence=1), update(refs[1], T0 + timedelta(seconds=2))]
    for u in sent:
        inner.feed.put_nowait(u)
    stream = port.stream_books(refs)
    got = [await anext(stream), await anext(stream)]
    assert got == sent  # passed on unchanged
    await stream.aclose()
    await port.aclose()
    assert inner.closed
    assert writer._thread is not None  # the refusing venue still holds the writer open
    await writer_closed(writer)

    events = list(open_recording(tmp_path).events())
    assert isinstance(events[0], ListingSnapshot) and events[0].received_at == T0
    assert events[0].markets == (market(Venue.POLYMARKET),)
    books = [e for e in events if isinstance(e, RecordedBook)]
    assert [(b.book, b.snapshot, b.venue) for b in books] == [(u.book, False, Venue.POLYMARKET) for u in sent]


async def writer_closed(writer: RecordWriter) -> None:
    await asyncio.to_thread(writer.close)


async def test_closing_the_last_recording_venue_closes_the_writer(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    writer = RecordWriter(tmp_path, BIG)
    a = RecordingVenue(ScriptedVenue(Venue.KALSHI, [], clock), writer)  # type: ignore[arg-type]
    b = RecordingVenue(ScriptedVenue(Venue.POLYMARKET, [], clock), writer)  # type: ignore[arg-type]
    await a.list_markets()
    await a.aclose()
    assert writer._thread is not None
    await b.aclose()
    assert writer._thread is None
    assert (tmp_path / "kalshi/listings/listings-000000.parquet").exists()


async def test_the_recorder_lists_periodically_and_restarts_the_stream_when_the_listing_changes(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    inner = ScriptedVenue(Venue.POLYMARKET, [market(Venue.POLYMARKET, "m1")], clock)
    writer = RecordWriter(tmp_path, BIG)
    port = RecordingVenue(inner, writer)  # type: ignore[arg-type]
    recorder = Recorder({Venue.POLYMARKET: port}, clock=clock, listing_s=60)  # type: ignore[dict-item]
    task = asyncio.create_task(recorder.run())
    await wait_until(lambda: inner.streams, 5, "the first stream")
    assert inner.streams == [contracts_of(inner.markets)]
    await clock.advance(60)  # same listing: the stream goes on
    assert recorder.listings[Venue.POLYMARKET] == 2 and len(inner.streams) == 1
    inner.markets.append(market(Venue.POLYMARKET, "m2"))
    await clock.advance(60)
    await wait_until(lambda: len(inner.streams) == 2, 5, "the stream restarted")
    assert inner.streams[1] == [o.ref for m in inner.markets for o in m.outcomes]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await port.aclose()
    assert len([e for e in open_recording(tmp_path).events() if isinstance(e, ListingSnapshot)]) == 3


async def test_a_listing_filtered_by_league_is_passed_on_but_not_recorded(tmp_path: Path) -> None:
    # A replay takes each snapshot as the venue's whole listing: a filtered one would close
    # every other league's markets.
    clock = FakeClock(T0)
    writer = RecordWriter(tmp_path, BIG)
    port = RecordingVenue(ScriptedVenue(Venue.KALSHI, [market(Venue.KALSHI)], clock), writer)  # type: ignore[arg-type]
    assert await port.list_markets([League.NBA]) == [market(Venue.KALSHI)]
    await port.list_markets()
    await port.aclose()
    snapshots = [e for e in open_recording(tmp_path).events() if isinstance(e, ListingSnapshot)]
    assert len(snapshots) == 1


async def test_a_writer_that_cannot_record_never_stops_the_venue(tmp_path: Path) -> None:
    """A bad directory once the worker runs: the venue still lists and streams, unrecorded."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    clock = FakeClock(T0)
    inner = ScriptedVenue(Venue.POLYMARKET, [market(Venue.POLYMARKET)], clock)
    writer = RecordWriter(blocker / "rec", BIG)
    ports = record_venues({Venue.POLYMARKET: inner}, writer)  # type: ignore[dict-item]
    port = ports[Venue.POLYMARKET]
    assert writer.failed is not None
    assert await port.list_markets() == [market(Venue.POLYMARKET)]
    refs = contracts_of(inner.markets)
    sent = update(refs[0], T0)
    inner.feed.put_nowait(sent)
    stream = port.stream_books(refs)
    assert await anext(stream) == sent
    await stream.aclose()
    await port.aclose()
    assert inner.closed and blocker.read_text() == "x"
