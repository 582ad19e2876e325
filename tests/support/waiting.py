"""Waiting for what another task or process does, where there is no event to await.

One helper, :func:`wait_until`, with one meaning wherever it is used: call ``check`` every
``every`` seconds until it returns something truthy, and return that; after ``within_s``
seconds fail with an ``AssertionError`` naming ``what`` (and the last transient error, if
any). ``check`` may be sync or async. A transient error from ``check`` (``OSError`` — a
process not listening yet —, ``ValueError``, ``KeyError`` — an answer not complete yet)
counts as "not yet"; any other error propagates at once.

:func:`wait_until` sleeps on the event loop, so the tasks it waits for run meanwhile.
Synchronous tests (Playwright's sync API, subprocess tests) call
:func:`wait_until_blocking`, the same helper that sleeps the thread instead.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

TRANSIENT: tuple[type[Exception], ...] = (OSError, ValueError, KeyError)


class _Deadline:
    def __init__(self, within_s: float, what: str) -> None:
        self.within_s = within_s
        self.what = what
        self.end = time.monotonic() + within_s
        self.last: Exception | None = None

    def passed(self) -> bool:
        return time.monotonic() > self.end

    def failure(self) -> AssertionError:
        last = f" (last error: {self.last!r})" if self.last is not None else ""
        return AssertionError(f"timed out after {self.within_s:.0f} s waiting for {self.what}{last}")


async def wait_until(check: Callable[[], Any], within_s: float, what: str, every: float = 0.05) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; fail naming ``what``."""
    deadline = _Deadline(within_s, what)
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
        except TRANSIENT as exc:
            deadline.last, value = exc, None
        if value:
            return value
        if deadline.passed():
            raise deadline.failure()
        await asyncio.sleep(every)


def wait_until_blocking(check: Callable[[], Any], within_s: float, what: str, every: float = 0.05) -> Any:
    """:func:`wait_until` for synchronous code: the same polling, sleeping the thread."""
    deadline = _Deadline(within_s, what)
    while True:
        try:
            value = check()
        except TRANSIENT as exc:
            deadline.last, value = exc, None
        if inspect.isawaitable(value):
            raise TypeError("an async check needs `await wait_until(...)`")
        if value:
            return value
        if deadline.passed():
            raise deadline.failure()
        time.sleep(every)


async def wait_port(port: int, within_s: float = 60) -> None:
    """Wait until something accepts connections on 127.0.0.1:``port``."""

    async def answers() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    await wait_until(answers, within_s, f"a server on 127.0.0.1:{port}")
