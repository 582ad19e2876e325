"""A real worker server on a free port, a temporary database, and WebSocket clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets

from db.engine import Database
from db.migrate import migrate
from worker.api.schemas import decode_server_message
from worker.bootstrap import Worker, build_worker
from worker.config import Config, load_config

TOKEN = "test-token-0123456789abcdef"


def make_config(tmp_path: Path, **env: str) -> Config:
    base = {
        "EXECUTOR_DATA_DIR": str(tmp_path),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/executor.db",
        "EXECUTOR_TOKEN": TOKEN,
        "EXECUTOR_PAPER_PORT": "1",  # nothing listens there: the venues are down
    }
    base.update(env)
    return load_config(base)


async def start_worker(config: Config, **server_overrides: Any) -> Worker:
    db = Database(config.database_url)
    await migrate(db, config.mode)
    worker = build_worker(config, db=db)
    if server_overrides:
        server_settings = worker.server.app.settings["executor"]
        worker.server.app.settings["executor"] = replace(server_settings, **server_overrides)
    await worker.start(port=0)
    return worker


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[Worker]:
    w = await start_worker(make_config(tmp_path))
    yield w
    await w.stop()


class Client:
    """A WebSocket client that reads messages by type, numbers parsed exactly."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, value: Any) -> None:
        await self.ws.send(value if isinstance(value, str | bytes) else json.dumps(value, default=str))

    async def recv(self, wait_s: float = 5.0) -> dict[str, Any]:
        return decode_server_message(await asyncio.wait_for(self.ws.recv(), wait_s))

    async def recv_type(self, *types: str, wait_s: float = 5.0) -> dict[str, Any]:
        while True:
            msg = await self.recv(wait_s)
            if msg["type"] in types:
                return msg

    async def reply(self, wait_s: float = 5.0) -> dict[str, Any]:
        """The next ack or error (broadcasts in between are skipped)."""
        return await self.recv_type("ack", "error", wait_s=wait_s)

    async def close(self) -> None:
        await self.ws.close()


def ws_url(worker: Worker) -> str:
    return f"ws://127.0.0.1:{worker.port}/ws/executor"


async def connect(worker: Worker, token: str | None = TOKEN, **kwargs: Any) -> Client:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    ws = await websockets.connect(ws_url(worker), additional_headers=headers, **kwargs)
    return Client(ws)


async def connect_ready(worker: Worker) -> tuple[Client, dict[str, Any]]:
    """Connect and read ``init`` and the opportunities snapshot."""
    client = await connect(worker)
    init = await client.recv()
    assert init["type"] == "init"
    snap = await client.recv()
    assert snap["type"] == "opportunities_snapshot"
    return client, init


D = Decimal
