"""Shared pieces of the dashboard benchmarks (not a benchmark itself).

Each benchmark runs the real worker server (``tests/dashboard/live.py``: built by
``worker.bootstrap`` on a fresh SQLite database, events published on its real bus), the
Procfile's ``panel serve`` command, and system Chromium.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def running_stack(login: bool = True) -> Iterator[tuple[WorkerThread, str]]:
    """A worker and the dashboard; ``login=False`` only for bokeh.client sessions (they
    cannot log in), browser pages log in with ``logged_in_context``."""
    worker = WorkerThread(Path(tempfile.mkdtemp(prefix="bench-worker-")))
    worker.start()
    proc, base = start_panel(worker.ws_url, login=login)
    try:
        yield worker, base
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


__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "DEEP_JS", "TRADES_TABLE", "WATCH_TRADES_JS", "logged_in_context", "percentile",
           "publish_trade", "running_stack", "summary", "trade_event"]
