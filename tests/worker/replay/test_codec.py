"""A market and a book come back from the recording's encoding equal, Decimals exact."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from decimal import Decimal

from tests.worker.replay.samples import T0, book, market, ref
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
                          [decode.levels(row["bids"])], [decode.levels(row["asks"])], [T0], [row["sequence"]])
    assert back == original
    assert [str(lvl.price) for lvl in back.asks] == [str(lvl.price) for lvl in original.asks]
    assert row["snapshot"] is True
    # a side seen before is the same tuple: parsed once
    assert decode.levels(row["bids"]) is back.bids
