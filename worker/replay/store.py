"""The replay's database and attempt store: the worker's own, with one shortcut a private
database allows.

Most opportunities a replay submits are refused by the database: ``game_busy`` (a replay
does not settle, so a hedged position stays open and every later opportunity on its game
goes to the database to be refused again), and once the day's trades or loss budget are
used up, ``max_daily_trades`` or ``max_daily_loss`` for every game. :class:`ReplayAttemptStore`
remembers each such refusal and gives it again, without a transaction, for as long as no
write could have changed what :meth:`AttemptRepository.reserve` reads.

Why that is exact: the replay's database is a throwaway file no other process opens, its
writes run one at a time in the order they are asked for (``serial_writes``), and
``write()`` is the only way to change data (:class:`db.engine.Database`).
:class:`ReplayDatabase` counts the writes that may change data (every ``write()`` from
its start, less the reservations that refused: a refusing ``reserve`` writes nothing). A
refusal is remembered only when no other write was open or started while its own
transaction ran, and given again only while that count has not moved since: the rows it
was read from are then the rows the database holds. ``reserve`` decides ``game_busy`` from
those rows and the game alone, and ``max_daily_trades`` and ``max_daily_loss`` from those rows,
the game (it must not be busy) and the limits, before it looks at the attempt's size: so a
``game_busy`` refusal is given again to the same game, the other two to the same game
under equal limits, and the database would answer each with the same refusal, word for
word. ``daily_loss_budget`` depends on the attempt's size and is always asked again. The
refusal is returned to the risk manager as the database's would be, so admission counts
and publishes it as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from db.attempts import AttemptRepository
from db.engine import Database
from worker.domain.attempts import AttemptRecord, Refusal, RefusalReason, ReservationLimits


class ReplayDatabase(Database):
    """A :class:`Database` with serial writes that counts them (see the module)."""

    def __init__(self, url: str) -> None:
        super().__init__(url, serial_writes=True, inline=True)
        #: ``write()`` transactions started and ended.
        self.writes_started = 0
        self.writes_ended = 0
        #: Writes started that changed nothing (reservations that refused).
        self.unchanged = 0

    @property
    def changes(self) -> int:
        """Moves whenever a write that may change data starts."""
        return self.writes_started - self.unchanged

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        self.writes_started += 1
        try:
            async with super().write() as conn:
                yield conn
        finally:
            self.writes_ended += 1


#: Refusals decided from the database's rows and the game alone (any limits).
_GAME_ONLY = frozenset({RefusalReason.GAME_BUSY})
#: Refusals decided from the rows, the game and the limits (not the attempt's size).
_GAME_AND_LIMITS = frozenset({RefusalReason.DAILY_TRADES, RefusalReason.DAILY_LOSS})


class ReplayAttemptStore(AttemptRepository):
    """:class:`AttemptRepository` on a :class:`ReplayDatabase`, whose ``game_busy``,
    ``max_daily_trades`` and ``max_daily_loss`` refusals are given again without a transaction
    while the database cannot have changed (see the module)."""

    def __init__(self, db: ReplayDatabase) -> None:
        super().__init__(db)
        self.replay_db = db
        #: By game key: the database's ``changes`` the refusal holds for, the limits it
        #: holds under (None: any), and the refusal.
        self._known: dict[str, tuple[int, ReservationLimits | None, Refusal]] = {}
        #: Reservations answered from memory (for tests and profiling).
        self.remembered = 0

    async def reserve(
        self,
        attempt: AttemptRecord,
        limits: ReservationLimits,
        resize: Callable[[Decimal], AttemptRecord | Refusal] | None = None,
    ) -> AttemptRecord | Refusal:
        db = self.replay_db
        known = self._known.get(attempt.game_key)
        if known is not None:
            changes, under, refusal = known
            if changes == db.changes and (under is None or under == limits):
                self.remembered += 1
                return refusal
            del self._known[attempt.game_key]
        # Alone: no other write open or waiting, so none commits between this one's reads
        # and the count taken after it unless it started after this one (and is seen).
        alone = db.writes_started == db.writes_ended
        started = db.writes_started
        result = await super().reserve(attempt, limits, resize)
        if isinstance(result, Refusal):
            db.unchanged += 1  # a refusing reservation writes nothing
            if alone and db.writes_started == started + 1:
                if result.reason in _GAME_ONLY:
                    self._known[attempt.game_key] = (db.changes, None, result)
                elif result.reason in _GAME_AND_LIMITS:
                    self._known[attempt.game_key] = (db.changes, limits, result)
        return result
