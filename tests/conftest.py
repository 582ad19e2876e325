"""Shared fixtures: databases on SQLite (always) and PostgreSQL (when configured).

``EXECUTOR_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``)
enables the PostgreSQL variants; each test then gets a database of its own, created and
dropped around it. Without it those variants skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get("EXECUTOR_TEST_POSTGRES_URL", "").strip()
NO_POSTGRES = "EXECUTOR_TEST_POSTGRES_URL is not set: PostgreSQL variants need a server (CI sets it)"


def _postgres_param() -> object:
    return pytest.param(
        "postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]
    )


BACKENDS = ["sqlite", _postgres_param()]


async def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; returns its URL."""
    name = f"executor_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'executor.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment with no EXECUTOR_* variables but a private data dir and database."""
    for key in list(os.environ):
        if key.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_")) and key != "EXECUTOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    env = {
        "EXECUTOR_DATA_DIR": str(tmp_path / "data"),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'executor.db'}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
