"""Reading a recording back: what is readable, what was skipped and why, and every listing
snapshot and book update in receive-time order.

:func:`open_recording` reads only the parts' footers (their metadata: venue, kind, number,
first and last receive time, rows, dropped count); a part whose footer cannot be read (a
truncated file), an unfinished ``.tmp`` part and a number missing between two parts of a
venue and kind (with the time gap it leaves) are listed in ``info.skipped``.
:meth:`FileRecording.events` then reads the parts lazily, record batch by record batch,
and merges every venue and kind by receive time (parts of one venue and kind follow each
other in time, so each is one sorted stream). See ``docs/recording.md``.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from worker.domain.markets import Market, Venue
from worker.domain.slots import fill, slot_setters
from worker.replay.codec import BookDecoder, from_micros, market_from_json, micros
from worker.replay.recording import (
    BookFilter,
    ListingSnapshot,
    RecordedBook,
    RecordedEvent,
    RecordingInfo,
    SkippedPart,
)
from worker.replay.writer import BOOKS, KINDS, LISTINGS, SUFFIX, TMP_SUFFIX, part_number

# RecordedBook filled through its slots (one per row: the hot path of reading).
_set_rb_venue, _set_rb_book, _set_rb_snapshot, _set_rb_venue_ts = slot_setters(
    RecordedBook, "venue", "book", "snapshot", "venue_ts"
)
#: What the reader merges: (receive time in µs, venue·kind, the writer's order, event).
Entry = tuple[int, int, int, Any]
#: Rows read at a time from a part.
BATCH_ROWS = 8_192
#: Why a ``.tmp`` part is skipped: open parts are ``.tmp`` until the writer closes them.
UNFINISHED = "unfinished part (.tmp): still being written, or the writer stopped before closing it"
_VENUE_ORDER = {v: i for i, v in enumerate(Venue)}
_KIND_ORDER = {LISTINGS: 0, BOOKS: 1}
#: An entry's event.
_EVENT = itemgetter(3)


@dataclass(frozen=True)
class PartFile:
    """One readable part: where it is and what its footer says."""

    path: Path
    venue: Venue
    kind: str
    number: int
    first_us: int | None
    last_us: int | None
    rows: int
    session: str
    dropped: int


def _read_part(path: Path, venue: Venue, kind: str, number: int) -> PartFile:
    meta = pq.read_metadata(path)
    kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}

    def num(key: str) -> int | None:
        raw = kv.get(key)
        return int(raw) if raw not in (None, "None", "") else None

    return PartFile(
        path, venue, kind, number, num("first_received_us"), num("last_received_us"),
        num("rows") or meta.num_rows, kv.get("session", ""), num("dropped") or 0,
    )


class FileRecording:
    """A recording directory opened for reading (the ``Recording`` protocol)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.parts: dict[tuple[Venue, str], list[PartFile]] = {}
        skipped: list[SkippedPart] = []
        for venue in Venue:
            for kind in KINDS:
                folder = directory / venue.value / kind
                if folder.is_dir():
                    self._scan(folder, venue, kind, skipped)
        readable = [p for parts in self.parts.values() for p in parts]
        firsts = [p.first_us for p in readable if p.first_us is not None]
        lasts = [p.last_us for p in readable if p.last_us is not None]
        dropped: dict[str, int] = {}
        for p in readable:  # each writer session's running total: its largest figure
            dropped[p.session] = max(dropped.get(p.session, 0), p.dropped)
        self.info = RecordingInfo(
            directory=directory,
            venues=tuple(v for v in Venue if any(pv is v and ps for (pv, _), ps in self.parts.items())),
            start=from_micros(min(firsts)) if firsts else None,
            end=from_micros(max(lasts)) if lasts else None,
            skipped=skipped,
            dropped=sum(dropped.values()),
            parts=len(readable),
        )

    def _scan(self, folder: Path, venue: Venue, kind: str, skipped: list[SkippedPart]) -> None:
        found: dict[int, PartFile | None] = {}
        for path in sorted(folder.iterdir()):
            number = part_number(path.name)
            if number is None or not path.name.startswith(f"{kind}-"):
                continue
            if path.name.endswith(TMP_SUFFIX):
                skipped.append(SkippedPart(str(path), UNFINISHED))
                found.setdefault(number, None)
                continue
            if not path.name.endswith(SUFFIX):
                continue
            try:
                found[number] = _read_part(path, venue, kind, number)
            except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
                skipped.append(SkippedPart(str(path), f"unreadable (truncated or corrupt): {exc}"))
                found[number] = None
        numbers = sorted(found)
        for before, after in itertools.pairwise(numbers):
            if after == before + 1:
                continue
            prev, nxt = found[before], found[after]
            gap = ""
            if prev is not None and nxt is not None and prev.last_us is not None and nxt.first_us is not None:
                gap = f" ({from_micros(prev.last_us).isoformat()} to {from_micros(nxt.first_us).isoformat()} not recorded)"
            for missing in range(before + 1, after):
                skipped.append(SkippedPart(str(folder / f"{kind}-{missing:06d}{SUFFIX}"), f"missing part{gap}"))
        self.parts[(venue, kind)] = [p for n in numbers if (p := found[n]) is not None]

    # -- events ------------------------------------------------------------------------
    def events(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        venues: Collection[Venue] | None = None,
        books: BookFilter | None = None,
    ) -> Iterator[RecordedEvent]:
        lo = None if start is None else micros(start)
        hi = None if end is None else micros(end)
        streams: list[Iterator[list[Entry]]] = []
        latest: list[Iterator[list[Entry]]] = []
        for (venue, kind), parts in self.parts.items():
            if venues is not None and venue not in venues:
                continue
            wanted = [p for p in parts if _overlaps(p, lo, hi)]
            if kind == LISTINGS:
                if lo is not None:
                    before = self._listing_before(parts, lo)
                    if before is not None:
                        yield before
                streams.append(self._listings(venue, wanted, lo, hi))
            else:
                if lo is not None:
                    latest.append(self._books(venue, self._latest_before(parts, lo), None, None, books))
                streams.append(self._books(venue, self._batches(wanted), lo, hi, books))
        # A replay that starts mid-recording starts from the books as they stood: each
        # contract's latest book before ``start`` (with its own receive time), then the rest.
        for run in _merge(latest):
            yield from map(_EVENT, run)
        for run in _merge(streams):
            yield from map(_EVENT, run)

    def _batches(self, parts: list[PartFile]) -> Iterator[pa.RecordBatch]:
        """The parts' record batches, part after part. The next part is read (and
        decompressed) on a thread while this one's rows are turned into books: pyarrow
        reads without holding the GIL, so the reading overlaps the replay's own work."""
        ahead = _read_ahead().submit(_read_batches, parts[0].path) if parts else None
        for i, part in enumerate(parts):
            assert ahead is not None
            try:
                batches = ahead.result()
            except (OSError, ValueError) as exc:
                self.info.skipped.append(SkippedPart(str(part.path), f"unreadable rows: {exc}"))
                batches = []
            ahead = _read_ahead().submit(_read_batches, parts[i + 1].path) if i + 1 < len(parts) else None
            yield from batches

    def _latest_before(self, parts: list[PartFile], lo: int) -> Iterator[pa.RecordBatch]:
        """Each contract's last book row received before ``lo``, in receive order (found in
        Arrow: the parts before ``lo`` are read, not turned into books)."""
        tables = []
        for part in parts:
            if part.first_us is not None and part.first_us >= lo:
                continue
            try:
                tables.append(_read_table(part.path))
            except (OSError, ValueError):
                continue  # said when the parts were listed, or when the window reads it
        if not tables:
            return
        table = pa.concat_tables(tables)
        table = table.filter(pc.less(table.column("received_at").cast("int64"), lo))
        if table.num_rows == 0:
            return
        keys = ["market_id", "contract_id", "side"]
        index = pa.table(
            {**{k: table.column(k).cast(pa.string()) for k in keys}, "row": pa.array(range(table.num_rows), pa.int64())}
        )
        rows = index.group_by(keys).aggregate([("row", "max")]).column("row_max")
        yield from table.take(pc.take(rows, pc.sort_indices(rows))).to_batches()

    def _listing_before(self, parts: list[PartFile], lo: int) -> ListingSnapshot | None:
        """The latest snapshot received before ``lo`` (a replay starting mid-recording)."""
        for part in reversed(parts):
            if part.first_us is not None and part.first_us >= lo:
                continue
            latest = None
            for snap in self._snapshots(part, None, lo - 1):
                latest = snap
            if latest is not None:
                return latest
        return None

    def _snapshots(self, part: PartFile, lo: int | None, hi: int | None) -> Iterator[ListingSnapshot]:
        for chunk in self._listings(part.venue, [part], lo, hi):
            for _, _, _, snap in chunk:
                yield snap

    def _listings(
        self, venue: Venue, parts: list[PartFile], lo: int | None, hi: int | None
    ) -> Iterator[list[Entry]]:
        """Each part's snapshots as one chunk of sorted entries. A market whose text is
        the same as in the venue's previous snapshot is that snapshot's (immutable)
        ``Market``, not parsed again: most of a listing repeats the one before it."""
        vk = _VENUE_ORDER[venue] * 2 + _KIND_ORDER[LISTINGS]
        order = itertools.count()
        previous: dict[str, Market] = {}
        for part in parts:
            try:
                table = _read_table(part.path)
            except (OSError, ValueError) as exc:
                self.info.skipped.append(SkippedPart(str(part.path), f"unreadable rows: {exc}"))
                continue
            at = table.column("received_at").cast("int64").to_pylist()
            number = table.column("snapshot").to_pylist()
            texts = table.column("market_json").to_pylist()
            chunk: list[Entry] = []
            i = 0
            while i < len(at):
                j = i
                while j < len(at) and number[j] == number[i]:
                    j += 1
                us = at[i]
                if (lo is None or us >= lo) and (hi is None or us <= hi):
                    parsed = {t: _known(previous, t) for t in texts[i:j] if t is not None}
                    markets = tuple(parsed[t] for t in texts[i:j] if t is not None)
                    previous = parsed
                    chunk.append((us, vk, next(order), ListingSnapshot(venue, from_micros(us), markets)))
                i = j
            if chunk:
                yield chunk

    def _books(
        self,
        venue: Venue,
        batches: Iterator[pa.RecordBatch],
        lo: int | None,
        hi: int | None,
        books: BookFilter | None = None,
    ) -> Iterator[list[Entry]]:
        """Each record batch's books as one chunk of sorted entries (rows of contracts
        ``books`` leaves out, and rows outside ``lo``–``hi``, dropped in Arrow before any of
        them becomes a Python object). The books are built column by column (``map`` over
        the slot setters, no Python loop per row): the reading half of a replay is a few
        million rows an hour."""
        keep: pa.Array | None = None
        version = -1
        vk = _VENUE_ORDER[venue] * 2 + _KIND_ORDER[BOOKS]
        decode = BookDecoder(venue)
        order = 0
        for batch in batches:
            if books is not None and books.version != version:
                version = books.version
                ids = books.contracts.get(venue)
                keep = None if ids is None else pa.array(sorted(ids), pa.string())
            if keep is not None:
                batch = batch.filter(pc.is_in(batch.column("contract_id").cast(pa.string()), value_set=keep))
            received = batch.column("received_at").cast("int64")
            if lo is not None or hi is not None:
                inside = pc.and_(
                    pc.greater_equal(received, lo) if lo is not None else pc.is_valid(received),
                    pc.less_equal(received, hi) if hi is not None else pc.is_valid(received),
                )
                batch, received = batch.filter(inside), received.filter(inside)
            n = batch.num_rows
            if n == 0:
                continue
            at = received.to_pylist()
            # Each row's contract and levels by index into the batch's distinct ones, found
            # in Arrow (each distinct text decoded once).
            contracts, refs = decode.refs(batch.column("market_id"), batch.column("contract_id"), batch.column("side"))
            asks, ask_levels = decode.sides(batch.column("asks"))
            made = decode.books(
                n, map(refs.__getitem__, contracts), decode.texts(batch.column("bids")),
                map(ask_levels.__getitem__, asks), cast(Iterator[datetime], _times(received, at)),  # never null
                batch.column("sequence").to_pylist(),
            )
            recorded = list(map(object.__new__, repeat(RecordedBook, n)))
            fill(_set_rb_venue, recorded, repeat(venue, n))
            fill(_set_rb_book, recorded, made)
            fill(_set_rb_snapshot, recorded, batch.column("snapshot").to_pylist())
            venue_ts = batch.column("venue_ts").cast("int64")
            vts: Iterable[datetime | None] = (
                repeat(None, n) if venue_ts.null_count == n else _times(venue_ts, venue_ts.to_pylist())
            )
            fill(_set_rb_venue_ts, recorded, vts)
            yield list(zip(at, repeat(vk, n), range(order, order + n), recorded, strict=True))
            order += n


def _known(previous: dict[str, Market], text: str) -> Market:
    """The market of ``text``: the previous snapshot's if it had this very text."""
    market = previous.get(text)
    return market_from_json(text) if market is None else market


def _read_batches(path: Path) -> list[pa.RecordBatch]:
    with pq.ParquetFile(path) as part:
        return list(part.iter_batches(batch_size=BATCH_ROWS))


def _read_table(path: Path) -> pa.Table:
    """A whole part (``pq.read_table`` would import pandas on its first call: 0.3 s)."""
    with pq.ParquetFile(path) as part:
        return part.read()


_pool: ThreadPoolExecutor | None = None


def _read_ahead() -> ThreadPoolExecutor:
    """The one thread that reads parts ahead (made on first use; idle between reads)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-read-ahead")
    return _pool


def _times(column: pa.Array, values: list[int | None]) -> Iterator[datetime | None]:
    """Each row's time (``values``: ``column``'s microseconds) as an aware datetime, each
    distinct time made once (a Kalshi message's YES and NO books share theirs)."""
    distinct = pc.unique(column).to_pylist()
    made = {us: None if us is None else from_micros(us) for us in distinct}
    return map(made.__getitem__, values)


def _merge(streams: list[Iterator[list[Entry]]]) -> Iterator[list[Entry]]:
    """Merge streams of sorted chunks (``(received µs, venue·kind, order, event)``) into
    one sorted stream of runs, a run at a time: every entry up to the earliest of the
    streams' current chunk ends is safe to hand out, and is sorted in one ``list.sort``
    (runs of presorted entries, merged in C) instead of one heap step per entry."""
    live = list(streams)
    buffers: list[list[Entry]] = [[] for _ in live]
    while live:
        for i in range(len(live) - 1, -1, -1):
            while not buffers[i]:
                chunk = next(live[i], None)
                if chunk is None:
                    break
                buffers[i] = chunk
            if not buffers[i]:
                del live[i], buffers[i]
        if not live:
            return
        last = min(buf[-1] for buf in buffers)
        horizon = (last[0], last[1], last[2] + 1)
        out: list[Entry] = []
        for i, buf in enumerate(buffers):
            cut = bisect.bisect_left(buf, horizon)
            if cut:
                out += buf[:cut]
                buffers[i] = buf[cut:]
        out.sort()
        yield out


def _overlaps(part: PartFile, lo: int | None, hi: int | None) -> bool:
    if part.first_us is None or part.last_us is None:
        return True
    return (lo is None or part.last_us >= lo) and (hi is None or part.first_us <= hi)


def open_recording(directory: Path | str) -> FileRecording:
    """Open a recording directory (reads only the parts' footers)."""
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"no recording at {path}")
    return FileRecording(path)


def describe(info: RecordingInfo) -> str:
    """The info as one line of JSON (for commands that report a recording)."""
    return json.dumps({
        "directory": str(info.directory), "venues": [v.value for v in info.venues],
        "start": info.start.isoformat() if info.start else None, "end": info.end.isoformat() if info.end else None,
        "parts": info.parts, "dropped": info.dropped,
        "skipped": [{"path": s.path, "reason": s.reason} for s in info.skipped],
    })
