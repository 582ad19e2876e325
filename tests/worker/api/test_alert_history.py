"""``GET /api/alerts``: the alert history, dismissed alerts included, from a real worker
(its own database, its alert center fed by events on its bus)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.worker.api.conftest import TOKEN, connect_ready
from worker.api import views as wire
from worker.bootstrap import Worker
from worker.domain.events import TradeEvent
from worker.domain.tradelog import TradeStatus


async def api(worker: Worker, path: str, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        return await http.get(path)


async def test_the_history_keeps_a_dismissed_alert_with_its_dismissal(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    worker.bus.publish(TradeEvent("Rockets vs Kings", TradeStatus.STRANDED, datetime.now(UTC),
                                  attempt_id="att_1", reason="leg 2 refused"))
    stranded = (await client.recv_type("alert"))["data"]
    await client.send({"action": "kill_switch", "flatten": False, "id": "k1"})
    assert (await client.reply())["type"] == "ack"
    killed = (await client.recv_type("alert"))["data"]
    await client.send({"action": "dismiss_alert", "alert_id": stranded["id"], "id": "d1"})
    dismissed_at = (await client.reply())["data"]["dismissed_at"]
    await client.close()

    body: Any = (await api(worker, "/api/alerts?limit=10")).json()
    by_id = {a["id"]: a for a in body["alerts"]}
    assert set(by_id) == {stranded["id"], killed["id"]}
    assert by_id[stranded["id"]]["dismissed_at"] == dismissed_at  # gone from the banner, kept here
    assert "leg 2 refused" in by_id[stranded["id"]]["message"]
    assert by_id[killed["id"]]["dismissed_at"] is None and by_id[killed["id"]]["kind"] == "kill_switch"
    assert [a["id"] for a in body["alerts"]] == [killed["id"], stranded["id"]]  # newest first
    # The dashboard's decoder reads it.
    assert [v.id for v in wire.decode_api_alerts(body)] == [killed["id"], stranded["id"]]
    assert [a["id"] for a in (await api(worker, "/api/alerts?limit=1")).json()["alerts"]] == [killed["id"]]


async def test_a_bad_limit_is_refused_and_the_token_is_required(worker: Worker) -> None:
    for bad in ("0", "501", "ten", "-1"):
        response = await api(worker, f"/api/alerts?limit={bad}")
        assert response.status_code == 400 and response.json()["field"] == "limit"
    assert (await api(worker, "/api/alerts", token=None)).status_code == 401
