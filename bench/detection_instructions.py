"""Detection cost per book update in CPU instructions and cache misses: a repeatable figure.

Wall-clock percentiles (``bench/detection.py``) move by tens of percent between runs on a
shared machine. This script counts instead, with valgrind's callgrind (instructions are
the same for the same code and inputs, whatever else the machine does; cache misses come
from callgrind's cache simulator, so they are repeatable too). It runs itself twice under
callgrind on the same world as ``bench/detection.py`` (same mappings, same random stream
of updates, books built before the updates are applied): once applying no update and
once applying ``UPDATES``; the difference, divided by ``UPDATES``, is the cost of one
update (through the worker's feed, as there, with the feed's hand-over of the events
after it; the wire encoding that ``bench/detection.py`` times on its own line is left
out here). The simulated last-level cache is small (2 MiB by default) so that, as on a
machine shared with others, the scanner's state does not simply stay in it.

Use it to compare two versions of the scanner; the wall-clock goal is still read off
``bench/detection.py``.

    .venv/bin/python bench/detection_instructions.py [PAIRS] [UPDATES]
        [--workload stress|realistic] [--ll-bytes N] [--against REF]
    # defaults 1000 pairs, 3000 updates, stress, 2 MiB: a few minutes on 2 cores

``--against REF`` first counts the same run on version ``REF`` of the code (its own copy
of this script, in a temporary git worktree), then on this checkout, and prints both and
the change. The measured processes run with ``PYTHONHASHSEED=0`` (unless it is set) and without
address-space randomisation (``setarch -R``): string hashes and object addresses decide
dict layouts, so otherwise two runs of the same code differ by a percent or more.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from against import head, no_aslr, run_other
from detection import WORKLOADS, apply, build_world

#: Updates applied in both runs before the counted ones, so that both start from a
#: scanner in its steady state (opportunities open, ladders replaced).
WARM_UPDATES = 2000


def child(workload: str, pairs: int, updates: int, applied: int) -> None:
    """The measured process: build the world, warm up, then apply ``applied`` updates."""
    inbox: list[object] = []
    feed, next_update = build_world(workload, pairs, inbox.append)
    for _ in range(WARM_UPDATES):
        apply(feed, next_update())
        feed.flush_events()
        feed.take_pending()
        inbox.clear()
    work = [next_update() for _ in range(updates)]  # drawn in both runs alike
    gc.collect()
    gc.freeze()
    for n in range(applied):
        apply(feed, work[n])
        work[n] = (0, ())  # the applied books go, as they would in the worker
        # The feed's tasks take the events after the call (not encoded here: this
        # counts the update's own work, and the hand-over).
        feed.flush_events()
        feed.take_pending()
        inbox.clear()


def totals(path: Path) -> dict[str, int]:
    """Event totals from a callgrind output file (its ``events:`` and ``totals:`` lines)."""
    names: list[str] = []
    values: list[int] = []
    for line in path.read_text().splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith(("totals:", "summary:")):
            values = [int(v) for v in line.split()[1:]]
    if not names or len(values) != len(names):
        raise SystemExit(f"{path}: no event totals in callgrind's output")
    return dict(zip(names, values, strict=True))


def measure(args: argparse.Namespace, applied: int, out: Path) -> dict[str, int]:
    cmd: Sequence[str] = [
        *no_aslr(),
        "valgrind",
        "--tool=callgrind",
        "--cache-sim=yes",
        f"--LL={args.ll_bytes},16,64",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        str(args.pairs),
        str(args.updates),
        "--workload",
        args.workload,
        "--child",
        str(applied),
    ]
    env = {**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"valgrind failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return totals(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pairs", nargs="?", type=int, default=1000)
    ap.add_argument("updates", nargs="?", type=int, default=3000)
    ap.add_argument("--workload", choices=list(WORKLOADS), default="stress")
    ap.add_argument("--ll-bytes", type=int, default=2 * 1024 * 1024)
    ap.add_argument("--against", metavar="REF", help="count version REF first, then this checkout")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        child(args.workload, args.pairs, args.updates, args.child)
        return
    if args.pairs < 1 or args.updates < 1:
        raise SystemExit("PAIRS and UPDATES must be at least 1")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package: valgrind)")
    if args.against:
        before = run_other(args.against, "detection_instructions.py", sys.argv[1:])
        print(f"== {args.against}\n{before}", end="", flush=True)
        print(f"== {head()} (this checkout)", flush=True)
        after = count(args)
        print(after)
        old, new = _instructions(before), _instructions(after)
        print(f"change in instructions per update: {new - old:+.0f} ({(new - old) / old:+.1%})")
        return
    print(count(args))


def _instructions(report: str) -> float:
    for line in report.splitlines():
        if "instructions per update:" in line:
            return float(line.rsplit(":", 1)[1])
    raise SystemExit(f"no instruction count in:\n{report}")


def count(args: argparse.Namespace) -> str:
    """Both callgrind runs; the report's lines."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(0, Path(tmp) / "none.out"), (args.updates, Path(tmp) / "all.out")]
        workers = min(2, os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            base, full = pool.map(lambda r: measure(args, *r), runs)
    per = {k: (full[k] - base[k]) / args.updates for k in base}
    ll = per.get("DLmr", 0) + per.get("DLmw", 0)
    return "\n".join(
        [
            f"workload {args.workload}: {args.pairs} pairs, {args.updates} book updates counted "
            f"(callgrind, {args.ll_bytes // 1024} KiB last-level cache)",
            f"  instructions per update: {per['Ir']:.0f}",
            f"  data cache misses per update: first level {per.get('D1mr', 0) + per.get('D1mw', 0):.0f}, "
            f"last level {ll:.1f} (reads {per.get('DLmr', 0):.1f}, writes {per.get('DLmw', 0):.1f})",
        ]
    )


if __name__ == "__main__":
    main()
