"""Kalshi market WebSocket (``orderbook_snapshot`` / ``orderbook_delta``) → trusted books.

Docs: docs.kalshi.com "WebSocket — Orderbook Updates". Each subscription numbers its
messages with ``seq``; a skipped number means we missed a delta, so the local book is
dropped and the connection re-subscribes, which makes Kalshi send a fresh snapshot.
No delta-derived book is yielded between a gap and that snapshot.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from worker.domain.books import BookSequencer, PriceLevel, two_sided_from_bids
from worker.domain.errors import SequenceGap
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.ports import BookUpdate
from worker.venues.common.parsing import dec, text

if TYPE_CHECKING:
    from worker.venues.kalshi.client import KalshiClient


class WsConnection(Protocol):
    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...
    async def close(self) -> None: ...


Connect = Callable[[str, Mapping[str, str]], Awaitable[WsConnection]]


async def _default_connect(url: str, headers: Mapping[str, str]) -> WsConnection:
    import websockets

    conn: Any = await websockets.connect(url, additional_headers=dict(headers))
    return conn


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


async def stream_books(
    client: KalshiClient,
    contracts: Sequence[ContractRef],
    *,
    connect: Connect = _default_connect,
    max_reconnects: int | None = None,
) -> AsyncIterator[BookUpdate]:
    """Yield trusted book updates forever; on a gap or a dropped socket, re-subscribe."""
    tickers = sorted({c.contract_id for c in contracts})
    reconnects = 0
    while True:
        headers: Mapping[str, str] = {}
        if client.signer is not None:
            headers = client.signer.headers("GET", "/trade-api/ws/v2")
        conn = await connect(client.ws_url, headers)
        state = KalshiBookState()
        try:
            await conn.send(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {"channels": ["orderbook_delta"], "market_tickers": tickers},
                    }
                )
            )
            while True:
                raw = await conn.recv()
                message = json.loads(raw)
                for update in state.apply(message, client.clock.now()):
                    yield update
        except (SequenceGap, ConnectionError, OSError):
            pass
        except Exception as exc:
            # websockets' ConnectionClosed* live outside the builtin hierarchy.
            if type(exc).__name__.startswith("ConnectionClosed"):
                pass
            else:
                raise
        finally:
            await conn.close()
        reconnects += 1
        if max_reconnects is not None and reconnects > max_reconnects:
            return
