"""A record batch's side column decoded at once (``BookDecoder.sides``) gives each row the
levels its text says, equal to decoding the row's text alone."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from worker.domain.books import PriceLevel
from worker.domain.markets import Venue
from worker.replay.codec import BookDecoder

TEXTS = [
    "0.55:120,0.54:30",
    "",
    "0.55:120,0.54:30",
    "0.010:5.00",
    "0.54:30,0.53:7",
    "",
    "0.3400:217.00,0.3300:313.00,0.3200:263.00",
]


def _expected(text: str) -> tuple[PriceLevel, ...]:
    if not text:
        return ()
    return tuple(PriceLevel(Decimal(p), Decimal(s)) for p, s in (pair.split(":") for pair in text.split(",")))


def test_each_row_gets_the_levels_of_its_text_exponents_kept() -> None:
    rows, sides = BookDecoder(Venue.KALSHI).sides(pa.array(TEXTS, pa.string()))
    got = [sides[i] for i in rows]
    assert got == [_expected(t) for t in TEXTS]
    assert str(got[3][0].price) == "0.010" and str(got[3][0].size) == "5.00"
    assert got[1] == () and got[5] == ()
    assert len(sides) == 5  # each distinct text once


def test_a_sliced_column_and_a_chunked_decoder_agree_with_decoding_alone() -> None:
    decode = BookDecoder(Venue.POLYMARKET)
    column = pa.array(["0.9:1", *TEXTS, "0.1:2"], pa.string()).slice(1, len(TEXTS))
    rows, sides = decode.sides(column)
    assert [sides[i] for i in rows] == [_expected(t) for t in TEXTS]
    alone = BookDecoder(Venue.POLYMARKET)
    assert [sides[i] for i in rows] == [alone.levels(t) for t in TEXTS]
    # A later batch shares the levels already built (one object per price:size text).
    again, later = decode.sides(pa.array(["0.54:30,0.53:7"], pa.string()))
    assert later[again[0]][0] is sides[rows[4]][0]


def test_each_row_gets_its_contract_from_dictionary_or_plain_columns() -> None:
    rows = [("M1", "C1", "yes"), ("M1", "C1", "no"), ("M2", "C2", "yes"), ("M1", "C1", "yes"), ("M2", "C3", "no")]
    expected = [BookDecoder(Venue.KALSHI).ref(m, c, s) for m, c, s in rows]
    for encode in (True, False):
        columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(3)]
        if encode:
            columns = [c.dictionary_encode() for c in columns]
        index, refs = BookDecoder(Venue.KALSHI).refs(*columns)
        assert [refs[i] for i in index] == expected
        assert len(refs) == 4
