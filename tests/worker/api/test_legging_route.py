"""``GET /api/legging`` on a real worker: guarded like every /api route; the estimates
stored before the worker started, with their sample counts, and whether
``EXECUTOR_PRICE_LEGGING_RISK`` applies them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import httpx

from db.engine import Database
from db.legging import BOOKS, LeggingRepository, refresh_estimates
from db.migrate import migrate
from tests.worker.api.conftest import TOKEN, make_config, start_worker
from worker.domain.legging import CellCount, CellKey

AUTH = {"Authorization": f"Bearer {TOKEN}"}
AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _get(port: int, headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        return await http.get("/api/legging", headers=headers or {})


async def test_the_route_serves_the_stored_estimates_with_their_counts(tmp_path: Path) -> None:
    config = make_config(tmp_path, EXECUTOR_PRICE_LEGGING_RISK="1")
    db = Database(config.database_url)
    await migrate(db, config.mode)
    repo = LeggingRepository(db)
    # 12 samples, 3 failures costing 0.06 in all: sparse (weight 12/30 = 0.4).
    await repo.replace_counts(BOOKS, {CellKey("kalshi", "nba", "0.40-0.60", "le1"): CellCount(12, 3, D("0.06"))}, AT)
    await refresh_estimates(repo, {}, AT)
    await db.dispose()
    worker = await start_worker(config)
    try:
        assert worker.port is not None
        assert (await _get(worker.port)).status_code == 401
        # The worker reads the stored table as it starts; one more read, awaited here, so
        # that the answer does not depend on the order of the two.
        assert worker.legging is not None and await worker.legging.refresh_once()
        body = json.loads((await _get(worker.port, AUTH)).text)
        assert body["price_legging_risk"] is True and body["samples"] == 12
        cell = body["rows"][0]
        assert (cell["venue"], cell["league"], cell["price_band"], cell["depth_band"]) == ("kalshi", "nba", "0.40-0.60", "le1")
        assert (cell["samples"], cell["failures"]) == (12, 3)
        # Its own rate 3/12 = 0.25; the pool is this one cell, so the shrunk rate is 0.25 too.
        assert D(str(cell["raw_p_fail"])) == D("0.25") and D(str(cell["p_fail"])) == D("0.25")
        assert D(str(cell["weight"])) == D("0.4") and D(str(cell["raw_cost"])) == D("0.02")
        assert [r["venue"] for r in body["rows"]] == ["kalshi", "kalshi", "*"]
    finally:
        await worker.stop()


async def test_without_estimates_the_route_answers_an_empty_table(tmp_path: Path) -> None:
    worker = await start_worker(make_config(tmp_path))
    try:
        assert worker.port is not None
        body = json.loads((await _get(worker.port, AUTH)).text)
        assert body["rows"] == [] and body["samples"] == 0 and body["price_legging_risk"] is False
    finally:
        await worker.stop()
