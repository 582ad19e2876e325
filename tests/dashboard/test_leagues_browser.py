"""The new leagues and propositions as an operator meets them, in Chromium against the
real stack: a paper exchange listing the second stream (``EXECUTOR_PAPER_LEAGUES=all``:
MLB, EPL's home/draw/away markets, spreads and totals), the worker with its trading
engine, and ``panel serve``. On ``/mappings`` a search for the draw shows EPL draw
pairs named as draws ("… · Draw", "Kalshi Tie ↔ Polymarket “Yes”"), a search for a
total its line, each with both ways of buying the pair."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dashboard.live import PaperStack, logged_in_context
from tests.dashboard.test_mappings_page import browser_test, open_mappings, paused_stack, shot


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PaperStack, str]]:
    yield from paused_stack(tmp_path_factory.mktemp("leagues-stack"), EXECUTOR_PAPER_LEAGUES="all")


def _search(page: Any, text: str) -> None:
    box = page.get_by_placeholder("Search teams, titles, tickers")
    box.fill(text)
    box.press("Enter")


@browser_test
def test_draws_and_totals_are_named_by_their_proposition(browser, live) -> None:  # type: ignore[no-untyped-def]
    stack, base = live
    mappings = stack.mappings()
    draws = [m for m in mappings if m.get("proposition") == "draw"]
    totals = [m for m in mappings if m.get("proposition", "").startswith("total:over:")]
    assert draws and totals, sorted({m.get("proposition", "")[:5] for m in mappings})
    ctx = logged_in_context(browser, base)
    try:
        page = open_mappings(ctx, base, 1440)
        page.wait_for_selector(".map-dir")
        _search(page, "Draw")
        first = draws[0]
        group = page.locator(f'[data-mapping="{first["id"]}"]')
        group.wait_for()
        text = group.inner_text()
        assert "Kalshi Tie ↔ Polymarket “Yes”" in text and "Tie wins" not in text
        assert "Buy Kalshi YES Tie + Polymarket “No” · buy Kalshi NO Tie + Polymarket “Yes”" in text
        assert page.get_by_text(first["event_title"]).first.is_visible()
        assert first["event_title"].endswith(" · Draw")
        shot(page, "leagues-draws-1440")
        total = totals[0]
        _search(page, total["kalshi_ticker"])
        row = page.locator(f'[data-mapping="{total["id"]}"]')
        row.wait_for()
        assert "Polymarket “Under”" in row.inner_text() and "Polymarket “Over”" in row.inner_text()
        assert " · Over " in total["event_title"]
        shot(page, "leagues-total-1440")
    finally:
        ctx.close()


@browser_test
def test_mappings_page_lists_the_listings_refused_at_discovery(browser, live) -> None:  # type: ignore[no-untyped-def]
    """Kalshi's whole-number totals of the NBA and NFL games (over N, half a point off
    Gamma's N.5 lines) are refused at discovery, each with its reason, and the page lists
    every refusal the worker reports."""
    expect = pytest.importorskip("playwright.sync_api").expect
    stack, base = live
    discovery = stack.api("/api/status")["discovery"]
    assert discovery["discovered_at"] and discovery["refused_count"] == len(discovery["refused"]) > 0
    whole = [r for r in discovery["refused"] if r["venue"] == "kalshi" and "TOTAL-" in r["id"]]
    assert whole and all(
        r["reason"] == (f"integer line {r['id'].rsplit('-', 1)[1]}: a score can land on it (Kalshi settles that NO) "
                        "and Polymarket lists half points only: refused, never paired")
        for r in whole
    ), whole[:3]
    ctx = logged_in_context(browser, base)
    try:
        page = open_mappings(ctx, base, 1440)
        expect(page.locator(".refused-count")).to_have_text(str(discovery["refused_count"]), timeout=20_000)
        rows = page.locator("table.refusals tbody tr")
        expect(rows).to_have_count(len(discovery["refused"]))
        for i in (0, len(discovery["refused"]) - 1):
            want, row = discovery["refused"][i], rows.nth(i)
            expect(row.locator("td").nth(0)).to_have_text(want["venue"])
            expect(row.locator("td").nth(1)).to_have_text(want["id"])
            expect(row.locator("td").nth(2)).to_have_text(want["reason"])
        page.locator("table.refusals").scroll_into_view_if_needed()
        shot(page, "leagues-refused-1440")
    finally:
        ctx.close()
