"""Two ``panel serve`` processes (the Procfile's ``web:`` line on two ports) against one worker.

Both point at the worker through ``EXECUTOR_WS_URL`` + token. A change made through a page
of one process (trading toggle, settings save) appears on a page of the other: each
process holds its own feed client, and the worker broadcasts every change to all of them.
Real Chromium (system ``/usr/bin/chromium``), driven by Playwright.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PaperStack,
    logged_in_context,
    start_panel,
    stop_panel,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(180),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
WAIT = 20_000  # ms


@pytest.fixture
def two_dashboards(tmp_path: Path) -> Iterator[tuple[PaperStack, str, str]]:
    stack = PaperStack(tmp_path / "stack")
    panels = []
    try:
        stack.start_exchange()
        stack.start_worker()
        # No trade during the test: an ROI band nothing on the paper exchange reaches.
        stack.action("update_settings", settings={"min_roi": Decimal("40.00")})
        for _ in range(2):
            panels.append(start_panel(stack.ws_url))
        yield stack, panels[0][1], panels[1][1]
    finally:
        for proc, _ in panels:
            stop_panel(proc)
        stack.close()


def settings_input(page: Any, index: int) -> Any:
    return page.locator("input.bk-input").nth(index)


def test_a_change_made_in_one_dashboard_process_appears_in_the_other(two_dashboards: tuple[PaperStack, str, str]) -> None:
    stack, base_a, base_b = two_dashboards
    assert base_a != base_b
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Each dashboard behind its own login (panel's form at /login).
            a = logged_in_context(browser, base_a, viewport={"width": 1280, "height": 800}).new_page()
            b = logged_in_context(browser, base_b, viewport={"width": 1280, "height": 800}).new_page()
            for page, base in ((a, base_a), (b, base_b)):
                page.set_default_timeout(WAIT)
                page.goto(base + "/executor")
                expect(page.locator(".conn[data-status=live]")).to_be_visible()
                expect(page.locator(".badge")).to_have_text("PAUSED")

            a.get_by_role("button", name="▶ Start trading").click()
            expect(b.locator(".badge")).to_have_text("ACTIVE")
            expect(a.locator(".badge")).to_have_text("ACTIVE")  # the worker's broadcast, not a guess
            b.get_by_role("button", name="⏸ Pause trading").click()
            expect(a.locator(".badge")).to_have_text("PAUSED")
            expect(b.locator(".badge")).to_have_text("PAUSED")
            assert stack.api("/api/status")["enabled"] is False

            max_bet = settings_input(b, 1)
            max_bet.fill("12.50")
            max_bet.press("Enter")
            b.get_by_role("button", name="Save Settings").click()
            expect(b.get_by_text("✓ Settings saved")).to_be_visible()
            expect(settings_input(a, 1)).to_have_value("12.50")
            assert stack.api("/api/status")["settings"]["max_bet"] == Decimal("12.50")
        finally:
            browser.close()
