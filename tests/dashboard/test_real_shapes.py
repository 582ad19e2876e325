"""The dashboard on the message shapes the real engine sends (found on the paper exchange).

* The scanner labels a Kalshi leg ``NO KXNBAGAME-26NOV29HOULAL-HOU``; cards and
  positions name it as Kalshi does, ``NO HOU``.
* A ``position_opened`` that names the legs by side only (no Kalshi ticker) makes the
  feed read the stored row from ``/api/positions`` and merge it, never resurrecting a
  position closed in between.
* A message that does not read as the protocol says is logged, naming the field, and
  skipped; the feed goes on with the next one.
"""

from __future__ import annotations

import logging

import pytest

from dashboard import format as fmt
from dashboard.feed import Feed
from dashboard.shown import ShownOpportunity, kalshi_name
from dashboard.state import WorkerState
from tests.dashboard.conftest import replay
from tests.dashboard.protocol import (
    init,
    opportunity,
    position,
    position_closed,
    position_opened,
    thin_position_opened,
    trade,
)
from worker.api.views import ViewError, decode_view


def test_kalshi_name_is_side_and_team_segment_of_the_ticker():
    assert kalshi_name("NO KXNBAGAME-26NOV29HOULAL-HOU") == "NO HOU"
    assert kalshi_name("YES KXNHLGAME-26DEC01OTTTB-TB") == "YES TB"
    assert kalshi_name("no KXNFLGAME-26NOV30ARIMIN-ARI") == "NO ARI"
    # Already short, or not a Kalshi label: left as it is.
    assert kalshi_name("NO HOU") == "NO HOU"
    assert kalshi_name("Rockets") == "Rockets"


def test_card_legs_line_names_the_kalshi_contract_by_team():
    opp = ShownOpportunity.from_wire(opportunity(7))
    assert fmt.legs_line(opp) == "BUY Rockets Poly @ 0.51 → BUY NO HOU Kalshi @ 0.48"
    # The full ticker stays where a trader needs it: the leg's market and the ticket.
    assert opp.legs[1].market == "KXNBAGAME-26NOV29HOULAL7-HOU"
    assert "[KXNBAGAME-26NOV29HOULAL7-HOU]" in fmt.order_ticket(opp)


def test_stored_position_names_both_legs_by_contract():
    state = WorkerState()
    state.apply(init(positions=[position()]))
    pos = state.positions["pos-1"]
    assert fmt.leg_name(pos.poly) == "Poly Rockets @ 0.51"
    assert fmt.leg_name(pos.kalshi) == "Kalshi NO HOU @ 0.48"


def test_thin_position_opened_is_completed_by_the_positions_snapshot():
    state = WorkerState()
    state.apply(init(positions=[]))
    state.apply(thin_position_opened("pos-9"))
    assert fmt.leg_name(state.positions["pos-9"].kalshi) == "Kalshi NO @ 0.48"
    topics = state.apply({"type": "positions_snapshot", "data": {"positions": [position("pos-9")]}})
    assert topics == {"positions"}
    assert fmt.leg_name(state.positions["pos-9"].kalshi) == "Kalshi NO HOU @ 0.48"
    assert fmt.leg_name(state.positions["pos-9"].poly) == "Poly Rockets @ 0.51"


def test_positions_snapshot_read_before_a_close_does_not_bring_the_position_back():
    state = WorkerState()
    state.apply(init(positions=[position("pos-1"), position("pos-2")]))
    state.apply(position_closed("pos-1"))
    stale = {"positions": [position("pos-1"), position("pos-2"), position("pos-3")]}
    state.apply({"type": "positions_snapshot", "data": stale})
    assert sorted(state.positions) == ["pos-2", "pos-3"]


def test_positions_snapshot_merges_and_keeps_a_position_it_does_not_list():
    state = WorkerState()
    state.apply(init(positions=[]))
    state.apply(thin_position_opened("pos-new"))  # opened after the snapshot was read
    state.apply({"type": "positions_snapshot", "data": {"positions": []}})
    assert list(state.positions) == ["pos-new"]


def test_feed_asks_for_stored_positions_only_after_a_thin_position_opened():
    assert Feed._thin_position(decode_view(thin_position_opened()).data)
    assert not Feed._thin_position(decode_view(position_opened()).data)


def test_executor_page_shows_thin_then_full_leg_names(feed, page):
    p = page("executor")
    replay(feed, p, init(positions=[]), thin_position_opened("pos-5"))
    assert '<span class="legs" data-leg="kalshi">Kalshi NO @ 0.48</span>' in p.view.positions.items["pos-5"]["sum"]
    replay(feed, p, {"type": "positions_snapshot", "data": {"positions": [position("pos-5")]}})
    assert '<span class="legs" data-leg="kalshi">Kalshi NO HOU @ 0.48</span>' in p.view.positions.items["pos-5"]["sum"]


def test_a_message_that_does_not_read_is_logged_and_skipped_and_the_feed_goes_on(feed, page, caplog):
    p = page("executor")
    replay(feed, p, init())
    feed.strict = False  # as the real feed: log and skip
    bad = trade(event="BAD")
    del bad["data"]["timestamp"]
    with caplog.at_level(logging.WARNING, logger="dashboard.feed"):
        assert feed.apply(bad) == set()
    assert "trade_event.data.timestamp: missing" in caplog.text
    assert list(feed.state.trades) == []
    replay(feed, p, trade(event="NEXT"))
    shown = "".join(item["sum"] for item in p.view.trades.list.items.values())
    assert "NEXT" in shown and "BAD" not in shown


def test_the_reducer_refuses_a_message_that_does_not_read_and_changes_nothing():
    state = WorkerState()
    state.apply(init(enabled=True))
    broken = init(enabled=False)
    broken["data"]["settings"] = {**broken["data"]["settings"], "max_bet": "12.00"}
    with pytest.raises(ViewError, match=r"^init\.data\.settings\.max_bet: must be an exact number, got a string$"):
        state.apply(broken)
    assert state.enabled is True
