"""The live clients against a running paper exchange: order round trips and a watch of the
paper world through the clients' own book streams.

    python bench/paper_clients.py [--seconds 600] [--orders 40] [--seed 1]
                                  [--port P --data-dir DIR]   # an exchange already running

Without ``--port`` it starts ``python -m worker paper-exchange`` on a free port with a temp
data dir (default latency ``EXECUTOR_PAPER_LATENCY_MS`` = 15 ms, no faults), then

1. **round trip**: per venue, ``--orders`` IOC buys of the smallest size the venue accepts
   at the current best ask through ``client.place_order`` (signing, HTTP, matching,
   commit, answer), p50/p95/max in ms;
2. **watch**: ``client.stream_books`` of all three clients (Kalshi and Polymarket
   WebSockets, Polymarket US WebSocket) on every tradable game for ``--seconds``: book
   updates per second per venue, and the arbitrage windows between Kalshi and each
   Polymarket — a window is open while buying both complementary sides of one game costs
   less than $1 per pair including both taker fees (10-contract pair, Kalshi fee rounded
   up per order) — how often they open and how long they stay open.

Games are paired by the paper world's own identity (same seed and epoch), not by the
scanner's matcher: this measures the venues, not the matching.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paper_exchange.world import Game, World
from worker.domain.books import OrderBook
from worker.domain.fees import FeeSchedule
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import OrderAction, OrderIntent, TimeInForce
from worker.domain.ports import BookUpdate
from worker.venues.paper_connect import paper_clients

D = Decimal
PAIR_SIZE = D(10)
FEES = {
    Venue.KALSHI: FeeSchedule.kalshi(),
    Venue.POLYMARKET: FeeSchedule.polymarket(D("0.03")),  # what the paper's markets serve
    Venue.POLYMARKET_US: FeeSchedule.polymarket_us(),
}


def start_exchange(data_dir: Path, seed: int) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "EXECUTOR_DATA_DIR": str(data_dir), "EXECUTOR_SEED": str(seed),
           "EXECUTOR_PAPER_FAULTS": ""}
    proc = subprocess.Popen([sys.executable, "-m", "worker", "paper-exchange", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"127\.0\.0\.1:(\d+)", line)
    if m is None:
        proc.kill()
        raise SystemExit(f"paper exchange did not start: {line!r}")
    return proc, int(m.group(1))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Pair:
    """One way to lock $1 on a game: Kalshi YES of one team + the other venue's other team."""

    game: int
    other: Venue
    kalshi: ContractRef
    leg: ContractRef


@dataclass
class Watch:
    books: dict[ContractRef, OrderBook] = field(default_factory=dict)
    updates: dict[Venue, int] = field(default_factory=lambda: defaultdict(int))
    snapshots: dict[Venue, int] = field(default_factory=lambda: defaultdict(int))
    open_since: dict[int, float] = field(default_factory=dict)  # pair index -> monotonic
    windows: dict[Venue, list[float]] = field(default_factory=lambda: defaultdict(list))
    best_edge: dict[Venue, Decimal] = field(default_factory=dict)


def pair_cost(k: OrderBook, o: OrderBook) -> Decimal | None:
    ka, oa = k.best_ask, o.best_ask
    if ka is None or oa is None:
        return None
    fee_k = FEES[Venue.KALSHI].taker_fee(PAIR_SIZE, ka.price)
    fee_o = FEES[o.contract.venue].taker_fee(PAIR_SIZE, oa.price)
    return ka.price + oa.price + (fee_k + fee_o) / PAIR_SIZE


async def round_trips(clients: tuple[Any, Any, Any], games: list[Game], n: int) -> dict[str, list[float]]:
    kalshi, poly, pmus = clients
    out: dict[str, list[float]] = {}
    for name, client in (("kalshi", kalshi), ("polymarket", poly), ("polymarket_us", pmus)):
        times: list[float] = []
        for i in range(n):
            g = games[i % len(games)]
            if name == "kalshi":
                t = g.kalshi_ticker(i % 2 == 0)
                c = ContractRef(Venue.KALSHI, t, t, OutcomeSide.YES)
                size = D(1)
            elif name == "polymarket":
                c = ContractRef(Venue.POLYMARKET, g.gamma_market_id("moneyline"),
                                g.token_ids("moneyline")[i % 2], OutcomeSide.TOKEN)
                size = D(5)
            else:
                s = g.pmus_winner_slug
                c = ContractRef(Venue.POLYMARKET_US, s, s, OutcomeSide.LONG if i % 2 else OutcomeSide.SHORT)
                size = D(1)
            book = await client.get_book(c)
            if book.best_ask is None:
                continue
            it = OrderIntent(c, OrderAction.BUY, book.best_ask.price, size, TimeInForce.IOC,
                             f"bench-{name}-{i}-{time.time_ns()}")
            t0 = time.perf_counter()
            await client.place_order(it)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = times
    return out


async def merge(*streams: AsyncIterator[BookUpdate]) -> AsyncIterator[BookUpdate]:
    queue: asyncio.Queue[BookUpdate] = asyncio.Queue()

    async def pump(s: AsyncIterator[BookUpdate]) -> None:
        async for u in s:
            await queue.put(u)

    tasks = [asyncio.create_task(pump(s)) for s in streams]
    try:
        while True:
            yield await queue.get()
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def watch(clients: tuple[Any, Any, Any], games: list[Game], seconds: float) -> Watch:
    kalshi, poly, pmus = clients
    pairs: list[Pair] = []
    k_refs, p_refs, u_refs = [], [], []
    for g in games:
        kh, ka = (ContractRef(Venue.KALSHI, g.kalshi_ticker(h), g.kalshi_ticker(h), OutcomeSide.YES)
                  for h in (True, False))
        k_refs += [kh, ka]
        if "polymarket" in g.venues:
            away_tok, home_tok = g.token_ids("moneyline")
            mid = g.gamma_market_id("moneyline")
            pa = ContractRef(Venue.POLYMARKET, mid, away_tok, OutcomeSide.TOKEN)
            ph = ContractRef(Venue.POLYMARKET, mid, home_tok, OutcomeSide.TOKEN)
            p_refs += [pa, ph]
            pairs += [Pair(g.index, Venue.POLYMARKET, kh, pa), Pair(g.index, Venue.POLYMARKET, ka, ph)]
        if "polymarket_us" in g.venues:
            s = g.pmus_winner_slug
            home_side = OutcomeSide.LONG if g.pmus_long_is_home else OutcomeSide.SHORT
            away_side = OutcomeSide.SHORT if g.pmus_long_is_home else OutcomeSide.LONG
            uh = ContractRef(Venue.POLYMARKET_US, s, s, home_side)
            ua = ContractRef(Venue.POLYMARKET_US, s, s, away_side)
            u_refs += [uh, ua]
            pairs += [Pair(g.index, Venue.POLYMARKET_US, kh, ua), Pair(g.index, Venue.POLYMARKET_US, ka, uh)]
    by_ref: dict[tuple[Venue, str, OutcomeSide], list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        for ref in (p.kalshi, p.leg):
            by_ref[(ref.venue, ref.contract_id, ref.side)].append(i)
    w = Watch()
    deadline = time.monotonic() + seconds
    stream = merge(kalshi.stream_books(k_refs), poly.stream_books(p_refs), pmus.stream_books(u_refs))
    keyed: dict[tuple[Venue, str, OutcomeSide], OrderBook] = {}
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                u = await asyncio.wait_for(anext(stream), timeout=left)
            except TimeoutError:
                break
            c = u.book.contract
            # One Kalshi message yields the YES and the NO book: count it once.
            if not (c.venue is Venue.KALSHI and c.side is OutcomeSide.NO):
                w.updates[c.venue] += 1
                w.snapshots[c.venue] += int(u.snapshot)
            key = (c.venue, c.contract_id, c.side)
            keyed[key] = u.book
            now = time.monotonic()
            for i in by_ref.get(key, []):
                p = pairs[i]
                kb = keyed.get((Venue.KALSHI, p.kalshi.contract_id, p.kalshi.side))
                ob = keyed.get((p.leg.venue, p.leg.contract_id, p.leg.side))
                cost = None if kb is None or ob is None else pair_cost(kb, ob)
                is_open = cost is not None and cost < 1
                if is_open and i not in w.open_since:
                    w.open_since[i] = now
                elif not is_open and i in w.open_since:
                    w.windows[p.other].append(now - w.open_since.pop(i))
                if cost is not None:
                    edge = 1 - cost
                    w.best_edge[p.other] = max(w.best_edge.get(p.other, edge), edge)
    finally:
        await stream.aclose()
    return w


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--orders", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--port", type=int, default=None)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    proc = None
    tmp = None
    if args.port is None:
        tmp = tempfile.TemporaryDirectory()
        data_dir = Path(tmp.name)
        proc, port = start_exchange(data_dir, args.seed)
    else:
        port, data_dir = args.port, args.data_dir
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(timeout=10) as http:
            health = (await http.get(f"{base}/paper/health")).json()
        world = World(int(health["seed"]), datetime.fromisoformat(health["epoch"].replace("Z", "+00:00")))
        now = datetime.now(UTC)
        games = [g for g in world.games(now) if g.tradable(now) and "kalshi" in g.venues and len(g.venues) >= 2]
        full = [g for g in games if len(g.venues) == 3]
        clients = paper_clients(data_dir, port)
        print(f"paper exchange :{port} seed {health['seed']}; {len(games)} tradable games on Kalshi "
              f"and a Polymarket ({len(full)} on all three)")
        rt = await round_trips(clients, full, args.orders)
        print("\norder round trip through the live clients (IOC at the best ask, ms):")
        for name, times in rt.items():
            print(f"  {name:14s} n={len(times):3d}  p50 {statistics.median(times):6.1f}  "
                  f"p95 {pct(times, 0.95):6.1f}  max {max(times):6.1f}")
        t0 = time.monotonic()
        w = await watch(clients, games, args.seconds)
        elapsed = time.monotonic() - t0
        print(f"\nwatch through the clients' book streams for {elapsed:.0f} s:")
        counted = {Venue.KALSHI: 2 * len(games), Venue.POLYMARKET: 2 * sum("polymarket" in g.venues for g in games),
                   Venue.POLYMARKET_US: sum("polymarket_us" in g.venues for g in games)}
        for v in (Venue.KALSHI, Venue.POLYMARKET, Venue.POLYMARKET_US):
            print(f"  {v.value:14s} {w.updates[v] / elapsed:7.1f} book updates/s "
                  f"({w.updates[v]} total, {w.snapshots[v]} full snapshots; {counted[v]} books)")
        for v in (Venue.POLYMARKET, Venue.POLYMARKET_US):
            durs = w.windows[v]
            if durs:
                print(f"  Kalshi x {v.value:13s} {len(durs)} windows closed: one every "
                      f"{elapsed / len(durs):5.1f} s, open {statistics.mean(durs):4.1f} s on average "
                      f"(p50 {statistics.median(durs):4.1f}, max {max(durs):4.1f}); best edge "
                      f"{w.best_edge.get(v, D(0)):.4f} $/pair")
            else:
                print(f"  Kalshi x {v.value:13s} no window closed")
        print(f"  windows still open at the end: {len(w.open_since)}")
        for c in clients:
            await c.aclose()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
