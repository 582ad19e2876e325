"""The operator sees the truth about the database: health proves it writable, and a
database outage under a running worker is reported, not turned into a 500 or a closed
socket; the token sent in a query string never reaches a log line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import POSTGRES_URL
from tests.worker.api.conftest import TOKEN, connect, make_config, start_worker
from worker.api import console as console_module
from worker.bootstrap import Worker

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def no_probe_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every health check and snapshot probes the database anew (no 1 s reuse)."""
    monkeypatch.setattr(console_module, "DB_PROBE_CACHE_S", 0.0)


@pytest.fixture
async def running(tmp_path: Path, database_url: str) -> AsyncIterator[Worker]:
    """A running worker on each backend (``database_url`` gives the database)."""
    w = await start_worker(make_config(tmp_path, EXECUTOR_DATABASE_URL=database_url))
    yield w
    await w.stop()


@contextlib.asynccontextmanager
async def outage(url: str) -> AsyncIterator[None]:
    """Take the database away from a running worker, then give it back.

    SQLite: the file is moved away (a worker's open connections keep the old file open;
    it is gone for everything else). PostgreSQL: the database stops accepting connections
    and the worker's are terminated, as when a server is shut down for maintenance.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        aside = path.with_name(path.name + ".away")
        os.rename(path, aside)
        try:
            yield
        finally:
            os.rename(aside, path)
        return
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = parsed.database
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            await conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
        yield
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        await admin.dispose()


async def _status(http: httpx.AsyncClient) -> dict[str, Any]:
    r = await http.get("/api/status", headers=AUTH)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


async def _init(worker: Worker) -> dict[str, Any]:
    client = await connect(worker)
    try:
        msg = await client.recv()
        assert msg["type"] == "init"
        assert (await client.recv())["type"] == "opportunities_snapshot"
        data: dict[str, Any] = msg["data"]
        return data
    finally:
        await client.close()


@pytest.mark.usefixtures("no_probe_cache")
async def test_status_and_init_are_served_during_an_outage_and_recover(running: Worker) -> None:
    url = running.config.database_url
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as http:
        before = await _status(http)
        assert before["database"]["state"] == "up"
        assert before["stats"]["trades"] == 0 and before["open_positions"] == 0
        async with outage(url):
            during = await _status(http)
            db = during["database"]
            assert db["state"] == "down", db
            assert db["error"] and TOKEN not in db["error"]
            assert "password" not in db["error"].lower()
            # Memory still answers: settings, venues; today's figures are the last read.
            assert during["settings"] == before["settings"] and during["mode"] == "paper"
            assert during["stats"] == before["stats"]
            assert db["figures_as_of"] is not None
            init = await _init(running)
            assert init["database"]["state"] == "down"
            assert init["settings"] == before["settings"] and init["positions"] == []
            health = await http.get("/api/health")
            assert health.status_code == 503
            assert health.json()["database"]["state"] == "down"
            assert any(r.startswith("database down") for r in health.json()["reasons"])
            if not running.db.is_sqlite:
                # A route that reads the database says so (503), not a server error. (On
                # SQLite the pool's open connections still read the moved file.)
                assert (await http.get("/api/trades", headers=AUTH)).status_code == 503
        after = await _status(http)
        assert after["database"]["state"] == "up" and "figures_as_of" not in after["database"]
        assert (await _init(running))["database"]["state"] == "up"
        assert (await http.get("/api/trades", headers=AUTH)).status_code == 200


@pytest.mark.usefixtures("no_probe_cache")
async def test_init_during_an_outage_from_the_start_omits_the_database_figures(tmp_path: Path) -> None:
    worker = await start_worker(make_config(tmp_path))
    try:
        async with outage(worker.config.database_url):
            init = await _init(worker)
            assert init["database"]["state"] == "down"
            assert init["database"]["figures_as_of"] is None
            assert init["stats"] is None and init["positions"] is None
            assert init["limits"]["trades_left"] is None
            assert init["limits"]["max_daily_trades"] == init["settings"]["max_daily_trades"]
            assert init["enabled"] is False and init["settings"]["max_bet"] is not None
    finally:
        await worker.stop()


@pytest.mark.usefixtures("no_probe_cache")
async def test_health_says_down_when_the_sqlite_file_is_deleted(worker: Worker) -> None:
    path = worker.config.sqlite_path()
    assert path is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        assert (await http.get("/api/health")).json()["database"] == {
            "state": "up", "error": None, "since": (await http.get("/api/health")).json()["database"]["since"]
        }
        path.unlink()
        r = await http.get("/api/health")
        assert r.status_code == 503
        db = r.json()["database"]
        assert db["state"] == "down" and "missing" in db["error"], db
        # The probe never recreates the file it checks.
        assert not path.exists()


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file made read-only for everyone: mode 0444, or immutable when we are root
    (root writes through file modes)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o600)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i not permitted here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.usefixtures("no_probe_cache")
async def test_health_says_down_when_the_sqlite_file_is_read_only(worker: Worker) -> None:
    path = worker.config.sqlite_path()
    assert path is not None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        assert (await http.get("/api/health")).json()["database"]["state"] == "up"
        with read_only(path):
            r = await http.get("/api/health")
            db = r.json()["database"]
            assert r.status_code == 503 and db["state"] == "down", db
            assert db["error"] == f"{path} is read-only", db
        assert (await http.get("/api/health")).json()["database"]["state"] == "up"


async def test_health_probes_at_most_once_a_second(worker: Worker) -> None:
    db = worker.db
    calls = 0
    real = db.probe_writable

    async def counted() -> None:
        nonlocal calls
        calls += 1
        await real()

    worker.console._db_probe = counted
    worker.console._db_checked = None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        answers = await asyncio.gather(*(http.get("/api/health") for _ in range(20)))
    assert {r.json()["database"]["state"] for r in answers} == {"up"}
    assert calls == 1


async def test_a_query_string_token_never_reaches_a_log_line(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    class Failing:
        async def trades(self, **_: Any) -> list[Any]:
            raise RuntimeError("history failed")

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        assert (await http.get(f"/api/status?token={TOKEN}")).status_code == 401
        assert (await http.get(f"/api/status?token={TOKEN}", headers=AUTH)).status_code == 200
        assert (await http.get(f"/api/trades?limit=5&access_token={TOKEN}", headers=AUTH)).status_code == 200
        assert (await http.get(f"/api/health?x={TOKEN}")).status_code in (200, 503)
        assert (await http.get(f"/nowhere/{TOKEN}?token={TOKEN}")).status_code == 404
        assert (await http.get(f"/api/trades?since=nope&token={TOKEN}", headers=AUTH)).status_code == 400
        # An unexpected failure: Tornado logs the request (URI included) with the traceback.
        worker.server.app.settings["history"] = Failing()
        assert (await http.get(f"/api/trades?token={TOKEN}", headers=AUTH)).status_code == 500
    client = await connect(worker)  # a WebSocket upgrade is logged too
    await client.recv()
    await client.close()
    # The test's own WebSocket client logs its headers at DEBUG: only the server's
    # loggers (tornado, worker, db) are judged.
    records = [r for r in caplog.records if r.name.startswith(("tornado", "worker", "db"))]
    assert any("/api/status?token=***" in r.getMessage() for r in records), [r.getMessage() for r in records]
    assert any("/api/trades?limit=5&access_token=***" in r.getMessage() for r in records)
    assert any(r.name == "tornado.application" and r.exc_text for r in records)
    for r in records:
        assert TOKEN not in r.getMessage() and TOKEN not in (r.exc_text or "")


@pytest.mark.usefixtures("no_probe_cache")
async def test_a_listening_client_hears_of_an_outage_in_the_heartbeat_without_asking(running: Worker) -> None:
    """The heartbeat carries the database's state, probed every few beats while clients
    listen: a dashboard shows an outage that nobody asked /api/status about."""
    client = await connect(running)
    try:

        async def database_state(wanted: str) -> dict[str, Any]:
            while True:  # each heartbeat (1 s) says what the last probe (every 5 s) found
                msg = await client.recv_type("heartbeat", wait_s=5)
                if msg["data"]["database"]["state"] == wanted:
                    data: dict[str, Any] = msg["data"]["database"]
                    return data

        assert (await database_state("up"))["error"] is None
        async with outage(running.config.database_url):
            down = await asyncio.wait_for(database_state("down"), 15)
            assert down["error"] and TOKEN not in down["error"]
        await asyncio.wait_for(database_state("up"), 15)
    finally:
        await client.close()
