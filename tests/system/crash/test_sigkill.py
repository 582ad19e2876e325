"""The worker as a subprocess on a faulty paper exchange, killed with SIGKILL and restarted.

Each cycle: ``python -m worker run`` trades until it is killed — by itself at a named
crash point (``EXECUTOR_CRASH_AT``) or by the test at a random moment — then a restarted
worker reconciles and runs briefly, and the test checks, from the exchange's own store
and our database:

* every order on the exchange is known to our database (by client id or order id);
* no leg was sent twice (one exchange order per leg), and each leg's recorded fill is
  the exchange's;
* no attempt is left in flight after the restart, and every open position's legs are
  filled legs of its attempt (no untracked leg);
* every trade row committed before the kill is still there.

``EXECUTOR_CRASH_POINTS=a,b`` limits the named points. By default (to keep the suite short) one cycle at ``after_leg1_sent`` and one random kill
run; ``EXECUTOR_CRASH_NAMED_CYCLES=5 EXECUTOR_CRASH_RANDOM_CYCLES=20`` runs the issue's
full plan (every named point five times, twenty random kills).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.processes import free_port
from worker.engine.executor import CRASH_POINTS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

NAMED = int(os.environ.get("EXECUTOR_CRASH_NAMED_CYCLES", "0"))
RANDOM = int(os.environ.get("EXECUTOR_CRASH_RANDOM_CYCLES", "1"))
FAULTS = "reject=0.05,timeout_filled=0.04,timeout_unfilled=0.04,slip=0.1,hang=1"
# Unwinds need a failed leg 2: the world of the during_unwind cycles rejects more often.
UNWIND_FAULTS = "reject=0.35,timeout_filled=0.04,timeout_unfilled=0.04,slip=0.1,hang=1"
CYCLES_PER_WORLD = 5  # a fresh exchange + database every few cycles so games stay free
REPO = Path(__file__).resolve().parents[3]



class World:
    """One paper exchange process and one worker database in a private data dir."""

    def __init__(self, root: Path, seed: int, faults: str = FAULTS) -> None:
        self.root = root
        self.seed = seed
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))},
            "EXECUTOR_DATA_DIR": str(root),
            "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'executor.db'}",
            "EXECUTOR_PAPER_PORT": str(self.port),
            "EXECUTOR_PAPER_FAULTS": faults,
            "EXECUTOR_SEED": str(seed),
            "EXECUTOR_PAPER_LATENCY_MS": "5",
            # The paper world's edges often exceed the suspicious-ROI limit's default (5 %),
            # above which only confirmed games trade; trading is under test here.
            "EXECUTOR_SUSPICIOUS_ROI": "1000",
        }
        log = open(root / "exchange.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.exchange = subprocess.Popen(
            [sys.executable, "-m", "worker", "paper-exchange"], env=self.env, stdout=log, stderr=log, cwd=REPO
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("paper exchange did not start")

    def worker(self, duration: float, crash_at: str | None = None) -> subprocess.Popen[bytes]:
        env = dict(self.env)
        if crash_at:
            env["EXECUTOR_CRASH_AT"] = crash_at
        err = open(self.root / "worker.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--duration", str(duration)],
            env=env, stdout=subprocess.PIPE, stderr=err, cwd=REPO,
        )

    def close(self) -> None:
        self.exchange.send_signal(signal.SIGTERM)
        try:
            self.exchange.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.exchange.kill()

    # -- reading both stores -------------------------------------------------------------
    def exchange_orders(self) -> list[sqlite3.Row]:
        (store,) = list((self.root / "paper").glob("exchange-seed*.db"))
        con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            return con.execute("SELECT venue, order_id, client_order_id, filled FROM orders").fetchall()
        finally:
            con.close()

    def db(self) -> sqlite3.Connection:
        con = sqlite3.connect(f"file:{self.root / 'executor.db'}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        return con


def micros(value: int | None) -> Decimal:
    return Decimal(value or 0) / Decimal(1_000_000)


def check_invariants(world: World, rows_before: set[str]) -> dict[str, int]:
    orders = world.exchange_orders()
    con = world.db()
    try:
        legs = con.execute(
            "SELECT id, attempt_id, role, venue, client_order_id, venue_order_id, filled_quantity, state FROM attempt_legs"
        ).fetchall()
        attempts = con.execute("SELECT id, state FROM arbitrage_attempts").fetchall()
        positions = con.execute("SELECT id, attempt_id, kalshi_contracts, poly_contracts FROM executor_positions WHERE status='open'").fetchall()
        rows = {r["dedup_key"] for r in con.execute("SELECT dedup_key FROM executor_trades")}
    finally:
        con.close()
    by_client = {(leg["venue"], leg["client_order_id"]): leg for leg in legs}
    by_order = {(leg["venue"], leg["venue_order_id"]): leg for leg in legs if leg["venue_order_id"]}
    matched: dict[str, int] = {}
    for o in orders:
        leg = by_client.get((o["venue"], o["client_order_id"])) or by_order.get((o["venue"], o["order_id"]))
        assert leg is not None, f"exchange order {o['venue']} {o['order_id']} is unknown to the database"
        matched[leg["id"]] = matched.get(leg["id"], 0) + 1
        assert micros(leg["filled_quantity"]) == Decimal(o["filled"]), (leg["id"], leg["state"], o["filled"])
    assert all(n == 1 for n in matched.values()), f"a leg was sent twice: {matched}"
    in_flight = [a["id"] for a in attempts if a["state"] in ("PLANNED", "LEG1_SENT", "LEG1_FILLED", "LEG2_SENT", "UNWINDING")]
    assert not in_flight, f"attempts left in flight after restart: {in_flight}"
    legs_by_attempt: dict[str, dict[str, Decimal]] = {}
    for leg in legs:
        legs_by_attempt.setdefault(leg["attempt_id"], {})[leg["role"]] = micros(leg["filled_quantity"])
    for p in positions:
        filled = legs_by_attempt.get(p["attempt_id"], {})
        assert filled.get("leg1", Decimal(0)) >= p["kalshi_contracts"] and filled.get("leg2", Decimal(0)) >= p["kalshi_contracts"]
        assert p["kalshi_contracts"] == p["poly_contracts"]
    assert rows_before <= rows, "a committed trade row disappeared"
    return {"orders": len(orders), "attempts": len(attempts), "positions": len(positions)}


def trade_keys(world: World) -> set[str]:
    if not (world.root / "executor.db").exists():
        return set()
    con = world.db()
    try:
        return {r["dedup_key"] for r in con.execute("SELECT dedup_key FROM executor_trades")}
    except sqlite3.OperationalError:
        return set()
    finally:
        con.close()


def plan() -> list[str | None]:
    cycles: list[str | None] = []
    only = [p for p in os.environ.get("EXECUTOR_CRASH_POINTS", "").split(",") if p]
    for point in only or CRASH_POINTS:
        cycles.extend([point] * NAMED)
    if not NAMED:
        cycles.append("after_leg1_sent")
    cycles.extend([None] * RANDOM)
    return cycles


@pytest.fixture
def worlds(tmp_path: Path) -> Iterator[list[World]]:
    made: list[World] = []
    yield made
    for w in made:
        w.close()


def test_sigkill_at_crash_points_and_random_moments_loses_and_duplicates_nothing(
    tmp_path: Path, worlds: list[World]
) -> None:
    rng = random.Random(7)
    previous: str | None = "start"
    report = {"cycles": 0, "killed": 0, "orders": 0}
    world: World | None = None
    cycles_here = 0
    for i, point in enumerate(plan()):
        # A fresh exchange + database per named point, and every few cycles, so that
        # games stay free of open positions and attempts keep happening.
        if world is None or cycles_here >= CYCLES_PER_WORLD or (point != previous):
            if world is not None:
                world.close()
            faults = UNWIND_FAULTS if point == "during_unwind" else FAULTS
            world = World(tmp_path / f"w{i}", seed=11 + i, faults=faults)
            worlds.append(world)
            cycles_here = 0
        previous = point
        cycles_here += 1
        if point is not None:
            proc = world.worker(duration=40, crash_at=point)
            rc = proc.wait(timeout=90)
            # It dies at the point, unless no opportunity reached it in 40 s (then rc 0).
            assert rc in (-signal.SIGKILL, 0), rc
        else:
            proc = world.worker(duration=60)
            time.sleep(rng.uniform(2.0, 9.0))
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait(timeout=30)
        report["killed"] += rc == -signal.SIGKILL
        rows_before = trade_keys(world)
        again = world.worker(duration=2)
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, out
        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert summary["clean_shutdown"] is True
        counts = check_invariants(world, rows_before)
        report["cycles"] += 1
        print(f"cycle {i} {point or 'random'}: rc {rc}, {counts}", flush=True)
        report["orders"] += counts["orders"]
    print("SIGKILL cycles:", report)
    assert report["killed"] >= len(plan()) // 2
