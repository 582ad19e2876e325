"""Failover time of the single-trader lease: SIGKILL the leader, time the standby.

    python bench/lease_failover.py [--runs 5] [--ttl 3] [--postgres URL]

Starts one paper exchange and two ``python -m worker`` processes (different data dirs,
ports; one database: a SQLite file, or a fresh PostgreSQL database with --postgres or
EXECUTOR_TEST_POSTGRES_URL, dropped afterwards), enables trading, waits for the leader's
first order, then SIGKILLs the leader and measures, per run:

* ``leader``: kill → the standby's ``/api/status`` says ``"lease": "leader"``;
* ``trading``: kill → its log says it reconciled and trades;
* ``order``: kill → the first exchange order sent by it (depends on when the paper world
  next offers an arbitrage; not a property of the lease).

The killed worker is restarted (same data dir) as the next run's standby. Prints p50/max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import Database
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.support.waiting import wait_until
from tests.system.scale.procs import PaperExchange, WorkerProc, attributed_orders


async def one_backend(url: str, runs: int, ttl: int, root: Path) -> dict[str, list[float]]:
    exchange = PaperExchange(root / "exchange")
    workers = [WorkerProc.make(f"w{i}", root, url, exchange, ttl) for i in (1, 2)]
    db = Database(url)
    out: dict[str, list[float]] = {"leader": [], "trading": [], "order": []}
    try:
        await exchange.ready()
        workers[0].start()
        await workers[0].wait_lease("leader")
        workers[1].start()
        await wait_until(lambda: "standing by" in workers[1].log(), 60, "the standby")
        await workers[0].action({"action": "toggle_enabled", "value": True})
        leader, standby = workers

        async def sent(w: WorkerProc, n: int = 1) -> bool:
            return sum(s == w.worker_id for _, s in await attributed_orders(exchange, db)) >= n

        for run in range(runs):
            before = sum(s == standby.worker_id for _, s in await attributed_orders(exchange, db))
            await wait_until(lambda w=leader: sent(w), 120, "the leader's first order", every=0.2)
            trading_lines = standby.log().count("held: trading")
            assert leader.proc is not None
            t0 = time.monotonic()
            leader.proc.kill()
            await standby.wait_lease("leader", within_s=60)
            out["leader"].append(time.monotonic() - t0)
            await wait_until(lambda w=standby, n=trading_lines: w.log().count("held: trading") > n, 60, "trading", every=0.01)
            out["trading"].append(time.monotonic() - t0)
            await wait_until(lambda w=standby, n=before + 1: sent(w, n), 120, "the new leader's first order", every=0.1)
            out["order"].append(time.monotonic() - t0)
            print(f"  run {run + 1}: leader {out['leader'][-1]:.2f} s, trading {out['trading'][-1]:.2f} s, "
                  f"first order {out['order'][-1]:.2f} s", flush=True)
            standing = leader.log().count("standing by")
            leader.start()  # same data dir, same worker id: the next run's standby
            await wait_until(lambda w=leader, n=standing: w.log().count("standing by") > n, 60, "the restarted standby")
            leader, standby = standby, leader
        return out
    finally:
        for w in workers:
            if w.proc is not None:
                w.proc.kill()
        exchange.kill()
        await db.dispose()


def report(name: str, ttl: int, figures: dict[str, list[float]]) -> None:
    for key, values in figures.items():
        print(f"{name} ttl={ttl}s {key:8s} p50 {statistics.median(values):.2f} s  max {max(values):.2f} s  (n={len(values)})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ttl", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("EXECUTOR_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lease-failover-") as tmp:
        root = Path(tmp)
        print(f"sqlite (one file shared by both workers), {args.runs} runs", flush=True)
        report("sqlite", args.ttl, await one_backend(f"sqlite+aiosqlite:///{root / 'executor.db'}", args.runs, args.ttl, root / "sqlite"))
        if args.postgres:
            os.environ["EXECUTOR_TEST_POSTGRES_URL"] = args.postgres  # create/drop use it
            import tests.conftest as tc

            tc.POSTGRES_URL = args.postgres
            url = await create_postgres_database()
            try:
                print(f"postgresql, {args.runs} runs", flush=True)
                report("postgresql", args.ttl, await one_backend(url, args.runs, args.ttl, root / "pg"))
            finally:
                await drop_postgres_database(url)


if __name__ == "__main__":
    asyncio.run(main())
