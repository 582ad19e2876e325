"""The running worker's legging refresh (composition: the database's repositories),
handed to :class:`~worker.engine.legging.LeggingRefresher` by the root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from db.attempts import AttemptRepository
from db.engine import Database
from db.legging import LeggingRepository, refresh_estimates
from worker.clock import Clock
from worker.domain.legging import LeggingTable
from worker.domain.legging_fills import counts_from_attempts


def legging_refresh(db: Database, clock: Clock, *, trading: bool) -> Callable[[], Awaitable[LeggingTable | None]]:
    """The worker's legging refresh. Trading: our fills counted again (every attempt
    whose leg 2 was sent), added to the stored counts of recorded books (``python -m
    worker legging DIR``, run by the operator), the estimates stored with their sample
    counts and returned. Otherwise the stored estimates are read (a worker that does not
    trade writes none)."""

    async def refresh() -> LeggingTable | None:
        repo = LeggingRepository(db)
        if not trading:
            return await repo.load_table()
        fills = counts_from_attempts(await AttemptRepository(db).list_all(), await repo.mapping_leagues())
        return await refresh_estimates(repo, fills, clock.now())

    return refresh
