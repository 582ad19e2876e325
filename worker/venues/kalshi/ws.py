"""Kalshi market WebSocket (``orderbook_snapshot`` / ``orderbook_delta``) → trusted books.

Docs: docs.kalshi.com "WebSocket — Orderbook Updates". Each subscription numbers its
messages with ``seq``; a skipped number means we missed a delta, so the local book is
dropped and the connection re-subscribes, which makes Kalshi send a fresh snapshot.
No delta-derived book is yielded between a gap and that snapshot.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from worker.domain.books import BookSequencer, PriceLevel, two_sided_from_bids
from worker.domain.errors import SequenceGap
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.ports import BookUpdate
from worker.venues.common.parsing import dec, text
from worker.venues.common.ws import Connect, MarketSocket, default_connect, stream

if TYPE_CHECKING:
    from worker.venues.kalshi.client import KalshiClient


def _ladder(raw: Any) -> dict[Decimal, Decimal]:
    out: dict[Decimal, Decimal] = {}
    for pair in raw or []:
        price, size = dec(pair[0]), dec(pair[1])
        if price is not None and size is not None and size > 0:
            out[price] = size
    return out


class KalshiBookState:
    """Local YES/NO bid ladders of the subscribed markets, fed by WS messages. Pure."""

    def __init__(self) -> None:
        self.bids: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
        self.sequencers: dict[int, BookSequencer] = {}

    def apply(self, message: Mapping[str, Any], now: datetime) -> list[BookUpdate]:
        """Apply one message; raises :class:`SequenceGap` when a delta skips a number."""
        kind = text(message.get("type"))
        if kind not in ("orderbook_snapshot", "orderbook_delta"):
            return []
        sid = int(message.get("sid") or 0)
        seq = int(message.get("seq") or 0)
        msg = message.get("msg") or {}
        ticker = text(msg.get("market_ticker"))
        sequencer = self.sequencers.setdefault(sid, BookSequencer())
        if kind == "orderbook_snapshot":
            sequencer.reset(seq)
            self.bids[ticker] = {
                "yes": _ladder(msg.get("yes_dollars_fp") or msg.get("yes_dollars")),
                "no": _ladder(msg.get("no_dollars_fp") or msg.get("no_dollars")),
            }
            snapshot = True
        else:
            expected = (sequencer.last or 0) + 1
            if not sequencer.accept(seq) or ticker not in self.bids:
                self.bids.clear()
                raise SequenceGap(Venue.KALSHI, expected, seq)
            side = "no" if text(msg.get("side")).lower() == "no" else "yes"
            price = dec(msg.get("price_dollars"))
            delta = dec(msg.get("delta_fp") or msg.get("delta"))
            if price is None or delta is None:
                return []
            ladder = self.bids[ticker][side]
            new = ladder.get(price, Decimal(0)) + delta
            if new > 0:
                ladder[price] = new
            else:
                ladder.pop(price, None)
            snapshot = False
        ladders = self.bids[ticker]
        yes_ref = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.YES)
        no_ref = ContractRef(Venue.KALSHI, ticker, ticker, OutcomeSide.NO)
        yes, no = two_sided_from_bids(
            yes_ref,
            no_ref,
            [PriceLevel(p, s) for p, s in ladders["yes"].items()],
            [PriceLevel(p, s) for p, s in ladders["no"].items()],
            now,
            seq,
        )
        return [BookUpdate(yes, snapshot), BookUpdate(no, snapshot)]


def stream_books(
    client: KalshiClient,
    contracts: Sequence[ContractRef],
    *,
    connect: Connect = default_connect,
    max_reconnects: int | None = None,
) -> AsyncIterator[BookUpdate]:
    """Yield trusted book updates forever; on a gap or a dropped socket, re-subscribe."""
    tickers = sorted({c.contract_id for c in contracts})
    subscribe = json.dumps(
        {
            "id": 1,
            "cmd": "subscribe",
            "params": {"channels": ["orderbook_delta"], "market_tickers": tickers},
        }
    )

    def subscription() -> MarketSocket:
        headers: Mapping[str, str] = {}
        if client.signer is not None:
            headers = client.signer.headers("GET", "/trade-api/ws/v2")
        state = KalshiBookState()
        return MarketSocket(
            client.ws_url,
            headers,
            [subscribe],
            lambda message: state.apply(message, client.clock.now()),
        )

    return stream(
        subscription, connect=connect, max_reconnects=max_reconnects, resubscribe_on=(SequenceGap,)
    )
