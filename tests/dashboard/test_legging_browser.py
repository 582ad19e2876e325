"""Legging risk in real Chromium: the estimates on ``/charts`` and the expected edge on the
arbitrage cards, at 1440 px and 390 px.

The stack is the Procfile's (paper exchange, worker, ``panel serve``). Before the worker
starts, known counts of recorded books are stored in its database (``db.legging``, as
``python -m worker legging DIR`` stores them); the worker reads them at start
(``EXECUTOR_LEGGING_REFRESH_S`` long enough that it never refreshes again during the
test) with ``EXECUTOR_PRICE_LEGGING_RISK=1``. The cells are in a league the paper world
does not play, so every live opportunity is priced with a venue's pool. The figures the
page must show are computed here from the stored counts, by the module's rules
(``worker.domain.legging``), not read from the code under test.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from db.engine import Database
from db.legging import BOOKS, LeggingRepository, refresh_estimates
from db.migrate import migrate
from tests.dashboard.live import CHROMIUM, PaperStack, logged_in_context, start_panel, stop_panel
from tests.support.waiting import wait_until_blocking
from worker.domain.legging import CellCount, CellKey

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]

D = Decimal
SHOTS = Path("/tmp/shots-legging")
WAIT = 30_000
AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
# Recorded-book counts, in a league the paper world does not play (nba, nfl, nhl).
POLY_CELL = CellKey("polymarket", "mlb", "0.40-0.60", "le1")  # 10 samples, 4 failures, $0.20 lost
KALSHI_CELL = CellKey("kalshi", "mlb", "0.20-0.40", "gt1")  # 40 samples, 2 failures, $0.06 lost
COUNTS = {POLY_CELL: CellCount(10, 4, D("0.20")), KALSHI_CELL: CellCount(40, 2, D("0.06"))}
P6 = D("0.000001")


def q6(x: Decimal) -> Decimal:
    return x.quantize(P6, rounding=ROUND_HALF_EVEN)


# What the estimates are, by hand from COUNTS (a pool of n samples weighs n/30 when n < 30;
# a cost weighs failures/30):
# every venue: 6 of 50 fail = 0.12; cost $0.26 / 6 = 0.043333.
OVERALL_P, OVERALL_COST = D("0.12"), q6(D("0.26") / 6)
# Polymarket's pool: 4/10 = 0.4 at weight 1/3 toward 0.12 → 0.213333; cost 0.05 at 4/30.
POLY_P = q6(D("0.4") / 3 + D(2) / 3 * OVERALL_P)
POLY_COST = q6(D(4) / 30 * D("0.05") + D(26) / 30 * OVERALL_COST)
# Kalshi's pool: 2/40 = 0.05, 40 samples (its own); cost 0.03 at 2/30 toward 0.043333.
KALSHI_P = D("0.05")
KALSHI_COST = q6(D(2) / 30 * D("0.03") + D(28) / 30 * OVERALL_COST)
# Polymarket's cell: 0.4 at weight 1/3 toward its pool.
POLY_CELL_P = q6(D("0.4") / 3 + D(2) / 3 * POLY_P)
POOLS = {"kalshi": (KALSHI_P, KALSHI_COST, 40), "polymarket": (POLY_P, POLY_COST, 10)}


def wilson(failures: int, n: int) -> tuple[Decimal, Decimal]:
    """The 95 % Wilson interval, written out here."""
    z = D("1.96")
    p, nd = D(failures) / n, D(n)
    centre = (p + z * z / (2 * nd)) / (1 + z * z / nd)
    half = z * (p * (1 - p) / nd + z * z / (4 * nd * nd)).sqrt() / (1 + z * z / nd)
    return centre - half, centre + half


def pct(p: Decimal) -> str:
    v = (p * 100).quantize(D("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{v.normalize() if v == v.to_integral_value() else v:f}%"


def money(x: Decimal) -> str:
    return f"${x.quantize(D('0.01'), rounding=ROUND_HALF_EVEN):,.2f}"


async def store_counts(url: str) -> None:
    db = Database(url)
    try:
        await migrate(db, "paper")
        repo = LeggingRepository(db)
        await repo.replace_counts(BOOKS, COUNTS, AT)
        await refresh_estimates(repo, {}, AT)
    finally:
        await db.dispose()


def opp_id(mapping: dict[str, Any]) -> str:
    return f"opp_{mapping['id'].removeprefix('map_')}_kalshi_no"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PaperStack, dict[str, Any], str]]:
    s = PaperStack(tmp_path_factory.mktemp("legging"), suspicious_roi="1000")
    s.env["EXECUTOR_PRICE_LEGGING_RISK"] = "1"
    s.env["EXECUTOR_LEGGING_REFRESH_S"] = "86400"
    asyncio.run(store_counts(s.env["EXECUTOR_DATABASE_URL"]))
    proc = None
    try:
        s.start_exchange()
        s.start_worker()
        s.action("toggle_enabled", value=False)  # nothing trades: the figures are under test
        wait_until_blocking(lambda: s.api("/api/legging")["samples"] == 50, 30, "the worker's legging estimates")
        game = s.games()[0]
        s.pin_arbitrage(game, poly_ask="0.44", kalshi_yes_bid="0.50")  # ~3.4 % locked
        oid = opp_id(game[0])

        def priced() -> dict[str, Any] | None:
            opp = s.opportunities().get(oid)
            # Priced with the stored estimates (an empty table's quote rests on 0 samples), at
            # both pinned books: the three pins land one after another, and an opportunity
            # seen between two of them has another Kalshi price and size (seen in CI).
            pinned = opp is not None and (D(opp["poly_leg"]["price"]), D(opp["kalshi_leg"]["price"])) == (D("0.44"), D("0.50"))
            return dict(opp) if pinned and opp.get("legging") and opp["legging"]["samples"] else None

        opp = wait_until_blocking(priced, 60, "the pinned arbitrage, priced")
        # min_roi between the expected and the locked ROI: the card must say why it is refused.
        locked, expected = D(opp["roi_pct"]), D(opp["legging"]["expected_roi_pct"])
        assert expected < locked
        s.action("update_settings", settings={"min_roi": ((locked + expected) / 2).quantize(D("0.01"))})
        proc, base = start_panel(s.ws_url)
        yield s, opp, base
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


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def cells_of(row: Any) -> list[str]:
    return [t.strip() for t in row.locator("td").all_inner_texts()]


@pytest.mark.parametrize("width", [1440, 390])
def test_charts_show_the_stored_estimates_with_their_counts(stack: Any, context: Any, width: int) -> None:
    s, _, base = stack
    page = open_page(context, base, "/charts", width)
    try:
        table = page.locator("table.legging-table")
        expect(table).to_be_visible()
        keys = table.locator("tr.legging-row").evaluate_all("rows => rows.map(r => r.dataset.cell)")
        assert keys == ["kalshi/mlb/0.20-0.40/gt1", "polymarket/mlb/0.40-0.60/le1", "kalshi/*/*/*",
                        "polymarket/*/*/*", "*/*/*/*"]
        low, high = wilson(4, 10)
        poly = table.locator("tr[data-cell='polymarket/mlb/0.40-0.60/le1']")
        expect(poly).to_have_attribute("data-sparse", "1")
        assert cells_of(poly) == [
            "Polymarket", "mlb", "0.40-0.60", "le1", "10 ⚠ sparse", "4", "40%", pct(POLY_CELL_P),
            f"{pct(low)} – {pct(high)}", f"{money(q6(D(4) / 30 * D('0.05') + D(26) / 30 * POLY_COST))} (raw $0.05)",
            "0.33",
        ]
        kalshi = table.locator("tr[data-cell='kalshi/mlb/0.20-0.40/gt1']")
        expect(kalshi).to_have_attribute("data-sparse", "0")
        klow, khigh = wilson(2, 40)
        assert cells_of(kalshi)[4:] == ["40", "2", "5%", "5%", f"{pct(klow)} – {pct(khigh)}",
                                        f"{money(q6(D(2) / 30 * D('0.03') + D(28) / 30 * KALSHI_COST))} (raw $0.03)",
                                        "1.00"]
        assert cells_of(table.locator("tr[data-cell='polymarket/*/*/*']"))[4:8] == [
            "10 ⚠ sparse", "4", "40%", pct(POLY_P)]
        assert cells_of(table.locator("tr[data-cell='*/*/*/*']"))[:8] == [
            "every venue", "all", "all", "all", "50", "6", "12%", "12%"]
        expect(page.locator("[data-k=legging-samples]")).to_have_text("50 samples")
        expect(page.locator("[data-k=legging-applied]")).to_have_attribute("data-applied", "1")
        expect(page.locator("[data-k=legging-updated]")).not_to_contain_text("never")
        page.locator(".legging-refresh button").click()  # read again: the same figures
        expect(table.locator("tr.legging-row")).to_have_count(5)
        if width == 390:
            page.wait_for_timeout(500)  # let the layout settle after the first render
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator(".legging-section").scroll_into_view_if_needed()
        shot(page, f"charts-{width}")
    finally:
        page.close()


@pytest.mark.parametrize("width", [1440, 390])
def test_a_card_shows_the_locked_and_the_expected_edge(stack: Any, context: Any, width: int) -> None:
    s, opp, base = stack
    q = opp["legging"]
    venue = q["second_venue"]
    # The worker's quote is its venue's pool (the stored cells are mlb): figures by hand.
    p_fail, cost, samples = POOLS[venue]
    assert (D(q["p_fail"]), D(q["cost"]), q["samples"]) == (p_fail, cost, samples)
    size, total = D(opp["size"]), D(opp["cost"])
    edge = size - total
    expected_edge = q6(edge - p_fail * cost * size)
    assert D(q["expected_edge"]) == expected_edge
    expected_roi = (expected_edge / total * 100).quantize(D("0.0001"))
    assert D(q["expected_roi_pct"]) == expected_roi
    page = open_page(context, base, "/arbitrage", width)
    try:
        card = page.locator(f"[data-key='{opp['id']}']")
        expect(card).to_be_visible()
        two = D("0.01")
        expect(card.locator("[data-k=locked]")).to_have_text(
            f"{money(edge)} · {D(opp['roi_pct']).quantize(two, rounding=ROUND_HALF_EVEN)}%")
        expect(card.locator("[data-k=expected]")).to_have_text(
            f"{money(expected_edge)} · {expected_roi.quantize(two, rounding=ROUND_HALF_EVEN)}%")
        name = {"kalshi": "Kalshi", "polymarket": "Polymarket"}[venue]
        expect(card.locator("[data-k=leg2]")).to_contain_text(
            re.compile(rf"^leg 2 \({name}\) fails {re.escape(pct(p_fail))} of {samples} samples"))
        # min_roi sits between the two: refused once legging risk is priced.
        expect(card.locator("[data-legging-refused]")).to_contain_text("refused when EXECUTOR_PRICE_LEGGING_RISK=1")
        if width == 390:
            page.wait_for_timeout(500)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        card.scroll_into_view_if_needed()
        shot(page, f"arbitrage-{width}")
    finally:
        page.close()
