"""A token bucket on the worker's clock: ``rate`` per second, bursts up to ``burst``.

One rate limit for both sides of the worker: the venue clients wait for a token before
each request (:meth:`TokenBucket.acquire`); the server refuses a client's action when
none is left (:meth:`TokenBucket.take`). It knows only the clock, so the venue clients
(which know the domain only) and the API may both use it.
"""

from __future__ import annotations

import asyncio

from worker.clock import SYSTEM_CLOCK, Clock


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` held (default: ``rate``, at least 1).

    Concurrency: :meth:`acquire` is serialised by a lock so concurrent callers queue in
    order instead of all seeing the same free token.
    """

    def __init__(self, rate: float, burst: int | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = float(burst if burst is not None else max(1, int(rate)))
        self.tokens = self.capacity
        self._clock = clock
        self._stamp = clock.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self) -> bool:
        """Spend a token if one is there, without waiting; False when none is."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Spend a token, waiting on the clock until one is there."""
        async with self._lock:
            while not self.take():
                await self._clock.sleep((1 - self.tokens) / self.rate)
