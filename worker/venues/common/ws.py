"""The market WebSocket loop the venues share: connect, subscribe, turn each message into
book updates, and on a dropped socket connect and subscribe again.

Each venue gives a :class:`MarketSocket` per connection: where to connect (with its auth
headers, signed anew each time), what to send, and how one decoded message becomes book
updates — with state of that connection only, so nothing of a dropped connection is
trusted after a reconnect.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from worker.domain.ports import BookUpdate


class WsConnection(Protocol):
    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...
    async def close(self) -> None: ...


Connect = Callable[[str, Mapping[str, str]], Awaitable[WsConnection]]


async def default_connect(url: str, headers: Mapping[str, str]) -> WsConnection:
    import websockets

    conn: Any = await websockets.connect(url, additional_headers=dict(headers))
    return conn


@dataclass(frozen=True, slots=True)
class MarketSocket:
    """One connection: URL and headers, the messages sent on connecting, and ``handle``,
    which turns one decoded message into the book updates it carries."""

    url: str
    headers: Mapping[str, str]
    messages: Sequence[str]
    handle: Callable[[Any], Iterable[BookUpdate]]


async def stream(
    subscribe: Callable[[], MarketSocket],
    *,
    connect: Connect,
    max_reconnects: int | None = None,
    resubscribe_on: tuple[type[Exception], ...] = (),
) -> AsyncIterator[BookUpdate]:
    """Yield book updates forever; a dropped socket, or one of ``resubscribe_on`` raised by
    ``handle`` (a sequence gap), closes the connection and opens a fresh subscription.
    Stops after ``max_reconnects`` reconnections when given."""
    dropped: tuple[type[Exception], ...] = (ConnectionError, OSError, *resubscribe_on)
    reconnects = 0
    while True:
        sub = subscribe()
        conn = await connect(sub.url, sub.headers)
        try:
            for message in sub.messages:
                await conn.send(message)
            while True:
                for update in sub.handle(json.loads(await conn.recv())):
                    yield update
        except dropped:
            pass
        except Exception as exc:
            # websockets' ConnectionClosed* live outside the builtin hierarchy.
            if not type(exc).__name__.startswith("ConnectionClosed"):
                raise
        finally:
            await conn.close()
        reconnects += 1
        if max_reconnects is not None and reconnects > max_reconnects:
            return
