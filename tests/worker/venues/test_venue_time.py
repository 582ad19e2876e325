"""Each stream hands over the venue's own time of an update where its message has one
(a recording keeps it beside our receive time); an unreadable one never drops the book."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from worker.venues.common.parsing import venue_time
from worker.venues.polymarket.ws import PolymarketBookState

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
TOKEN = "65818619657568813474341868652308942079804919287380422192892211131408793125422"


def test_polymarket_book_and_price_change_carry_the_messages_timestamp() -> None:
    # The market channel's message shapes (docs.polymarket.com, "WSS Market Channel"):
    # "timestamp" is milliseconds since the epoch, as text.
    state = PolymarketBookState({TOKEN: "0xbd31dc8a"})
    book = {
        "event_type": "book", "asset_id": TOKEN, "market": "0xbd31dc8a",
        "bids": [{"price": ".48", "size": "30"}], "asks": [{"price": ".52", "size": "25"}],
        "timestamp": "1765108800123", "hash": "0x0",
    }
    (first,) = state.apply(book, NOW)
    assert first.venue_ts == datetime(2025, 12, 7, 12, 0, 0, 123000, tzinfo=UTC)
    assert first.book.received_at == NOW
    change = {
        "event_type": "price_change", "market": "0xbd31dc8a", "timestamp": "1765108801000",
        "price_changes": [{"asset_id": TOKEN, "price": "0.5", "size": "10", "side": "SELL"}],
    }
    (second,) = state.apply(change, NOW)
    assert second.venue_ts == datetime(2025, 12, 7, 12, 0, 1, tzinfo=UTC)
    assert [lv.price for lv in second.book.asks][:1] == [Decimal("0.5")]


def test_an_unreadable_venue_time_is_none_not_an_error() -> None:
    assert venue_time("not a time") is None
    assert venue_time(None) is None
    assert venue_time("2026-12-07T12:00:00Z") == datetime(2026, 12, 7, 12, tzinfo=UTC)
    state = PolymarketBookState({TOKEN: "m"})
    (update,) = state.apply({"event_type": "book", "asset_id": TOKEN, "bids": [], "asks": [], "timestamp": "soon"}, NOW)
    assert update.venue_ts is None
