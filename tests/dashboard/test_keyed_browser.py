"""``KeyedList`` in real Chromium: a confirm button stays armed when its item's HTML is
refreshed between the two clicks (a position's mark moves every few seconds; before, the
refresh put "Close Position" back and the confirmation vanished under the pointer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import panel as pn
import pytest

from dashboard.views.keyed import KeyedList
from tests.dashboard.live import CHROMIUM
from tests.support.processes import free_port
from tests.support.waiting import wait_until_blocking

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]


def row(bid: str) -> dict[str, str]:
    return {"cls": "pos-row", "sum": (
        f'<span class="mark">bid {bid}</span> '
        '<button class="act warn" data-action="close" data-confirm="Confirm close">Close Position</button>'
    )}


@pytest.fixture
def served() -> Iterator[tuple[str, list[tuple[KeyedList, Any]], list[tuple[str, str]]]]:
    sessions: list[tuple[KeyedList, Any]] = []
    actions: list[tuple[str, str]] = []

    def app() -> KeyedList:
        lst = KeyedList(on_action=lambda action, key, _value: actions.append((action, key)))
        lst.apply({"p1": row("0.42")}, ["p1"])
        sessions.append((lst, pn.state.curdoc))
        return lst

    port = free_port()
    server = pn.serve(app, port=port, address="127.0.0.1", threaded=True, show=False, start=True,
                      websocket_origin=[f"127.0.0.1:{port}"])
    try:
        yield f"http://127.0.0.1:{port}/", sessions, actions
    finally:
        server.stop()


def test_a_refresh_between_the_two_clicks_keeps_the_confirmation(browser, served) -> None:  # type: ignore[no-untyped-def]
    url, sessions, actions = served
    page = browser.new_page()
    try:
        page.goto(url)
        button = page.locator("[data-key=p1] button")
        expect(button).to_have_text("Close Position", timeout=30_000)
        button.click()
        expect(button).to_have_text("Confirm close")
        (lst, doc), = sessions
        doc.add_next_tick_callback(lambda: lst.apply({"p1": row("0.43")}, ["p1"]))  # the mark moved
        expect(page.locator("[data-key=p1] .mark")).to_have_text("bid 0.43")
        expect(button).to_have_text("Confirm close")  # still armed after the refresh
        button.click()
        wait_until_blocking(lambda: actions, 10, "the close action")
        assert actions == [("close", "p1")]
        # Without a second click the arming ends after 5 s, refresh or not.
        doc.add_next_tick_callback(lambda: lst.apply({"p1": row("0.44")}, ["p1"]))
        expect(page.locator("[data-key=p1] .mark")).to_have_text("bid 0.44")
        button.click()
        expect(button).to_have_text("Confirm close")
        expect(button).to_have_text("Close Position", timeout=8_000)
        assert actions == [("close", "p1")]
    finally:
        page.close()
