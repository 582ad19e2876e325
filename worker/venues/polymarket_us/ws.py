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
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from worker.domain.markets import ContractRef, OutcomeSide
from worker.domain.ports import BookUpdate
from worker.venues.kalshi.ws import Connect, _default_connect
from worker.venues.polymarket_us.parse import parse_book

if TYPE_CHECKING:
    from worker.venues.polymarket_us.client import PolymarketUsClient

WS_PATH = "/v1/ws/markets"


async def stream_books(
    client: PolymarketUsClient,
    contracts: Sequence[ContractRef],
    *,
    connect: Connect = _default_connect,
    max_reconnects: int | None = None,
) -> AsyncIterator[BookUpdate]:
    """Yield a LONG and a SHORT book per ``marketData`` message, forever."""
    slugs = sorted({c.contract_id for c in contracts})
    wanted = {(c.contract_id, c.side) for c in contracts}
    reconnects = 0
    while True:
        headers = client.signer.headers("GET", WS_PATH) if client.signer is not None else {}
        conn = await connect(client.ws_url, headers)
        try:
            await conn.send(
                json.dumps(
                    {
                        "subscribe": {
                            "requestId": "books",
                            "subscriptionType": "SUBSCRIPTION_TYPE_MARKET_DATA",
                            "marketSlugs": slugs,
                        }
                    }
                )
            )
            while True:
                message = json.loads(await conn.recv())
                if not isinstance(message, dict) or "marketData" not in message:
                    continue
                long_book, short_book = parse_book(message, client.clock.now())
                slug = long_book.contract.contract_id
                if (slug, OutcomeSide.LONG) in wanted:
                    yield BookUpdate(long_book, True)
                if (slug, OutcomeSide.SHORT) in wanted:
                    yield BookUpdate(short_book, True)
        except (ConnectionError, OSError):
            pass
        except Exception as exc:
            if not type(exc).__name__.startswith("ConnectionClosed"):
                raise
        finally:
            await conn.close()
        reconnects += 1
        if max_reconnects is not None and reconnects > max_reconnects:
            return
