"""Filter time with 500 opportunity cards in real Chromium (goal < 200 ms).

    python bench/dashboard_filter.py [--cards 500] [--repeat 5]

The worker publishes ``--cards`` opportunities (a third each HIGH / MEDIUM / LOW) on its
real bus; ``/arbitrage`` shows them. Each sample clicks a quick filter or sort button
in the page and measures, in the page, the time until the grid holds the expected
number of cards in the expected first position and a frame has been painted.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from dashboard_common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEEP_JS,
    logged_in_context,
    running_stack,
    summary,
)
from playwright.sync_api import sync_playwright

from tests.dashboard.protocol import domain_opportunity
from worker.domain.events import OpportunityOpened

MEASURE_JS = DEEP_JS + """
async ([label, expected, firstId]) => {
  const button = window.__deepAll('button').find(b => b.textContent.trim() === label);
  const grid = window.__deepAll('.grid')[0];  // the card grid: every card is its child
  const done = () => {
    const cards = grid.querySelectorAll(':scope > .opp-card');
    if (cards.length !== expected) return false;
    return !firstId || cards[0].querySelector('.card')?.getAttribute('data-id') === firstId;
  };
  const t0 = performance.now();
  button.click();
  await new Promise(resolve => {
    const tick = () => done() ? requestAnimationFrame(() => resolve()) : requestAnimationFrame(tick);
    requestAnimationFrame(tick);
  });
  return performance.now() - t0;
}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cards", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    confs = ("HIGH", "MEDIUM", "LOW")
    now = datetime.now(UTC)
    specs = []
    for n in range(args.cards):
        roi = f"{(n * 37) % 900 / 100 + 0.1:.2f}"
        specs.append((n, roi, confs[n % 3], now + timedelta(minutes=30 + (n * 53) % 900)))
    high = sum(1 for s in specs if s[2] == "HIGH")
    med_plus = sum(1 for s in specs if s[2] != "LOW")
    by_roi = sorted(specs, key=lambda s: (-float(s[1]), f"opp_{s[0]:04d}_kalshi_no"))
    by_start = sorted(specs, key=lambda s: (s[3], -float(s[1])))
    oid = lambda s: f"opp_{s[0]:04d}_kalshi_no"  # noqa: E731
    with running_stack() as (worker, base, _pid), sync_playwright() as pw:
        for n, roi, conf, starts in specs:
            worker.publish(OpportunityOpened(domain_opportunity(n, roi=roi, confidence=conf, expires_at=starts), now))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = logged_in_context(browser, base, viewport={"width": 1280, "height": 800}).new_page()
        t0 = time.perf_counter()
        page.goto(base + "/arbitrage")
        page.wait_for_function(DEEP_JS + f"; (window.__deepAll('.grid')[0]?.children.length ?? 0) >= {args.cards}",
                               timeout=120_000)
        load_ms = (time.perf_counter() - t0) * 1000
        samples: dict[str, list[float]] = {"HIGH only": [], "MEDIUM+": [], "All": [], "Starts soonest": [], "ROI ▼": []}
        for _ in range(args.repeat):
            for label, expected, first in (
                ("HIGH only", high, ""),
                ("MEDIUM+", med_plus, ""),
                ("All", args.cards, oid(by_roi[0])),
                ("Starts soonest", args.cards, oid(by_start[0])),
                ("ROI ▼", args.cards, oid(by_roi[0])),
            ):
                samples[label].append(page.evaluate(MEASURE_JS, [label, expected, first]))
        browser.close()
    print(f"/arbitrage with {args.cards} cards: navigation → all cards in the DOM {load_ms:.0f} ms")
    for label, values in samples.items():
        print(f"click [{label}] → grid updated and painted: {summary(values)}")
    everything = [v for vs in samples.values() for v in vs]
    print(f"all filter/sort changes: {summary(everything)}")


if __name__ == "__main__":
    main()
