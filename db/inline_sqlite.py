"""SQLite through aiosqlite's API, every call run at once on the caller's thread.

aiosqlite runs each call on a thread of its own and hands the result back through the
event loop: two thread switches and a wake-up of the loop per statement, while the loop
waits. For the worker that is right (a database call never blocks trading). A replay's
throwaway database (``worker/replay/store.py``) is the other case: a database call takes
no replayed time, the replay waits for every transaction to end before it moves its clock,
and the switches were most of what its transactions cost (a replay of eight recorded
minutes, 38 attempts: 5.9 s against 4.1–4.5 s, the same report byte for byte).

:class:`InlineConnection` is aiosqlite's :class:`aiosqlite.Connection` whose queue of
calls runs each one as it is put and whose thread is never started; SQLAlchemy's aiosqlite
dialect takes it as it takes aiosqlite's own (``create_async_engine(async_creator=…)``).
It leans on aiosqlite's queue (``_tx``: ``(future, function)`` pairs, which SQLAlchemy's
dialect uses too), so ``pyproject.toml`` bounds aiosqlite to the versions it was checked
with (``tests/db/test_inline_sqlite.py``). Never for a database the worker trades on: a
call blocks the event loop for as long as it takes. Nor for one where two transactions
could contend: the one holding the lock runs on the same thread as the one waiting, so the
engine does not wait (``busy_timeout`` 0: "database is locked" at once); a replay's writes
run one at a time (``serial_writes``) and its reads never write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

from aiosqlite.core import Connection


class _RunNow:
    """aiosqlite's call queue, run as it is filled: ``(future, function)`` → the function's
    result (or exception) on the future, before ``put_nowait`` returns."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the caller, as aiosqlite's thread does
            if future is not None:
                future.set_exception(exc)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(Connection):
    """An :class:`aiosqlite.Connection` that runs its calls inline (see the module)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]
        #: Calls run (for tests).
        self.calls = 0

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        self.calls += 1
        return fn(*args, **kwargs)

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        # No thread to start: connecting runs inline too.
        return self._connect().__await__()  # type: ignore[return-value]


async def connect(database: str, **kwargs: Any) -> InlineConnection:
    """Open ``database`` as ``aiosqlite.connect`` would (``kwargs`` for ``sqlite3.connect``)."""
    return await InlineConnection(partial(sqlite3.connect, database, **kwargs))


__all__ = ["InlineConnection", "connect"]
