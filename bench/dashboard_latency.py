"""Worker event → DOM latency in real Chromium, and first paint of ``/executor``.

    python bench/dashboard_latency.py [--events 100] [--rate 5]

A ``trade_event`` is published on the worker's real event bus; the time until its row
exists in the ``/executor`` trade table of a Chromium page (stamped in the page by a
MutationObserver, same machine clock) is one sample. Goal: p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import time

from dashboard_common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TRADES_TABLE,
    WATCH_TRADES_JS,
    logged_in_context,
    publish_trade,
    running_stack,
    summary,
)
from playwright.sync_api import sync_playwright


def first_paint(browser, base: str, runs: int = 5) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    fcp, ready = [], []
    for _ in range(runs):
        page = logged_in_context(browser, base, viewport={"width": 1280, "height": 800}).new_page()
        t0 = time.perf_counter()
        page.goto(base + "/executor")
        page.locator(".badge").wait_for(timeout=30_000)
        ready.append((time.perf_counter() - t0) * 1000)
        fcp.append(page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN"))
        page.close()
    return fcp, ready


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100)
    ap.add_argument("--rate", type=float, default=5.0, help="events per second")
    args = ap.parse_args()
    with running_stack() as (worker, base, _pid), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        fcp, ready = first_paint(browser, base)
        page = logged_in_context(browser, base, viewport={"width": 1280, "height": 800}).new_page()
        page.goto(base + "/executor")
        page.locator(TRADES_TABLE).wait_for()
        page.locator(".conn[data-status=live]").wait_for()
        page.evaluate(WATCH_TRADES_JS)
        sent: dict[str, float] = {}
        for i in range(args.events):
            sent[f"lat-{i}"] = time.time() * 1000
            publish_trade(worker, i, "lat")
            time.sleep(1 / args.rate)  # the publishing rate itself, not a wait for the result
        page.wait_for_function(f"Object.keys(window.__seen).filter(k => k.startsWith('lat-')).length >= {args.events}",
                               timeout=30_000)
        seen = page.evaluate("window.__seen")
        latencies = [seen[k] - t for k, t in sent.items() if k in seen]
        browser.close()
    print(f"first paint /executor: first-contentful-paint {summary(fcp)}")
    print(f"first paint /executor: navigation → live badge {summary(ready)}")
    print(f"event → DOM latency ({args.events} trade events at {args.rate}/s): {summary(latencies)}")
    print(f"events lost: {args.events - len(latencies)}")


if __name__ == "__main__":
    main()
