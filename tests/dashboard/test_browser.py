"""Browser tests: real Chromium (system binary) → real ``panel serve`` → real worker → paper exchange.

The stack is the Procfile's: ``python -m worker paper-exchange`` (control endpoints on),
``python -m worker`` (the trading engine: live clients on the paper exchange, scanner,
executor, lease) and the ``web:`` line. Nothing is published or written behind the
worker's back: the pages show what the engine sends. Tests act like an operator (the
pages, the worker's own WebSocket actions) and script the market through the paper
exchange's control endpoints — a pinned book makes an arbitrage appear on a chosen game,
so a real position is opened by the real executor, deterministically. Settings keep
``min_roi`` at 20 % so the paper world's own short windows (under ~12 %) never trade.

Screenshots of every page go to ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dashboard.format import money
from tests.dashboard.live import (
    CHROMIUM,
    DASHBOARD_PASSWORD,
    PaperStack,
    log_in,
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
    pytest.mark.timeout(180),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]
WAIT = 20_000
TRADE_WAIT = 40_000  # pin → scanner → executor (two IOC legs on the paper exchange) → page


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperStack]:
    s = PaperStack(tmp_path_factory.mktemp("paper-stack"))
    try:
        s.start_exchange()
        s.start_worker()
        s.action("update_settings", settings={"min_roi": Decimal("20.00")})
        s.action("toggle_enabled", value=False)
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def live(stack: PaperStack) -> Iterator[tuple[PaperStack, str]]:
    proc, base = start_panel(stack.ws_url)
    try:
        yield stack, base
    finally:
        stop_panel(proc)


@pytest.fixture(scope="module")
def context(browser, live):  # type: ignore[no-untyped-def]
    """One browser context logged in once; every page of the tests opens in it."""
    _, base = live
    ctx = logged_in_context(browser, base)
    yield ctx
    ctx.close()


@pytest.fixture
def open_page(context, live):  # type: ignore[no-untyped-def]
    pages = []
    _, base = live

    def go(path: str, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        page = context.new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.set_default_timeout(WAIT)
        page.goto(base + path)
        pages.append(page)
        return page

    yield go
    for p in pages:
        p.close()



def badge(page):  # type: ignore[no-untyped-def]
    return page.locator(".badge")


def opp_id(mapping: dict[str, Any]) -> str:
    """The scanner's id of a mapping's buy-NO-on-Kalshi opportunity."""
    return f"opp_{mapping['id'].removeprefix('map_')}_kalshi_no"


def team(mapping: dict[str, Any]) -> str:
    return str(mapping["kalshi_ticker"].rsplit("-", 1)[1])


def test_executor_page_loads_live_and_toggle_flips_badge_in_a_second_page(live, open_page):
    first = open_page("/executor")
    second = open_page("/executor")
    expect(badge(first)).to_have_text("PAUSED")
    expect(badge(second)).to_have_text("PAUSED")
    expect(first.locator(".conn[data-status=live]")).to_be_visible()
    expect(first.locator(".mode")).to_have_text("PAPER")
    # The plan's "Last update" timestamp: the time of the worker's last message, in UTC
    # (heartbeats keep it moving), written by the browser from the time it is sent.
    stamp = first.locator("[data-k=last-update]")
    expect(stamp).to_have_text(re.compile(r"^Last update \d\d:\d\d:\d\d UTC$"))
    shown = stamp.inner_text()
    expect(stamp).not_to_have_text(shown, timeout=5000)
    # The paper exchange's balances (seeded), as the executor read them from the venues.
    expect(first.locator("td[data-k=poly]")).to_have_text("$512.40")
    expect(first.locator("td[data-k=kalshi]")).to_have_text("$488.10")
    expect(first.locator("td[data-k=total]")).to_have_text("$1,000.50")
    first.get_by_role("button", name="▶ Start trading").click()
    expect(badge(second)).to_have_text("ACTIVE")
    expect(badge(first)).to_have_text("ACTIVE")
    shot(first, "executor")
    second.get_by_role("button", name="⏸ Pause trading").click()
    expect(badge(first)).to_have_text("PAUSED")
    stack, _ = live
    assert stack.api("/api/status")["enabled"] is False


def settings_input(page, index: int):  # type: ignore[no-untyped-def]
    return page.locator("input.bk-input").nth(index)


def test_settings_save_round_trips_and_invalid_value_shows_field_error(live, open_page):
    stack, _ = live
    page = open_page("/executor")
    other = open_page("/executor")
    expect(badge(page)).to_be_visible()
    expect(settings_input(page, 2)).to_have_value("20.00")  # min_roi as the worker holds it
    max_bet = settings_input(page, 1)
    max_bet.fill("12.50")
    max_bet.press("Enter")
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".saved")).to_have_text("✓ Settings saved")
    assert stack.api("/api/status")["settings"]["max_bet"] == Decimal("12.50")
    # the other page's widget follows the worker
    expect(settings_input(other, 1)).to_have_value("12.50")
    # min_bet above max_bet: refused by the worker's rules, in plain words, next to min_bet
    min_bet = settings_input(page, 0)
    min_bet.fill("20")
    min_bet.press("Enter")
    page.get_by_role("button", name="Save Settings").click()
    expect(page.locator(".field-error").first).to_contain_text("Min bet must not exceed max bet")
    shot(page, "executor-settings-error")
    assert stack.api("/api/status")["settings"]["min_bet"] == Decimal("5.00")


# True once card ``a`` comes before card ``b`` in the grid (through Panel's shadow roots).
BEFORE_JS = """([a, b]) => {
  const ids = [];
  const walk = (root) => {
    root.querySelectorAll('.card').forEach(e => ids.push(e.dataset.id));
    root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); });
  };
  walk(document);
  const i = ids.indexOf(a), j = ids.indexOf(b);
  return i >= 0 && j >= 0 && i < j;
}"""


def wait_before(page, a: str, b: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(BEFORE_JS, arg=[a, b], timeout=WAIT)


def test_real_opportunities_filters_and_sort_change_the_visible_cards(live, open_page):
    stack, _ = live
    games = stack.games()
    soon, later = games[0], games[1]  # `soon` starts first; it gets the smaller edge
    page = open_page("/arbitrage")
    expect(page.locator(".conn[data-status=live]")).to_be_visible()
    try:
        stack.pin_arbitrage(later, poly_ask="0.30", kalshi_yes_bid="0.56")  # ~$0.74 a pair
        stack.pin_arbitrage(soon, poly_ask="0.35", kalshi_yes_bid="0.54")  # ~$0.81 a pair
        big = page.locator(f"[data-key='{opp_id(later[0])}']")
        small = page.locator(f"[data-key='{opp_id(soon[0])}']")
        expect(big.locator(".legs")).to_have_text(
            re.compile(rf"^BUY \S.* Poly @ 0\.30 → BUY NO {team(later[0])} Kalshi @ 0\.44$"))
        expect(small.locator(".legs")).to_have_text(
            re.compile(rf"^BUY \S.* Poly @ 0\.35 → BUY NO {team(soon[0])} Kalshi @ 0\.46$"))
        expect(big.locator(".roi")).to_have_class(re.compile("roi-gold"))
        expect(big.locator(".card-head")).to_contain_text(later[0]["event_title"])
        # The paper's venues word their rules alike and settle alike: no card warns.
        assert page.locator(".card").count() >= 2
        expect(page.locator(".rules-warn")).to_have_count(0)
        shot(page, "arbitrage")
        wait_before(page, opp_id(later[0]), opp_id(soon[0]))  # ROI ▼: the bigger edge first
        page.get_by_role("button", name="Starts soonest").click()
        wait_before(page, opp_id(soon[0]), opp_id(later[0]))
        page.get_by_role("button", name="ROI ▼", exact=True).click()
        wait_before(page, opp_id(later[0]), opp_id(soon[0]))
        # Confidence filters: the paper world's matcher rates every pair HIGH, so
        # "HIGH only" keeps exactly the HIGH cards and both pinned ones.
        page.get_by_role("button", name="HIGH only").click()
        expect(big).to_be_visible()
        assert {c.get_attribute("data-confidence") for c in page.locator(".card").all()} == {"HIGH"}
        page.get_by_role("button", name="MEDIUM+").click()
        expect(small).to_be_visible()
        # Details: ticker, token id and both venues' rules, side by side
        big.get_by_text("Details ▼").click()
        details = big.locator("details")
        expect(details).to_contain_text(later[0]["kalshi_ticker"])
        expect(details).to_contain_text(later[0]["poly_market"])
        expect(details.locator(".rules")).to_contain_text("Kalshi rules")
        expect(details.locator(".rules")).to_contain_text("Polymarket rules")
        expect(details.locator(".rules-facts")).to_contain_text("Kalshi, cancelled: pays 50¢/50¢")
        shot(page, "arbitrage-filtered-details")
        # A price move updates the card in place (same element, details stay open).
        stack.pin_arbitrage(later, poly_ask="0.31", kalshi_yes_bid="0.56")
        expect(big.locator(".legs")).to_contain_text("Poly @ 0.31")
        expect(details).to_have_attribute("open", "")
        expect(page.locator(f"[data-key='{opp_id(later[0])}']")).to_have_count(1)
    finally:
        stack.unpin_game(later)
        stack.unpin_game(soon)
    # Edge gone: the scanner closes the opportunities and the cards leave the grid.
    expect(big).to_have_count(0)
    expect(small).to_have_count(0)


def test_closing_a_real_position_removes_it_and_adds_a_closed_trade_row(live, open_page, request):
    stack, _ = live
    game = stack.games()[2]
    mapping = game[0]
    page = open_page("/executor")
    expect(page.get_by_text("No open positions.")).to_be_visible()
    # The books stay pinned until the test ends: the close sells into pinned bids.
    # Unpinned, the world's book could move between the mark and the IOC sell, and a
    # sell the venue cancels leaves the position open (CLOSE_INCOMPLETE, as it should):
    # not what this test is about.
    request.addfinalizer(lambda: stack.unpin_game(game))
    stack.action("toggle_enabled", value=True)
    try:
        # The executor sees the arbitrage on fresh books and trades it: both legs fill.
        stack.pin_arbitrage(game, poly_ask="0.30", kalshi_yes_bid="0.56")
        expect(page.locator(".legs[data-leg=kalshi]")).to_have_text(f"Kalshi NO {team(mapping)} @ 0.44", timeout=TRADE_WAIT)
    finally:
        stack.action("toggle_enabled", value=False)
    expect(page.locator(".legs[data-leg=poly]")).to_have_text(re.compile(r"^Poly \S.* @ 0\.30$"))
    expect(page.locator(".trade-row.st-success")).to_contain_text(mapping["event_title"])
    (position,) = stack.api("/api/positions?status=open")["positions"]
    expect(page.locator(".legs[data-leg=poly]")).to_have_text(f"Poly {position['poly_contract']} @ 0.30")
    # The money view with a hedged position open: its figures are the worker's books.
    def books_with_exposure() -> Any:
        b = stack.api("/api/status").get("books")
        return b if isinstance(b, dict) and b["total"]["open_cost"] and b["in_flight"] == 0 else None

    b = wait_until_blocking(books_with_exposure, 60, "the position's cost in the books")
    t = b["total"]
    equity = sum(Decimal(str(x)) for x in (t["cash"], t["open_cost"], t["to_redeem"], b["locked_edge"]))
    assert Decimal(str(b["locked_edge"])) > 0  # a hedged pair bought under $1
    expect(page.locator("[data-money=exposure-total]")).to_have_text(money(Decimal(str(t["open_cost"]))))
    expect(page.locator("[data-money=locked-total]")).to_have_text(money(Decimal(str(b["locked_edge"])), signed=True))
    expect(page.locator("[data-money=equity-total]")).to_have_text(money(equity))
    # In total the hedged pair counts $1 a contract: at mark = pairs, unrealised = locked edge.
    expect(page.locator("[data-money=at-mark-total]")).to_have_text(money(Decimal(str(t["at_mark"]))))
    assert Decimal(str(t["at_mark"])) == Decimal(str(position["poly_contracts"]))
    expect(page.locator("[data-money=unrealised-total]")).to_have_text(money(Decimal(str(b["locked_edge"])), signed=True))
    # Each leg shows its mark (its best bid) or says it has none.
    expect(page.locator(".pos-row [data-mark=kalshi]")).to_have_text(re.compile(r"^(bid 0\.\d+|no mark)$"))
    expect(page.locator(".pos-row [data-k=unrealised]")).to_have_text(money(Decimal(str(b["locked_edge"])), signed=True))
    # When it should settle: the game's start plus the league's usual length (a game far
    # from its start: hours away).
    expect(page.locator(".pos-row [data-k=settles]")).to_have_text(re.compile(r"^settles in ~\d+ h$"))
    shot(page, "executor-position")
    # The market came back to ~50/50 (as the world's books do): both legs sell at 0.50,
    # a gain on the pairs bought at 0.30 + 0.44 (the next test expects no loss today).
    stack.pin(mapping["poly_market"], "0.50", "0.52")
    stack.pin(mapping["kalshi_ticker"], "0.48", "0.50")  # YES ask 0.50: NO bid 0.50
    page.get_by_role("button", name="Close Position").click()
    page.get_by_role("button", name="Confirm close").click()
    expect(page.get_by_text("No open positions.")).to_be_visible(timeout=TRADE_WAIT)
    row = page.locator(".trade-row.st-closed")
    expect(row).to_contain_text(mapping["event_title"])
    closed = [t for t in stack.api("/api/trades?limit=50")["trades"] if t["status"] == "CLOSED"]
    assert len(closed) == 1
    expect(row).to_contain_text(money(closed[0]["pnl"], signed=True))
    assert stack.api("/api/positions?status=open")["positions"] == []
    # Today's realised P&L (the CLOSED row) and the balances after the trades, as the worker has them.
    status = stack.api("/api/status")
    expect(page.locator("td[data-k=pnl]")).to_have_text(money(status["stats"]["pnl"], signed=True))
    expect(page.locator("td[data-k=total]")).to_have_text(money(status["balances"]["poly"] + status["balances"]["kalshi"]))
    shot(page, "executor-after-close")
    charts = open_page("/charts")
    expect(charts.locator("[data-k=pnl-last]")).to_contain_text(money(status["stats"]["pnl"], signed=True))
    expect(charts.locator(".chart-pnl canvas").first).to_be_visible()
    # Filled: the P&L and the executed trade's ROI are drawn, not "No data yet".
    expect(charts.locator("[data-empty=pnl]")).to_be_hidden()
    expect(charts.locator("[data-empty=roi]")).to_be_hidden()
    shot(charts, "charts")
    phone = open_page("/charts", width=390, height=844)
    expect(phone.locator(".chart-pnl canvas").first).to_be_visible()
    expect(phone.locator("[data-empty=pnl]")).to_be_hidden()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "charts-390")


def test_confirming_a_real_mapping_shows_on_every_page(live, open_page):
    stack, _ = live
    mappings = stack.mappings()
    page = open_page("/mappings")
    other = open_page("/mappings")
    rows = page.locator("[data-mapping]")
    expect(rows).to_have_count(len(mappings))
    shot(page, "mappings")
    chosen = next(m for m in mappings if m["status"] == "candidate")
    target = chosen["id"]
    # The decision is the game's: both of its rows (one per Kalshi market) take it.
    game = sorted(m["id"] for m in mappings if m["review_key"] == chosen["review_key"])
    assert len(game) == 2 and target in game
    # Paper mode does not require confirmation: a HIGH candidate may trade already.
    expect(page.locator(f"[data-mapping='{target}'] .trade-verdict")).to_have_text("may trade (rules: see its cards)")
    row = page.locator(f".map-game:has([data-mapping='{target}'])")  # the game's group
    row.get_by_role("button", name="Confirm", exact=True).click()
    for mid in game:
        expect(other.locator(f"[data-mapping='{mid}'] .map-status")).to_have_text("confirmed")
        expect(other.locator(f"[data-mapping='{mid}'] .trade-verdict")).to_have_text("may trade (rules: see its cards)")
    assert sorted(m["id"] for m in stack.api("/api/mappings?status=confirmed")["mappings"]) == game
    other.get_by_role("button", name="confirmed", exact=True).click()
    expect(other.locator("[data-mapping]")).to_have_count(len(game))


def test_rejecting_one_row_marks_the_game_untradeable_and_closes_its_card(live, open_page):
    stack, _ = live
    game = next(g for g in stack.games()[3:] if g[0]["status"] == g[1]["status"] == "candidate")
    a, b = game
    cards = open_page("/arbitrage")
    try:
        stack.pin_arbitrage(game, poly_ask="0.30", kalshi_yes_bid="0.56")  # an arbitrage on a's row
        card = cards.locator(f"[data-key='{opp_id(a)}']")
        expect(card.locator(".trade-verdict")).to_have_text("may trade")
        page = open_page("/mappings")
        # The operator rejects the game's other row (b): a's pair may not trade either.
        group = page.locator(f".map-game:has([data-mapping='{b['id']}'])")
        group.get_by_role("button", name="Reject", exact=True).click()
        group.get_by_role("button", name="Reject game?").click()  # a rejection takes a second tap
        for m in (a, b):
            row = page.locator(f"[data-mapping='{m['id']}']")
            expect(row.locator(".map-status")).to_have_text("rejected")
            expect(row.locator(".trade-verdict")).to_have_text("not tradeable: rejected by the operator")
        shot(page, "mappings-rejected-game")
        expect(card).to_have_count(0)  # its arbitrage closed
    finally:
        stack.unpin_game(game)
    listed = {m["id"]: m for m in stack.mappings()}
    for m in (a, b):
        assert listed[m["id"]]["status"] == "rejected" and listed[m["id"]]["tradeable"] is False
        assert listed[m["id"]]["why_not"] == {"reason": "mapping_rejected", "text": "rejected by the operator"}


def test_home_and_narrow_pages_render_live_data(live, open_page):
    home = open_page("/")
    expect(home.get_by_role("link", name="Executor →")).to_be_visible()
    shot(home, "home")
    narrow = open_page("/executor", width=390, height=844)
    expect(badge(narrow)).to_be_visible()
    expect(narrow.locator("td[data-k=kalshi]")).not_to_have_text("—")
    shot(narrow, "executor-narrow")
    narrow_grid = open_page("/arbitrage", width=390, height=844)
    expect(narrow_grid.locator(".conn[data-status=live]")).to_be_visible()
    shot(narrow_grid, "arbitrage-narrow")


def test_status_reports_each_venue_s_book_data_age(live):
    """``/api/status`` gives, per venue, the age of the freshest book the worker streamed
    (the scanner keeps each book's receive time): small and known once books flow."""
    stack, _ = live

    def ages() -> dict[str, Any] | None:
        venues = stack.api("/api/status")["venues"]
        found = {name: v.get("data_age_ms") for name, v in venues.items()}
        return found if all(isinstance(a, int) for a in found.values()) else None

    found = wait_until_blocking(ages, 30, "book ages for both venues")
    assert set(found) == {"kalshi", "polymarket"}, found
    assert all(0 <= age < 10_000 for age in found.values()), found


def test_worker_restart_shows_reconnecting_then_live(live, open_page):
    stack, _ = live
    page = open_page("/executor")
    expect(page.locator(".conn[data-status=live]")).to_be_visible()
    stack.stop_worker()
    expect(page.locator(".conn")).to_have_attribute("data-status", re.compile("reconnecting|down"))
    shot(page, "executor-reconnecting")
    stack.start_worker()
    expect(page.locator(".conn[data-status=live]")).to_be_visible(timeout=30_000)
    expect(badge(page)).to_have_text("PAUSED")
    expect(page.locator("td[data-k=kalshi]")).not_to_have_text("—")


def test_an_alert_shows_on_every_page_and_one_dismissal_clears_it_everywhere(live, open_page):
    stack, _ = live
    ex, maps = open_page("/executor"), open_page("/mappings")
    expect(badge(ex)).to_have_text(re.compile("^(PAUSED|ACTIVE)$"))
    stack.action("kill_switch", flatten=False)  # an operator elsewhere pulls the kill switch
    for page in (ex, maps):
        expect(page.locator(".alert-kind[data-kind=kill_switch]")).to_have_count(1)
        expect(page.locator(".alert.warning")).to_contain_text("Kill switch pulled")
    shot(maps, "mappings-alert")
    maps.locator(".alert.warning").get_by_role("button", name="Dismiss").click()
    for page in (ex, maps):
        expect(page.locator(".alert-kind[data-kind=kill_switch]")).to_have_count(0)
    assert not [a for a in stack.api("/api/status")["alerts"] if a["kind"] == "kill_switch"]


def _stale_marks(page, *, executor: bool) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator(".stale-banner")).to_be_visible(timeout=5_000)
    if executor:
        expect(badge(page)).to_have_text("UNKNOWN", timeout=5_000)
        expect(page.locator(".stale-note")).to_contain_text("may be out of date", timeout=5_000)
    else:
        expect(page.locator(".grid[data-stale=true]")).to_have_count(1, timeout=5_000)
        copy = page.locator(".copy-btn")
        for i in range(copy.count()):
            expect(copy.nth(i)).to_be_disabled()


def _fresh(page, *, executor: bool) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator(".stale-banner")).to_have_count(0, timeout=30_000)
    if executor:
        expect(badge(page)).to_have_text(re.compile("^(PAUSED|ACTIVE)$"))
        expect(page.locator(".stale-note")).to_have_count(0)
    else:
        expect(page.locator(".grid[data-stale=false]")).to_have_count(1)


def test_a_silent_worker_shows_unknown_and_stale_marks_then_recovers(live, open_page):
    """A worker that stops talking (frozen: no heartbeat though its socket stays open) and
    a worker that dies: within 5 s every page says so. The Procfile's supervisor starts
    the dead one again and the pages recover on their own."""
    stack, _ = live
    stack.action("toggle_enabled", value=False)
    ex, arb = open_page("/executor"), open_page("/arbitrage")
    expect(badge(ex)).to_have_text("PAUSED")
    _fresh(arb, executor=False)
    game = stack.games()[0]
    stack.pin_arbitrage(game, poly_ask="0.45", kalshi_yes_bid="0.50")  # a card to copy from
    card = arb.locator(f"[data-key='{opp_id(game[0])}']")
    # The pinned prices, not a card the drifting books made before the pins reached the
    # worker: that one may still be taken away by updates already on their way.
    expect(card.locator(".legs")).to_have_text(
        re.compile(rf"^BUY \S.* Poly @ 0\.45 → BUY NO {team(game[0])} Kalshi @ 0\.50$"))
    expect(card.locator(".copy-btn")).to_be_enabled()
    worker = stack.worker_pid()
    os.kill(worker, signal.SIGSTOP)  # frozen: the connection stays open, silent
    try:
        expect(card.locator(".copy-btn")).to_be_disabled(timeout=5_000)
        _stale_marks(ex, executor=True)
        _stale_marks(arb, executor=False)
        expect(ex.locator(".conn")).to_have_attribute("data-status", "silent")
        shot(ex, "executor-stale")
        shot(arb, "arbitrage-stale")
    finally:
        os.kill(worker, signal.SIGCONT)
    _fresh(ex, executor=True)
    _fresh(arb, executor=False)
    expect(card.locator(".copy-btn")).to_be_enabled()
    stack.unpin_game(game)
    os.kill(worker, signal.SIGKILL)  # dies without a word (a crash, an OOM kill)
    _stale_marks(ex, executor=True)
    _stale_marks(arb, executor=False)
    _fresh(ex, executor=True)  # restarted by the supervisor, no one touched anything
    _fresh(arb, executor=False)
    expect(badge(ex)).to_have_text("PAUSED")


def test_the_browser_shows_a_banner_when_the_dashboard_server_goes_away(live, context):
    stack, _ = live
    proc, base = start_panel(stack.ws_url)
    page = context.new_page()  # logged in: same host, same cookie secret
    try:
        page.goto(base + "/executor")
        expect(badge(page)).to_have_text(re.compile("^(PAUSED|ACTIVE)$"))
        stop_panel(proc)
        expect(page.locator(".notyf__message")).to_contain_text("Connection to the dashboard server lost", timeout=10_000)
        shot(page, "executor-server-gone")
    finally:
        page.close()
        if proc.poll() is None:
            stop_panel(proc)


PAGES = ("/", "/executor", "/arbitrage", "/mappings", "/charts")


def test_every_page_needs_the_login_and_a_wrong_password_is_refused(live, browser):
    """Panel's own login (``--basic-auth`` / ``--cookie-secret`` from the launcher): a
    browser without the login cookie gets the form for every page; a wrong password is
    refused; the right one opens each page with live data."""
    stack, base = live
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(WAIT)
    try:
        for path in PAGES:
            page.goto(base + path)
            expect(page).to_have_url(re.compile(r"/login(\?|$)"))
            expect(page.locator("input[name=password]")).to_be_visible()
            expect(page.locator(".conn")).to_have_count(0)
        shot(page, "login-form")
        with pytest.raises(PermissionError):
            log_in(page, base, password=DASHBOARD_PASSWORD + "x")
        expect(page.get_by_text("Invalid username or password")).to_be_visible()
        page.goto(base + "/executor")
        expect(page).to_have_url(re.compile(r"/login(\?|$)"))  # still out
        log_in(page, base)
        for path in PAGES:
            page.goto(base + path)
            expect(page).to_have_url(base + path)
            expect(page.locator(".conn[data-status=live]")).to_be_visible()
        expect(page.locator(".conn")).to_have_count(1)
        assert stack.api("/api/status")["enabled"] is False  # nothing was changed by logging in
    finally:
        context.close()


def test_status_and_the_page_show_the_books_and_the_loss_budget(live, open_page):
    """The books (our records against each venue's cash) and today's loss budget reach
    ``/api/status``, and the /executor page says whether the books match."""
    stack, _ = live

    def books() -> dict[str, Any] | None:
        status = stack.api("/api/status")
        return status if isinstance(status.get("books"), dict) else None

    status = wait_until_blocking(books, 60, "the books in /api/status")
    b = status["books"]
    assert set(b["venues"]) == {"kalshi", "polymarket"}
    assert b["in_flight"] == 0 and b["agrees"] is True, b  # paused: nothing traded, nothing moved
    for v in b["venues"].values():
        assert v["cash_at_start"] is not None and v["difference"] == 0, v
    budget = status["limits"]["loss_budget"]
    assert budget["remaining"] == budget["max_daily_loss"] and budget["reserved_in_flight"] == 0, budget
    page = open_page("/executor")
    expect(page.locator("[data-k=books]")).to_contain_text("match the venues")
    # The money view's figures are the books' (the worker's own sums, read here from /api/status).
    def dec(x: Any) -> Decimal:
        return Decimal(str(x))

    total = b["total"]
    expect(page.locator("[data-money=cash-total]")).to_have_text(money(dec(total["cash"])))
    for name, v in b["venues"].items():
        expect(page.locator(f"[data-money=cash-{name}]")).to_have_text(money(dec(v["cash"])))
        expect(page.locator(f"[data-money=exposure-{name}]")).to_have_text(money(dec(v["open_cost"])))
    equity = sum(dec(x) for x in (total["cash"], total["open_cost"], total["to_redeem"], b["locked_edge"]))
    expect(page.locator("[data-money=equity-total]")).to_have_text(money(equity))
    expect(page.locator("[data-money=realised-total]")).to_have_text(money(dec(b["realised_today"]), signed=True))
    for name, v in b["venues"].items():  # nothing held: equity is cash + what is owed
        expect(page.locator(f"[data-money=at-mark-{name}]")).to_have_text(money(dec(v["at_mark"])))
        expect(page.locator(f"[data-money=equity-{name}]")).to_have_text(money(dec(v["cash"]) + dec(v["to_redeem"])))
    shot(page, "executor-books")
