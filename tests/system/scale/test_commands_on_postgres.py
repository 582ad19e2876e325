"""Every command with ``EXECUTOR_DATABASE_URL=postgresql+asyncpg://…`` (each test its own database).

``migrate``, ``import-trades``, ``match --save``, the worker (``python -m worker``) and the
headless ``run`` are started as subprocesses the way an operator starts them; what they
wrote is read back from PostgreSQL. (The lease test runs two workers on PostgreSQL too.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.engine import Database
from db.tables import executor_lease, executor_settings, executor_trades, market_mappings
from tests.conftest import (
    NO_POSTGRES,
    POSTGRES_URL,
    create_postgres_database,
    drop_postgres_database,
)
from tests.system.scale.procs import REPO, TOKEN, PaperExchange, WorkerProc, base_env, lease_row

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


def worker_cmd(args: list[str], env: dict[str, str], within_s: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=within_s, check=False,
    )


async def rows(url: str, query: sa.Select) -> list[sa.Row]:  # type: ignore[type-arg]
    db = Database(url)
    try:
        async with db.read() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await db.dispose()


TRADES = [
    {"timestamp": "2026-01-10T19:32:15Z", "event": "LAL vs BOS", "status": "SUCCESS", "bet_size": 5.07,
     "pnl": 0.12, "roi": 2.4, "poly_order_id": "0xabc", "kalshi_order_id": "k-1"},
    {"timestamp": "2026-01-10T19:28:03+00:00", "event": "MIA vs NYK", "status": "ROLLED_BACK",
     "bet_size": 5.0, "pnl": -0.80},
]


async def test_migrate_and_import_trades_on_postgres_keep_exact_amounts(pg_url: str, tmp_path: Path) -> None:
    env = base_env(EXECUTOR_DATABASE_URL=pg_url, EXECUTOR_DATA_DIR=str(tmp_path))
    first = worker_cmd(["migrate"], env)
    assert first.returncode == 0, first.stderr
    assert "revision 0006" in first.stdout  # the newest migration (legging estimates)
    assert worker_cmd(["migrate"], env).stdout == first.stdout  # idempotent
    log = tmp_path / "trades.jsonl"
    log.write_text("\n".join(json.dumps(t) for t in TRADES) + "\n")
    imported = worker_cmd(["import-trades", str(log)], env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 2, skipped 0 duplicates, rejected 0" in imported.stdout
    again = worker_cmd(["import-trades", str(log)], env)
    assert "imported 0, skipped 2 duplicates" in again.stdout
    found = await rows(pg_url, sa.select(executor_trades.c.event_title, executor_trades.c.bet_size_micros,
                                         executor_trades.c.pnl_micros).order_by(executor_trades.c.id))
    assert [tuple(r) for r in found] == [
        ("LAL vs BOS", Decimal("5.07"), Decimal("0.12")),
        ("MIA vs NYK", Decimal("5"), Decimal("-0.8")),
    ]
    live = worker_cmd(["migrate"], {**env, "EXECUTOR_MODE": "live"})
    assert live.returncode == 78 and "created for paper mode" in live.stderr


async def test_match_save_on_postgres_stores_candidates_once(pg_url: str, tmp_path: Path) -> None:
    env = base_env(EXECUTOR_DATABASE_URL=pg_url, EXECUTOR_DATA_DIR=str(tmp_path))
    snap = worker_cmd(["snapshot", "--out", str(tmp_path / "snap")], env)
    assert snap.returncode == 0, snap.stderr
    args = ["match", "--kalshi", str(tmp_path / "snap" / "kalshi_events.json"),
            "--polymarket", str(tmp_path / "snap" / "polymarket_events.json"), "--save"]
    saved = worker_cmd(args, env)
    assert saved.returncode == 0, saved.stderr
    printed = [json.loads(line) for line in saved.stdout.splitlines()]
    assert len(printed) > 10
    stored = await rows(pg_url, sa.select(market_mappings.c.kalshi_ticker, market_mappings.c.poly_market))
    assert {(r[0], r[1]) for r in stored} == {(m["kalshi_ticker"], m["polymarket_token_id"]) for m in printed}
    assert worker_cmd(args, env).returncode == 0
    assert len(await rows(pg_url, sa.select(market_mappings.c.id))) == len(stored)  # saved once


async def test_worker_on_postgres_serves_persists_settings_and_releases_its_lease(pg_url: str, tmp_path: Path) -> None:
    exchange = PaperExchange(tmp_path / "exchange")
    worker = WorkerProc.make("w", tmp_path, pg_url, exchange, ttl_s=5)
    db = Database(pg_url)
    try:
        await exchange.ready()
        worker.start()
        await worker.wait_lease("leader")
        ack = await worker.action({"action": "update_settings", "settings": {"max_bet": 12.5}})
        assert ack["type"] == "ack"
        assert worker.proc is not None
        assert await worker.proc.terminate() == 0
        (stored,) = await rows(pg_url, sa.select(executor_settings.c.max_bet))
        assert stored[0] == 12.5
        row = await lease_row(db)
        assert row is not None and worker.holds(row["holder"]) and row["expires_at"] is None
        assert TOKEN not in worker.log()
    finally:
        if worker.proc is not None:
            worker.proc.kill()
        exchange.kill()
        await db.dispose()


async def test_headless_run_on_postgres_takes_and_gives_back_the_lease(pg_url: str, tmp_path: Path) -> None:
    exchange = PaperExchange(tmp_path / "exchange")
    try:
        await exchange.ready()
        # The run uses the exchange's own data dir (its credentials) and the PostgreSQL URL.
        env = {**exchange.env, "EXECUTOR_DATABASE_URL": pg_url, "EXECUTOR_LEASE_TTL_S": "5"}
        result = worker_cmd(["run", "--duration", "3"], env)
        assert result.returncode == 0, result.stderr[-2000:]
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert "opportunities" in json.dumps(summary)
        holder = (tmp_path / "exchange" / "worker-id").read_text().strip()
        (lease,) = await rows(pg_url, sa.select(executor_lease.c.holder, executor_lease.c.expires_at))
        assert lease[0].split("/", 1)[0] == holder and lease[1] is None  # taken for the run, released at its end
    finally:
        exchange.kill()
