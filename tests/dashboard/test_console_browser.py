"""The console's trade log and positions table in real Chromium: a real worker (its own
database holding 130 written trade rows and three open positions), the Procfile's
``panel serve`` with ``EXECUTOR_DISPLAY_TZ``, at 1440 px and 390 px.

The oracle is what was written into the worker's database and what the worker's API
answers, never the page's own code."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.dashboard.live import (
    CHROMIUM,
    TOKEN,
    WorkerThread,
    logged_in_context,
    start_panel,
    stop_panel,
)
from tests.support.trade_history import write_history
from worker.domain.tradelog import NewPosition, PositionLeg

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ZONE = "America/Chicago"
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerThread, list[dict[str, Any]], str]]:
    worker = WorkerThread(tmp_path_factory.mktemp("trade-log"))
    worker.start()
    assert worker.worker is not None
    written = worker.call(write_history(worker.worker.db))
    for n, (cost, minutes, start_h) in enumerate((("9.95", 0, 5), ("4.80", 30, 2), ("9.00", 10, 9))):
        worker.call(worker.worker.trades.open_position(NewPosition(
            event_key=f"g{n}", event_title=f"Position game {n}", opened_at=NOW + timedelta(minutes=minutes),
            poly=PositionLeg("polymarket", f"tok{n}", "Rockets", "Rockets", Decimal("0.51"), 10),
            kalshi=PositionLeg("kalshi", f"KXNBAGAME-P{n}-BOS", f"NO KXNBAGAME-P{n}-BOS", "NO", Decimal("0.47"), 10),
            cost=Decimal(cost), expires_at=NOW + timedelta(hours=start_h),
        )))  # fmt: skip
    proc, base = start_panel(worker.ws_url, extra_env={"EXECUTOR_DISPLAY_TZ": ZONE})
    try:
        yield worker, written, base
    finally:
        stop_panel(proc)
        worker.close()


def api(worker: WorkerThread, path: str) -> Any:
    request = urllib.request.Request(f"http://127.0.0.1:{worker.port}{path}", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def shown_ids(page: Any) -> list[str]:
    return [str(x) for x in page.locator(".trade-log [data-key]").evaluate_all("els => els.map(e => e.dataset.key)")]


def open_executor(browser: Any, base: str, width: int) -> Any:
    context = logged_in_context(browser, base, accept_downloads=True)
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(base + "/executor")
    return page


def test_pages_back_through_all_history_in_the_display_zone(stack, browser) -> None:
    worker, written, base = stack
    page = open_executor(browser, base, 1440)
    newest = datetime.fromisoformat(api(worker, "/api/trades?limit=1")["trades"][0]["timestamp"].replace("Z", "+00:00"))
    zone = ZoneInfo(ZONE)
    expect(page.locator("[data-k=display-zone]")).to_have_text(f"Times in America/Chicago ({newest.astimezone(zone).tzname()})")
    expect(page.locator(".trade-log [data-key]")).to_have_count(50)
    ids = [str(w["id"]) for w in written]
    assert shown_ids(page) == ids[:50]
    first = page.locator(f".trade-log [data-key='{ids[0]}'] .t-time")
    expect(first).to_have_text(newest.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"))
    more = page.get_by_role("button", name="Show older")
    more.click()
    expect(page.locator(".trade-log [data-key]")).to_have_count(100)
    more.click()  # past what the dashboard holds: read from the worker with before/before_id
    expect(page.locator(".trade-log [data-key]")).to_have_count(130)
    assert shown_ids(page) == ids
    expect(more).to_be_disabled()
    # A row opens to its legs and order ids.
    row = page.locator(f".trade-log [data-key='{ids[0]}']")
    row.get_by_text("Legs and order ids").click()
    n = next(w["n"] for w in written if str(w["id"]) == ids[0])
    expect(row.locator(".order-id").first).to_have_text(f"kx-order-{n}")
    expect(row.locator(".legs-table")).to_contain_text("Polymarket")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trade-log-1440.png"), full_page=True)
    page.context.close()


def test_a_filter_and_its_csv_give_the_worker_s_filtered_rows_and_clear_can_be_undone(stack, browser) -> None:
    worker, written, base = stack
    page = open_executor(browser, base, 1440)
    expect(page.locator(".trade-log [data-key]")).to_have_count(50)
    page.locator("select").filter(has=page.locator("option[value=SUCCESS]")).select_option("SUCCESS")
    page.locator("select").filter(has=page.locator("option[value=NHL]")).select_option("NHL")
    expected = [str(t["id"]) for t in api(worker, "/api/trades?status=SUCCESS&league=nhl&limit=1000")["trades"]]
    assert 0 < len(expected) < 50
    expect(page.locator(".trade-log [data-key]")).to_have_count(len(expected))
    assert shown_ids(page) == expected
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [r["id"] for r in rows] == expected
    assert {r["status"] for r in rows} == {"SUCCESS"}
    # Clear hides what is shown, says how many, and Undo brings it back.
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("[data-k=hidden]")).to_have_text(f"{len(expected)} rows hidden by Clear")
    expect(page.get_by_text("No new trades since Clear.")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".trade-log [data-key]")).to_have_count(len(expected))
    page.context.close()


def test_the_trade_log_reads_on_a_phone(stack, browser) -> None:
    _, written, base = stack
    page = open_executor(browser, base, 390)
    expect(page.locator(".trade-log [data-key]")).to_have_count(50)
    first = page.locator(f".trade-log [data-key='{written[0]['id']}']")
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1
    expect(first.locator(".t-event")).to_be_visible()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", first.locator(".t-time").inner_text())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trade-log-390.png"), full_page=True)
    page.context.close()


def test_positions_are_a_sortable_table_whose_figures_are_the_worker_s(stack, browser) -> None:
    worker, _, base = stack
    page = open_executor(browser, base, 1440)
    rows = page.locator(".positions-table [data-key]")
    expect(rows).to_have_count(3)
    expect(page.get_by_text("Open Positions (3)")).to_be_visible()
    stored = api(worker, "/api/positions?status=open")["positions"]
    by_opened = [p["id"] for p in sorted(stored, key=lambda p: p["opened_at"], reverse=True)]
    keys = lambda: rows.evaluate_all("els => els.map(e => e.dataset.key)")  # noqa: E731
    assert keys() == by_opened
    for p in stored:
        row = page.locator(f".positions-table [data-key='{p['id']}']")
        expect(row.locator("[data-k=cost]")).to_have_text(f"${Decimal(str(p['cost'])):,.2f}")
        edge = Decimal(p["poly_contracts"]) - Decimal(str(p["cost"]))
        expect(row.locator("[data-k=edge]")).to_have_text(f"{'+' if edge >= 0 else '-'}${abs(edge):,.2f}")
    page.locator("select").filter(has=page.locator("option[value='Cost']")).select_option("Cost")
    by_cost = [p["id"] for p in sorted(stored, key=lambda p: Decimal(str(p["cost"])), reverse=True)]
    expect(rows.first).to_have_attribute("data-key", by_cost[0])
    assert keys() == by_cost
    page.locator("select").filter(has=page.locator("option[value='Game start']")).select_option("Game start")
    by_start = [p["id"] for p in sorted(stored, key=lambda p: p["expires_at"])]
    expect(rows.first).to_have_attribute("data-key", by_start[0])
    assert keys() == by_start
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "positions-1440.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 900})
    box = rows.first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 391
    page.screenshot(path=str(ARTIFACTS / "positions-390.png"), full_page=True)
    page.context.close()
