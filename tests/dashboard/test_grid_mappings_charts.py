"""Headless tests of the card grid, the mappings review, the charts and the header."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard import format as fmt
from dashboard.feed import DOWN, RECONNECTING
from dashboard.shown import ShownOpportunity
from dashboard.views.charts import roi_histogram
from tests.dashboard.conftest import replay
from tests.dashboard.protocol import (
    T0,
    init,
    mapping,
    opportunity,
    opportunity_message,
    snapshot,
    trade,
    wire,
)
from worker.api import schemas
from worker.domain.mapping import Confidence, MappingStatus, trade_permission


def grid_ids(p) -> list[str]:
    # What the browser shows, in order: the grid's objects, each a card it was sent.
    assert all(oid in p.view.grid.items for oid in p.view.grid.order)
    return list(p.view.grid.order)


@pytest.fixture
def grid(feed, page):
    p = page("arbitrage")
    replay(feed, p, init(), snapshot([
        opportunity(1, roi="2.5", confidence="HIGH"),
        opportunity(2, roi="6.2", confidence="LOW", starts_in_h=1),
        opportunity(3, roi="0.7", confidence="MEDIUM", starts_in_h=9),
        opportunity(4, roi="4.1", confidence="MEDIUM", starts_in_h=3, expires_at=T0 - timedelta(minutes=5)),
    ]))
    return p


@pytest.mark.parametrize(
    ("roi", "band"),
    [("0.99", "roi-gray"), ("1", "roi-green"), ("2.99", "roi-green"), ("3", "roi-green"),
     ("3.01", "roi-bright"), ("5", "roi-bright"), ("5.01", "roi-gold")],
)
def test_roi_colour_bands_follow_the_plan(roi, band):
    assert fmt.roi_band(Decimal(roi)) == band


def test_cards_are_sorted_by_roi_descending_by_default(grid):
    assert grid_ids(grid) == ["opp_0002_kalshi_no", "opp_0004_kalshi_no", "opp_0001_kalshi_no", "opp_0003_kalshi_no"]


def test_card_shows_legs_figures_and_confidence_style(grid):
    card = grid.view.cards["opp_0001_kalshi_no"]
    text = card.summary
    assert "🏀 Rockets vs Lakers #1" in text
    assert "BUY Rockets Poly @ 0.51 → BUY NO HOU Kalshi @ 0.48" in text
    assert "ROI: <span class=\"roi roi-green\">2.5%</span>" in text
    # Each venue's volume in its own unit (dollars, contracts), never one sum.
    assert "Cost: $0.99" in text and "Vol: Poly $1.2K · Kalshi 15.2K ct" in text
    other = grid.view.cards["opp_0002_kalshi_no"].summary
    assert "Vol: Poly $1.2K |" in other  # Kalshi reports none: no figure invented
    assert card.classes == "opp-card conf-high"
    assert grid.view.grid.items["opp_0002_kalshi_no"]["cls"] == "opp-card conf-low"


def test_gold_roi_is_marked_suspicious(grid):
    assert "roi-gold" in grid.view.cards["opp_0002_kalshi_no"].summary
    assert "suspicious" in grid.view.cards["opp_0002_kalshi_no"].summary
    assert "suspicious" not in grid.view.cards["opp_0001_kalshi_no"].summary


def test_high_only_and_medium_plus_filters(grid):
    grid.view.confidence.value = "HIGH only"
    assert grid_ids(grid) == ["opp_0001_kalshi_no"]
    grid.view.confidence.value = "MEDIUM+"
    assert grid_ids(grid) == ["opp_0004_kalshi_no", "opp_0001_kalshi_no", "opp_0003_kalshi_no"]
    assert 'data-shown="3"' in grid.view.count.object


def test_hide_expired_drops_expired_cards(grid):
    assert "expired" in grid.view.cards["opp_0004_kalshi_no"].summary
    grid.view.hide_expired.value = True
    assert "opp_0004_kalshi_no" not in grid_ids(grid)


def test_sort_by_roi_per_day_and_by_start(grid):
    grid.view.sort.value = "Starts soonest"
    assert grid_ids(grid) == ["opp_0004_kalshi_no", "opp_0002_kalshi_no", "opp_0001_kalshi_no", "opp_0003_kalshi_no"]
    grid.view.sort.value = "ROI/day ▼"
    assert grid_ids(grid)[0] == "opp_0002_kalshi_no"


def test_filtering_swaps_container_objects_without_resending_cards(grid):
    sent = dict(grid.view.grid.items)
    grid.view.confidence.value = "HIGH only"
    assert grid.view.grid.order == ["opp_0001_kalshi_no"]
    assert grid.view.grid.items == sent  # every card is still in the browser, unchanged


def test_update_changes_the_same_card_in_place(feed, grid):
    card = grid.view.cards["opp_0001_kalshi_no"]
    replay(feed, grid, opportunity_message(schemas.OPPORTUNITY_UPDATED, 1, roi="3.4", confidence="MEDIUM"))
    assert grid.view.cards["opp_0001_kalshi_no"] is card
    assert "roi-bright" in card.summary
    assert grid.view.grid.items["opp_0001_kalshi_no"] == {"cls": "opp-card conf-medium", "sum": card.summary, "det": card.details}


def test_opened_and_closed_opportunities_add_and_remove_cards(feed, grid):
    replay(feed, grid, opportunity_message(schemas.OPPORTUNITY_OPENED, 9, roi="1.5", title="Jets vs Bills", league="nfl"))
    assert "🏈 Jets vs Bills" in grid.view.cards["opp_0009_kalshi_no"].summary
    replay(feed, grid, wire(schemas.OPPORTUNITY_CLOSED, {"id": "opp_0009_kalshi_no", "reason": "edge_gone"}))
    assert "opp_0009_kalshi_no" not in grid_ids(grid)
    assert "opp_0009_kalshi_no" not in grid.view.grid.items


def test_rules_difference_is_warned_and_details_show_both_rules(feed, grid):
    replay(feed, grid, opportunity_message(schemas.OPPORTUNITY_UPDATED, 1, rules_differ=True))
    card = grid.view.cards["opp_0001_kalshi_no"]
    assert "⚠ postponement handling differs" in card.summary
    assert "postponement handling differs" in card.details
    replay(feed, grid, opportunity_message(schemas.OPPORTUNITY_UPDATED, 2))
    assert "⚠" not in grid.view.cards["opp_0002_kalshi_no"].summary  # the rules agree: nothing shown
    assert "Kalshi: resolves YES if Houston wins." in card.details
    assert "Polymarket: resolves Rockets if Houston wins." in card.details
    assert "KXNBAGAME-26NOV29HOULAL1-HOU" in card.details


def test_copy_trade_ticket_names_both_legs(grid):
    opp: ShownOpportunity = grid.view.cards["opp_0001_kalshi_no"].opp
    ticket = fmt.order_ticket(opp)
    assert "Leg 1: BUY Rockets on Polymarket @ 0.51" in ticket
    assert "Leg 2: BUY NO HOU on Kalshi @ 0.48" in ticket
    assert "data-ticket=" in grid.view.cards["opp_0001_kalshi_no"].summary
    assert "Leg 2: BUY NO HOU on Kalshi @ 0.48" in grid.view.grid.items["opp_0001_kalshi_no"]["sum"]


def test_mappings_filter_by_status_and_confirm_sends_the_id(feed, page):
    p = page("mappings")
    replay(feed, p, init(), {"type": "mappings_snapshot", "data": {"mappings": [
        mapping(1), mapping(2, status="confirmed", confidence="HIGH"), mapping(3, status="rejected", confidence="LOW")]}})
    assert len(p.view.list.order) == 3
    p.view.status.value = "pending"  # the worker's candidates
    mid, game = mapping(1)["id"], mapping(1)["review_key"]
    assert p.view.list.order == [game]
    item = p.view.list.items[game]
    assert "title fuzzy 0.93" in item["det"] and "MEDIUM" in item["sum"] and "conf-medium" in item["cls"]
    p.view.list.click(game, "confirm")
    sent = json.loads(feed.socket.sent[-1])
    assert sent["action"] == "confirm_mapping" and sent["mapping_id"] == mid
    replay(feed, p, {"type": "ack", "action": "confirm_mapping", "id": sent["id"], "data": {}},
           wire(schemas.MAPPING_CHANGED, mapping(1, status="confirmed")))
    row = p.view.list.items[game]["sum"]
    assert 'data-status="confirmed"' in row and 'data-action="confirm" disabled' in row
    assert p.view.list.order == [game]  # a decision does not move the game ...
    p.view.status.value = "all"
    p.view.status.value = "pending"
    assert p.view.list.order == []  # ... it leaves the pending filter when the filter is applied again


def test_pnl_chart_starts_at_zero_at_the_range_start_and_runs_to_now(feed, page):
    p = page("charts", now=T0)
    # Cumulative realised P&L as the worker sends it: -1.00 ten days ago, 0.50 three
    # days ago, 1.25 at T0 - 1 h (each point the running total).
    points = [wire(schemas.PNL_POINT, {"t": t, "pnl": Decimal(v), "delta": Decimal(d), "trade_id": i, "event": e})
              for t, v, d, i, e in ((T0 - timedelta(days=10), "-1.00", "-1.00", "1", "LAL vs BOS"),
                                    (T0 - timedelta(days=3), "0.50", "1.50", "2", "HOU vs SAC"),
                                    (T0 - timedelta(hours=1), "1.25", "0.75", "3", "NYK vs MIA"))]
    replay(feed, p, init(), *points)
    data = p.view.pnl_src.data
    # "all": from 0 at the first point, each total, held until now.
    assert data["pnl"] == [0.0, -1.0, 0.5, 1.25, 1.25]
    assert data["event"] == ["start of range", "LAL vs BOS", "HOU vs SAC", "NYK vs MIA", "now"]
    assert data["delta"][1:4] == ["-$1.00", "+$1.50", "+$0.75"]
    assert data["t"][-1] == T0.replace(tzinfo=None)
    assert "+$1.25" in p.view.summary.object and "3 realised trades" in p.view.summary.object
    # "7 d": what was realised since T0 - 7 d, from 0: 0.50 - (-1.00) = 1.50, then 2.25.
    p.view.range.value = "7 d"
    data = p.view.pnl_src.data
    assert data["pnl"] == [0.0, 1.5, 2.25, 2.25]
    assert data["t"][0] == (T0 - timedelta(days=7)).replace(tzinfo=None)
    assert "+$2.25" in p.view.summary.object
    # "today": from the trading day's midnight in New York (T0 is 13:00 there): 0, 0.75.
    p.view.range.value = "today"
    data = p.view.pnl_src.data
    assert data["pnl"] == [0.0, 0.75, 0.75]
    assert data["t"][0] == datetime(2026, 11, 29, 5, 0)  # midnight EST in UTC
    # Both time charts show the same range, start to now.
    assert p.view.pnl_fig.x_range is p.view.roi_fig.x_range
    assert p.view.x_range.start == datetime(2026, 11, 29, 5, 0, tzinfo=UTC).timestamp() * 1000
    assert p.view.x_range.end == T0.timestamp() * 1000


def test_charts_without_data_say_so_and_show_once_there_is_some(feed, page):
    p = page("charts", now=T0)
    replay(feed, p, init())
    for key in ("pnl", "roi", "hist"):
        assert p.view.empty[key].visible and not p.view.panes[key].visible
        assert "No data yet" in p.view.empty[key].object
    replay(feed, p, wire(schemas.PNL_POINT, {"t": T0, "pnl": Decimal("1"), "delta": Decimal("1")}),
           snapshot([opportunity(1, roi="2.5")]))
    for key in ("pnl", "hist"):
        assert p.view.panes[key].visible and not p.view.empty[key].visible
    assert p.view.empty["roi"].visible  # still no executed trade
    # A range with nothing in it is empty again, although older data exist.
    p.view.range.value = "today"
    replay(feed, p)
    assert p.view.panes["pnl"].visible  # T0 is today
    p2 = page("charts", now=T0 + timedelta(days=2))
    replay(feed, p2, init(), wire(schemas.PNL_POINT, {"t": T0, "pnl": Decimal("1"), "delta": Decimal("1")}))
    p2.view.range.value = "today"
    assert p2.view.empty["pnl"].visible and not p2.view.panes["pnl"].visible


def test_roi_charts_use_executed_trades_and_live_opportunities(feed, page):
    p = page("charts", now=T0)
    replay(feed, p, init(), trade("SUCCESS", roi="2.4"), trade("FAILED", roi=None, trade_id="f", attempt_id="f"),
           snapshot([opportunity(1, roi="2.5"), opportunity(2, roi="0.4"), opportunity(3, roi="25")]))
    assert p.view.roi_src.data["roi"] == [2.4]
    assert p.view.roi_src.data["event"] == ["LAL vs BOS"]
    hist = p.view.hist_src.data
    assert sum(hist["count"]) == 3
    assert hist["count"][hist["label"].index("0–0.5 %")] == 1
    assert hist["count"][-1] == 1  # > 20 %
    # Counts have whole-number ticks only.
    from bokeh.models import AdaptiveTicker

    ticker = p.view.hist_fig.yaxis[0].ticker
    assert isinstance(ticker, AdaptiveTicker) and ticker.min_interval == 1


def test_histogram_bins_use_exact_edges():
    h = roi_histogram([Decimal("1"), Decimal("0.99")])
    assert h["count"][h["label"].index("1–1.5 %")] == 1
    assert h["count"][h["label"].index("0.5–1 %")] == 1


def test_header_shows_paper_banner_and_connection_state(feed, page):
    p = page("executor")
    replay(feed, p, init(mode="paper"))
    assert "PAPER" in p.header.mode.object
    assert 'data-status="live"' in p.header.conn.object
    feed._set_status(RECONNECTING)
    p.link.flush()
    assert "reconnecting" in p.header.conn.object
    feed._set_status(DOWN)
    p.link.flush()
    assert "worker down" in p.header.conn.object and "old" in p.header.conn.object


def test_live_mode_banner(feed, page):
    p = page("home")
    replay(feed, p, init(mode="live"))
    assert "LIVE" in p.header.mode.object
    assert "Total balance <b>$95.00</b>" in p.view.glance.object


def test_a_card_shows_the_roi_at_the_size_max_bet_buys_and_full_depth_in_details(feed, page):
    from dataclasses import replace

    from tests.dashboard.protocol import domain_opportunity
    from worker.domain.mapping import CurvePoint

    D = Decimal
    deep = replace(
        domain_opportunity(7, roi="3.40"),
        size=D(878),
        curve=(
            CurvePoint(D(5), D("4.70"), D("0.30"), D("6.38")),
            CurvePoint(D(10), D("9.40"), D("0.60"), D("6.38")),
            CurvePoint(D(21), D("19.76"), D("1.24"), D("6.29")),
            CurvePoint(D(878), D("849.10"), D("28.90"), D("3.40")),
        ),
    )
    p = page("arbitrage")
    replay(feed, p, init(), snapshot([schemas.to_wire(deep)]))  # max_bet $10
    card = p.view.cards["opp_0007_kalshi_no"]
    assert 'ROI: <span class="roi roi-gold">6.4%</span>' in card.summary and "for 10" in card.summary
    assert 'data-roi="6.38"' in card.summary
    assert "878 pairs · ROI 3.4%" in card.details  # full depth in Details
    # The operator raises max_bet to $20: 21 pairs cost $19.76, so the card shows theirs.
    settings = {"enabled": True, "min_bet": D("5.00"), "max_bet": D("20.00"), "min_roi": D("1.00"),
                "max_roi": D("50.00"), "max_daily_trades": 50, "max_daily_loss": D("5.00")}
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, settings))
    summary = p.view.cards["opp_0007_kalshi_no"].summary
    assert 'data-roi="6.29"' in summary and "for 21" in summary
    # Between two points it sizes as the executor does: $15 buys 15 pairs of the segment.
    settings["max_bet"] = D("15.00")
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, settings))
    assert "for 15" in p.view.cards["opp_0007_kalshi_no"].summary


def _judged(data: dict, status: MappingStatus, confidence: Confidence, require: bool) -> dict:
    """A wire object with the worker's verdict, as the worker encodes it."""
    return {**data, **trade_permission(status, confidence, Confidence.HIGH, require).to_wire()}


def test_each_card_says_whether_its_pair_may_trade_and_why_not(feed, grid):
    assert "trade-verdict" not in grid.view.cards["opp_0001_kalshi_no"].summary  # the worker did not say
    awaiting = _judged(opportunity(1, roi="2.5", confidence="HIGH"), MappingStatus.CANDIDATE, Confidence.HIGH, True)
    replay(feed, grid, wire(schemas.OPPORTUNITY_UPDATED, awaiting))
    card = grid.view.cards["opp_0001_kalshi_no"].summary
    assert ('<span class="trade-verdict no" data-tradeable="false" data-why-not="not_confirmed">'
            "not tradeable: awaiting confirmation</span>") in card
    low = _judged(opportunity(3, roi="0.7", confidence="MEDIUM"), MappingStatus.CANDIDATE, Confidence.MEDIUM, False)
    replay(feed, grid, wire(schemas.OPPORTUNITY_UPDATED, low))
    assert "not tradeable: confidence MEDIUM is below the minimum HIGH" in grid.view.cards["opp_0003_kalshi_no"].summary
    # Confirmed: the same card now may trade.
    confirmed = _judged(opportunity(1, roi="2.5", confidence="HIGH"), MappingStatus.CONFIRMED, Confidence.HIGH, True)
    replay(feed, grid, wire(schemas.OPPORTUNITY_UPDATED, confirmed))
    card = grid.view.cards["opp_0001_kalshi_no"].summary
    assert '<span class="trade-verdict ok" data-tradeable="true">may trade</span>' in card
    assert "not tradeable" not in card
    assert grid.view.grid.items["opp_0001_kalshi_no"]["sum"] == card


def test_each_mapping_row_says_whether_its_pair_may_trade(feed, page):
    p = page("mappings")
    replay(feed, p, init(), {"type": "mappings_snapshot", "data": {"mappings": [
        _judged(mapping(1), MappingStatus.CANDIDATE, Confidence.MEDIUM, False),
        _judged(mapping(2, status="confirmed", confidence="LOW"), MappingStatus.CONFIRMED, Confidence.LOW, True),
        _judged(mapping(3, confidence="HIGH"), MappingStatus.CANDIDATE, Confidence.HIGH, True)]}})
    rows = {m: p.view.list.items[mapping(n)["review_key"]]["sum"] for n, m in ((1, "low"), (2, "confirmed"), (3, "awaiting"))}
    assert 'data-why-not="low_confidence">not tradeable: confidence MEDIUM is below the minimum HIGH<' in rows["low"]
    assert 'data-tradeable="true">may trade (rules: see its cards)<' in rows["confirmed"]
    assert 'data-why-not="not_confirmed">not tradeable: awaiting confirmation<' in rows["awaiting"]
    # The game is rejected (from its other row): this row's change arrives with the verdict.
    game = mapping(3)["review_key"]
    replay(feed, p, wire(schemas.MAPPING_CHANGED, _judged(
        mapping(3, status="rejected", confidence="HIGH"), MappingStatus.REJECTED, Confidence.HIGH, True)))
    row = p.view.list.items[game]["sum"]
    assert 'data-status="rejected"' in row
    assert 'data-why-not="mapping_rejected">not tradeable: rejected by the operator<' in row


def test_a_card_says_what_the_suspicious_roi_limit_does_to_its_pair(feed, page):
    """``EXECUTOR_SUSPICIOUS_ROI`` travels in ``init``'s ``limits``: above it a card whose
    game is not confirmed carries the worker's refusal, a confirmed one says why it may
    trade; at or below it nothing is said."""
    p = page("arbitrage")
    start = init()
    start["data"]["limits"]["suspicious_roi"] = Decimal("5")
    # The worker's verdicts as the wire carries them (written out, not built by the code).
    refused = {**opportunity(2, roi="6.2"), "tradeable": False, "why_not": {
        "reason": "suspicious_roi", "text": "ROI 6.2% is above 5%: only a confirmed game trades at such an edge "
                                            "(check the match and confirm it on /mappings)"}}
    allowed = {**opportunity(5, roi="6.2"), "tradeable": True, "why_not": None}
    replay(feed, p, start, snapshot([refused, allowed, opportunity(1, roi="2.5")]))
    assert feed.state.suspicious_roi == Decimal("5")
    card = p.view.cards["opp_0002_kalshi_no"].summary
    assert 'data-why-not="suspicious_roi"' in card
    assert "not tradeable: ROI 6.2% is above 5%: only a confirmed game trades" in card
    assert "data-suspicious" not in card  # the verdict line says it once
    ok = p.view.cards["opp_0005_kalshi_no"].summary
    assert "may trade" in ok and 'data-suspicious="check"' in ok
    assert "Above the suspicious-ROI limit (5.0%): only a confirmed game trades at such an edge" in ok
    assert "suspicious" not in p.view.cards["opp_0001_kalshi_no"].summary
    # A higher limit (another worker's setting) and the same 6.2 % says nothing.
    again = init()
    again["data"]["limits"]["suspicious_roi"] = Decimal("7")
    replay(feed, p, again, snapshot([opportunity(5, roi="6.2")]))
    assert "suspicious" not in p.view.cards["opp_0005_kalshi_no"].summary


def test_details_link_each_venue_s_page_when_the_worker_knows_it(feed, page):
    p = page("arbitrage")
    linked = {**opportunity(1, roi="2.5"), "kalshi_url": "https://kalshi.com/markets/kxnbagame",
              "poly_url": "https://polymarket.com/event/nba-hou-lal-2026-01-11"}
    odd = {**opportunity(2, roi="2.5"), "kalshi_url": "javascript:alert(1)", "poly_url": ""}
    replay(feed, p, init(), snapshot([linked, odd]))
    details = p.view.cards["opp_0001_kalshi_no"].details
    assert ('<a class="venue-link" data-venue="kalshi" href="https://kalshi.com/markets/kxnbagame" target="_blank" '
            'rel="noopener noreferrer">Open on Kalshi ↗</a>') in details
    assert 'href="https://polymarket.com/event/nba-hou-lal-2026-01-11"' in details
    assert "venue-link" not in p.view.cards["opp_0002_kalshi_no"].details  # only https links, never a script
