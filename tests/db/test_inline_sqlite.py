"""``Database(inline=True)`` (a replay's throwaway database): SQLite through aiosqlite's API
with every call on the event loop's thread — the same migrations, transactions, rows and
errors as the threaded database, no thread started, and no turn of the loop given away."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from db.engine import Database
from db.inline_sqlite import InlineConnection
from db.migrate import migrate
from worker.replay.store import ReplayDatabase

SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"


async def rows(db: Database) -> list[tuple[int, str]]:
    async with db.read() as conn:
        return [tuple(r) for r in await conn.execute(sa.text("SELECT id, name FROM t ORDER BY id"))]


async def test_inline_and_threaded_databases_hold_the_same_rows_and_raise_the_same_errors(tmp_path: Path) -> None:
    seen: dict[bool, tuple[list[tuple[int, str]], type[BaseException]]] = {}
    for inline in (False, True):
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'{inline}.db'}", inline=inline)
        try:
            async with db.write() as conn:
                await conn.execute(sa.text(SCHEMA))
                await conn.execute(sa.text("INSERT INTO t (name) VALUES ('a'), ('b')"))
            with pytest.raises(IntegrityError) as caught:
                async with db.write() as conn:
                    await conn.execute(sa.text("INSERT INTO t (name) VALUES ('c')"))
                    await conn.execute(sa.text("INSERT INTO t (name) VALUES ('a')"))  # not unique
            seen[inline] = (await rows(db), type(caught.value.orig))  # 'c' rolled back with it
        finally:
            await db.dispose()
    assert seen[True] == seen[False] == ([(1, "a"), (2, "b")], seen[False][1])


async def statement_turns(db: Database) -> int:
    """How often the loop let another task run while 50 statements ran in one transaction."""
    turns = 0

    async def other() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    try:
        async with db.write() as conn:
            await conn.execute(sa.text("DELETE FROM t"))
            before = turns
            for n in range(50):
                await conn.execute(sa.text("INSERT INTO t (name) VALUES (:n)"), {"n": f"n{n}"})
            return turns - before
    finally:
        task.cancel()


async def test_inline_statements_start_no_thread_and_never_let_another_task_run(tmp_path: Path) -> None:
    """What makes it quick: a threaded statement hands the loop to the others while its
    thread works; an inline one is done before anything else runs (committing still
    takes a turn or two: SQLAlchemy closes a connection in a task of its own)."""
    turns = {}
    for inline in (False, True):
        db = Database(f"sqlite+aiosqlite:///{tmp_path / f'{inline}.db'}", inline=inline)
        try:
            async with db.write() as conn:  # the first connection: made inline as well
                await conn.execute(sa.text(SCHEMA))
            threads = set(threading.enumerate())
            turns[inline] = await statement_turns(db)
            assert len(await rows(db)) == 50
            if inline:
                assert set(threading.enumerate()) <= threads  # none started
                async with db.engine.connect() as conn:
                    driver = (await conn.get_raw_connection()).driver_connection
                assert isinstance(driver, InlineConnection) and driver.calls > 0
                assert not driver._thread.is_alive()
        finally:
            await db.dispose()
    assert turns[True] == 0 and turns[False] >= 50, turns


async def test_a_replay_s_database_is_inline_and_takes_the_worker_s_migrations(tmp_path: Path) -> None:
    db = ReplayDatabase(f"sqlite+aiosqlite:///{tmp_path / 'replay.db'}")
    try:
        await migrate(db, "paper")
        async with db.read() as conn:
            tables = {r[0] for r in await conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='table'"))}
            driver = (await conn.get_raw_connection()).driver_connection
        assert {"arbitrage_attempts", "attempt_legs", "executor_positions"} <= tables
        assert isinstance(driver, InlineConnection)
    finally:
        await db.dispose()


def test_an_inline_database_refuses_url_options_it_would_drop() -> None:
    with pytest.raises(ValueError, match="takes no URL options"):
        Database("sqlite+aiosqlite:////tmp/x.db?mode=ro&uri=true", inline=True)
