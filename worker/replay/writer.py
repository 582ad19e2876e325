"""The recording's writer: a thread of its own turning listings and books into Parquet.

The event loop only offers: :meth:`RecordWriter.offer_update` / :meth:`RecordWriter.offer`
append the domain object (immutable) to a bounded queue without waiting; when the queue
is full the update is dropped and counted, never waited for, so recording cannot slow the
trading it watches. The queue is a ``deque`` (an append is atomic under the interpreter
lock and takes no lock of its own, where ``queue.Queue`` takes a lock and wakes the
thread on every item): the thread wakes every ``poll_s`` and drains it, a slice of items
at a time, letting go of the interpreter between slices so the event loop is never held
up for more than one slice. It converts to Arrow columns and writes one part file per
venue and kind (``books``, ``listings``) at a time, zstd-compressed:

    DIR/<venue>/<kind>/<kind>-<number>.parquet

A part is written as ``….parquet.tmp`` and renamed when closed (its footer written): a
crash leaves at most one unfinished part per venue and kind. Parts are closed at least
every ``rotate_s`` seconds (60) and on :meth:`close`; their numbers count up per venue and
kind, so a missing part shows as a gap. Each part's footer carries key-value metadata
(:data:`META_KEYS`). Past ``max_bytes`` in the directory, the oldest closed parts (across
venues) are deleted first. ``docs/recording.md`` documents the layout.

Recording never stops trading: a writer that cannot start (its directory cannot be
created) or whose disk fails while writing (full, the directory removed) logs it once,
leaves its open parts unfinished and drops what is offered from then on (``failed`` says
why), until it is started again (a worker's next connection to its venues).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.markets import Venue
from worker.domain.ports import BookUpdate
from worker.replay.codec import BOOK_SCHEMA, LISTING_SCHEMA, BookColumns, market_to_json, micros
from worker.replay.recording import ListingSnapshot, RecordedBook

log = logging.getLogger(__name__)

BOOKS = "books"
LISTINGS = "listings"
KINDS = (BOOKS, LISTINGS)
SUFFIX = ".parquet"
TMP_SUFFIX = ".parquet.tmp"
#: The footer metadata of every part: venue, kind, part number, the writer session that
#: wrote it, first and last receive time (µs since the epoch), rows, and the updates the
#: session had dropped when the part was closed (a running total per session).
META_KEYS = ("venue", "kind", "part", "session", "first_received_us", "last_received_us", "rows", "dropped")
ROTATE_S = 60.0
QUEUE_SIZE = 100_000
#: Rows kept in memory per venue and kind before they are written as a row group.
BATCH_ROWS = 5_000
#: Items converted between two releases of the interpreter lock (~5 µs each).
SLICE = 64


def part_name(kind: str, number: int) -> str:
    return f"{kind}-{number:06d}{SUFFIX}"


def part_number(name: str) -> int | None:
    """The number in ``<kind>-<number>.parquet[.tmp]``; None for any other name."""
    stem = name.removesuffix(".tmp").removesuffix(SUFFIX)
    _, _, digits = stem.rpartition("-")
    return int(digits) if digits.isdigit() and stem != name else None


@dataclass
class _Part:
    venue: Venue
    kind: str
    number: int
    final: Path
    writer: pq.ParquetWriter
    opened: float
    first_us: int | None = None
    last_us: int | None = None
    rows: int = 0
    books: BookColumns = field(default_factory=BookColumns)
    listing_rows: list[tuple[int, int, int, str | None, str | None]] = field(default_factory=list)

    @property
    def tmp(self) -> Path:
        return self.final.with_name(self.final.name + ".tmp")

    def buffered(self) -> int:
        return len(self.books) + len(self.listing_rows)


class _Sync:
    """A marker the thread sets once everything offered before it has been handled."""

    def __init__(self, close_parts: bool) -> None:
        self.done = threading.Event()
        self.close_parts = close_parts


_STOP = object()


class RecordWriter:
    """Writes what is offered to Parquet part files in ``directory`` (see module docstring).

    ``offer``/``offer_update`` may be called from the event loop; everything else of the
    writing happens on the writer's thread. :meth:`start` / :meth:`close` may be called
    again (a worker reconnecting to its venues records into new parts of the same
    directory); :meth:`hold` / :meth:`release` count the venues recording into it.
    """

    def __init__(
        self,
        directory: Path | str,
        max_bytes: int,
        *,
        clock: Clock = SYSTEM_CLOCK,
        rotate_s: float = ROTATE_S,
        queue_size: int = QUEUE_SIZE,
        batch_rows: int = BATCH_ROWS,
        poll_s: float = 0.2,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._clock = clock
        self._rotate_s = rotate_s
        self._batch_rows = batch_rows
        self._poll_s = poll_s
        self._queue: deque[object] = deque()
        self._queue_size = queue_size
        self._wake = threading.Event()
        #: Updates refused because the queue was full (this writer's life).
        self.dropped = 0
        self.rows: Counter[tuple[str, str]] = Counter()
        self.parts: Counter[tuple[str, str]] = Counter()
        #: Closed parts deleted to keep the directory under ``max_bytes``.
        self.deleted = 0
        self._session = secrets.token_hex(4)
        self._open: dict[tuple[Venue, str], _Part] = {}
        self._next: dict[tuple[Venue, str], int] = {}
        self._snapshot: Counter[Venue] = Counter()
        self._closed: deque[tuple[Path, int]] = deque()
        self._thread: threading.Thread | None = None
        self._holders = 0
        self._lock = threading.Lock()
        #: Why this writer stopped recording (None while it records): see the module docstring.
        self.failed: str | None = None

    # -- the event loop's side -----------------------------------------------------------
    def offer_update(self, venue: Venue, update: BookUpdate) -> bool:
        """Queue one book update of ``venue`` without waiting; False (and counted) when full
        or when the writer has failed."""
        if self.failed is not None or len(self._queue) >= self._queue_size:
            self.dropped += 1
            return False
        self._queue.append((venue, update))
        return True

    def offer(self, item: RecordedBook | ListingSnapshot) -> bool:
        """Queue a recorded book or listing snapshot without waiting; False when full or failed."""
        if self.failed is not None or len(self._queue) >= self._queue_size:
            self.dropped += 1
            return False
        self._queue.append(item)
        return True

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> bool:
        """Start the thread (again after :meth:`close`); False when the directory cannot be
        taken up (logged once: the writer has failed, and drops what is offered)."""
        with self._lock:
            if self._thread is not None:
                return self.failed is None
            self.failed = None
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._scan()
                thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
                thread.start()
            except (OSError, RuntimeError) as exc:  # RuntimeError: no thread can be started
                self._fail(exc)
                self._queue.clear()
                return False
            self._thread = thread
            return True

    def hold(self) -> None:
        """One more venue records here (starts the thread if it is not running; never
        raises: a writer that cannot start has failed, see :meth:`start`). Only the first
        venue of a connection tries a failed writer again: one failure, one log line."""
        with self._lock:
            first = self._holders == 0
            self._holders += 1
        if first or self.failed is None:
            self.start()

    def release(self) -> bool:
        """One venue less; True when none is left (the caller then closes the writer)."""
        with self._lock:
            self._holders = max(0, self._holders - 1)
            return self._holders == 0

    def sync(self, *, close_parts: bool = False, timeout: float | None = None) -> bool:
        """Block until everything offered so far is handled (rows written as row groups;
        with ``close_parts`` the open parts closed too). Not for the event loop."""
        marker = _Sync(close_parts)
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, close every part (footer, rename) and join the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        self._queue.append(_STOP)
        self._wake.set()
        thread.join()

    def bytes_used(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob(f"*{SUFFIX}*") if p.is_file())

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        items, wake, clock = self._queue, self._wake, self._clock
        popleft, pause = items.popleft, time.sleep
        stopping = False
        while not stopping:
            if not items:
                wake.wait(self._poll_s)
                wake.clear()
            # Parts due are closed before the next item: it starts a new part.
            now = clock.monotonic()
            for part in [p for p in self._open.values() if now - p.opened >= self._rotate_s]:
                self._close_part(part)
            for _ in range(min(len(items), SLICE)):
                item = popleft()
                if item is _STOP:  # everything offered before the stop has been handled
                    stopping = True
                    break
                self._guarded(item)
            pause(0)  # let the event loop have the interpreter between slices
        for part in list(self._open.values()):
            self._close_part(part)

    def _guarded(self, item: object) -> None:
        if self.failed is not None and not isinstance(item, _Sync):
            return  # queued before the failure: dropped with the rest
        try:
            self._handle(item)
        except OSError as exc:  # a failing disk must neither kill the thread nor stop trading
            self._fail(exc)
        except Exception:  # one item the writer cannot convert: that item is lost
            log.exception("recording: could not record %s", type(item).__name__)

    def _fail(self, exc: BaseException) -> None:
        """Stop recording (logged once): open parts are left unfinished, what is offered
        from now on is dropped; trading goes on. A later :meth:`start` tries again."""
        if self.failed is not None:
            return
        self.failed = f"{type(exc).__name__}: {exc}"
        log.error("recording into %s stopped (%s); trading goes on without recording", self.directory, self.failed)
        for part in list(self._open.values()):
            del self._open[(part.venue, part.kind)]
            with contextlib.suppress(Exception):
                part.writer.close()

    def _handle(self, item: object) -> None:
        if type(item) is tuple:
            venue, update = item
            part = self._part(venue, BOOKS)
            part.books.add(update.book, update.snapshot, update.venue_ts)
            self._stamp(part, update.book.received_at)
        elif isinstance(item, RecordedBook):
            part = self._part(item.venue, BOOKS)
            part.books.add(item.book, item.snapshot, item.venue_ts)
            self._stamp(part, item.book.received_at)
        elif isinstance(item, ListingSnapshot):
            part = self._part(item.venue, LISTINGS)
            number = self._snapshot[item.venue]
            self._snapshot[item.venue] += 1
            at = micros(item.received_at)
            count = len(item.markets)
            if not item.markets:
                part.listing_rows.append((at, number, 0, None, None))
            for m in item.markets:
                part.listing_rows.append((at, number, count, m.market_id, market_to_json(m)))
            self._stamp(part, item.received_at, rows=max(count, 1))
        elif isinstance(item, _Sync):
            for part in list(self._open.values()):
                if item.close_parts:
                    self._close_part(part)
                else:
                    self._flush(part)
            item.done.set()
            return
        else:
            raise TypeError(f"cannot record {type(item).__name__}")
        if part.buffered() >= self._batch_rows:
            self._flush(part)

    def _stamp(self, part: _Part, at: object, rows: int = 1) -> None:
        us = micros(at)  # type: ignore[arg-type]
        if part.first_us is None:
            part.first_us = us
        part.last_us = us
        part.rows += rows
        self.rows[(part.venue.value, part.kind)] += rows

    def _part(self, venue: Venue, kind: str) -> _Part:
        part = self._open.get((venue, kind))
        if part is not None:
            return part
        number = self._next.get((venue, kind), 0)
        self._next[(venue, kind)] = number + 1
        folder = self.directory / venue.value / kind
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / part_name(kind, number)
        schema = BOOK_SCHEMA if kind == BOOKS else LISTING_SCHEMA
        tmp = final.with_name(final.name + ".tmp")
        writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        part = _Part(venue, kind, number, final, writer, self._clock.monotonic())
        self._open[(venue, kind)] = part
        return part

    def _flush(self, part: _Part) -> None:
        if part.books:
            part.writer.write_batch(part.books.batch())
            part.books = BookColumns()
        if part.listing_rows:
            columns = list(zip(*part.listing_rows, strict=True))
            batch = pa.record_batch(
                [
                    pa.array(columns[0], pa.int64()).cast(LISTING_SCHEMA.field("received_at").type),
                    pa.array(columns[1], pa.int64()),
                    pa.array(columns[2], pa.int32()),
                    pa.array(columns[3], pa.string()),
                    pa.array(columns[4], pa.string()),
                ],
                schema=LISTING_SCHEMA,
            )
            part.writer.write_batch(batch)
            part.listing_rows = []

    def _close_part(self, part: _Part) -> None:
        if self._open.pop((part.venue, part.kind), None) is None:
            return  # abandoned by a failure meanwhile
        try:
            self._flush(part)
            part.writer.add_key_value_metadata({
                "venue": part.venue.value, "kind": part.kind, "part": str(part.number),
                "session": self._session, "first_received_us": str(part.first_us),
                "last_received_us": str(part.last_us), "rows": str(part.rows), "dropped": str(self.dropped),
            })
            part.writer.close()
            os.replace(part.tmp, part.final)
            size = part.final.stat().st_size
        except Exception as exc:
            with contextlib.suppress(Exception):
                part.writer.close()
            if isinstance(exc, OSError):
                self._fail(exc)
            else:
                log.exception("recording: part %s could not be closed; left unfinished", part.tmp)
            return
        self.parts[(part.venue.value, part.kind)] += 1
        self._closed.append((part.final, size))
        self._enforce_cap()

    def _enforce_cap(self) -> None:
        open_bytes = 0
        for part in self._open.values():
            with contextlib.suppress(OSError):
                open_bytes += part.tmp.stat().st_size
        total = open_bytes + sum(size for _, size in self._closed)
        while total > self.max_bytes and self._closed:
            path, size = self._closed.popleft()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size
            self.deleted += 1
            log.info("recording: deleted %s to stay under %d bytes", path, self.max_bytes)

    def _scan(self) -> None:
        """Take up a directory recorded into before: its parts count towards the cap (oldest
        first) and numbering continues after its highest part of each venue and kind."""
        found: list[tuple[float, str, Path, int]] = []
        for venue in Venue:
            for kind in KINDS:
                folder = self.directory / venue.value / kind
                if not folder.is_dir():
                    continue
                for path in folder.iterdir():
                    number = part_number(path.name)
                    if number is None or not path.name.startswith(f"{kind}-"):
                        continue
                    key = (venue, kind)
                    self._next[key] = max(self._next.get(key, 0), number + 1)
                    stat = path.stat()
                    found.append((stat.st_mtime, str(path), path, stat.st_size))
        self._closed = deque((path, size) for _, _, path, size in sorted(found))
