"""Book streams of the live clients over the paper exchange's real WebSockets.

The fixture-backed stream tests (``test_signing_and_streams.py``) feed the parsers scripted
messages; these connect the clients' own ``stream_books`` to the running exchange, signed
handshakes included, and check that what arrives is the book the exchange holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.worker.venues.contract.conftest import (
    ADAPTERS,
    Harness,
    PaperExchangeProcess,
    build_paper,
)
from worker.domain.ports import BookUpdate

D = Decimal


@pytest.fixture(params=[f"paper-{a}" for a in ADAPTERS])
async def paper_venue(
    request: pytest.FixtureRequest, paper_exchange: PaperExchangeProcess
) -> AsyncIterator[Harness]:
    h = await build_paper(str(request.param).split("-", 1)[1], paper_exchange)
    try:
        yield h
    finally:
        await h.client.http.client.aclose()
        await paper_exchange.admin("faults", {"clear": True})
        await paper_exchange.admin("book", {"instrument": h.instrument, "clear": True})


async def next_update(stream: AsyncIterator[BookUpdate], h: Harness) -> BookUpdate:
    """The next update of the contract under test (Kalshi also streams the NO book)."""
    async for u in stream:
        if u.book.contract == h.contract:
            return u
    raise AssertionError("stream ended")


async def repin(h: Harness, best_ask: str) -> None:
    assert h.paper is not None
    await h.paper.admin(
        "book",
        {"instrument": h.instrument, "bids": [["0.39", "50"]], "asks": [[best_ask, "9"], ["0.48", "30"]]},
    )


async def test_stream_opens_with_the_exchange_book_then_follows_it(paper_venue: Harness) -> None:
    h = paper_venue
    stream = h.client.stream_books([h.contract])
    try:
        first = await next_update(stream, h)
        assert first.snapshot
        assert first.book.best_ask is not None and first.book.best_ask.price == D("0.43")
        assert first.book.best_bid is not None
        assert first.book.best_bid.price == {"kalshi": D("0.41"), "polymarket": D("0.42"), "polymarket_us": D("0.415")}[h.name]
        await repin(h, "0.44")
        # Kalshi sends one delta per changed level: the book converges level by level.
        seen = []
        for _ in range(40):
            u = await next_update(stream, h)
            seen.append(([lvl.price for lvl in u.book.bids], [lvl.price for lvl in u.book.asks]))
            if seen[-1] == ([D("0.39")], [D("0.44"), D("0.48")]):
                break
        assert seen[-1] == ([D("0.39")], [D("0.44"), D("0.48")]), seen
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


async def test_kalshi_stream_after_a_dropped_delta_trusts_nothing_until_a_new_snapshot(
    paper_exchange: PaperExchangeProcess,
) -> None:
    # Kalshi only: it numbers its deltas (seq). Polymarket's feed has no sequence and
    # Polymarket US sends full books, so neither can see (or suffer) a missed delta.
    h = await build_paper("kalshi", paper_exchange)
    stream = h.client.stream_books([h.contract])
    try:
        assert (await next_update(stream, h)).snapshot
        # The exchange drops the next delta, delivers the one after it (a gap in seq) and
        # closes the socket; the client must re-subscribe and start from a snapshot.
        await h.paper.admin("faults", {"streams": ["disconnect"]})
        await repin(h, "0.44")
        after = await next_update(stream, h)
        assert after.snapshot, "no delta may be applied across a gap"
        assert after.book.best_ask is not None and after.book.best_ask.price == D("0.44")
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        await h.client.http.client.aclose()
        await paper_exchange.admin("faults", {"clear": True})
        await paper_exchange.admin("book", {"instrument": h.instrument, "clear": True})
