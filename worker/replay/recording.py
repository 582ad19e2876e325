"""What a recording holds, as the replay reads it back: listing snapshots and book
updates of each venue, each with the time we received it.

These are the domain's own objects (``Market``, ``OrderBook``): a recording is made of
what the venue clients returned, after parsing, so a replay needs no parser and sees
exactly what the scanner saw. Money stays exact (Decimal written as its text).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from worker.domain.books import OrderBook
from worker.domain.markets import Market, Venue


@dataclass(frozen=True, slots=True)
class RecordedBook:
    """One book update as the venue's stream delivered it.

    ``book.received_at`` is our receive time; ``book.sequence`` the venue's sequence
    number where it has one (Kalshi ``seq``); ``venue_ts`` the venue's own timestamp of
    the update where it sends one, else None. ``snapshot`` as in ``BookUpdate``."""

    venue: Venue
    book: OrderBook
    snapshot: bool
    venue_ts: datetime | None = None

    @property
    def received_at(self) -> datetime:
        return self.book.received_at


@dataclass(frozen=True, slots=True)
class ListingSnapshot:
    """One ``list_markets`` answer of a venue: every market it returned, at our receive time."""

    venue: Venue
    received_at: datetime
    markets: tuple[Market, ...]


#: What a recording replays, in receive-time order.
RecordedEvent = RecordedBook | ListingSnapshot


class BookFilter:
    """Which contracts' books a reader still hands out, per venue (a venue not named: all).

    Changed while events are read (a replay learns what it trades at discovery): books
    read after the change are filtered, so a replay does not pay for books no one reads."""

    def __init__(self) -> None:
        self.contracts: dict[Venue, frozenset[str]] = {}
        #: Bumped on every change, so a reader can rebuild what it derived from the sets.
        self.version = 0

    def keep_only(self, venue: Venue, contract_ids: frozenset[str]) -> None:
        self.contracts[venue] = contract_ids
        self.version += 1


@dataclass(frozen=True, slots=True)
class SkippedPart:
    """A part of a recording the reader could not read (or found missing), and why."""

    path: str
    reason: str


@dataclass
class RecordingInfo:
    """What the reader found in a recording directory before reading any row."""

    directory: Path
    venues: tuple[Venue, ...]
    #: First and last receive time of what is readable (None for an empty recording).
    start: datetime | None
    end: datetime | None
    #: Parts that cannot be read (truncated, unfinished) or are missing from the sequence.
    skipped: list[SkippedPart] = field(default_factory=list)
    #: Updates the writer dropped because its queue was full (from the parts' metadata).
    dropped: int = 0
    #: Readable part files.
    parts: int = 0


class Recording(Protocol):
    """A recording directory opened for reading (``reader.open_recording``)."""

    info: RecordingInfo

    def events(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        venues: Collection[Venue] | None = None,
        books: BookFilter | None = None,
    ) -> Iterator[RecordedEvent]:
        """Every listing snapshot and book update with ``start <= received_at <= end`` (of
        ``venues`` only, when given; books only of the contracts ``books`` keeps), in
        receive-time order (ties: venue, then the order the writer wrote them); read lazily,
        part by part, so an hour of books need not fit in memory at once. The latest
        listing snapshot of each venue before ``start`` is yielded first, then each
        contract's latest book before ``start`` (a replay that starts mid-recording knows
        the markets and the books as they stood)."""
        ...
