"""Several processes and many tasks writing at once never see "database is locked"."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import TradeRecord, TradeStatus

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import asyncio, sys
from datetime import UTC, datetime
from decimal import Decimal
from db.engine import Database
from db.repositories import TradeRepository, SettingsRepository
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import TradeRecord, TradeStatus

async def main(url, name, n):
    db = Database(url)
    repo, settings = TradeRepository(db), SettingsRepository(db)
    async def one(i):
        await repo.record_trade(TradeRecord(event_title=f"{name}-{i}", status=TradeStatus.FAILED,
            bet_size=Decimal(5), pnl=Decimal(0), timestamp=datetime.now(UTC), attempt_id=f"{name}-{i}"))
        if i % 10 == 0:
            await settings.save(ExecutorSettings(max_daily_trades=10 + i))
    await asyncio.gather(*(one(i) for i in range(n)))
    await db.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_concurrent_writers_never_see_database_is_locked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    db = Database(url)
    await migrate(db, "paper")
    root = ROOT
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, url, f"p{k}", "60", cwd=root,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for k in range(3)
    ]
    repo = TradeRepository(db)
    settings = SettingsRepository(db)

    async def local(i: int) -> None:
        await repo.record_trade(TradeRecord(event_title=f"local-{i}", status=TradeStatus.FAILED, bet_size=Decimal(5),
                                            pnl=Decimal(0), timestamp=datetime.now(UTC), attempt_id=f"local-{i}"))
        await settings.save(ExecutorSettings(max_daily_trades=100 + i))
        await repo.day_figures(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

    await asyncio.gather(*(local(i) for i in range(60)))
    outputs = [await p.communicate() for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"database is locked" not in err
    async with db.read() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM executor_trades"))).scalar_one()
    await db.dispose()
    assert count == 4 * 60
