"""Polymarket market WebSocket (``book`` snapshots, ``price_change`` deltas) → books.

Docs: docs.polymarket.com "WSS Market Channel". There is no sequence number; every
(re)connect starts with a ``book`` snapshot per asset, and a ``price_change`` for an asset
without a snapshot is ignored, so no delta is applied to an untrusted book.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.ports import BookUpdate
from worker.venues.common.parsing import dec, text, venue_time
from worker.venues.common.ws import Connect, MarketSocket, default_connect, stream
from worker.venues.polymarket.parse import parse_book

if TYPE_CHECKING:
    from worker.venues.polymarket.client import PolymarketClient


class PolymarketBookState:
    """Per-token ladders fed by WS events. Pure."""

    def __init__(self, markets: Mapping[str, str]) -> None:
        self.markets = dict(markets)
        self.books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}

    def apply(self, event: Mapping[str, Any], now: datetime) -> list[BookUpdate]:
        kind = text(event.get("event_type"))
        at = venue_time(event.get("timestamp"))
        if kind == "book":
            book = parse_book(event, now, self.markets.get(text(event.get("asset_id")), ""))
            token = book.contract.contract_id
            self.books[token] = {
                "bids": {lvl.price: lvl.size for lvl in book.bids},
                "asks": {lvl.price: lvl.size for lvl in book.asks},
            }
            return [BookUpdate(book, True, at)]
        if kind != "price_change":
            return []
        changes = event.get("price_changes") or event.get("changes") or []
        touched: set[str] = set()
        for ch in changes:
            token = text(ch.get("asset_id") or event.get("asset_id"))
            if token not in self.books:
                continue
            price, size = dec(ch.get("price")), dec(ch.get("size"))
            if price is None or size is None:
                continue
            ladder = self.books[token]["bids" if text(ch.get("side")).upper() == "BUY" else "asks"]
            if size > 0:
                ladder[price] = size
            else:
                ladder.pop(price, None)
            touched.add(token)
        out: list[BookUpdate] = []
        for token in sorted(touched):
            ref = ContractRef(
                Venue.POLYMARKET, self.markets.get(token, ""), token, OutcomeSide.TOKEN
            )
            lad = self.books[token]
            out.append(
                BookUpdate(
                    OrderBook.build(
                        ref,
                        [PriceLevel(p, s) for p, s in lad["bids"].items()],
                        [PriceLevel(p, s) for p, s in lad["asks"].items()],
                        now,
                    ),
                    False,
                    at,
                )
            )
        return out


def stream_books(
    client: PolymarketClient,
    contracts: Sequence[ContractRef],
    *,
    connect: Connect = default_connect,
    max_reconnects: int | None = None,
) -> AsyncIterator[BookUpdate]:
    """Yield a token's book per ``book`` snapshot and per ``price_change`` on it, forever."""
    markets = {c.contract_id: c.market_id for c in contracts}
    subscribe = json.dumps({"assets_ids": sorted(markets), "type": "market"})

    def subscription() -> MarketSocket:
        state = PolymarketBookState(markets)

        def handle(data: Any) -> Iterator[BookUpdate]:
            for event in data if isinstance(data, list) else [data]:
                yield from state.apply(event, client.clock.now())

        return MarketSocket(client.ws_url, {}, [subscribe], handle)

    return stream(subscription, connect=connect, max_reconnects=max_reconnects)
