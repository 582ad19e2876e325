"""Processes for the scale tests: a paper exchange, workers, reads of both stores.

Everything runs on 127.0.0.1 with ports picked free at start; every process writes its
log to a file in the test's directory (read by the assertions and kept for debugging).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import websockets

from db.engine import Database
from db.tables import arbitrage_attempts, attempt_legs, executor_lease
from tests.support.processes import free_port
from tests.support.waiting import wait_port, wait_until

REPO = Path(__file__).resolve().parents[3]
TOKEN = "scale-test-token-0123456789"



def base_env(**extra: str) -> dict[str, str]:
    """The process environment without any EXECUTOR_/venue variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))}
    # The paper world's edges often exceed the suspicious-ROI limit's default (5 %), above
    # which only confirmed games trade; trading is under test here, the limit elsewhere.
    env["EXECUTOR_SUSPICIOUS_ROI"] = "1000"
    env.update(extra)
    return env


class Proc:
    """A ``python -m worker …`` child with its log in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "worker", *args], env=env, stdout=out, stderr=out, cwd=REPO
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    async def terminate(self, within_s: float = 45) -> int:
        """SIGTERM and wait for the exit code (without blocking the loop)."""
        self.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + within_s
        while self.popen.poll() is None:
            if time.monotonic() > deadline:
                self.popen.kill()
                raise AssertionError(f"{self.log_path.name}: no exit {within_s:.0f} s after SIGTERM")
            await asyncio.sleep(0.05)
        return int(self.popen.returncode)


class PaperExchange(Proc):
    """``python -m worker paper-exchange`` in its own data dir (its credentials live there)."""

    def __init__(self, root: Path, seed: int = 3, faults: str = "") -> None:
        self.root = root
        self.port = free_port()
        self.env = base_env(
            EXECUTOR_DATA_DIR=str(root),
            EXECUTOR_PAPER_PORT=str(self.port),
            EXECUTOR_SEED=str(seed),
            EXECUTOR_PAPER_LATENCY_MS="5",
            EXECUTOR_PAPER_FAULTS=faults,
        )
        super().__init__(["paper-exchange"], self.env, root / "exchange.log")

    async def ready(self) -> None:
        await wait_port(self.port)
        await wait_until(lambda: (self.root / "paper" / "credentials.json").exists(), 30, "paper credentials")

    def give_credentials(self, data_dir: Path) -> None:
        """Two workers pointed at one exchange share its accounts: copy what it issued."""
        (data_dir / "paper").mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.root / "paper" / "credentials.json", data_dir / "paper" / "credentials.json")

    def orders(self) -> list[dict[str, Any]]:
        """Every order the exchange holds (all venues), with its creation time."""
        (store,) = list((self.root / "paper").glob("exchange-seed*.db"))
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            rows = con.execute("SELECT venue, order_id, client_order_id, created, filled FROM orders").fetchall()
        finally:
            con.close()
        return [
            {**dict(r), "created": datetime.fromisoformat(str(r["created"]).replace("Z", "+00:00"))} for r in rows
        ]


@dataclass
class WorkerProc:
    """``python -m worker`` (the Procfile's ``worker:``) with its own data dir and port."""

    name: str
    data_dir: Path
    port: int
    env: dict[str, str]
    exchange: PaperExchange
    proc: Proc | None = None

    @classmethod
    def make(
        cls, name: str, root: Path, database_url: str, exchange: PaperExchange, ttl_s: int, data_dir: Path | None = None
    ) -> WorkerProc:
        """A worker with its own data directory under ``root``, or ``data_dir`` (another
        worker's: two processes of one worker id, each with its own port and log)."""
        data_dir = data_dir or root / name
        port = free_port()
        env = base_env(
            EXECUTOR_DATA_DIR=str(data_dir),
            EXECUTOR_DATABASE_URL=database_url,
            EXECUTOR_PORT=str(port),
            EXECUTOR_PAPER_PORT=str(exchange.port),
            EXECUTOR_TOKEN=TOKEN,
            EXECUTOR_LEASE_TTL_S=str(ttl_s),
        )
        return cls(name, data_dir, port, env, exchange)

    def start(self) -> None:
        self.exchange.give_credentials(self.data_dir)
        self.proc = Proc([], self.env, self.data_dir / f"{self.name}.log")

    @property
    def worker_id(self) -> str:
        return (self.data_dir / "worker-id").read_text().strip()

    def holds(self, holder: str | None) -> bool:
        """Is ``holder`` (a lease holder or a leg's sender) a process of this worker's?"""
        return holder is not None and holder.split("/", 1)[0] == self.worker_id

    def log(self) -> str:
        return self.proc.log() if self.proc is not None else ""

    async def status(self) -> dict[str, Any] | None:
        """``/api/status``, or None while the worker is not answering."""
        try:
            async with httpx.AsyncClient(timeout=2.0) as http:
                r = await http.get(
                    f"http://127.0.0.1:{self.port}/api/status", headers={"Authorization": f"Bearer {TOKEN}"}
                )
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    async def lease(self) -> str | None:
        status = await self.status()
        return None if status is None else status.get("lease")

    async def wait_lease(self, role: str, within_s: float = 60) -> None:
        async def is_role() -> bool:
            return await self.lease() == role

        await wait_until(is_role, within_s, f"{self.name}'s /api/status lease == {role!r}")

    async def action(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one client action on /ws/executor; returns the ``ack``."""
        reply = await self.try_action(message)
        assert reply["type"] == "ack", reply
        return reply

    async def try_action(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send one client action on /ws/executor; returns its ``ack`` or ``error``."""
        async with websockets.connect(
            f"ws://127.0.0.1:{self.port}/ws/executor", additional_headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:
            await asyncio.wait_for(ws.recv(), 10)  # init
            await ws.send(json.dumps({**message, "id": "scale"}))
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if reply.get("type") in ("ack", "error"):
                    return dict(reply)


async def lead_then_stand_by(leader: WorkerProc, standby: WorkerProc) -> None:
    """Start ``leader`` until it holds the lease, then ``standby`` until it has found it
    held (its log says it stands by)."""
    leader.start()
    await leader.wait_lease("leader")
    standby.start()
    await wait_until(lambda: "standing by" in standby.log(), 60, f"{standby.name}'s log to say it stands by")


async def stop_all(workers: tuple[WorkerProc, ...], exchange: PaperExchange, db: Database | None = None) -> None:
    """Kill what a test started (a test's ``finally``)."""
    for w in workers:
        if w.proc is not None:
            w.proc.kill()
    exchange.kill()
    if db is not None:
        await db.dispose()


# -- reading our database ------------------------------------------------------------------


async def lease_row(db: Database) -> dict[str, Any] | None:
    async with db.read() as conn:
        row = (await conn.execute(sa.select(executor_lease))).first()
    return None if row is None else dict(row._mapping)


async def legs_by_sender(db: Database) -> dict[tuple[str, str], tuple[str, str | None]]:
    """Every leg's ``(venue, client id)`` and ``(venue, venue order id)`` → (leg id, sender)."""
    async with db.read() as conn:
        legs = (await conn.execute(sa.select(attempt_legs))).all()
        attempts = (await conn.execute(sa.select(arbitrage_attempts.c.id, arbitrage_attempts.c.details))).all()
    sent_by: dict[str, str] = {}
    for a in attempts:
        details = a.details if isinstance(a.details, dict) else json.loads(a.details or "{}")
        sent_by.update((details or {}).get("sent_by") or {})
    out: dict[tuple[str, str], tuple[str, str | None]] = {}
    for leg in legs:
        who = (leg.id, sent_by.get(leg.id))
        out[(leg.venue, leg.client_order_id)] = who
        if leg.venue_order_id:
            out[(leg.venue, leg.venue_order_id)] = who
    return out


async def attributed_orders(exchange: PaperExchange, db: Database) -> list[tuple[datetime, str]]:
    """Each exchange order as (created, sending worker id), oldest first.

    Fails if the exchange holds an order our database does not know, or one whose leg
    does not say who sent it.
    """
    legs = await legs_by_sender(db)
    out = []
    for order in exchange.orders():
        found = legs.get((order["venue"], order["client_order_id"] or "")) or legs.get(
            (order["venue"], order["order_id"])
        )
        assert found is not None, f"exchange order {order['venue']} {order['order_id']} unknown to the database"
        leg_id, sender = found
        assert sender is not None, f"leg {leg_id} does not record the worker that sent it"
        # The sender is a process of a worker ("<worker id>/<nonce>"): its worker's id.
        out.append((order["created"], sender.split("/", 1)[0]))
    return sorted(out)
