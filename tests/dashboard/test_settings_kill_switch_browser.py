"""Browser tests (real Chromium, 1440 and 390 px wide) of the settings form's refusals and
the kill switch's flatten, on the Procfile's stack: paper exchange, worker, ``panel serve``.

Settings: each invalid value is explained under its own box in plain words, the box is
outlined red, what was typed stays, and the worker's settings do not change. Kill switch:
the label toggles its box, the confirm button says what will happen, flattening real
positions (opened by the real executor on pinned books) shows "n of N closed" as it goes,
and the outcome stays in the kill switch alert across a reload.

Screenshots go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import (
    CHROMIUM,
    PaperStack,
    logged_in_context,
    shot,
    start_panel,
    stop_panel,
)
from tests.support.waiting import wait_until_blocking

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
expect.set_options(timeout=20_000)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
TRADE_WAIT = 60  # s: pins → scanner → executor (two IOC legs each) → stored positions
RED = "rgb(207, 34, 46)"  # --bad
WIDTHS = {"wide": (1440, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperStack]:
    s = PaperStack(tmp_path_factory.mktemp("paper-stack"))
    try:
        s.start_exchange()
        s.start_worker()
        # The paper world's own short windows (under ~12 %) never trade at 20 %.
        s.action("update_settings", settings={"min_roi": Decimal("20.00"), "max_daily_loss": Decimal("100.00")})
        s.action("toggle_enabled", value=False)
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def base(stack: PaperStack) -> Iterator[str]:
    proc, url = start_panel(stack.ws_url)
    try:
        yield url
    finally:
        stop_panel(proc)


@pytest.fixture(scope="module")
def context(browser, base):  # type: ignore[no-untyped-def]
    ctx = logged_in_context(browser, base)
    yield ctx
    ctx.close()


@pytest.fixture
def open_page(context, base):  # type: ignore[no-untyped-def]
    pages = []

    def go(path: str, size: tuple[int, int]):  # type: ignore[no-untyped-def]
        page = context.new_page()
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.set_default_timeout(20_000)
        page.goto(base + path)
        pages.append(page)
        return page

    yield go
    for p in pages:
        p.close()



def box(page, label: str):  # type: ignore[no-untyped-def]
    """A setting's text box, found by its label (as a person finds it)."""
    return page.get_by_label(label, exact=True)


def error(page, field: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.field-error[data-field="{field}"]')


def type_into(page, label: str, text: str) -> None:  # type: ignore[no-untyped-def]
    field = box(page, label)
    field.fill(text)
    field.press("Enter")


def border(locator) -> str:  # type: ignore[no-untyped-def]
    return str(locator.evaluate("e => getComputedStyle(e).borderTopColor"))


def below(page, label: str, field: str) -> bool:  # type: ignore[no-untyped-def]
    """The error sits right under its own box (not under another one, not at the bottom)."""
    b, e = box(page, label).bounding_box(), error(page, field).bounding_box()
    return bool(b and e and 0 <= e["y"] - (b["y"] + b["height"]) < 40 and abs(e["x"] - b["x"]) < 40)


@pytest.mark.parametrize("width", list(WIDTHS), ids=list(WIDTHS))
def test_every_invalid_setting_is_explained_next_to_its_box_in_red_and_nothing_is_saved(stack, open_page, width):
    page = open_page("/executor", WIDTHS[width])
    expect(box(page, "Min ROI (%)")).to_have_value("20.00")  # as the worker holds it, at its precision
    before = stack.api("/api/status")["settings"]
    typed = {
        ("Min bet ($)", "min_bet"): ("-5", "Min bet must not be negative"),
        ("Max bet ($)", "max_bet"): ("", "Max bet is required"),
        ("Min ROI (%)", "min_roi"): ("5.123", "Min ROI allows at most 2 decimal places"),
        ("Max daily trades", "max_daily_trades"): ("0", "Max daily trades must be a whole number from 1 to 100,000"),
    }
    for (label, _), (text, _) in typed.items():
        type_into(page, label, text)
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".field-error").filter(has_text="Not saved: 4 values are not valid")).to_have_count(1)
    for (label, field), (text, message) in typed.items():
        expect(error(page, field)).to_have_text(f"⚠ {message}")
        assert str(error(page, field).evaluate("e => getComputedStyle(e).color")) == RED  # red words
        assert border(box(page, label)) == RED, f"{label} is not outlined red"
        assert below(page, label, field), f"{field}'s message is not next to its box"
        expect(box(page, label)).to_have_value(text)  # what was typed stays: never a silent revert
    # The valid boxes are left alone.
    expect(error(page, "max_roi")).to_have_count(0)
    assert border(box(page, "Max ROI (%)")) != RED
    shot(page, f"settings-errors-{width}")
    assert stack.api("/api/status")["settings"] == before  # nothing saved

    # Min above max, in plain words, on the box that was changed.
    for label, text in (("Max bet ($)", "10.00"), ("Min ROI (%)", "20.00"), ("Max daily trades", "50")):
        type_into(page, label, text)
    type_into(page, "Min bet ($)", "12")
    page.get_by_role("button", name="Save Settings").click()
    expect(error(page, "min_bet")).to_have_text("⚠ Min bet must not exceed max bet")
    assert border(box(page, "Min bet ($)")) == RED
    expect(error(page, "max_bet")).to_have_count(0)
    assert stack.api("/api/status")["settings"] == before
    # Fixed: the red goes, the save goes through.
    type_into(page, "Max bet ($)", "12.50")
    expect(error(page, "min_bet")).to_have_count(0)
    assert border(box(page, "Min bet ($)")) != RED
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".saved")).to_have_text("✓ Settings saved")
    saved = stack.api("/api/status")["settings"]
    assert (saved["min_bet"], saved["max_bet"]) == (Decimal("12.00"), Decimal("12.50"))
    expect(box(page, "Min bet ($)")).to_have_value("12.00")  # shown at the precision accepted
    stack.action("update_settings", settings={"min_bet": before["min_bet"], "max_bet": before["max_bet"]})
    expect(box(page, "Min bet ($)")).to_have_value("5.00")


# Every text the progress line shows, recorded in the page (through Panel's shadow roots).
RECORD_PROGRESS_JS = """() => {
  window.__progress = [];
  const seen = () => {
    const found = [];
    const walk = (root) => {
      root.querySelectorAll('[data-k=kill-progress]').forEach(e => found.push(e.textContent));
      root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
    };
    walk(document);
    for (const t of found) if (window.__progress[window.__progress.length - 1] !== t) window.__progress.push(t);
  };
  new MutationObserver(seen).observe(document, {subtree: true, childList: true, characterData: true});
  setInterval(seen, 10);
}"""


def open_positions(stack: PaperStack, games: list[Any]) -> int:
    """Pin an arbitrage on each game in turn with trading on, until each is a position.
    The games are confirmed first: an edge this large trades only on a confirmed game."""
    for game in games:
        stack.action("confirm_mapping", mapping_id=game[0]["id"])
    stack.action("toggle_enabled", value=True)
    try:
        for n, game in enumerate(games, 1):
            stack.pin_arbitrage(game, poly_ask="0.30", kalshi_yes_bid="0.56")

            def opened(n: int = n) -> bool:
                return len(stack.api("/api/positions?status=open")["positions"]) >= n

            wait_until_blocking(opened, TRADE_WAIT, f"{n} open positions")
        return len(stack.api("/api/positions?status=open")["positions"])
    finally:
        stack.action("toggle_enabled", value=False)
        for game in games:
            stack.unpin_game(game)


@pytest.mark.parametrize("width", list(WIDTHS), ids=list(WIDTHS))
def test_kill_switch_flatten_shows_progress_and_its_outcome_stays_in_the_alerts(stack, open_page, width):
    games = stack.games()
    chosen = games[:3] if width == "wide" else games[3:5]
    total = open_positions(stack, chosen)
    # On the phone run one position cannot be closed: its Polymarket token has no bid.
    failing = 0 if width == "wide" else 1
    if failing:
        stack.paper("POST", "/paper/admin/book", {"instrument": chosen[-1][0]["poly_market"], "bids": [],
                                                  "asks": [["0.32", "500"]]})
    closed = total - failing
    page = open_page("/executor", WIDTHS[width])
    expect(page.locator(".pos-row")).to_have_count(total)
    page.get_by_role("button", name="☠ Kill switch").click()
    flatten = page.get_by_role("checkbox", name="Also flatten: close every open position")
    label = page.get_by_text("Also flatten: close every open position", exact=True)
    expect(flatten).not_to_be_checked()
    expect(page.get_by_role("button", name="Confirm: Pause and cancel all orders")).to_be_visible()
    label.click()  # the words toggle the box
    expect(flatten).to_be_checked()
    confirm = page.get_by_role("button", name=f"Confirm: Pause, cancel all orders and close {total} positions")
    expect(confirm).to_be_visible()
    label.click()
    expect(flatten).not_to_be_checked()
    expect(page.get_by_role("button", name="Confirm: Pause and cancel all orders")).to_be_visible()
    label.click()
    expect(confirm).to_be_visible()
    shot(page, f"kill-switch-dialog-{width}")
    page.evaluate(RECORD_PROGRESS_JS)
    try:
        confirm.click()
        done = page.locator("[data-k=kill-progress][data-done=true]")
        expect(done).to_contain_text(f"{closed} of {total} closed" + (f", {failing} failed" if failing else ";"),
                                     timeout=TRADE_WAIT * 1000)
    finally:
        stack.unpin(chosen[-1][0]["poly_market"])
    shot(page, f"kill-switch-flattened-{width}")
    seen = page.evaluate("() => window.__progress")
    going = [t for t in seen if t.startswith("⏳ Flattening:")]
    assert going, f"no progress shown while flattening: {seen}"
    counts = [int(m.group(1)) for t in going if (m := re.search(r"(\d+) of (\d+) closed", t))]
    assert counts == sorted(counts) and all(c < total for c in counts), seen
    assert all(f"of {total} closed" in t for t in going), seen
    expect(page.locator(".pos-row")).to_have_count(failing)
    assert len(stack.api("/api/positions?status=open")["positions"]) == failing
    # The outcome stays in the alert history: after a reload, and in the worker's alerts.
    page.reload()
    outcome = page.locator(".alert").filter(has_text="Kill switch pulled").filter(
        has_text=f"{closed} of {total} open positions closed")
    expect(outcome.first).to_be_visible()
    if failing:  # which one, and why
        expect(outcome.first).to_contain_text(re.compile(r"1 NOT closed: position \S+: .*no bid"))
    shot(page, f"kill-switch-alert-after-reload-{width}")
    alerts = [a for a in stack.api("/api/status")["alerts"] if a["kind"] == "kill_switch"]
    mine = [a for a in alerts if (a["data"].get("total"), a["data"].get("closed"), a["data"].get("failed"))
            == (total, closed, failing)]
    assert mine, alerts
    assert [f["position_id"] for f in mine[0]["data"]["failures"]] == [
        p["id"] for p in stack.api("/api/positions?status=open")["positions"]]
