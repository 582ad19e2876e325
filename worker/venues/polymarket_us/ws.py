"""Polymarket US market WebSocket (``/v1/ws/markets``) → books.

Follows the official ``polymarket-us`` SDK (``websocket/base.py``, ``websocket/markets.py``):
the connection is signed like a REST call (Ed25519 over ``timestamp + "GET" +
"/v1/ws/markets"``), a subscription is ``{"subscribe": {"requestId", "subscriptionType":
"SUBSCRIPTION_TYPE_MARKET_DATA", "marketSlugs": [...]}}`` and every ``marketData`` message
carries the market's full book (bids/offers of the long side), so each one is a trusted
snapshot: there is no delta to lose and no sequence to check. A dropped socket
re-connects and re-subscribes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from worker.domain.markets import ContractRef, OutcomeSide
from worker.domain.ports import BookUpdate
from worker.venues.common.parsing import venue_time
from worker.venues.common.ws import Connect, MarketSocket, default_connect, stream
from worker.venues.polymarket_us.parse import parse_book

if TYPE_CHECKING:
    from worker.venues.polymarket_us.client import PolymarketUsClient

WS_PATH = "/v1/ws/markets"


def stream_books(
    client: PolymarketUsClient,
    contracts: Sequence[ContractRef],
    *,
    connect: Connect = default_connect,
    max_reconnects: int | None = None,
) -> AsyncIterator[BookUpdate]:
    """Yield a LONG and a SHORT book per ``marketData`` message, forever."""
    slugs = sorted({c.contract_id for c in contracts})
    wanted = {(c.contract_id, c.side) for c in contracts}
    subscribe = json.dumps(
        {
            "subscribe": {
                "requestId": "books",
                "subscriptionType": "SUBSCRIPTION_TYPE_MARKET_DATA",
                "marketSlugs": slugs,
            }
        }
    )

    def handle(message: Any) -> Iterator[BookUpdate]:
        if not isinstance(message, dict) or "marketData" not in message:
            return
        long_book, short_book = parse_book(message, client.clock.now())
        data = message.get("marketData")
        at = venue_time(data.get("transactTime")) if isinstance(data, dict) else None
        slug = long_book.contract.contract_id
        if (slug, OutcomeSide.LONG) in wanted:
            yield BookUpdate(long_book, True, at)
        if (slug, OutcomeSide.SHORT) in wanted:
            yield BookUpdate(short_book, True, at)

    def subscription() -> MarketSocket:
        headers = client.signer.headers("GET", WS_PATH) if client.signer is not None else {}
        return MarketSocket(client.ws_url, headers, [subscribe], handle)

    return stream(subscription, connect=connect, max_reconnects=max_reconnects)
