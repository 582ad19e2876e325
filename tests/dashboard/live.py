"""The real stack for the browser tests and benchmarks: paper exchange, worker, ``panel serve``.

* :class:`PaperStack` runs the Procfile's ``paper:`` and ``worker:`` lines as processes —
  ``python -m worker paper-exchange`` (with its test control endpoints,
  ``EXECUTOR_PAPER_CONTROL=1``) and ``python -m worker``, the worker with the real trading
  engine: live venue clients pointed at the paper exchange, scanner, executor, lease.
  Tests drive it only from outside, as an operator would: the worker's WebSocket actions
  and read-only API, and the exchange's control endpoints (pinned books make an
  arbitrage appear, deterministically, on a chosen game).
* :class:`WorkerThread` runs the worker as ``python -m worker`` builds it, without the
  trading engine, on a background loop, so the benchmarks can publish engine events on
  its real event bus at a controlled rate.
* :func:`start_panel` starts the ``web:`` line of the Procfile (same arguments) on a
  free port against a worker; every page is behind panel's login, with the password
  :data:`DASHBOARD_PASSWORD` (``EXECUTOR_DASHBOARD_PASSWORD``). :func:`log_in` logs a
  browser context in once through the form at ``/login``; its pages then open directly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import re
import shlex
import signal
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

from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from db.engine import Database
from db.migrate import migrate
from tests.support.processes import free_port
from tests.support.waiting import wait_until_blocking
from worker.api import schemas
from worker.bootstrap import Worker, build_worker
from worker.config import load_config
from worker.domain.events import EngineEvent

T = TypeVar("T")
TOKEN = "dashboard-browser-test-token-0123456789"
DASHBOARD_PASSWORD = "dashboard-browser-test-password"
COOKIE_SECRET = "dashboard-browser-test-cookie-secret-0123456789"
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]



def procfile_args(name: str, port: int | None = None) -> list[str]:
    """A Procfile line's command (``paper``, ``worker``, ``web``), run by this interpreter."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith(f"{name}:"))
    cmd = line.split(":", 1)[1].strip()
    if port is not None:
        cmd = re.sub(r"\$\{PANEL_PORT:-5006\}", str(port), cmd)
    args = shlex.split(cmd)
    assert args[0] == "python", cmd
    return [sys.executable, *args[1:]]


class ActionRefused(RuntimeError):
    """The worker answered an action with ``error``."""

    def __init__(self, reply: Mapping[str, Any]) -> None:
        super().__init__(f"{reply.get('field')}: {reply.get('message')}")
        self.reply = reply


class PaperStack:
    """The paper exchange and the worker (with its trading engine) as processes.

    One private data directory: the exchange writes the paper credentials there and the
    worker's clients read them, exactly as ``honcho start`` runs the Procfile. Balances
    are seeded through ``EXECUTOR_PAPER_BALANCES`` so the pages show known figures.
    """

    def __init__(self, root: Path, seed: int = 1, balances: str = "kalshi=488.10,polymarket=512.40,polymarket_us=1000",
                 suspicious_roi: str = "1000") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.paper_port = free_port()
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))},
            "EXECUTOR_DATA_DIR": str(root),
            "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'executor.db'}",
            "EXECUTOR_PAPER_PORT": str(self.paper_port),
            "EXECUTOR_PORT": str(self.port),
            "EXECUTOR_TOKEN": TOKEN,
            "EXECUTOR_SEED": str(seed),
            "EXECUTOR_PAPER_CONTROL": "1",
            "EXECUTOR_PAPER_LATENCY_MS": "5",
            "EXECUTOR_PAPER_BALANCES": balances,
            # Tests pin edges of 30 % and more to make a trade happen; above the limit
            # (default 5 %) only confirmed games trade, so tests of trading raise it.
            "EXECUTOR_SUSPICIOUS_ROI": suspicious_roi,
        }
        self.exchange: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/executor"

    def _spawn(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(procfile_args(name), env=self.env, stdout=log, stderr=log, cwd=ROOT)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- processes -----------------------------------------------------------------------
    def start_exchange(self) -> None:
        self.exchange = self._spawn("paper")
        wait_until_blocking(lambda: self._alive("paper", self.exchange) and self.paper("GET", "/paper/health"), 60, "paper exchange")

    def start_worker(self) -> None:
        """Start ``python -m worker`` and wait until it trades here (lease held, executor up)."""
        self.worker = self._spawn("worker")

        def ready() -> bool:
            self._alive("worker", self.worker)
            status = self.api("/api/status")
            return bool(status.get("executor_running")) and status.get("lease") == "leader"

        wait_until_blocking(ready, 60, "worker with the trading engine")

    def stop_worker(self) -> None:
        """SIGTERM, as a supervisor stops it: the worker finishes in-flight work and exits 0."""
        if self.worker is not None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(40)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(10)
            self.worker = None

    def worker_pid(self) -> int:
        """The worker process under the Procfile's supervisor (``python -m worker supervise``)."""
        assert self.worker is not None
        sup = self.worker.pid

        def child() -> int | None:
            try:
                kids = Path(f"/proc/{sup}/task/{sup}/children").read_text().split()
            except OSError:
                return None
            return int(kids[0]) if kids else None

        pid: int = wait_until_blocking(child, 30, "the supervised worker process")
        return pid

    def close(self) -> None:
        self.stop_worker()
        if self.exchange is not None:
            self.exchange.send_signal(signal.SIGTERM)
            try:
                self.exchange.wait(10)
            except subprocess.TimeoutExpired:
                self.exchange.kill()
            self.exchange = None

    def _alive(self, name: str, proc: subprocess.Popen[bytes] | None) -> bool:
        if proc is None or proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {self.log_tail(name)}")
        return True

    # -- talking to them -----------------------------------------------------------------
    def api(self, path: str) -> Any:
        """The worker's read-only API (Decimal-exact numbers)."""
        return worker_api(self.port, path)

    def paper(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The paper exchange's own endpoints (``/paper/…``; control ones under ``/paper/admin``)."""
        data = None if body is None else json.dumps(body, default=str).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.paper_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read(), parse_float=Decimal)

    def pin(self, instrument: str, bid: str, ask: str, size: str = "500") -> None:
        """Pin an instrument's book to one level a side (its own prices)."""
        self.paper("POST", "/paper/admin/book", {"instrument": instrument, "bids": [[bid, size]], "asks": [[ask, size]]})

    def unpin(self, instrument: str) -> None:
        self.paper("POST", "/paper/admin/book", {"instrument": instrument, "clear": True})

    def action(self, action: str, **fields: Any) -> Mapping[str, Any]:
        """Send one operator action on the worker's WebSocket; its ``ack`` data (or raise)."""
        msg_id = f"test-{next(self._ids)}"

        async def go() -> Mapping[str, Any]:
            req = HTTPRequest(self.ws_url, headers={"Authorization": f"Bearer {TOKEN}"}, request_timeout=10)
            ws = await websocket_connect(req)
            try:
                await ws.write_message(schemas.dumps({"action": action, **fields, "id": msg_id}))
                while True:
                    text = await asyncio.wait_for(ws.read_message(), 30)
                    if text is None:
                        raise ConnectionError("worker closed the connection before answering")
                    reply = schemas.decode_server_message(text)
                    if reply.get("type") in ("ack", "error") and reply.get("id") == msg_id:
                        if reply["type"] == "error":
                            raise ActionRefused(reply)
                        return reply.get("data") or {}
            finally:
                ws.close()

        # Its own thread and loop: Playwright's sync API owns the test thread's.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, go()).result(60)

    def opportunities(self) -> dict[str, Mapping[str, Any]]:
        """The worker's live opportunities by id, as its WebSocket sends them right after
        ``init`` (``opportunities_snapshot``), with each one's verdict."""

        async def go() -> dict[str, Mapping[str, Any]]:
            req = HTTPRequest(self.ws_url, headers={"Authorization": f"Bearer {TOKEN}"}, request_timeout=10)
            ws = await websocket_connect(req)
            try:
                while True:
                    text = await asyncio.wait_for(ws.read_message(), 30)
                    if text is None:
                        raise ConnectionError("worker closed the connection before its snapshot")
                    message = schemas.decode_server_message(text)
                    if message.get("type") == schemas.OPPORTUNITIES_SNAPSHOT:
                        return {o["id"]: o for o in message["data"]["opportunities"]}
            finally:
                ws.close()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, go()).result(60)

    def mappings(self) -> list[dict[str, Any]]:
        return list(self.api("/api/mappings")["mappings"])

    def games(self, min_hours: float = 2.0) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Matched games far enough from their start to trade: (mapping, the other team's mapping)."""
        now = datetime.now(UTC)
        by_event: dict[str, list[dict[str, Any]]] = {}
        for m in self.mappings():
            start = datetime.fromisoformat(m["start_time"].replace("Z", "+00:00"))
            if m["poly_venue"] == "polymarket" and start > now + timedelta(hours=min_hours):
                by_event.setdefault(m["kalshi_event_ticker"], []).append(m)
        pairs = [(a, b) for a, b in (sorted(ms, key=lambda m: m["kalshi_ticker"]) for ms in by_event.values() if len(ms) == 2)]
        return sorted(pairs, key=lambda p: p[0]["start_time"])

    def pin_arbitrage(self, game: tuple[dict[str, Any], dict[str, Any]], poly_ask: str, kalshi_yes_bid: str) -> None:
        """Books on one game such that exactly one pair is an arbitrage: BUY the first
        mapping's Polymarket token at ``poly_ask`` and BUY NO on its Kalshi market at
        ``1 - kalshi_yes_bid`` (selling YES at its bid); every other pair of the game
        costs at least $1 before fees.

        Both venues' books change at once, so both are fresh when the scanner sees them.
        """
        a, b = game
        ask = Decimal(poly_ask)
        self.pin(a["poly_market"], str(ask - Decimal("0.02")), str(ask))
        yes_bid = Decimal(kalshi_yes_bid)
        self.pin(a["kalshi_ticker"], str(yes_bid), str(yes_bid + Decimal("0.02")))
        # The other team's Kalshi market priced like the other token: no second pair.
        other = 1 - ask
        self.pin(b["kalshi_ticker"], str(other - Decimal("0.02")), str(other))

    def unpin_game(self, game: tuple[dict[str, Any], dict[str, Any]]) -> None:
        a, b = game
        for instrument in (a["poly_market"], a["kalshi_ticker"], b["kalshi_ticker"]):
            self.unpin(instrument)


class WorkerThread:
    """The real worker (no trading engine) on a background loop (see module doc)."""

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
            self.worker = build_worker(self.config, db=db)
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

    def api(self, path: str) -> Any:
        """The worker's read-only API (Decimal-exact numbers)."""
        return worker_api(self.port, path)

    def publish(self, event: EngineEvent) -> None:
        """Publish ``event`` on the worker's bus, from any thread (on the worker's loop)."""
        assert self.worker is not None
        bus = self.worker.bus
        self.loop.call_soon_threadsafe(bus.publish, event)


#: Where the browser tests' screenshots go (kept by CI as artifacts).
ARTIFACTS = ROOT / "test-artifacts"


def shot(page: Any, name: str) -> None:
    """A full-page screenshot of ``page`` as ``ARTIFACTS/name.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def worker_api(port: int, path: str) -> Any:
    """GET ``path`` of the worker's read-only API on ``port`` (Decimal-exact numbers)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read(), parse_float=Decimal)


def procfile_web_args(port: int) -> list[str]:
    """The Procfile's ``web:`` command, with ``$PANEL_PORT`` resolved."""
    return procfile_args("web", port)


def start_panel(ws_url: str, port: int | None = None, extra_env: Mapping[str, str] | None = None,
                extra_args: list[str] | None = None, login: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    """The ``web:`` line on ``port``. ``login=False`` runs the same ``panel serve``
    arguments without the launcher's login (only for ``bokeh.client`` sessions in the
    benchmarks, which cannot send a login cookie)."""
    port = port or free_port()
    env = {**os.environ, "EXECUTOR_WS_URL": ws_url, "EXECUTOR_TOKEN": TOKEN, "PANEL_PORT": str(port),
           "EXECUTOR_DASHBOARD_PASSWORD": DASHBOARD_PASSWORD, "EXECUTOR_DASHBOARD_COOKIE_SECRET": COOKIE_SECRET,
           **(extra_env or {})}
    log = tempfile.NamedTemporaryFile(prefix="panel-", suffix=".log", delete=False)  # noqa: SIM115
    args = procfile_web_args(port)
    if not login:
        assert args[1:4] == ["-m", "worker", "dashboard"], args
        args = [str(Path(sys.executable).with_name("panel")), "serve", *args[4:]]
    proc = subprocess.Popen([*args, *(extra_args or [])], cwd=ROOT, env=env,
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


def log_in(page: Any, base: str, password: str = DASHBOARD_PASSWORD, user: str = "operator") -> None:
    """Log ``page``'s browser context in through panel's form at ``/login`` (the signed
    cookie then opens every page of that context); raises if the form refuses."""
    page.goto(base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise PermissionError(f"the dashboard refused the login ({page.url})")


def logged_in_context(browser: Any, base: str, **context_args: Any) -> Any:
    """A new browser context (own cookies) logged in to the dashboard at ``base``."""
    context = browser.new_context(**context_args)
    page = context.new_page()
    try:
        log_in(page, base)
    finally:
        page.close()
    return context


def stop_panel(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
