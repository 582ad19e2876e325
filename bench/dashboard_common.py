"""Shared pieces of the dashboard benchmarks (not a benchmark itself).

Each benchmark runs the real worker server (``tests/dashboard/live.py``: built by
``worker.bootstrap`` on a fresh SQLite database, events published on its real bus), the
Procfile's ``panel serve`` command, and system Chromium.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.dashboard.live import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    WorkerThread,
    logged_in_context,
    start_panel,
    stop_panel,
)
from worker.domain.events import TradeEvent  # noqa: E402
from worker.domain.tradelog import TradeStatus  # noqa: E402

# Finds elements through every open shadow root (Panel renders each component in one).
DEEP_JS = """
window.__deepAll = (sel) => {
  const out = [];
  const walk = (root) => {
    root.querySelectorAll(sel).forEach(e => out.push(e));
    root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
  };
  walk(document);
  return out;
};
"""

# The trade log of /executor: a keyed list, one element per row (``data-key``: the row id).
TRADES_TABLE = ".trade-log"

# Stamps (Date.now()) the moment each trade row first appears in the trade log.
WATCH_TRADES_JS = DEEP_JS + f"""
window.__seen = {{}};
const log = window.__deepAll('{TRADES_TABLE}')[0];
const root = log.getRootNode();
const stamp = () => {{
  const now = Date.now();
  root.querySelectorAll('{TRADES_TABLE} > [data-key]').forEach(row => {{
    const id = row.dataset.key;
    if (!(id in window.__seen)) window.__seen[id] = now;
  }});
}};
new MutationObserver(stamp).observe(root, {{childList: true, subtree: true, characterData: true}});
stamp();
"""


@dataclass(frozen=True)
class CpuSample:
    """CPU time read from Linux's /proc: one process's, and the whole machine's by state."""

    process_s: float
    busy_s: float
    steal_s: float
    total_s: float


def cpu_sample(pid: int) -> CpuSample:
    tick = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    process = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    with open("/proc/stat") as f:
        cpu = [int(x) / tick for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    idle, steal = cpu[3] + cpu[4], cpu[7] if len(cpu) > 7 else 0.0
    total = sum(cpu[:8])
    return CpuSample(process, total - idle - steal, steal, total)


def cpu_report(before: CpuSample, after: CpuSample, wall_s: float, name: str) -> str:
    """What the load cost, so that runs on different machines can be compared: ``name``'s
    share of one core, how busy all cores were, and the time the host took from them."""
    total = after.total_s - before.total_s or 1.0
    return (f"{name}: {100 * (after.process_s - before.process_s) / wall_s:.0f} % of one core; "
            f"all {os.cpu_count()} cores {100 * (after.busy_s - before.busy_s) / total:.0f} % busy, "
            f"{100 * (after.steal_s - before.steal_s) / total:.1f} % stolen by the host")


@contextmanager
def running_stack(login: bool = True) -> Iterator[tuple[WorkerThread, str, int]]:
    """A worker and the dashboard (and the dashboard's process id); ``login=False`` only
    for bokeh.client sessions (they cannot log in), browser pages log in with
    ``logged_in_context``."""
    worker = WorkerThread(Path(tempfile.mkdtemp(prefix="bench-worker-")))
    worker.start()
    proc, base = start_panel(worker.ws_url, login=login)
    try:
        yield worker, base, proc.pid
    finally:
        stop_panel(proc)
        worker.close()


def trade_event(i: int, prefix: str) -> TradeEvent:
    """A trade-log row's ``trade_event`` as the executor publishes it. Its ``trade_id``,
    ``{prefix}-{i}``, is the row's ``data-key`` in the trade log: what the benchmarks
    look for in the page."""
    return TradeEvent(
        f"Bench game {i}",
        TradeStatus.SUCCESS,
        datetime.now(UTC),
        bet_size=Decimal("5.00"),
        pnl=Decimal("0.12"),
        roi=Decimal("2.4"),
        attempt_id=f"{prefix}-att-{i}",
        trade_id=f"{prefix}-{i}",
    )


def publish_trade(worker: WorkerThread, i: int, prefix: str) -> None:
    worker.publish(trade_event(i, prefix))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values: list[float]) -> str:
    return (
        f"n={len(values)} p50={percentile(values, 50):.1f} ms p95={percentile(values, 95):.1f} ms "
        f"max={max(values):.1f} ms mean={statistics.fmean(values):.1f} ms"
    )


__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DEEP_JS", "cpu_report", "cpu_sample", "TRADES_TABLE", "WATCH_TRADES_JS", "logged_in_context", "percentile",
           "publish_trade", "running_stack", "summary", "trade_event"]
