"""The database counts its open transactions, which a replay waits on before it moves its
clock (a database call takes no replayed time)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa

from db.engine import Database


async def test_open_transactions_are_counted_and_wait_idle_returns_when_they_close(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        await db.wait_idle()  # none open: at once
        release = asyncio.Event()
        entered = asyncio.Event()

        async def hold() -> None:
            async with db.write() as conn:
                await conn.execute(sa.text("SELECT 1"))
                entered.set()
                await release.wait()

        holder = asyncio.create_task(hold())
        await entered.wait()
        assert db.in_flight == 1
        async with db.read() as conn:
            assert db.in_flight == 2
            await conn.execute(sa.text("SELECT 1"))
        assert db.in_flight == 1
        waiter = asyncio.create_task(db.wait_idle())
        await asyncio.sleep(0)
        assert not waiter.done()
        release.set()
        await asyncio.wait_for(waiter, 5)
        await holder
        assert db.in_flight == 0
    finally:
        await db.dispose()


async def test_a_failed_transaction_is_not_counted_as_open(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        try:
            async with db.write() as conn:
                await conn.execute(sa.text("SELECT nope"))
        except sa.exc.OperationalError:
            pass
        assert db.in_flight == 0
    finally:
        await db.dispose()
