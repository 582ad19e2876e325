"""Committed trades per second of the trade logger (each row its own durable transaction).

    python bench/trade_logger.py [--n 2000] [--concurrency 1,8] [--postgres URL]

SQLite runs on a temp file in WAL mode with synchronous=FULL (the product's settings).
With --postgres (or EXECUTOR_TEST_POSTGRES_URL set) the same run is repeated on a fresh
PostgreSQL database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db.engine import Database
from db.migrate import migrate
from db.repositories import TradeRepository
from worker.domain.tradelog import TradeStatus
from worker.engine.trade_logger import TradeLogger


async def run(url: str, n: int, concurrency: int) -> float:
    db = Database(url)
    await migrate(db, "paper")
    logger = TradeLogger(TradeRepository(db), ZoneInfo("America/New_York"))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    tag = uuid.uuid4().hex[:6]

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            await logger.record_attempt(
                attempt_id=f"{tag}-{i}", event_title="Rockets vs. Kings", status=TradeStatus.SUCCESS,
                bet_size=Decimal("9.94"), pnl=Decimal("0.06"), roi=Decimal("0.60"),
                poly_order_id=f"0x{i:064x}", kalshi_order_id=f"k-{i}", details={"path": ["PLANNED", "HEDGED"]},
            )

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    async with db.read() as conn:
        count = (await conn.execute(sa.text("SELECT count(*) FROM executor_trades"))).scalar_one()
    await db.dispose()
    assert count >= n, count
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,8")
    parser.add_argument("--postgres", default=os.environ.get("EXECUTOR_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for c in levels:
            url = f"sqlite+aiosqlite:///{Path(tmp) / f'bench-{c}.db'}"
            rate = await run(url, args.n, c)
            print(f"sqlite      concurrency={c:<3} committed trades/s: {rate:8.0f}  (n={args.n})")
    if args.postgres:
        for c in levels:
            name = f"executor_bench_{uuid.uuid4().hex[:8]}"
            admin = create_async_engine(args.postgres, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
            try:
                rate = await run(url, args.n, c)
                print(f"postgresql  concurrency={c:<3} committed trades/s: {rate:8.0f}  (n={args.n})")
            finally:
                async with admin.connect() as conn:
                    await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await admin.dispose()
    else:
        print("postgresql  skipped (set EXECUTOR_TEST_POSTGRES_URL or pass --postgres URL)")


if __name__ == "__main__":
    asyncio.run(main())
