"""A real worker and a real ``panel serve`` for the browser tests and benchmarks.

* :class:`WorkerThread` runs the worker exactly as ``python -m worker`` builds it
  (``worker.bootstrap.build_worker`` on a migrated SQLite database) on its own asyncio
  loop in a background thread, so a test can publish engine events on the worker's real
  event bus (opportunities, P&L points) and stop / restart the server. Its executor is
  :class:`PaperDesk`, a test fake of the ``ExecutionControl`` port that closes positions
  through the worker's real trade logger and publishes what the executor publishes.
* :func:`start_panel` starts the ``web:`` line of the Procfile (same arguments) on a
  free port against that worker.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from db.engine import Database
from db.mappings import SqlMappingStore
from db.migrate import migrate
from worker.api import schemas
from worker.bootstrap import Worker, build_worker
from worker.config import load_config
from worker.domain.operator import Balances, OperatorError, VenueState
from worker.domain.tradelog import NewPosition, PositionLeg

T = TypeVar("T")
TOKEN = "dashboard-browser-test-token-0123456789"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PaperDesk:
    """Test fake of the executor's operator port: closes positions via the trade logger."""

    def __init__(self) -> None:
        self.worker: Worker | None = None

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        assert self.worker is not None
        position, trade = await self.worker.trades.close_position(position_id, pnl=Decimal("0.12"), reason="closed by operator")
        bus = self.worker.bus
        bus.publish(schemas.POSITION_CLOSED, schemas.to_wire(position))
        if trade is not None:
            bus.publish(schemas.TRADE_EVENT, {"event": trade.event_title, **schemas.to_wire(trade)})
        return {"position_id": position_id}

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        raise OperatorError("attempt_id", f"no stranded attempt {attempt_id}")

    async def resolve_stranded(self, attempt_id: str, note: str) -> Mapping[str, Any]:
        raise OperatorError("attempt_id", f"no stranded attempt {attempt_id}")

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        assert self.worker is not None
        await self.worker.console.toggle_enabled(False)
        return {"cancelled": 0, "flattened": 0}

    def balances(self) -> Balances:
        return Balances(poly=Decimal("512.40"), kalshi=Decimal("488.10"))

    def venue_states(self) -> list[VenueState]:
        return []


class WorkerThread:
    """The real worker on a background loop (see module doc)."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.config = load_config({
            "EXECUTOR_DATA_DIR": str(data_dir),
            "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/executor.db",
            "EXECUTOR_TOKEN": TOKEN,
            "EXECUTOR_PORT": str(self.port),
            "EXECUTOR_PAPER_PORT": "1",
        })
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="worker-loop")
        self.thread.start()
        self.worker: Worker | None = None
        self.desk = PaperDesk()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/executor"

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)

    def start(self) -> None:
        async def go() -> None:
            db = Database(self.config.database_url)
            await migrate(db, self.config.mode)
            self.worker = build_worker(self.config, db=db, execution=self.desk)
            self.desk.worker = self.worker
            await self.worker.start(port=self.port)

        self.call(go())

    def stop(self) -> None:
        if self.worker is not None:
            self.call(self.worker.stop())
            self.worker = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def publish(self, type_: str, data: Mapping[str, Any]) -> None:
        assert self.worker is not None
        bus = self.worker.bus
        self.loop.call_soon_threadsafe(bus.publish, type_, data)

    # -- seeding ---------------------------------------------------------------------
    def open_position(self, n: int, title: str) -> str:
        assert self.worker is not None
        now = datetime.now(UTC)
        pos = NewPosition(
            event_key=f"nba:test:{n}", event_title=title, opened_at=now,
            poly=PositionLeg("polymarket", f"7132{n}", "Rockets", "Rockets", Decimal("0.51"), 10),
            kalshi=PositionLeg("kalshi", f"KXNBAGAME-26NOV29HOULAL{n}-HOU", f"NO KXNBAGAME-26NOV29HOULAL{n}-HOU", "NO", Decimal("0.48"), 10),
            cost=Decimal("9.95"), attempt_id=f"att-{n}", game_key=f"nba:test:{n}", expires_at=now + timedelta(hours=6),
        )
        stored = self.call(self.worker.trades.open_position(pos))
        self.publish(schemas.POSITION_OPENED, schemas.to_wire(stored))
        return stored.id

    def save_mappings(self, mappings: list[Any]) -> None:
        assert self.worker is not None
        store = SqlMappingStore(self.worker.db)
        self.call(store.save_discovered(mappings, datetime.now(UTC)))


def procfile_web_args(port: int) -> list[str]:
    """The Procfile's ``web:`` command, with ``$PANEL_PORT`` resolved."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:"))
    cmd = re.sub(r"\$\{PANEL_PORT:-5006\}", str(port), line.split(":", 1)[1].strip())
    args = shlex.split(cmd)
    assert args[0] == "panel"
    return [str(Path(sys.executable).with_name("panel")), *args[1:]]


def start_panel(ws_url: str, port: int | None = None, extra_env: Mapping[str, str] | None = None,
                extra_args: list[str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    env = {**os.environ, "EXECUTOR_WS_URL": ws_url, "EXECUTOR_TOKEN": TOKEN, "PANEL_PORT": str(port),
           **(extra_env or {})}
    log = tempfile.NamedTemporaryFile(prefix="panel-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([*procfile_web_args(port), *(extra_args or [])], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited: {Path(log.name).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(base + "/dashboard-assets/dashboard.css", timeout=2):
                return proc, base
        except urllib.error.HTTPError:  # answering (e.g. a login redirect): it is up
            return proc, base
        except OSError:
            time.sleep(0.2)  # polling a process we started for readiness; there is no event to await
    proc.kill()
    raise RuntimeError("panel serve did not start within 40 s")


def stop_panel(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
