"""Headless tests of legging risk on the pages: each card's locked and expected edge with
leg 2's failure rate, the mark of a card that ``min_roi`` would refuse after legging
risk, the "Expected ROI" sort, and the "Legging risk" section of ``/charts`` (rows,
sparse cells, the empty state, a failed read)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

from dashboard.app import Page
from dashboard.views.legging import REFRESH_S, chance
from tests.dashboard.conftest import FakeFeed, replay
from tests.dashboard.protocol import T0, domain_opportunity, init, snapshot
from worker.api import schemas
from worker.domain.legging import CellCount, CellKey, build_table
from worker.domain.mapping import LeggingQuote
from worker.domain.opportunity_template import with_legging
from worker.engine.legging import LeggingPricer

AT = datetime(2026, 11, 29, 17, 45, tzinfo=UTC)


def quoted(n: int, roi: str, quote: LeggingQuote | None) -> dict[str, Any]:
    """An opportunity on the wire with its legging quote (size 100, cost $99.00)."""
    return schemas.to_wire(with_legging(domain_opportunity(n, roi=roi), quote))


# 100 pairs for $99.00 lock $1.00. P(fail) 0.1 × $0.05 × 100 = $0.50 off: $0.50 expected,
# 0.50 / 99.00 = 0.5051 %; below the default min ROI (1 %) while 2.5 % is above.
REFUSED = LeggingQuote("polymarket", "polymarket/nba/0.40-0.60/gt1", 40, D("0.1"), D("0.05"), D("0.500000"),
                       D("0.5051"))
# P(fail) 0.02 × $0.10 × 100 = $0.20 off: $0.80, 0.80 / 99.00 = 0.8081 %; 12 samples only.
SPARSE = LeggingQuote("kalshi", "kalshi/nba/0.40-0.60/le1", 12, D("0.02"), D("0.10"), D("0.800000"), D("0.8081"))


def test_a_card_shows_the_locked_and_the_expected_edge_and_leg_2s_failure_rate(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("arbitrage")
    replay(feed, p, init(), snapshot([quoted(1, "2.5", REFUSED), quoted(2, "0.9", SPARSE), quoted(3, "3.0", None)]))
    one = p.view.cards["opp_0001_kalshi_no"].summary
    assert 'Locked <b data-k="locked">$1.00 · 2.50%</b>' in one
    assert 'Expected <b data-k="expected">$0.50 · 0.51%</b>' in one and "at 100 pairs" in one
    assert "leg 2 (Polymarket) fails 10% of 40 samples, $0.05 a contract" in one
    assert "sparse" not in one
    # Locked 2.5 % ≥ min ROI 1 % > expected 0.51 %: refused when the risk is priced.
    assert 'data-legging-refused="1"' in one and "refused when EXECUTOR_PRICE_LEGGING_RISK=1" in one
    two = p.view.cards["opp_0002_kalshi_no"].summary
    assert "leg 2 (Kalshi) fails 2% of 12 samples (sparse: pooled)" in two
    assert 'Expected <b data-k="expected">$0.80 · 0.81%</b>' in two
    assert "data-legging-refused" not in two  # the locked ROI (0.9 %) is refused anyway
    three = p.view.cards["opp_0003_kalshi_no"].summary
    assert 'data-legging="none"' in three and "no legging estimate" in three and "Expected" not in three


def test_the_refused_mark_follows_min_roi(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("arbitrage")
    replay(feed, p, init(), snapshot([quoted(1, "2.5", REFUSED)]))
    assert "data-legging-refused" in p.view.cards["opp_0001_kalshi_no"].summary
    settings = {"enabled": True, "min_bet": D("5.00"), "max_bet": D("10.00"), "min_roi": D("0.50"),
                "max_roi": D("50.00"), "max_daily_trades": 50, "max_daily_loss": D("5.00")}
    replay(feed, p, {"type": schemas.SETTINGS_CHANGED, "data": settings})  # 0.5051 % ≥ 0.50 %
    assert "data-legging-refused" not in p.view.cards["opp_0001_kalshi_no"].summary


def test_sort_by_expected_roi(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("arbitrage")
    replay(feed, p, init(), snapshot([quoted(1, "2.5", REFUSED), quoted(2, "0.9", SPARSE), quoted(3, "0.7", None)]))
    assert list(p.view.grid.order) == ["opp_0001_kalshi_no", "opp_0002_kalshi_no", "opp_0003_kalshi_no"]
    p.view.sort.value = "Expected ROI ▼"  # 0.8081, 0.7 (no estimate: its locked ROI), 0.5051
    assert list(p.view.grid.order) == ["opp_0002_kalshi_no", "opp_0003_kalshi_no", "opp_0001_kalshi_no"]


def answer(body: Any) -> Any:
    """An ``/api`` answer as it comes off the wire (exact numbers)."""
    return schemas.decode_server_message(schemas.dumps({"type": "answer", "body": body}))["body"]


CELL = CellKey("polymarket", "nba", "0.40-0.60", "le1")
DEEP = CellKey("kalshi", "nfl", "0.20-0.40", "gt1")


def estimates(applied: bool = False) -> Any:
    table = build_table({CELL: CellCount(10, 4, D("0.20")), DEEP: CellCount(40, 2, D("0.06"))}, updated_at=AT)
    return answer({**LeggingPricer(table).figures(), "price_legging_risk": applied})


def read_with(section: Any, body: Any) -> list[str]:
    calls: list[str] = []

    async def fetch(path: str, params: Mapping[str, str]) -> Any:
        calls.append(path)
        if isinstance(body, Exception):
            raise body
        return body

    section._fetch = fetch
    asyncio.run(section._read())
    return calls


def test_the_charts_section_shows_every_estimate_with_its_counts(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("charts", now=T0)
    section = p.view.legging
    assert section.layout in p.view.layout.objects
    assert read_with(section, estimates()) == ["/api/legging"]
    table = section.table.object
    assert 'data-rows="5"' in table
    rows = table.split('<tr class="legging-row ')[1:]
    assert [r.split('data-cell="')[1].split('"')[0] for r in rows] == [
        "kalshi/nfl/0.20-0.40/gt1", "polymarket/nba/0.40-0.60/le1", "kalshi/*/*/*", "polymarket/*/*/*", "*/*/*/*"]
    cell = rows[1]
    # 4 of 10: raw 40 %; weight 10/30; the pool (10 samples, weight 1/3 toward the
    # overall 6/50 = 12 %) is 21.3333 %, the cell 1/3 × 40 % + 2/3 × 21.3333 % = 27.6 %.
    assert cell.startswith('cell sparse"') and 'data-sparse="1"' in cell and "⚠ sparse" in cell
    assert "<td>10 <span" in cell and "<td>4</td>" in cell and "<td>40%</td>" in cell
    assert "<td><b>27.6%</b></td>" in cell and "<td>0.33</td>" in cell
    assert "(raw $0.05)" in cell  # $0.20 over 4 failures
    deep = rows[0]
    assert deep.startswith('cell"') and 'data-sparse="0"' in deep and "<td>1.00</td>" in deep  # 40 ≥ 30: its own
    assert "<td>5%</td>" in deep and "<td><b>5%</b></td>" in deep  # 2 of 40, not shrunk
    assert rows[4].startswith('all"') and "every venue" in rows[4] and "<td>50</td>" in rows[4]
    status = section.status.object
    assert "Last refresh: " in status and "50 samples" in status and 'data-applied="0"' in status
    read_with(section, estimates(applied=True))
    assert 'data-applied="1"' in section.status.object and "applied to min ROI" in section.status.object


def test_the_charts_section_says_how_to_get_estimates_when_there_are_none(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("charts", now=T0)
    section = p.view.legging
    read_with(section, answer({"updated_at": None, "samples": 0, "rows": [], "price_legging_risk": False}))
    assert 'data-empty="legging"' in section.table.object
    assert "No estimates yet: run <code>python -m worker legging DIR</code>" in section.table.object
    assert "EXECUTOR_LEGGING_REFRESH_S" in section.table.object
    assert "Last refresh: never" in section.status.object


def test_a_failed_read_says_so_and_keeps_the_table(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("charts", now=T0)
    section = p.view.legging
    read_with(section, estimates())
    shown = section.table.object
    read_with(section, ConnectionError("down"))
    assert "Estimates not read from the worker (ConnectionError)" in section.status.object
    assert section.table.object == shown
    bad = answer({"updated_at": None, "samples": 1, "rows": [{"venue": "kalshi"}], "price_legging_risk": False})
    read_with(section, bad)
    assert "(ViewError)" in section.status.object


def test_the_section_reads_again_after_a_minute(feed: FakeFeed, page: Callable[..., Page]) -> None:
    p = page("charts", now=T0)
    section = p.view.legging
    clock = [1000.0]
    section.ctx.monotonic = lambda: clock[0]
    started: list[bool] = []
    section.refresh = lambda: started.append(True)
    section._next_at = clock[0] + REFRESH_S
    section.update({"clock"})
    assert started == []
    clock[0] += REFRESH_S
    section.update({"clock"})
    assert started == [True]


def test_probabilities_read_as_percent() -> None:
    assert [chance(D(x)) for x in ("0.1", "0.275555", "0", "1", "0.05")] == ["10%", "27.6%", "0%", "100%", "5%"]
