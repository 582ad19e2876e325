"""How a recording writes the domain's objects and reads them back, exactly.

A :class:`~worker.domain.markets.Market` becomes a JSON-able dict (every field, Decimals
as their text so the exponent survives: ``0.010`` stays ``0.010``) and back to an equal
market. An :class:`~worker.domain.books.OrderBook` becomes one row of the book parts'
columns (:data:`BOOK_SCHEMA`, prices and sizes as text, best level first) and back,
without sorting again: the writer wrote the levels in the book's own order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.leagues import League
from worker.domain.markets import (
    ContractRef,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    TeamRef,
    Venue,
)
from worker.domain.slots import fill, slot_setters

TIME = pa.timestamp("us", tz="UTC")
_TEXT = pa.dictionary(pa.int32(), pa.string())

#: One row per book update, in the order the writer received them. ``bids`` / ``asks`` are
#: the book's levels best first, each ``price:size`` as the Decimals' text, joined by ``,``
#: (``0.55:120,0.54:30``; empty for no level): one string per side reads back far faster
#: than lists, and an unchanged side (most updates change one side) is parsed once.
BOOK_SCHEMA = pa.schema(
    [
        ("received_at", TIME),
        ("market_id", _TEXT),
        ("contract_id", _TEXT),
        ("side", _TEXT),
        ("sequence", pa.int64()),
        ("venue_ts", TIME),
        ("snapshot", pa.bool_()),
        ("bids", pa.string()),
        ("asks", pa.string()),
    ]
)

#: One row per market of a listing snapshot; a snapshot with no market is one row whose
#: ``market_id`` and ``market_json`` are null. ``markets`` is the snapshot's market count.
LISTING_SCHEMA = pa.schema(
    [
        ("received_at", TIME),
        ("snapshot", pa.int64()),
        ("markets", pa.int32()),
        ("market_id", pa.string()),
        ("market_json", pa.string()),
    ]
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- markets -------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _untime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _team(team: TeamRef | None) -> dict[str, str | None] | None:
    return None if team is None else {"code": team.code, "name": team.name}


def _unteam(value: Any) -> TeamRef | None:
    return None if value is None else TeamRef(value.get("code"), value.get("name"))


def outcome_to_dict(o: Outcome) -> dict[str, Any]:
    return {
        "venue": o.venue.value, "market_id": o.market_id, "contract_id": o.contract_id,
        "side": o.side.value, "label": o.label, "team_code": o.team_code, "team_name": o.team_name,
        "bid": _dec(o.bid), "ask": _dec(o.ask),
    }


def outcome_from_dict(d: Mapping[str, Any]) -> Outcome:
    return Outcome(
        Venue(d["venue"]), d["market_id"], d["contract_id"], OutcomeSide(d["side"]), d["label"],
        d.get("team_code"), d.get("team_name"), _undec(d.get("bid")), _undec(d.get("ask")),
    )


def market_to_dict(m: Market) -> dict[str, Any]:
    """Every field of ``m`` as JSON-able values (Decimals and times as text)."""
    return {
        "venue": m.venue.value,
        "market_id": m.market_id,
        "event_id": m.event_id,
        "event_title": m.event_title,
        "title": m.title,
        "league": m.league.value,
        "kind": m.kind.value,
        "outcomes": [outcome_to_dict(o) for o in m.outcomes],
        "tick_size": str(m.tick_size),
        "min_size": str(m.min_size),
        # Rates as text (their exponent too); the exponent of the formula is an int.
        "fees": m.fees.to_record(),
        "status": m.status.value,
        "start_time": _time(m.start_time),
        "close_time": _time(m.close_time),
        "rules": m.rules,
        "volume": _dec(m.volume),
        "url": m.url,
        "event_slug": m.event_slug,
        "slug": m.slug,
        "series": m.series,
        "condition_id": m.condition_id,
        "sports_market_type": m.sports_market_type,
        "line": _dec(m.line),
        "neg_risk": m.neg_risk,
        "away": _team(m.away),
        "home": _team(m.home),
        "game_date": None if m.game_date is None else m.game_date.isoformat(),
        "extra": dict(m.extra),
    }


def market_from_dict(d: Mapping[str, Any]) -> Market:
    """The market :func:`market_to_dict` wrote (equal to the original, Decimals exact)."""
    game_date = d.get("game_date")
    return Market(
        venue=Venue(d["venue"]),
        market_id=d["market_id"],
        event_id=d["event_id"],
        event_title=d["event_title"],
        title=d["title"],
        league=League(d["league"]),
        kind=MarketKind(d["kind"]),
        outcomes=tuple(outcome_from_dict(o) for o in d["outcomes"]),
        tick_size=Decimal(d["tick_size"]),
        min_size=Decimal(d["min_size"]),
        fees=FeeSchedule.from_record(d["fees"]),
        status=MarketStatus(d["status"]),
        start_time=_untime(d.get("start_time")),
        close_time=_untime(d.get("close_time")),
        rules=d.get("rules", ""),
        volume=_undec(d.get("volume")),
        url=d.get("url"),
        event_slug=d.get("event_slug"),
        slug=d.get("slug"),
        series=d.get("series"),
        condition_id=d.get("condition_id"),
        sports_market_type=d.get("sports_market_type"),
        line=_undec(d.get("line")),
        neg_risk=bool(d.get("neg_risk", False)),
        away=_unteam(d.get("away")),
        home=_unteam(d.get("home")),
        game_date=None if game_date is None else date.fromisoformat(game_date),
        extra={str(k): str(v) for k, v in (d.get("extra") or {}).items()},
    )


def market_to_json(m: Market) -> str:
    return json.dumps(market_to_dict(m), separators=(",", ":"), ensure_ascii=False)


def market_from_json(text: str) -> Market:
    return market_from_dict(json.loads(text))


# --- books ---------------------------------------------------------------------------------


def micros(t: datetime) -> int:
    """``t`` as integer microseconds since the epoch (exact, no float)."""
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_micros(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


class BookColumns:
    """Book rows gathered column by column, then written as one Arrow record batch."""

    __slots__ = ("received_at", "market_id", "contract_id", "side", "sequence", "venue_ts", "snapshot",
                 "bids", "asks")

    def __init__(self) -> None:
        self.received_at: list[int] = []
        self.market_id: list[str] = []
        self.contract_id: list[str] = []
        self.side: list[str] = []
        self.sequence: list[int | None] = []
        self.venue_ts: list[int | None] = []
        self.snapshot: list[bool] = []
        self.bids: list[str] = []
        self.asks: list[str] = []

    def __len__(self) -> int:
        return len(self.received_at)

    def add(self, book: OrderBook, snapshot: bool, venue_ts: datetime | None = None) -> None:
        c = book.contract
        self.received_at.append(micros(book.received_at))
        self.market_id.append(c.market_id)
        self.contract_id.append(c.contract_id)
        self.side.append(c.side.value)
        self.sequence.append(book.sequence)
        self.venue_ts.append(None if venue_ts is None else micros(venue_ts))
        self.snapshot.append(snapshot)
        self.bids.append(",".join([f"{lvl.price}:{lvl.size}" for lvl in book.bids]))
        self.asks.append(",".join([f"{lvl.price}:{lvl.size}" for lvl in book.asks]))

    def batch(self) -> pa.RecordBatch:
        return pa.record_batch(
            [
                pa.array(self.received_at, pa.int64()).cast(TIME),
                pa.array(self.market_id, pa.string()).dictionary_encode(),
                pa.array(self.contract_id, pa.string()).dictionary_encode(),
                pa.array(self.side, pa.string()).dictionary_encode(),
                pa.array(self.sequence, pa.int64()),
                pa.array(self.venue_ts, pa.int64()).cast(TIME),
                pa.array(self.snapshot, pa.bool_()),
                pa.array(self.bids, pa.string()),
                pa.array(self.asks, pa.string()),
            ],
            schema=BOOK_SCHEMA,
        )


def _encoded(column: pa.Array) -> pa.DictionaryArray:
    """``column`` dictionary-encoded (the book parts' text columns already are)."""
    return column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)


_new = object.__new__
_set_price, _set_size = slot_setters(PriceLevel, "price", "size")
_set_contract, _set_bids, _set_asks, _set_received, _set_sequence = slot_setters(
    OrderBook, "contract", "bids", "asks", "received_at", "sequence"
)


#: The getter of the slot OrderBook keeps its bids in (RecordedOrderBook's property hides it).
_get_bids = OrderBook.__dict__["bids"].__get__


class RecordedOrderBook(OrderBook):
    """A book read back from a recording, whose bids are decoded from their recorded text
    the first time they are read (then kept).

    A replay's scanner prices from asks alone; bids are read only when the replay
    exchange fills an order or quotes a book, or for a Polymarket US book (its SHORT
    side's asks are its LONG bids): most recorded bids are replaced before anyone reads
    them, and decoding them all was a quarter of reading a recording. Otherwise it is an
    ``OrderBook``: as frozen, equal to (and hashing as) the plain book of the same fields,
    and copied or pickled as that plain book."""

    __slots__ = ("_bids_text", "_decoder")
    _bids_text: str
    _decoder: BookDecoder

    @property
    def bids(self) -> tuple[PriceLevel, ...]:
        try:
            levels: tuple[PriceLevel, ...] = _get_bids(self, RecordedOrderBook)
        except AttributeError:  # not read yet
            levels = self._decoder.levels(self._bids_text)
            _set_bids(self, levels)
        return levels

    @bids.setter
    def bids(self, levels: tuple[PriceLevel, ...]) -> None:
        # Only through object.__setattr__ (the dataclass's __init__, when dataclasses.replace
        # makes one): assignment raises as on any frozen OrderBook.
        _set_bids(self, levels)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook):
            return NotImplemented
        return _book_fields(self) == _book_fields(other)

    __hash__ = OrderBook.__hash__

    def __reduce__(self) -> tuple[Any, ...]:
        return OrderBook, _book_fields(self)


def _book_fields(book: OrderBook) -> tuple[Any, ...]:
    """A book's fields in ``OrderBook``'s order (its constructor's arguments)."""
    return book.contract, book.bids, book.asks, book.received_at, book.sequence


_set_bids_text, _set_decoder = (RecordedOrderBook.__dict__[name].__set__ for name in ("_bids_text", "_decoder"))


class _Levels(dict[str, Any]):
    """Levels by ``price:size`` text; a text not seen yet is made (and kept) by ``make``,
    so a lookup of a known level stays in C (``map`` over ``__getitem__``)."""

    def __init__(self, make: Callable[[str], PriceLevel | None]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, pair: str) -> PriceLevel | None:
        return self._make(pair)


class BookDecoder:
    """Rebuilds books from book-part columns. Each side's text is parsed once and its
    levels kept (an update usually changes one side of a book; the other comes back as
    the same text), and each price's Decimal is shared (prices lie on a tick grid), as
    the venue clients' books share them. The reader decodes a record batch's asks and
    contracts at once (:meth:`sides`, :meth:`refs`): each distinct text of the batch is
    decoded once, found in Arrow, and the rows take their levels and contracts by index.
    Bids stay text (:meth:`texts`) until a book's are read (:meth:`levels`, through
    :class:`RecordedOrderBook`)."""

    def __init__(self, venue: Venue, limit: int = 200_000) -> None:
        self.venue = venue
        self._limit = limit
        self._sides: dict[str, tuple[PriceLevel, ...]] = {"": ()}
        self._levels = _Levels(self._level)
        self._prices: dict[str, Decimal] = {}
        self._refs: dict[tuple[str, str, str], ContractRef] = {}

    def levels(self, text: str) -> tuple[PriceLevel, ...]:
        """The levels of one side's text (``price:size,…``, best first); a text read
        before gives the same tuple."""
        known = self._sides.get(text)
        if known is not None:
            return known
        levels = tuple(map(self._levels.__getitem__, text.split(",")))  # text is not "" here
        if len(self._sides) >= self._limit:
            self._sides.clear()
            self._sides[""] = ()
        self._sides[text] = levels
        return levels

    def sides(self, column: pa.Array) -> tuple[list[int], list[tuple[PriceLevel, ...]]]:
        """One side's column of a record batch as each row's index into the levels of the
        column's distinct texts. Found in Arrow: the distinct texts, their ``price:size``
        pairs and the distinct pairs; each distinct pair is looked up once, and each
        text's levels are a slice of the pairs' levels (equal to :meth:`levels`'s)."""
        encoded = pc.dictionary_encode(column)
        texts = encoded.dictionary
        pairs = pc.split_pattern(texts, ",")
        distinct = pc.dictionary_encode(pairs.flatten())
        # An empty pair (only the empty text has one) is None until its side is set to ().
        known: list[Any] = list(map(self._levels.__getitem__, distinct.dictionary.to_pylist()))
        flat = list(map(known.__getitem__, distinct.indices.to_pylist()))
        offsets = pairs.offsets
        base = offsets[0].as_py()
        starts = pc.subtract(offsets[:-1], base).to_pylist()
        ends = pc.subtract(offsets[1:], base).to_pylist()
        sides: list[tuple[PriceLevel, ...]] = list(map(tuple, map(flat.__getitem__, map(slice, starts, ends))))
        for empty in pc.indices_nonzero(pc.equal(texts, "")).to_pylist():
            sides[empty] = ()  # "" splits into one empty pair: no level
        return encoded.indices.to_pylist(), sides

    def _level(self, pair: str) -> PriceLevel | None:
        """A level first seen (levels are immutable: one object per ``price:size`` text);
        None for the empty pair (of an empty side), which is not kept."""
        if not pair:
            return None
        p, _, s = pair.partition(":")
        price = self._prices.get(p)
        if price is None:
            price = Decimal(p)
            if len(self._prices) < self._limit:
                self._prices[p] = price
        lvl = _new(PriceLevel)
        _set_price(lvl, price)
        _set_size(lvl, Decimal(s))
        if len(self._levels) >= self._limit:
            self._levels.clear()
        self._levels[pair] = lvl
        return lvl

    def ref(self, market_id: str, contract_id: str, side: str) -> ContractRef:
        key = (market_id, contract_id, side)
        ref = self._refs.get(key)
        if ref is None:
            ref = self._refs[key] = ContractRef(self.venue, market_id, contract_id, OutcomeSide(side))
        return ref

    def refs(self, market: pa.Array, contract: pa.Array, side: pa.Array) -> tuple[list[int], list[ContractRef]]:
        """A batch's contract columns as each row's index into its distinct contracts
        (found in Arrow, from the columns' dictionary indices: no text per row)."""
        columns = [_encoded(market), _encoded(contract), _encoded(side)]
        key: pa.Array = pa.array([0] * len(market), pa.int64())
        for col in columns:
            key = pc.add(pc.multiply(key, len(col.dictionary)), col.indices.cast(pa.int64()))
        distinct = pc.dictionary_encode(key)
        texts = [col.dictionary.to_pylist() for col in columns]
        sizes = [len(t) for t in texts]
        refs = []
        for k in distinct.dictionary.to_pylist():
            k, s = divmod(k, sizes[2])
            m, c = divmod(k, sizes[1])
            refs.append(self.ref(texts[0][m], texts[1][c], texts[2][s]))
        return distinct.indices.to_pylist(), refs

    def texts(self, column: pa.Array) -> list[str]:
        """A text column of a record batch as each row's text, each distinct text one
        string (found in Arrow)."""
        encoded = pc.dictionary_encode(column)
        return list(map(encoded.dictionary.to_pylist().__getitem__, encoded.indices.to_pylist()))

    def books(
        self,
        n: int,
        refs: Iterable[ContractRef],
        bids: Iterable[str],
        asks: Iterable[tuple[PriceLevel, ...]],
        received_at: Iterable[datetime],
        sequence: Iterable[int | None],
    ) -> list[OrderBook]:
        """``n`` books as they were recorded, from their columns (each ``n`` long): the
        bids as their text (decoded when read: :class:`RecordedOrderBook`), the asks'
        levels already best-first, so not sorted again. Built column by column (``map``
        over the slot setters, no Python loop per row): a replay reads millions of rows
        an hour."""
        made: list[OrderBook] = list(map(_new, repeat(RecordedOrderBook, n)))
        fill(_set_contract, made, refs)
        fill(_set_bids_text, made, bids)
        fill(_set_decoder, made, repeat(self, n))
        fill(_set_asks, made, asks)
        fill(_set_received, made, received_at)
        fill(_set_sequence, made, sequence)
        return made
