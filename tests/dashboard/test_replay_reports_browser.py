"""A replay report beside the live P&L on /charts, in real Chromium at 1440 px and 390 px:
a real worker (its database holding 130 written trade rows: the live P&L), the Procfile's
``panel serve`` with ``EXECUTOR_REPLAY_REPORTS`` naming a directory of reports written by
the replay's own writer.

The oracle is the hand-worked report of ``tests/worker/replay/report_samples.py`` (locked
$0.98, realised −$0.87, worst drawdown $1.15) and the report.html file on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import CHROMIUM, WorkerThread, logged_in_context, start_panel, stop_panel
from tests.dashboard.test_replay_reports import write_reports
from tests.support.trade_history import write_history

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    worker = WorkerThread(tmp_path / "worker")
    worker.start()
    assert worker.worker is not None
    worker.call(write_history(worker.worker.db))
    reports = tmp_path / "replays"
    reports.mkdir()
    write_reports(reports)
    proc, base = start_panel(worker.ws_url, extra_env={"EXECUTOR_REPLAY_REPORTS": str(reports)})
    try:
        yield base, reports
    finally:
        stop_panel(proc)
        worker.close()


def open_charts(context: Any, base: str, width: int) -> Any:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(base + "/charts")
    expect(page.locator(".chart-pnl canvas").first).to_be_visible()  # the live P&L is drawn
    return page


def pick(page: Any, name: str) -> None:
    page.locator(".replay-select select").select_option(name)


def test_a_replay_report_opens_beside_the_live_p_and_l(stack, browser) -> None:
    base, reports = stack
    context = logged_in_context(browser, base, accept_downloads=True)
    page = open_charts(context, base, 1440)
    expect(page.locator(".replay-report")).to_be_hidden()
    pick(page, "good")
    summary = page.locator(".replay-summary")
    expect(summary).to_contain_text("+$0.98")
    expect(summary).to_contain_text("-$0.87")
    expect(summary).to_contain_text("$1.15")
    expect(page.locator(".chart-replay canvas").first).to_be_visible()
    # Side by side at 1440 px: the replay's chart starts right of the live one.
    live, other = page.locator(".chart-pnl").bounding_box(), page.locator(".chart-replay").bounding_box()
    assert live is not None and other is not None and other["x"] >= live["x"] + live["width"] - 1
    expect(page.locator(".replay-where")).to_contain_text(str(reports / "good" / "report.html"))
    with page.expect_download() as download:
        page.locator(".replay-download button").click()
    assert Path(download.value.path()).read_bytes() == (reports / "good" / "report.html").read_bytes()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "charts-replay-1440.png"), full_page=True)
    # A report that is not one says so in one line; the page goes on.
    pick(page, "broken")
    expect(page.locator(".replay-error")).to_contain_text("not a replay report")
    expect(page.locator(".replay-report")).to_be_hidden()
    expect(page.locator(".chart-pnl canvas").first).to_be_visible()
    page.close()

    phone = open_charts(context, base, 390)
    pick(phone, "good")
    expect(phone.locator(".replay-summary")).to_contain_text("+$0.98")
    expect(phone.locator(".chart-replay canvas").first).to_be_visible()
    # Stacked under the live chart on a phone, nothing wider than the screen.
    live, other = phone.locator(".chart-pnl").bounding_box(), phone.locator(".chart-replay").bounding_box()
    assert live is not None and other is not None and other["y"] >= live["y"] + live["height"] - 1
    phone.screenshot(path=str(ARTIFACTS / "charts-replay-390.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
