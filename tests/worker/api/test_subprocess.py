"""The worker started the way the Procfile starts it: ``python -m worker`` with env vars."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path

import websockets

from tests.support.processes import free_port
from tests.support.waiting import wait_port
from tests.worker.api.conftest import TOKEN
from worker.api.schemas import decode_server_message


async def _start(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await wait_port(port, within_s=10)
    except AssertionError:
        proc.kill()
        raise
    return proc


async def _session(port: int, action: dict[str, object] | None) -> dict[str, object]:
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/ws/executor", additional_headers={"Authorization": f"Bearer {TOKEN}"}
    ) as ws:
        init = decode_server_message(await asyncio.wait_for(ws.recv(), 10))
        if action is not None:
            import json

            await ws.send(json.dumps(action))
            while True:
                msg = decode_server_message(await asyncio.wait_for(ws.recv(), 10))
                if msg["type"] in ("ack", "error"):
                    assert msg["type"] == "ack", msg
                    break
        return init


async def test_worker_subprocess_serves_persists_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "EXECUTOR_DATA_DIR": str(tmp_path),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/executor.db",
        "EXECUTOR_TOKEN": TOKEN,
        "EXECUTOR_PORT": str(port),
        "EXECUTOR_PAPER_PORT": str(free_port()),  # no paper exchange: venues down
    }
    proc = await _start(env, port)
    init = await _session(port, {"action": "update_settings", "settings": {"max_bet": 12.5}, "id": "p"})
    assert init["type"] == "init"
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
    assert TOKEN.encode() not in err

    proc = await _start(env, port)  # restart: migrations are a no-op, settings persisted
    try:
        init = await _session(port, None)
        data = init["data"]
        assert isinstance(data, dict)
        assert data["settings"]["max_bet"] == Decimal("12.50")
        assert {v["state"] for v in data["venues"].values()} <= {"down", "connecting"}
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0
