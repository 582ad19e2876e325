"""The running worker's legging refresh: after the operator counts a recording (``python
-m worker legging DIR``), a trading worker counts its fills, stores the estimates and
prices with them; a failed refresh keeps the estimates in use."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from db.engine import Database
from db.legging import BOOKS, FILLS, LeggingRepository
from db.migrate import migrate
from tests.system.crash.test_sigkill import REPO
from tests.worker.replay.test_driver import T0
from tests.worker.replay.test_legging_books import record_pull
from worker.clock import FakeClock
from worker.domain.legging import EMPTY_TABLE, CellCount, CellKey, build_table
from worker.engine.legging import LeggingPricer, LeggingRefresher
from worker.legging_refresh import legging_refresh


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The worker's database URL, in the environment the child process reads."""
    for key in [k for k in os.environ if k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))]:
        monkeypatch.delenv(key)
    url = f"sqlite+aiosqlite:///{tmp_path / 'worker.db'}"
    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXECUTOR_DATABASE_URL", url)
    return url


async def test_a_recording_worker_counts_its_recording_and_prices_with_the_estimates(
    database: str, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    record_pull(rec)
    db = Database(database)
    try:
        await migrate(db, "paper")
        # The recording's last book is at T0 + 40 s: a refresh then counts the day before.
        clock = FakeClock(T0 + timedelta(seconds=60))
        pricer = LeggingPricer()
        # The operator counts the recording's last day (the command, in its own process).
        since = (clock.now() - timedelta(hours=24)).isoformat()
        counted = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", "legging", str(rec), "--from", since,
            cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(counted.communicate(), 120)
        assert counted.returncode == 0, err.decode()[-2000:]
        refresher = LeggingRefresher(pricer, legging_refresh(db, clock, trading=True), 600, clock=clock)
        assert await refresher.refresh_once()
        repo = LeggingRepository(db)
        books = await repo.load_counts(BOOKS)
        assert sum(c.samples for c in books.values()) >= 160  # 40 moments, 4 sizes each
        assert await repo.load_counts(FILLS) == {}
        stored = await repo.load_table()
        assert stored is not None and pricer.table == stored
        assert pricer.table.samples == sum(c.samples for c in books.values())
        # A worker that does not trade reads the same estimates and writes none.
        reader = LeggingPricer()
        assert await LeggingRefresher(reader, legging_refresh(db, clock, trading=False), 600, clock=clock).refresh_once()
        assert reader.table == stored
    finally:
        await db.dispose()


async def test_a_failed_refresh_keeps_the_estimates_in_use() -> None:
    table = build_table({CellKey("kalshi", "nba", "0.40-0.60", "le1"): CellCount(40, 4, D("0.4"))})
    pricer = LeggingPricer(table)

    async def broken() -> None:
        raise OSError("database gone")

    refresher = LeggingRefresher(pricer, broken, 600, clock=FakeClock(T0))  # type: ignore[arg-type]
    assert not await refresher.refresh_once()
    assert pricer.table is table and refresher.refreshes == 0
    assert LeggingPricer().table is EMPTY_TABLE

