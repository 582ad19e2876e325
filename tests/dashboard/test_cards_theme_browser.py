"""Phones, the dark theme and the arbitrage cards in real Chromium, at 1440 px and 390 px.

The stack is the Procfile's (paper exchange, worker, ``panel serve``); arbitrages are
pinned on the paper exchange's books, so the cards are the real scanner's and their
verdicts the real risk manager's (``EXECUTOR_SUSPICIOUS_ROI`` at its default, 5 %). The
oracles are the browser's own: the meta tags it parsed, its computed styles, element
boxes, cookies, and the worker's API for what the page must agree with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import (
    ARTIFACTS,
    CHROMIUM,
    PaperStack,
    logged_in_context,
    shot,
    start_panel,
    stop_panel,
)

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]

WAIT = 30_000
PAGES = ("/", "/executor", "/arbitrage", "/mappings", "/charts")

# Every element matching ``sel`` through open shadow roots (Panel renders components in them).
DEEP = """(sel) => { const out = []; const walk = (r) => { r.querySelectorAll(sel).forEach(e => out.push(e));
  r.querySelectorAll('*').forEach(e => { if (e.shadowRoot) walk(e.shadowRoot); }); }; walk(document); return out; }"""


def opp_id(mapping: dict[str, Any]) -> str:
    return f"opp_{mapping['id'].removeprefix('map_')}_kalshi_no"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PaperStack, dict[str, Any], str]]:
    s = PaperStack(tmp_path_factory.mktemp("cards-theme"), suspicious_roi="5")  # the default, stated
    proc = None
    try:
        s.start_exchange()
        s.start_worker()
        s.action("update_settings", settings={"min_roi": Decimal("20.00")})
        s.action("toggle_enabled", value=False)  # nothing trades: the cards are under test
        games = s.games()
        # One pair per ROI band: ~31 % (gold), ~3.4 % (bright green), ~1.3 % (green).
        s.pin_arbitrage(games[0], poly_ask="0.30", kalshi_yes_bid="0.56")
        s.pin_arbitrage(games[1], poly_ask="0.44", kalshi_yes_bid="0.50")
        s.pin_arbitrage(games[2], poly_ask="0.46", kalshi_yes_bid="0.50")
        proc, base = start_panel(s.ws_url)
        yield s, {"gold": games[0], "bright": games[1], "green": games[2]}, base
    finally:
        if proc is not None:
            stop_panel(proc)
        s.close()


@pytest.fixture(scope="module")
def context(browser, stack):  # type: ignore[no-untyped-def]
    _, _, base = stack
    ctx = logged_in_context(browser, base)
    yield ctx
    ctx.close()


def open_page(context: Any, base: str, path: str, width: int) -> Any:
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
    page.set_default_timeout(WAIT)
    page.goto(base + path)
    expect(page.locator(".conn[data-status=live]")).to_be_visible()
    return page



@pytest.mark.parametrize("width", [1440, 390])
def test_every_page_has_the_viewport_tag_and_a_phone_never_scrolls_sideways(stack, context, width):
    _, _, base = stack
    for path in PAGES:
        page = open_page(context, base, path, width)
        try:
            meta = page.evaluate("document.querySelector('meta[name=viewport]')?.content")
            assert meta == "width=device-width, initial-scale=1", path
            if width == 390:
                page.wait_for_timeout(500)  # let the layout settle after the first render
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        finally:
            page.close()


def test_cards_show_distinct_roi_bands_and_the_chosen_filter_and_sort(stack, context):
    _, games, base = stack
    page = open_page(context, base, "/arbitrage", 1440)
    try:
        cards = {band: page.locator(f"[data-key='{opp_id(game[0])}']") for band, game in games.items()}
        for band, card in cards.items():
            expect(card.locator(".roi")).to_have_class(re.compile(f"roi-{'gold' if band == 'gold' else band}"))
        styles = {band: card.locator(".roi").evaluate(
            "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.borderTopColor].join('|'); }")
            for band, card in cards.items()}
        assert len(set(styles.values())) == 3, styles  # three bands, three looks
        assert "rgba(0, 0, 0, 0)" not in styles["gold"].split("|")[0]  # gold is filled
        # The chosen filter and sort stand out from the others (Bokeh's ``bk-active``).
        active = page.locator(".bk-btn.bk-active", has_text="All")
        other = page.locator(".bk-btn", has_text="HIGH only")
        look = "e => getComputedStyle(e).backgroundColor + '|' + getComputedStyle(e).fontWeight"
        chosen, plain = active.evaluate(look), other.evaluate(look)
        assert chosen != plain
        other.click()
        expect(page.locator(".bk-btn.bk-active", has_text="HIGH only")).to_be_visible()
        assert page.locator(".bk-btn", has_text="HIGH only").evaluate(look) == chosen
        assert page.locator(".bk-btn", has_text="All").evaluate(look) == plain
        page.locator(".bk-btn", has_text="All").click()
        shot(page, "cards-1440")
    finally:
        page.close()


def test_above_the_suspicious_roi_only_a_confirmed_game_may_trade_and_the_card_says_so(stack, context):
    s, games, base = stack
    gold = games["gold"][0]
    page = open_page(context, base, "/arbitrage", 1440)
    try:
        card = page.locator(f"[data-key='{opp_id(gold)}']")
        verdict = card.locator(".trade-verdict")
        expect(verdict).to_have_attribute("data-why-not", "suspicious_roi")
        expect(verdict).to_contain_text(re.compile(r"not tradeable: ROI [\d.]+% is above 5%"))
        # The worker's own view of the same opportunity agrees (its API, not the page).
        assert s.opportunities()[opp_id(gold)]["why_not"]["reason"] == "suspicious_roi"
        s.action("confirm_mapping", mapping_id=gold["id"])
        expect(verdict).to_have_attribute("data-tradeable", "true")
        expect(card.locator("[data-suspicious=check]")).to_contain_text("Above the suspicious-ROI limit (5.0%)")
        # The moderate pairs never carry it.
        for band in ("bright", "green"):
            expect(page.locator(f"[data-key='{opp_id(games[band][0])}'] [data-suspicious]")).to_have_count(0)
    finally:
        page.close()


def test_details_link_both_venues_and_wrap_long_ids_on_a_phone(stack, context):
    _, games, base = stack
    page = open_page(context, base, "/arbitrage", 390)
    try:
        card = page.locator(f"[data-key='{opp_id(games['green'][0])}']")
        card.locator("summary").click()
        for venue in ("kalshi", "polymarket"):
            link = card.locator(f"a.venue-link[data-venue={venue}]")
            expect(link).to_be_visible()
            assert (link.get_attribute("href") or "").startswith("https://")
        # The 77-digit token id wraps inside the card instead of widening the page.
        code = card.locator("details code").first
        assert code.evaluate("e => e.getBoundingClientRect().right") <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # Every control a finger can hit is at least 44 px tall.
        small = page.evaluate(
            f"""() => ({DEEP})('button, summary, a.venue-link, .bk-btn, .nav a').map(e => {{
                const r = e.getBoundingClientRect();
                return r.width > 0 && r.height > 0 && r.height < 44 ? (e.textContent || '').trim() + ' ' + r.height : null;
            }}).filter(Boolean)""")
        assert small == []
        shot(page, "cards-390")
    finally:
        page.close()


def test_the_dark_theme_is_panel_s_and_the_browser_remembers_it(stack, context):
    _, _, base = stack
    page = open_page(context, base, "/executor", 1440)
    other = None
    try:
        toggle = page.locator(".theme-toggle")
        expect(toggle).to_have_attribute("data-theme", "default")
        light_bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        with page.expect_navigation():
            toggle.click()
        expect(page.locator(".theme-toggle")).to_have_attribute("data-theme", "dark")
        assert page.evaluate("document.querySelector('meta[name=color-scheme]')?.content") == "dark"
        dark_bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert dark_bg != light_bg and dark_bg == "rgb(18, 18, 18)"  # Panel's dark page background
        # Panel's dark design reaches the components: a settings field is dark too.
        field = page.locator("input").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert field != "rgb(255, 255, 255)"
        shot(page, "executor-dark-1440")
        # Remembered per browser: another page, opened afresh, is dark as well.
        other = open_page(context, base, "/arbitrage", 390)
        expect(other.locator(".theme-toggle")).to_have_attribute("data-theme", "dark")
        expect(other.locator(".card").first).to_be_visible()
        shot(other, "arbitrage-dark-390")
        with other.expect_navigation():
            other.locator(".theme-toggle").click()
        expect(other.locator(".theme-toggle")).to_have_attribute("data-theme", "default")
        assert {c["name"]: c["value"] for c in context.cookies()}["executor_theme"] == "default"
    finally:
        page.close()
        if other is not None:
            other.close()


@pytest.mark.parametrize("width", [1440, 390])
def test_charts_say_no_data_yet_until_there_is_some(stack, context, width):
    """Nothing has traded on this stack: the P&L and ROI charts say so; the live
    opportunities (three pinned) fill the distribution."""
    _, _, base = stack
    page = open_page(context, base, "/charts", width)
    try:
        for key in ("pnl", "roi"):
            expect(page.locator(f"[data-empty={key}]")).to_be_visible()
            expect(page.locator(f"[data-empty={key}]")).to_contain_text("No data yet")
        expect(page.locator("[data-empty=hist]")).to_be_hidden()
        expect(page.locator(".chart-hist canvas").first).to_be_visible()
        for key in ("pnl", "roi"):  # no blank chart box beside the message
            expect(page.locator(f".chart-{key}")).to_be_hidden()
        if width == 390:
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, f"charts-empty-{width}")
    finally:
        page.close()


def test_a_dismissed_alert_stays_in_the_alert_history(stack, context):
    """Last in this module: it pulls the kill switch. Its alert, once dismissed, leaves
    the banner and stays in /executor's alert history, as the worker's /api/alerts has it."""
    s, _, base = stack
    s.action("kill_switch", flatten=False)
    (alert,) = [a for a in s.api("/api/status")["alerts"] if a["kind"] == "kill_switch"]
    s.action("dismiss_alert", alert_id=alert["id"])
    (stored,) = [a for a in s.api("/api/alerts")["alerts"] if a["id"] == alert["id"]]
    assert stored["dismissed_at"] is not None
    for width in (1440, 390):
        page = open_page(context, base, "/executor", width)
        try:
            row = page.locator(f".alert-history .alert-row[data-id='{alert['id']}']")
            expect(row).to_contain_text("Kill switch")
            expect(row.locator("[data-state=dismissed]")).to_be_visible()
            expect(page.locator(".alerts [data-kind=kill_switch]")).to_have_count(0)  # not in the banner
            if width == 390:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390
            row.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / f"alert-history-{width}.png"))
        finally:
            page.close()
