"""The kill switch when the dashboard's connection to the worker drops, in real Chromium:
a real worker (no trading engine) on a background loop and the Procfile's ``panel serve``.

What an operator must never see after a reconnect: a flattening count frozen at the last
number heard before the drop ("⏳ Flattening: 2 of 3 closed…" for good), or "resting
orders NOT checked" for a kill switch whose answer was lost with the connection. The
oracle is the worker: what it published and what its API says, never the page's code.

The drop is the worker closing its side of every client connection (as it does to a
client too slow to keep up), on its own loop, between two of its events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import (
    CHROMIUM,
    WorkerThread,
    logged_in_context,
    shot,
    start_panel,
    stop_panel,
)
from worker.domain.events import AlertKind, KillSwitchProgress

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerThread, str]]:
    worker = WorkerThread(tmp_path_factory.mktemp("kill-reconnect"))
    worker.start()
    proc, base = start_panel(worker.ws_url)
    try:
        yield worker, base
    finally:
        stop_panel(proc)
        worker.close()


def open_executor(browser: Any, base: str, enabled: bool = False) -> Any:
    page = logged_in_context(browser, base).new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.set_default_timeout(20_000)
    page.goto(base + "/executor")
    expect(page.locator(".badge")).to_have_attribute("data-enabled", "true" if enabled else "false")
    return page


def drop_clients(worker: WorkerThread) -> int:
    """Close the worker's side of every ``/ws/executor`` connection (on its loop)."""
    assert worker.worker is not None
    clients = list(worker.worker.server.broadcaster.clients)
    for client in clients:
        client.close(1001, "going away")
    return len(clients)



def test_a_flatten_that_ends_while_the_dashboard_is_disconnected_shows_its_end_after_the_reconnect(stack, browser):
    worker, base = stack
    assert worker.worker is not None and worker.worker.alerts is not None
    alerts = worker.worker.alerts
    page = open_executor(browser, base)
    started = datetime.now(UTC).replace(microsecond=0)
    worker.publish(KillSwitchProgress(started, 3, 0, 0, done=False))
    worker.publish(KillSwitchProgress(started, 3, 2, 0, done=False))
    progress = page.locator("[data-k=kill-progress]")
    expect(progress).to_have_text("⏳ Flattening: 2 of 3 closed…")

    async def drop_then_finish() -> int:
        # One step on the worker's loop: nothing of what follows reaches the old connection.
        dropped = drop_clients(worker)
        worker.worker.bus.publish(KillSwitchProgress(started, 3, 3, 0, done=True))
        alerts.raise_alert(AlertKind.KILL_SWITCH, "Kill switch pulled", "3 of 3 open positions closed",
                           key=started.isoformat())
        return dropped

    assert worker.call(drop_then_finish()) >= 1
    # The worker's own account of it, which the page must now show.
    assert worker.api("/api/status")["kill_switch"] == {
        "started_at": started.isoformat().replace("+00:00", "Z"), "total": 3, "closed": 3, "failed": 0, "done": True}
    expect(progress).to_have_attribute("data-done", "true")
    expect(progress).to_contain_text("3 of 3 closed;")
    expect(page.locator(".alert").filter(has_text="Kill switch pulled")).to_be_visible()
    shot(page, "kill-switch-flatten-ended-while-disconnected")
    page.context.close()


def test_a_kill_switch_whose_answer_is_lost_with_the_connection_says_so_not_that_orders_were_unchecked(
        stack, browser, monkeypatch):
    worker, base = stack
    assert worker.worker is not None
    console = worker.worker.console
    worker.call(worker.worker.settings.set_enabled(True))
    page = open_executor(browser, base, enabled=True)
    real = console.kill_switch

    async def pulled_as_the_connection_drops(flatten: bool) -> Any:
        # The worker does what was asked; the connection goes before its answer.
        result = await real(flatten)
        drop_clients(worker)
        return result

    monkeypatch.setattr(console, "kill_switch", pulled_as_the_connection_drops)
    page.get_by_role("button", name="☠ Kill switch").click()
    page.get_by_role("button", name="Confirm: Pause and cancel all orders").click()
    message = page.locator(".field-error").filter(has_text="Kill switch")
    expect(message).to_contain_text("the connection to the worker was lost before it answered")
    expect(message).not_to_contain_text("NOT checked")
    # After the reconnect the page shows what the worker did: paused, and its alert.
    expect(page.locator(".alert").filter(has_text="Kill switch pulled").filter(
        has_text="new trades stopped. Trading stays paused")).to_be_visible()
    assert worker.api("/api/status")["enabled"] is False
    expect(page.locator(".badge")).to_have_attribute("data-enabled", "false")
    shot(page, "kill-switch-answer-lost")
    page.context.close()
