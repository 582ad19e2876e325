"""``/api/trades`` filters and keyset paging, and ``/api/trades.csv``, against a running
worker and its database. The expected rows come from what the test wrote, not from the
routes' own query code."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa

from tests.support.trade_history import T0, write_history
from worker.bootstrap import Worker

AUTH = {"Authorization": "Bearer test-token-0123456789abcdef"}


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["id"]) for r in rows]


async def test_before_pages_back_through_all_history_without_a_gap_or_a_repeat(worker: Worker) -> None:
    written = await write_history(worker.db)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=AUTH) as http:
        # Pages of 68: the first ends inside the three rows that share one time.
        assert written[67]["at"] == written[68]["at"]
        seen: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": "68"}
        while True:
            page = (await http.get("/api/trades", params=params)).json(parse_float=Decimal)["trades"]
            seen.extend(page)
            if len(page) < 68:
                break
            params = {"limit": "68", "before": page[-1]["timestamp"], "before_id": page[-1]["id"]}
        assert _ids(seen) == _ids(written)  # every row once, newest first, ties by id
        # ``before`` alone: strictly older than that time.
        cut = written[70]["at"]
        older = (await http.get("/api/trades", params={"limit": "1000", "before": cut.isoformat()})).json()["trades"]
        assert _ids(older) == _ids([w for w in written if w["at"] < cut])


async def test_filters_and_the_csv_export_give_the_same_rows(worker: Worker) -> None:
    written = await write_history(worker.db)
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=100)
    params = {"status": "SUCCESS", "league": "nhl", "since": since.isoformat(), "until": until.isoformat()}
    expected = [
        w for w in written
        if w["status"] == "SUCCESS" and w["league"] == "nhl" and since <= w["at"] <= until
    ]  # fmt: skip
    assert len(expected) > 5
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=AUTH) as http:
        rows = (await http.get("/api/trades", params={**params, "limit": "1000"})).json(parse_float=Decimal)["trades"]
        assert _ids(rows) == _ids(expected)
        reply = await http.get("/api/trades.csv", params=params)
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(reply.text)))
        assert [r["id"] for r in table] == _ids(rows)
        assert [r["pnl"] for r in table] == [format(r["pnl"], "f") for r in rows]
        # All rows, more than one page of the CSV's own paging; a formula is defused.
        everything = list(csv.DictReader(io.StringIO((await http.get("/api/trades.csv")).text)))
        assert [r["id"] for r in everything] == _ids(written)
        assert next(r for r in everything if r["event"].startswith("'="))["event"] == "'=HYPERLINK(\"x\")"
        # Bad parameters name themselves and change nothing.
        for bad in ({"status": "WON"}, {"league": "cricket"}, {"before": "yesterday"},
                    {"until": "2026-12-05T10:00:00"}, {"before_id": "12"}, {"before_id": "x", "before": "2026-12-05T10:00:00Z"}):  # fmt: skip
            for route in ("/api/trades", "/api/trades.csv"):
                answer = await http.get(route, params=bad)
                assert answer.status_code == 400, (route, bad)
                assert answer.json()["field"] == next(iter(bad)) if len(bad) == 1 else "before_id"
        # Same guard as every route: no token, no rows.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as anonymous:
            assert (await anonymous.get("/api/trades.csv")).status_code in (401, 403)
    async with worker.db.read() as conn:
        assert (await conn.execute(sa.text("select count(*) from executor_trades"))).scalar_one() == 130
