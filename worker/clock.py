"""The one place the worker reads time or waits for it.

:class:`Clock` is the port (``now``, ``monotonic``, ``sleep``). The composition root gives
:class:`SystemClock` to every engine and API component; tests give them a
:class:`FakeClock` and *advance* it instead of sleeping, so a test about a timeout or a
retry takes no wall time and cannot race. Replay drives the same components with a
:class:`FakeClock` set to the recorded time.

``make lint`` (``scripts/check_clock.py``) fails on ``datetime.now``, ``time.monotonic`` or
``asyncio.sleep`` anywhere in ``worker/`` but this module. Two things stay on other clocks
on purpose: the single-trader lease's expiry is judged by the *database's* clock (two
workers' wall clocks may disagree), and ``asyncio.timeout``/``wait_for`` bound a venue
call in the event loop's own time (a guard against a hung socket, not a business time).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What time it is (aware UTC), a monotonic reading in seconds, and a way to wait."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The wall clock (UTC), the process's monotonic clock and the event loop's sleep."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


#: The clock of the running process; components take a ``clock`` argument defaulting to it.
SYSTEM_CLOCK = SystemClock()


def utcnow() -> datetime:
    """The wall clock now (aware UTC), for code outside the engine that has no clock of its
    own to take (command-line tools, module-level defaults)."""
    return SYSTEM_CLOCK.now()


async def within(clock: Clock, waiter: Awaitable[object], seconds: float) -> bool:
    """Await ``waiter`` for at most ``seconds`` of ``clock``.

    True when it finished first (an exception it raised is raised here); False when the
    time ran out first, and ``waiter`` is cancelled. Neither is awaited after
    cancelling, so a caller on a :class:`FakeClock` needs no extra turns."""
    task = asyncio.ensure_future(waiter)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        finished = task.done()
        if not finished:
            task.cancel()
    if finished and not task.cancelled():
        task.result()
    return finished


class FakeClock:
    """A clock that moves only when told to.

    ``now`` and ``monotonic`` move together. :meth:`sleep` waits until the clock has been
    advanced past its deadline (``sleep(0)`` just yields). :meth:`advance` moves the time,
    wakes every sleeper whose deadline has come, in deadline order, and lets them run
    before it returns, so a test can say "30 s later" and then look.
    """

    def __init__(self, start: datetime | None = None, *, monotonic: float = 1000.0) -> None:
        start = start if start is not None else datetime(2026, 1, 1, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._mono = float(monotonic)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._mono + seconds, next(self._order), future))
        await future

    @property
    def sleepers(self) -> int:
        """How many tasks are waiting on this clock."""
        return sum(1 for _, _, f in self._sleepers if not f.done())

    async def advance(self, seconds: float) -> datetime:
        """Move ``seconds`` forward, waking sleepers whose deadline passes, in order."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        target = self._mono + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._step_to(deadline)
            if not future.done():
                future.set_result(None)
            await _let_run()
        self._step_to(target)
        await _let_run()
        return self._now

    async def run_until(self, when: datetime, settle: Callable[[], Awaitable[None]]) -> None:
        """Move to ``when`` (aware; a time already past moves nothing), waking each sleeper
        whose deadline comes on the way, in deadline order, and awaiting ``settle`` after
        each wake: a replay lets all that a wake set off finish before time moves on.
        The wall time lands exactly on ``when`` (no drift from summed float steps)."""
        target = self._mono + (when - self._now).total_seconds()
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue  # its sleeper was cancelled
            self._step_to(deadline)
            future.set_result(None)
            await settle()
        self._land(when, target)

    def move_if_none_due(self, when: datetime) -> bool:
        """What :meth:`run_until` does when no sleeper's deadline comes on the way to
        ``when``, without awaiting: move there and say True; else move nothing, False
        (the caller then runs :meth:`run_until`). A replay's hot path: most recorded
        instants wake nobody."""
        target = self._mono + (when - self._now).total_seconds()
        if self._sleepers and self._sleepers[0][0] <= target:
            return False
        self._land(when, target)
        return True

    def _land(self, when: datetime, target: float) -> None:
        """The end of a move to ``when`` (monotonic ``target``): exactly there, unless it
        is already past."""
        if when > self._now:
            self._mono = max(self._mono, target)
            self._now = when if when.tzinfo is UTC else when.astimezone(UTC)

    def set(self, when: datetime) -> None:
        """Jump the wall time (aware) without waking anyone; monotonic time is unchanged.
        For a test that needs a particular date; waits are driven by :meth:`advance`."""
        if when.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware time")
        self._now = when.astimezone(UTC)

    def _step_to(self, mono: float) -> None:
        if mono > self._mono:
            self._now += timedelta(seconds=mono - self._mono)
            self._mono = mono


async def _let_run(rounds: int = 5) -> None:
    # a woken task may wake another through a future or a queue: give them a few turns
    for _ in range(rounds):
        await asyncio.sleep(0)
