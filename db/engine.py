"""Async engines for SQLite (embedded default) and PostgreSQL.

SQLite connections run in WAL mode with ``synchronous=FULL``, foreign keys on and a busy
timeout; write transactions take the write lock when they begin (``BEGIN IMMEDIATE``) so
two writers queue on the lock instead of failing with "database is locked" half-way
through. Reads use a separate engine with ordinary deferred transactions so they never
wait for a writer (WAL readers see the last committed state).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db import inline_sqlite

# The storage port's error (the API and the engine catch it without importing the database).
from worker.domain.storage import DatabaseUnavailable

BUSY_TIMEOUT_MS = 30_000
PROBE_TIMEOUT_S = 3.0
# The probe's write: touches the one row every migrated database has, changes nothing.
_PROBE_SQL = "UPDATE executor_meta SET value = value WHERE key = 'mode'"


def short_db_error(exc: BaseException) -> str:
    """One short line for a database failure: the driver's error, never a URL or statement.

    SQLAlchemy's own text adds the SQL and a help link; the driver's (``exc.orig``) says
    what went wrong ("attempt to write a readonly database", "connection refused").
    """
    if isinstance(exc, DatabaseUnavailable):
        return exc.reason
    inner: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    name = type(inner).__name__
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    return (f"{name}: {text}" if text else name)[:200]


def _probe_sqlite_file(path: Path) -> None:
    """A write transaction on a new connection to ``path``, rolled back.

    A new connection because the pool's stay open on the file they opened: they would keep
    writing to a file that was deleted (the data is lost at the next start) or made
    read-only. ``mode=rw`` never creates a missing file.
    """
    if not path.exists():
        raise DatabaseUnavailable(f"database file {path} is missing")
    # SQLite hands a new connection an idle descriptor this process already holds on the
    # file (opened read-write earlier), so the write below alone would not notice a file
    # made read-only since; ask the operating system too (mode, immutable flag, ro mount).
    for needed in (path, path.parent, path.with_name(path.name + "-wal")):
        if needed.exists() and not os.access(needed, os.W_OK):
            raise DatabaseUnavailable(f"{needed} is read-only")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=PROBE_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseUnavailable(f"cannot open {path}: {exc}") from None
    try:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(_PROBE_SQL).rowcount
        conn.execute("ROLLBACK")
        if rows != 1:
            raise DatabaseUnavailable(f"{path} has no executor schema (not migrated)")
    except sqlite3.OperationalError as exc:
        raise DatabaseUnavailable(f"{path}: {exc}") from None
    finally:
        conn.close()


def _json_default(value: object) -> object:
    # Exact money in JSON columns is written as a decimal string, never as a float.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (the driver's implicit BEGIN is deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 0")
    cursor.close()


def _make_engine(url: str, *, immediate: bool, inline: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000}
        if inline:  # calls run on the loop's thread (db/inline_sqlite.py): a replay's database
            if parsed.query:
                raise ValueError(f"an inline SQLite database takes no URL options: {url}")
            engine = create_async_engine(url, json_serializer=dumps, async_creator=partial(
                inline_sqlite.connect, database, check_same_thread=False, timeout=0))
        else:
            engine = create_async_engine(url, connect_args=connect_args, json_serializer=dumps)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if inline:
            # Whoever holds the lock runs on this same thread and cannot let go while this
            # one waits: "database is locked" at once rather than the loop frozen 30 s.
            event.listen(engine.sync_engine, "connect", _no_busy_wait)

        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        event.listen(engine.sync_engine, "begin", _begin)
        return engine
    return create_async_engine(url, pool_pre_ping=True, json_serializer=dumps)


class Database:
    """The worker's handle on its database: ``write()`` and ``read()`` transactions.

    ``write()`` is the only way to change data. On SQLite it holds the database write lock
    for the whole transaction; on PostgreSQL callers that need exclusion (the settings
    row, risk reservations) lock rows with ``SELECT … FOR UPDATE`` inside it.
    """

    def __init__(self, url: str, *, serial_writes: bool = False, inline: bool = False) -> None:
        self.url = url
        self.backend = make_url(url).get_backend_name()
        #: ``inline``: SQLite calls run on the event loop's thread, not aiosqlite's (a
        #: replay's throwaway database, where a call takes no replayed time; never the
        #: worker's, whose loop must not block on the database).
        self.engine = _make_engine(url, immediate=True, inline=inline)
        self.read_engine = _make_engine(url, immediate=False, inline=inline) if self.is_sqlite else self.engine
        #: Transactions open now (``write()`` and ``read()``). A replay waits for none to be
        #: open before it moves its clock: a database call takes no replayed time.
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        #: ``serial_writes``: ``write()`` transactions run one at a time, in the order they
        #: are asked for (a replay: which of two writers goes first must not depend on the
        #: database threads). A write must then never wait for another write.
        self._write_turn: asyncio.Lock | None = asyncio.Lock() if serial_writes else None

    async def wait_idle(self) -> None:
        """Until no transaction is open (at once when none is)."""
        while self.in_flight:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    def _opened(self) -> None:
        self.in_flight += 1

    def _closed(self) -> None:
        self.in_flight -= 1
        if not self.in_flight and self._idle is not None:
            self._idle.set()

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        self._opened()
        try:
            if self._write_turn is None:
                async with self.engine.begin() as conn:
                    yield conn
            else:
                async with self._write_turn, self.engine.begin() as conn:
                    yield conn
        finally:
            self._closed()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        self._opened()
        try:
            async with self.read_engine.connect() as conn:
                yield conn
        finally:
            self._closed()

    async def probe_writable(self) -> None:
        """Prove the database takes a write now (a transaction rolled back), or raise
        :class:`DatabaseUnavailable` with a short reason; bounded by ``PROBE_TIMEOUT_S``."""
        try:
            await asyncio.wait_for(self._probe(), timeout=PROBE_TIMEOUT_S + 1)
        except DatabaseUnavailable:
            raise
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise DatabaseUnavailable(short_db_error(exc)) from None

    async def _probe(self) -> None:
        if self.is_sqlite:
            database = make_url(self.url).database or ""
            if database and database != ":memory:":
                await asyncio.to_thread(_probe_sqlite_file, Path(database))
                return
        async with self.engine.connect() as conn:
            trans = await conn.begin()
            try:
                if not self.is_sqlite:
                    await conn.execute(sa.text(f"SET LOCAL lock_timeout = '{int(PROBE_TIMEOUT_S * 1000)}ms'"))
                rows = (await conn.execute(sa.text(_PROBE_SQL))).rowcount
            finally:
                await trans.rollback()
        if rows != 1:
            raise DatabaseUnavailable("the database has no executor schema (not migrated)")

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
