"""Browser tests: real Chromium (system binary) → real ``panel serve`` → real worker server.

The worker is built by ``worker.bootstrap`` on a migrated SQLite database; engine events
(opportunities, P&L) are published on its real event bus, positions and mappings are
written through its real trade logger and mapping store. Screenshots of every page go to
``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.dashboard.live import CHROMIUM, CHROMIUM_ARGS, WorkerThread, start_panel, stop_panel
from tests.dashboard.protocol import domain_mapping, opportunity
from worker.api import schemas

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
expect.set_options(timeout=20_000)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT = 20_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerThread, str]]:
    worker = WorkerThread(tmp_path_factory.mktemp("worker"))
    worker.start()
    proc, base = start_panel(worker.ws_url)
    try:
        yield worker, base
    finally:
        stop_panel(proc)
        worker.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, live):  # type: ignore[no-untyped-def]
    pages = []
    _, base = live

    def go(path: str, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        page = browser.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(WAIT)
        page.goto(base + path)
        pages.append(page)
        return page

    yield go
    for p in pages:
        p.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def badge(page):  # type: ignore[no-untyped-def]
    return page.locator(".badge")


def set_enabled(worker: WorkerThread, value: bool) -> None:
    assert worker.worker is not None
    worker.call(worker.worker.console.toggle_enabled(value))


def test_executor_page_loads_live_and_toggle_flips_badge_in_a_second_page(live, open_page):
    worker, _ = live
    set_enabled(worker, False)
    first = open_page("/executor")
    second = open_page("/executor")
    expect(badge(first)).to_have_text("PAUSED")
    expect(badge(second)).to_have_text("PAUSED")
    expect(first.locator(".conn[data-status=live]")).to_be_visible()
    expect(first.locator(".mode")).to_have_text("PAPER")
    expect(first.locator("td[data-k=total]")).to_have_text("$1,000.50")
    first.get_by_role("button", name="▶ Start trading").click()
    expect(badge(second)).to_have_text("ACTIVE")
    expect(badge(first)).to_have_text("ACTIVE")
    shot(first, "executor")
    second.get_by_role("button", name="⏸ Pause trading").click()
    expect(badge(first)).to_have_text("PAUSED")


def settings_input(page, index: int):  # type: ignore[no-untyped-def]
    return page.locator("input.bk-input").nth(index)


def test_settings_save_round_trips_and_invalid_value_shows_field_error(live, open_page):
    worker, _ = live
    page = open_page("/executor")
    other = open_page("/executor")
    expect(badge(page)).to_be_visible()
    max_bet = settings_input(page, 1)
    max_bet.fill("12.50")
    max_bet.press("Enter")
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".saved")).to_have_text("✓ Settings saved")
    assert worker.worker is not None
    assert worker.worker.settings.current.max_bet == Decimal("12.50")  # type: ignore[attr-defined]
    # the other page's widget follows the worker
    expect(settings_input(other, 1)).to_have_value("12.50")
    # min_bet above max_bet: the worker refuses and names min_bet
    min_bet = settings_input(page, 0)
    min_bet.fill("20")
    min_bet.press("Enter")
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".field-error").first).to_contain_text("min_bet must not be greater than max_bet")
    shot(page, "executor-settings-error")
    assert worker.worker.settings.current.min_bet == Decimal("5.00")  # type: ignore[attr-defined]


def test_closing_a_position_removes_it_and_adds_a_trade_row(live, open_page):
    worker, _ = live
    page = open_page("/executor")
    worker.open_position(1, "Rockets vs Lakers")
    card = page.locator(".legs[data-leg=kalshi]")
    expect(card).to_have_text("Kalshi NO HOU @ 0.48")
    expect(page.locator(".legs[data-leg=poly]")).to_have_text("Poly Rockets @ 0.51")
    page.get_by_role("button", name="Close Position").click()
    page.get_by_role("button", name="Confirm close").click()
    expect(page.get_by_text("No open positions.")).to_be_visible()
    row = page.locator("tr.st-closed")
    expect(row).to_contain_text("Rockets vs Lakers")
    expect(row).to_contain_text("+$0.12")
    expect(page.locator("td[data-k=pnl]")).to_have_text("+$0.12")  # today's realised P&L, read after the trade
    shot(page, "executor-after-close")


def test_card_filters_and_sort_change_the_visible_cards(live, open_page):
    worker, _ = live
    now = datetime.now(UTC)
    worker.publish(schemas.OPPORTUNITIES_SNAPSHOT, {"opportunities": []})
    for n, roi, conf, hours in ((1, "2.5", "HIGH", 5), (2, "6.2", "LOW", 1), (3, "0.7", "MEDIUM", 9), (4, "4.1", "MEDIUM", 3)):
        worker.publish(schemas.OPPORTUNITY_OPENED, opportunity(n, roi=roi, confidence=conf,
                                                               expires_at=now + timedelta(hours=hours), rules_differ=n == 4))
    page = open_page("/arbitrage")
    cards = page.locator(".card")
    expect(cards).to_have_count(4)
    assert [c.get_attribute("data-roi") for c in cards.all()] == ["6.2", "4.1", "2.5", "0.7"]
    expect(page.locator(".roi-gold")).to_have_count(1)
    shot(page, "arbitrage")
    page.get_by_role("button", name="HIGH only").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-confidence", "HIGH")
    page.get_by_role("button", name="MEDIUM+").click()
    expect(cards).to_have_count(3)
    page.get_by_role("button", name="Starts soonest").click()
    expect(cards.first).to_have_attribute("data-roi", "4.1")
    page.get_by_text("Details ▼").first.click()
    expect(page.get_by_text("Kalshi: resolves YES if Houston wins.").first).to_be_visible()
    shot(page, "arbitrage-filtered-details")
    # a live update moves a card in place
    worker.publish(schemas.OPPORTUNITY_UPDATED, opportunity(3, roi="3.9", confidence="MEDIUM", expires_at=now + timedelta(hours=9)))
    expect(page.locator(".card[data-roi='3.9']")).to_have_count(1)


def test_confirming_a_mapping_shows_on_every_page(live, open_page):
    worker, _ = live
    worker.save_mappings([domain_mapping(1), domain_mapping(2, confidence="LOW")])
    page = open_page("/mappings")
    other = open_page("/mappings")
    rows = page.locator("[data-mapping]")
    expect(rows).to_have_count(2)
    shot(page, "mappings")
    target = domain_mapping(1).id
    row = page.locator(".map-row", has=page.locator(f"[data-mapping='{target}']"))
    row.get_by_role("button", name="Confirm").click()
    expect(other.locator(f"[data-mapping='{target}'] .map-status")).to_have_text("confirmed")
    other.get_by_role("button", name="confirmed").click()
    expect(other.locator("[data-mapping]")).to_have_count(1)


def test_charts_and_home_pages_render_live_data(live, open_page):
    worker, _ = live
    now = datetime.now(UTC)
    for i, v in enumerate(("0.10", "-0.20", "0.35")):
        worker.publish(schemas.PNL_POINT, {"t": now - timedelta(minutes=10 - i), "pnl": Decimal(v), "delta": Decimal("0.1")})
    page = open_page("/charts")
    expect(page.locator("[data-k=pnl-last]")).to_contain_text("+$0.35")
    expect(page.locator("canvas").first).to_be_visible()
    shot(page, "charts")
    home = open_page("/")
    expect(home.get_by_role("link", name="Executor →")).to_be_visible()
    shot(home, "home")
    narrow = open_page("/executor", width=390, height=844)
    expect(badge(narrow)).to_be_visible()
    shot(narrow, "executor-narrow")
    narrow_grid = open_page("/arbitrage", width=390, height=844)
    expect(narrow_grid.locator(".card").first).to_be_visible()
    shot(narrow_grid, "arbitrage-narrow")


def test_worker_restart_shows_reconnecting_then_live(live, open_page):
    worker, _ = live
    page = open_page("/executor")
    expect(page.locator(".conn[data-status=live]")).to_be_visible()
    worker.stop()
    expect(page.locator(".conn")).to_have_attribute("data-status", re.compile("reconnecting|down"))
    shot(page, "executor-reconnecting")
    worker.start()
    expect(page.locator(".conn[data-status=live]")).to_be_visible()
    expect(badge(page)).to_be_visible()


def test_basic_auth_login_guards_every_page(live, browser, tmp_path):
    worker, _ = live
    users = tmp_path / "users.json"
    users.write_text('{"operator": "correct horse battery staple"}')
    users.chmod(0o600)
    proc, base = start_panel(worker.ws_url, extra_args=["--basic-auth", str(users), "--cookie-secret", "x" * 32])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(base + "/executor")
        expect(page).to_have_url(re.compile("/login"))
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit], input[type=submit]")
        expect(page).to_have_url(re.compile("/login"))
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", "correct horse battery staple")
        page.click("button[type=submit], input[type=submit]")
        page.goto(base + "/executor")
        expect(badge(page)).to_be_visible()
        shot(page, "executor-after-login")
    finally:
        page.close()
        stop_panel(proc)
