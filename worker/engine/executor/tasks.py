"""Attempt tasks and the per-game locks that serialise everything trading one game.

Concurrency rules:

* one asyncio lock per game serialises everything that trades a game — an attempt, a
  close, a settlement — so a close that arrives while the game's attempt is still in
  flight waits for it rather than racing it;
* each attempt runs in its own task (attempts on different games run concurrently) and
  always finishes or unwinds; its balance reservation is released when it ends, whatever
  happened; once an attempt has ended (and the balances were read again) the
  ``ended`` listeners hear of it: its game is free for the next attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal

from worker.domain.attempts import AttemptRecord
from worker.domain.errors import VenueError
from worker.domain.money import ZERO
from worker.engine.executor.legs import LegUnresolved
from worker.engine.executor.runner import AttemptRunner
from worker.engine.lease import LeaseLost

log = logging.getLogger(__name__)


class AttemptTasks:
    """The running attempts (one task each), the games' locks, and the tally of endings.

    ``release`` frees an attempt's balance reservation; ``after`` runs once it ended (the
    executor re-reads the balances); then each of ``ended`` is called with the attempt,
    when it reached an end state (its game takes the next attempt)."""

    def __init__(
        self,
        runner: AttemptRunner,
        release: Callable[[str], None],
        after: Callable[[], Awaitable[None]],
    ) -> None:
        self.runner = runner
        self._release = release
        self._after = after
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.ended: list[Callable[[AttemptRecord], None]] = []
        self._game_locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()
        #: Attempts ended by this process, per end state, and their realised P&L.
        self.outcomes: Counter[str] = Counter()
        self.pnl_total = Decimal(0)

    def game_lock(self, game_key: str) -> asyncio.Lock:
        lock = self._game_locks.get(game_key)
        if lock is None:
            lock = self._game_locks[game_key] = asyncio.Lock()
        return lock

    def spawn(self, attempt: AttemptRecord) -> asyncio.Task[None]:
        """Run ``attempt`` (fresh or resumed) in a task of its own, under its game's lock."""
        task = asyncio.create_task(self._run(attempt), name=f"attempt {attempt.id}")
        self.tasks[attempt.id] = task
        return task

    def running(self, attempt_id: str) -> bool:
        task = self.tasks.get(attempt_id)
        return task is not None and not task.done()

    def pending(self) -> list[asyncio.Task[None]]:
        return [t for t in self.tasks.values() if not t.done()]

    async def wait_for(self, attempt_id: str) -> None:
        """Until ``attempt_id``'s task (if any) has ended."""
        task = self.tasks.get(attempt_id)
        if task is not None:
            self._waiting[attempt_id] += 1
            try:
                await asyncio.wait([task])
            finally:
                self._waiting[attempt_id] -= 1
                if self._waiting[attempt_id] <= 0:
                    del self._waiting[attempt_id]  # kept only while someone waits

    def waiting(self, attempt_id: str) -> int:
        """How many callers (a close, an operator action) wait for ``attempt_id`` to end."""
        return self._waiting[attempt_id]

    async def wait_idle(self) -> None:
        """Until every attempt task started so far has ended (and any they started)."""
        while True:
            pending = self.pending()
            if not pending:
                return
            await asyncio.wait(pending)

    def count(self, attempt: AttemptRecord) -> None:
        """Tally an attempt that ended."""
        self.outcomes[attempt.state.value] += 1
        self.pnl_total += attempt.pnl or ZERO

    async def _run(self, attempt: AttemptRecord) -> None:
        try:
            async with self.game_lock(attempt.game_key):
                try:
                    await self.runner.drive(attempt)
                except LegUnresolved as exc:
                    log.warning("attempt %s waits in %s: %s", attempt.id, attempt.state.value, exc)
                except LeaseLost as exc:
                    # Persisted as it stands; the lease holder's reconciliation resumes it.
                    log.error("attempt %s left in %s: %s", attempt.id, attempt.state.value, exc)
                except VenueError as exc:
                    log.warning("attempt %s paused in %s by %s", attempt.id, attempt.state.value, exc)
                if attempt.state.terminal:
                    self.count(attempt)
        except Exception:
            log.exception("attempt %s failed unexpectedly in %s", attempt.id, attempt.state.value)
        finally:
            self._release(attempt.id)
        try:
            await self._after()
        except Exception:  # pragma: no cover - refresher logs venue errors itself
            log.exception("balance refresh after attempt %s failed", attempt.id)
        if attempt.state.terminal:
            for listener in list(self.ended):
                try:
                    listener(attempt)
                except Exception:
                    log.exception("listener of attempt %s's end failed", attempt.id)
