"""Recording what the venue clients return: a venue port that records as it passes things
on, and the loop of ``python -m worker record``.

:class:`RecordingVenue` wraps any :class:`~worker.domain.ports.VenuePort` and delegates
everything to it; ``list_markets`` also offers a :class:`ListingSnapshot` of its answer and
``stream_books`` each update (the book and its snapshot flag) to the writer before yielding
it. Offering never waits (the writer's bounded queue drops and counts), so the trading
worker records through it (``EXECUTOR_RECORD_DIR``) at no cost to detection.

:class:`Recorder` is what the ``record`` command runs: every venue's listing every
``listing_s`` seconds, and a book stream of every contract of every listed market,
restarted when the listing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.books import OrderBook
from worker.domain.discovery import ListingRefusal
from worker.domain.errors import VenueError
from worker.domain.markets import ContractRef, League, Market, MarketResolution, Venue
from worker.domain.orders import Balance, Fill, Order, OrderIntent, Position, PreparedOrder
from worker.domain.ports import BookUpdate, ListingRefusalSource, VenuePort
from worker.replay.recording import ListingSnapshot
from worker.replay.writer import RecordWriter

log = logging.getLogger(__name__)

#: How often the ``record`` command lists each venue's markets (the worker lists once, at
#: discovery, so the recorder keeps its own pace).
LISTING_S = 60.0


class RecordingVenue:
    """A venue port that records its listings and books (see module docstring).

    Built on a port that tells its listing refusals, it is one too (an instance of
    ``ListingRefusalSource``); other attributes of the inner client are reached through it.
    The writer runs while at least one recording venue is open on it: closing the last one
    closes the writer (its parts are finished, their footers written). A writer that
    cannot record (its directory, its disk) never stops the venue: everything is still
    passed on, unrecorded (``RecordWriter.failed``).
    """

    def __new__(cls, port: VenuePort, writer: RecordWriter, clock: Clock | None = None) -> RecordingVenue:
        if cls is RecordingVenue and isinstance(port, ListingRefusalSource):
            cls = _RecordingRefusalVenue
        return super().__new__(cls)

    def __init__(self, port: VenuePort, writer: RecordWriter, clock: Clock | None = None) -> None:
        self.inner = port
        self.writer = writer
        self._venue = port.venue
        #: The listing's receive time: the client's own clock (its books' times) by default.
        self._clock: Clock = clock if clock is not None else getattr(port, "clock", SYSTEM_CLOCK)
        self._closed = False
        writer.hold()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def venue(self) -> Venue:
        return self._venue

    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        markets = await self.inner.list_markets(leagues)
        # Only a whole listing is recorded: a replay takes each snapshot as the venue's
        # complete listing and closes every market it lacks, so a listing filtered by
        # league would close every other league's markets.
        if leagues is None:
            self.writer.offer(ListingSnapshot(self._venue, self._clock.now(), tuple(markets)))
        return markets

    async def get_book(self, contract: ContractRef) -> OrderBook:
        return await self.inner.get_book(contract)

    async def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        offer, venue = self.writer.offer_update, self._venue
        async for update in self.inner.stream_books(contracts):
            offer(venue, update)
            yield update

    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        return await self.inner.prepare_order(intent)

    async def send_order(self, prepared: PreparedOrder) -> Order:
        return await self.inner.send_order(prepared)

    async def place_order(self, intent: OrderIntent) -> Order:
        return await self.inner.place_order(intent)

    async def get_order(self, venue_order_id: str) -> Order:
        return await self.inner.get_order(venue_order_id)

    async def find_order(self, intent: OrderIntent) -> Order | None:
        return await self.inner.find_order(intent)

    async def cancel_order(self, venue_order_id: str) -> Order:
        return await self.inner.cancel_order(venue_order_id)

    async def balance(self) -> Balance:
        return await self.inner.balance()

    async def positions(self) -> list[Position]:
        return await self.inner.positions()

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        return await self.inner.fills(since)

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        return await self.inner.order_fills(venue_order_id, since)

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        return await self.inner.redeemable()

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        return await self.inner.resolution(contract)

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if not self._closed:
                self._closed = True
                if self.writer.release():
                    await asyncio.to_thread(self.writer.close)


class _RecordingRefusalVenue(RecordingVenue):
    """A recording venue on a client that tells its listing refusals."""

    def listing_refusals(self) -> Sequence[ListingRefusal]:
        inner: ListingRefusalSource = self.inner  # type: ignore[assignment]
        return inner.listing_refusals()


def record_venues(venues: Mapping[Venue, VenuePort], writer: RecordWriter) -> dict[Venue, VenuePort]:
    """Each venue's client wrapped to record into ``writer``."""
    return {venue: RecordingVenue(port, writer) for venue, port in venues.items()}


def contracts_of(markets: Sequence[Market]) -> list[ContractRef]:
    """Every contract of the listed markets, each once (the refs of their outcomes)."""
    return list(dict.fromkeys(o.ref for m in markets for o in m.outcomes))


class Recorder:
    """Lists every venue periodically and streams every listed contract's book, all
    through recording venues (the ``record`` command)."""

    def __init__(
        self, venues: Mapping[Venue, VenuePort], *, clock: Clock = SYSTEM_CLOCK, listing_s: float = LISTING_S,
        retry_s: float = 2.0,
    ) -> None:
        self.venues = dict(venues)
        self.clock = clock
        self.listing_s = listing_s
        self.retry_s = retry_s
        self.listings: dict[Venue, int] = {}
        self.errors: dict[Venue, str] = {}

    async def run(self) -> None:
        """Until cancelled: one task per venue."""
        async with asyncio.TaskGroup() as group:
            for port in self.venues.values():
                group.create_task(self._venue(port), name=f"record-{port.venue.value}")

    async def _venue(self, port: VenuePort) -> None:
        stream: asyncio.Task[None] | None = None
        contracts: list[ContractRef] = []
        try:
            while True:
                try:
                    markets = await port.list_markets()
                except (VenueError, OSError, TimeoutError) as exc:
                    self.errors[port.venue] = f"{type(exc).__name__}: {exc}"
                    log.warning("%s listing failed (%s); retrying", port.venue.value, type(exc).__name__)
                    await self.clock.sleep(self.retry_s)
                    continue
                self.listings[port.venue] = self.listings.get(port.venue, 0) + 1
                listed = contracts_of(markets)
                if listed != contracts or stream is None or stream.done():
                    await _cancel(stream)
                    contracts = listed
                    stream = asyncio.create_task(self._stream(port, contracts), name=f"books-{port.venue.value}")
                await self.clock.sleep(self.listing_s)
        finally:
            await _cancel(stream)

    async def _stream(self, port: VenuePort, contracts: list[ContractRef]) -> None:
        if not contracts:
            return
        while True:
            try:
                async for _ in port.stream_books(contracts):
                    pass
            except (VenueError, OSError, TimeoutError) as exc:
                log.warning("%s book stream: %s; reconnecting", port.venue.value, type(exc).__name__)
            await self.clock.sleep(0.5)


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
