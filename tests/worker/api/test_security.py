"""Refusals: token, Host, Origin, size, rate, slow clients; the token never reaches a log."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.worker.api.conftest import TOKEN, connect, connect_ready, make_config, start_worker
from worker.bootstrap import Worker
from worker.domain.events import TradeEvent
from worker.domain.tradelog import TradeStatus

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


async def _refused(worker: Worker, status: int, token: str | None = TOKEN, **headers: str) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(worker, token=token, headers=headers)
    assert info.value.response.status_code == status


async def test_websocket_without_token_is_refused(worker: Worker) -> None:
    await _refused(worker, 401, token=None)


async def test_websocket_with_wrong_token_is_refused(worker: Worker) -> None:
    await _refused(worker, 401, token=TOKEN[:-1] + "x")


async def test_websocket_with_foreign_host_is_refused(worker: Worker) -> None:
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1, with a valid token.
    upgrade = {
        "Host": f"evil.example:{worker.port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Authorization": f"Bearer {TOKEN}",
    }
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        assert (await http.get("/ws/executor", headers=upgrade)).status_code == 403
        upgrade["Host"] = f"localhost:{worker.port}"
        assert (await http.get("/ws/executor", headers=upgrade)).status_code == 101


async def test_websocket_from_a_foreign_browser_origin_is_refused(worker: Worker) -> None:
    await _refused(worker, 403, Origin="http://evil.example")


async def test_websocket_from_the_dashboard_origin_is_accepted(worker: Worker) -> None:
    client = await connect(worker, headers={"Origin": "http://127.0.0.1:5006"})
    assert (await client.recv())["type"] == "init"
    await client.close()


async def test_http_routes_need_the_token_except_health(worker: Worker) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        for path in ("/api/status", "/api/trades", "/api/positions", "/api/pnl", "/api/mappings"):
            assert (await http.get(path)).status_code == 401, path
            assert (await http.get(path, headers={"Authorization": "Bearer nope"})).status_code == 401
            assert (await http.get(path, headers={"Authorization": f"Basic {TOKEN}"})).status_code == 401
            ok = await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200, path
        health = await http.get("/api/health")
        # No venue is reachable in tests: health answers, and says not live.
        assert health.status_code == 503 and health.json()["database"]["state"] == "up"
        assert (await http.get("/api/health", headers={"Host": "evil.example"})).status_code == 403


async def test_oversize_message_closes_the_connection_and_changes_nothing(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    big = '{"action": "update_settings", "settings": {"min_bet": 6}, "id": "' + "a" * 70_000 + '"}'
    await client.send(big)
    with pytest.raises(ConnectionClosed) as info:
        while True:
            await client.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    assert worker.settings.current.min_bet == Decimal("5.00")


async def test_action_flood_is_rate_limited_but_twenty_per_second_pass(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    for _ in range(150):
        await client.send({"action": "toggle_enabled", "value": False})
    replies = [await client.reply() for _ in range(150)]
    acks = sum(r["type"] == "ack" for r in replies)
    limited = [r for r in replies if r["type"] == "error"]
    assert acks >= 100  # the burst allowance, well above 20 per second
    assert limited and all(r["message"].startswith("too many actions") for r in limited)
    assert len(replies) == 150  # exactly one reply per message
    await client.close()


async def test_slow_client_is_disconnected_without_delaying_others(tmp_path) -> None:  # type: ignore[no-untyped-def]
    worker = await start_worker(make_config(tmp_path), client_queue=64)
    try:
        slow = await connect(worker, max_queue=1)
        # The slow client never reads; its socket buffers fill, then its queue.
        fast, _ = await connect_ready(worker)
        payload = "x" * 20_000
        n = 600
        received: list[int] = []

        async def read_fast() -> None:
            while len(received) < n:
                msg = await fast.recv_type("trade_event", wait_s=10)
                received.append(int(msg["data"]["trade_id"]))

        reader = asyncio.create_task(read_fast())
        for i in range(n):
            worker.bus.publish(TradeEvent(payload, TradeStatus.SUCCESS, NOW, trade_id=str(i)))
            if i % 8 == 7:
                await asyncio.sleep(0.005)  # a fast feed, not one burst bigger than any queue
        await asyncio.wait_for(reader, 20)
        assert received == list(range(n))
        assert len(worker.server.broadcaster.clients) == 1  # only the fast one is left
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await slow.ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001
        await fast.close()
        await slow.ws.close()
    finally:
        await worker.stop()


async def test_token_never_appears_in_logs(worker: Worker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await _refused(worker, 401, token=TOKEN + "wrong")
    client = await connect(worker)
    await client.recv()
    await client.send({"action": "toggle_enabled", "value": "yes"})
    await client.reply()
    await client.close()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}") as http:
        await http.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
    # The test's own client library logs its request headers at DEBUG; the server's
    # loggers (tornado, worker, db) are what must never carry the token.
    server_records = [r for r in caplog.records if not r.name.startswith("websockets")]
    assert any(r.name.startswith("tornado") for r in server_records)
    assert all(TOKEN not in r.getMessage() for r in server_records)
    assert TOKEN not in repr(worker.server.app.settings["executor"])
    assert TOKEN not in repr(worker.config)
