"""A market and a book come back from the recording's encoding equal, Decimals exact."""

from __future__ import annotations

import copy
import json
import pickle
from dataclasses import FrozenInstanceError, fields, replace
from decimal import Decimal

import pytest

from tests.worker.replay.samples import T0, book, market, ref
from worker.domain.books import OrderBook
from worker.domain.markets import Market, OutcomeSide, Venue
from worker.replay.codec import (
    BookColumns,
    BookDecoder,
    market_from_json,
    market_to_dict,
    market_to_json,
)


def _exponents(m: Market) -> list[tuple[str, int]]:
    out = []
    for f in fields(m):
        v = getattr(m, f.name)
        if isinstance(v, Decimal):
            out.append((f.name, v.as_tuple().exponent))  # type: ignore[arg-type]
    for o in m.outcomes:
        for d in (o.bid, o.ask):
            if d is not None:
                out.append((o.contract_id, d.as_tuple().exponent))  # type: ignore[arg-type]
    rates = (m.fees.taker_rate, m.fees.maker_rate)
    out += [("fee", r.as_tuple().exponent) for r in rates]  # type: ignore[misc]
    return out


def test_a_market_round_trips_to_an_equal_market_with_exact_decimals() -> None:
    original = market()
    text = market_to_json(original)
    json.loads(text)  # plain JSON
    back = market_from_json(text)
    assert back == original
    assert _exponents(back) == _exponents(original)
    assert back.start_time is not None and back.start_time.utcoffset() is not None
    assert back.extra == {"gamma_id": "42", "note": "é ünïcode"}


def test_every_field_of_market_is_written() -> None:
    assert set(market_to_dict(market())) == {f.name for f in fields(Market)}


def test_a_market_with_the_optional_fields_empty_round_trips() -> None:
    bare = replace(market(Venue.KALSHI), start_time=None, volume=None, line=None, away=None, home=None,
                   game_date=None, extra={}, url=None)
    assert market_from_json(market_to_json(bare)) == bare


def test_a_book_row_reads_back_as_the_same_book_without_sorting_again() -> None:
    original = book(ref(Venue.KALSHI, 3, OutcomeSide.NO), T0, bid="0.450", ask="0.4700", sequence=17)
    cols = BookColumns()
    cols.add(original, snapshot=True)
    batch = cols.batch()
    row = {name: batch.column(name).to_pylist()[0] for name in batch.schema.names}
    decode = BookDecoder(Venue.KALSHI)
    [back] = decode.books(1, [decode.ref(row["market_id"], row["contract_id"], row["side"])],
                          [row["bids"]], [decode.levels(row["asks"])], [T0], [row["sequence"]])
    assert back == original
    assert [str(lvl.price) for lvl in back.asks] == [str(lvl.price) for lvl in original.asks]
    assert row["snapshot"] is True
    # a side seen before is the same tuple: parsed once
    assert decode.levels(row["bids"]) is back.bids


def _read_back(original: OrderBook) -> tuple[OrderBook, BookDecoder]:
    cols = BookColumns()
    cols.add(original, snapshot=False)
    batch = cols.batch()
    decode = BookDecoder(Venue.KALSHI)
    [back] = decode.books(1, [original.contract], decode.texts(batch.column("bids")),
                          [decode.levels(batch.column("asks")[0].as_py())], [original.received_at], [original.sequence])
    return back, decode


def test_a_books_bids_are_decoded_when_first_read_and_then_kept() -> None:
    original = book(ref(Venue.KALSHI, 3), T0, bid="0.450", ask="0.4700", sequence=17)
    back, decode = _read_back(original)
    slot = OrderBook.__dict__["bids"]
    with pytest.raises(AttributeError):
        slot.__get__(back, type(back))  # not decoded yet: the asks alone were
    assert [(str(lv.price), str(lv.size)) for lv in back.bids] == [(str(lv.price), str(lv.size)) for lv in original.bids]
    assert slot.__get__(back, type(back)) is back.bids  # decoded once, then kept
    assert back.best_bid == original.best_bid and back.crossed is original.crossed
    empty = book(ref(Venue.KALSHI, 4), T0, sequence=1)
    empty = replace(empty, bids=())
    assert _read_back(empty)[0].bids == ()


def test_a_book_read_back_is_an_order_book_like_any_other() -> None:
    original = book(ref(Venue.KALSHI, 3), T0, bid="0.450", ask="0.4700", sequence=17)
    back, _ = _read_back(original)
    again, _ = _read_back(original)
    assert isinstance(back, OrderBook)
    # equal both ways, before and after its bids are read, and hashing alike
    assert original == again and again == original and hash(again) == hash(original)
    assert back == original and original == back and len({original, back}) == 1
    assert back != replace(original, sequence=18) and replace(original, sequence=18) != back
    assert back != "not a book"
    # as frozen as any book
    with pytest.raises(FrozenInstanceError):
        back.bids = ()  # type: ignore[misc]
    # copied, pickled and replaced as the plain book it equals
    for copied in (pickle.loads(pickle.dumps(again)), copy.copy(again), copy.deepcopy(back)):
        assert type(copied) is OrderBook and copied == original
    moved = replace(back, sequence=18)
    assert moved.bids == original.bids and moved.sequence == 18 and moved.asks == original.asks
