"""The running worker's legging refresh (composition: the database's repositories, the
``legging`` command in a child process), handed to
:class:`~worker.engine.legging.LeggingRefresher` by the root."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from db.attempts import AttemptRepository
from db.engine import Database
from db.legging import LeggingRepository, refresh_estimates
from worker.clock import Clock
from worker.domain.legging import LeggingTable
from worker.domain.legging_fills import counts_from_attempts

log = logging.getLogger(__name__)

#: The window of its own recording a recording worker counts at each legging refresh.
LEGGING_BOOKS_WINDOW = timedelta(hours=24)
#: How long that count may take before it is abandoned (the estimates in use stay).
LEGGING_BOOKS_TIMEOUT_S = 900.0


def legging_refresh(db: Database, clock: Clock, *, trading: bool,
                    record_dir: Path | None = None) -> Callable[[], Awaitable[LeggingTable | None]]:
    """The worker's legging refresh. Trading: with ``EXECUTOR_RECORD_DIR``, the last 24 h
    of its own recording counted first (``python -m worker legging`` in a child process,
    so the count's CPU never delays the event loop); our fills counted again (every
    attempt whose leg 2 was sent), added to the stored counts of recorded books, the
    estimates stored with their sample counts and returned. Otherwise the stored
    estimates are read (a worker that does not trade writes none)."""

    async def refresh() -> LeggingTable | None:
        repo = LeggingRepository(db)
        if not trading:
            return await repo.load_table()
        if record_dir is not None:
            await _count_recording(record_dir, clock.now() - LEGGING_BOOKS_WINDOW)
        fills = counts_from_attempts(await AttemptRepository(db).list_all(), await repo.mapping_leagues())
        return await refresh_estimates(repo, fills, clock.now())

    return refresh


async def _count_recording(record_dir: Path, since: datetime) -> None:
    """``python -m worker legging RECORD_DIR --from SINCE`` (its output to our log)."""
    argv = [sys.executable, "-m", "worker", "legging", str(record_dir), "--from", since.isoformat()]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), LEGGING_BOOKS_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.warning("legging: counting the recording took over %.0f s; stopped", LEGGING_BOOKS_TIMEOUT_S)
        return
    if proc.returncode != 0:
        log.warning("legging: counting the recording failed (exit %s): %s", proc.returncode,
                    err.decode(errors="replace").strip().splitlines()[-1:] or "")
    else:
        log.info("legging: recording counted %s", out.decode(errors="replace").strip())
