"""Recording overhead: detection time per book update with the recorder off and on.

The world and updates of ``bench/detection.py`` (its ``build_world`` and ``apply``: the
worker's own entry point, :meth:`OpportunityPipeline.on_book`), in rounds that alternate
"off" and "on" (off-on, then on-off, …). In an "on" round a real :class:`~worker.replay.writer.RecordWriter` runs
(its thread converting to Arrow and writing zstd Parquet parts into a temporary
directory), and every book is first offered to it as the recording venue does in the
worker (``RecordingVenue.stream_books`` offers each update, then yields it): the timed
region is the offer plus ``on_book``. The writer's thread competes with the timed loop
for the interpreter, as it does with the event loop in the worker.

Two paces (``--rate``): updates back to back (the writer busy all the time: the worst
case), and paced at a rate per second close to the paper world's (~900 book updates/s
recorded across the three venues), with the loop sleeping between updates.

    .venv/bin/python bench/recording_overhead.py [--pairs 5000] [--updates 20000]
        [--rounds 3] [--rate 0 --rate 2000] [--workload realistic]

Prints p50/p99 per mode and round, the pooled p50/p99 of each mode, and the p99 ratio
on/off; the issue's bound is a ratio within 1.05.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from detection import Update, apply, build_world

from worker.domain.books import OrderBook
from worker.domain.mapping import OpportunityEvent
from worker.domain.ports import BookUpdate
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.replay.writer import RecordWriter


def pct(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def one_round(
    feed: OpportunityPipeline, next_update: Callable[[], Update], updates: int, writer: RecordWriter | None,
    rate: float,
) -> list[float]:
    perf = time.perf_counter_ns
    gap_ns = int(1e9 / rate) if rate > 0 else 0
    times: list[float] = []
    offer = writer.offer_update if writer is not None else None
    next_at = perf()
    for _ in range(updates):
        kind, payload = next_update()
        books: tuple[OrderBook, ...] = payload if kind == 0 else (payload,)  # type: ignore[assignment]
        msgs = [(b.contract.venue, BookUpdate(b, False)) for b in books]  # what the client yields
        if gap_ns:
            next_at += gap_ns
            while (wait := next_at - perf()) > 0:
                time.sleep(wait / 1e9)
        t0 = perf()
        if offer is not None:
            for venue, msg in msgs:
                offer(venue, msg)
                feed.on_book(msg.book)
        else:
            for _, msg in msgs:
                feed.on_book(msg.book)
        t1 = perf()
        times.append((t1 - t0) / 1000)
        feed.flush_events()
        feed.take_pending()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5000)
    ap.add_argument("--updates", type=int, default=20000, help="updates per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per mode (alternating off, on)")
    ap.add_argument("--rate", type=float, action="append", help="updates/s (0: back to back); repeatable")
    ap.add_argument("--workload", default="realistic", choices=["realistic", "stress"])
    args = ap.parse_args()
    rates = args.rate or [0.0, 2000.0]

    def on_event(_: OpportunityEvent) -> None:
        return None

    feed, next_update = build_world(args.workload, args.pairs, on_event)
    feed.flush_events()
    feed.take_pending()
    apply(feed, next_update())
    gc.collect()
    gc.freeze()  # as the worker does after start-up
    with tempfile.TemporaryDirectory(prefix="recording-bench-") as tmp:
        for rate in rates:
            pooled: dict[str, list[float]] = {"off": [], "on": []}
            pace = "back to back" if rate <= 0 else f"{rate:.0f} updates/s"
            print(f"== {args.workload}, {args.pairs} pairs, {args.updates} updates per round, {pace}", flush=True)
            for r in range(args.rounds):
                for mode in ("off", "on") if r % 2 == 0 else ("on", "off"):  # ABBA: no order bias
                    writer = None
                    if mode == "on":
                        writer = RecordWriter(Path(tmp) / f"rate{rate:.0f}-round{r}", 10**10)
                        writer.start()
                    times = one_round(feed, next_update, args.updates, writer, rate)
                    extra = ""
                    if writer is not None:
                        writer.close()
                        extra = f"  (recorded {sum(writer.rows.values())} books, dropped {writer.dropped}, " \
                                f"{writer.bytes_used() / 1e6:.1f} MB)"
                    times.sort()
                    pooled[mode] += times
                    print(f"  round {r + 1} {mode:>3}: p50={pct(times, 0.5):.1f} us  p99={pct(times, 0.99):.1f} us"
                          f"{extra}", flush=True)
            off, on = sorted(pooled["off"]), sorted(pooled["on"])
            print(f"  all off: p50={pct(off, 0.5):.1f} us  p99={pct(off, 0.99):.1f} us", flush=True)
            print(f"  all on:  p50={pct(on, 0.5):.1f} us  p99={pct(on, 0.99):.1f} us", flush=True)
            print(f"  p99 ratio on/off: {pct(on, 0.99) / pct(off, 0.99):.3f}  "
                  f"(p50 ratio {pct(on, 0.5) / pct(off, 0.5):.3f})", flush=True)
    gc.unfreeze()


if __name__ == "__main__":
    main()
