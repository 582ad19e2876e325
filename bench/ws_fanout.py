"""Fan-out benchmark: N WebSocket clients receiving R updates/s from the worker's server.

    python bench/ws_fanout.py [--clients 100] [--rate 10] [--seconds 10]

Starts a real worker server in-process (temporary SQLite database, no venues), connects
the clients over real sockets, publishes ``trade_event`` updates on the event bus at the
given rate with the publish time inside (their ``trade_id`` is ``"{n}:{perf_counter}"``),
and prints delivery latency p50/p99 and the number of messages that did not arrive
(dropped) or clients that were disconnected.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.engine import Database
from db.migrate import migrate
from worker.bootstrap import build_worker
from worker.config import load_config
from worker.domain.events import TradeEvent
from worker.domain.tradelog import TradeStatus

TOKEN = "bench-token-0123456789abcdef"


def stamped_trade(n: int) -> TradeEvent:
    """The ``n``-th update, its send time (``perf_counter``) in its ``trade_id``."""
    # perf_counter is a float timestamp for measuring, never money.
    return TradeEvent("LAL vs BOS", TradeStatus.SUCCESS, datetime.now(UTC), trade_id=f"{n}:{time.perf_counter()!r}")


def sent_at(data: dict[str, object]) -> float:
    """The send time :func:`stamped_trade` put in a ``trade_event``'s ``trade_id``."""
    return float(str(data["trade_id"]).split(":", 1)[1])


async def run(clients: int, rate: float, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            {
                "EXECUTOR_DATA_DIR": tmp,
                "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
                "EXECUTOR_TOKEN": TOKEN,
                "EXECUTOR_PAPER_PORT": "1",
            }
        )
        db = Database(config.database_url)
        await migrate(db, config.mode)
        worker = build_worker(config, db=db)
        port = await worker.start(port=0)
        total = int(rate * seconds)
        latencies: list[float] = []
        received = [0] * clients
        closed_early = 0

        async def client(i: int, ready: asyncio.Event) -> None:
            nonlocal closed_early
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/executor",
                additional_headers={"Authorization": f"Bearer {TOKEN}"},
                max_size=2**20,
            ) as ws:
                await ws.recv()  # init
                await ws.recv()  # opportunities_snapshot
                ready.set()
                try:
                    while received[i] < total:
                        msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        if msg["type"] == "trade_event":
                            latencies.append(time.perf_counter() - sent_at(msg["data"]))
                            received[i] += 1
                except (websockets.ConnectionClosed, TimeoutError):
                    closed_early += 1

        readies = [asyncio.Event() for _ in range(clients)]
        tasks = [asyncio.create_task(client(i, readies[i])) for i in range(clients)]
        await asyncio.gather(*(r.wait() for r in readies))
        interval = 1.0 / rate
        start = time.perf_counter()
        for n in range(total):
            target = start + n * interval
            await asyncio.sleep(max(0.0, target - time.perf_counter()))
            worker.bus.publish(stamped_trade(n))
        await asyncio.gather(*tasks)
        await worker.stop()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    expected = clients * total
    return {
        "clients": clients,
        "updates_per_s": rate,
        "seconds": seconds,
        "delivered": len(latencies),
        "expected": expected,
        "dropped": expected - len(latencies),
        "disconnected": closed_early,
        "latency_ms_p50": round(pct(0.50), 2),
        "latency_ms_p99": round(pct(0.99), 2),
        "latency_ms_max": round(latencies[-1] * 1000, 2) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(run(args.clients, args.rate, args.seconds))
    print(json.dumps(result))
    return 0 if result["dropped"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
