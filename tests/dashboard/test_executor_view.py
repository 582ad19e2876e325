"""Headless tests of the /executor page, driven by protocol messages on a fake feed."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal

from dashboard.views.kill_switch import FLATTEN_LABEL
from dashboard.views.settings_form import SettingsForm
from tests.dashboard.conftest import replay
from tests.dashboard.protocol import (
    T0,
    D,
    api_status,
    init,
    position,
    position_closed,
    position_opened,
    stored_position,
    trade,
    wire,
)
from worker.api import schemas
from worker.domain.operator import Balances


def test_init_shows_active_badge_balances_and_todays_stats(feed, page):
    p = page("executor")
    replay(feed, p, init(enabled=True))
    v = p.view
    assert "ACTIVE" in v.badge.object and "active" in v.badge.object
    assert v.toggle.label == "⏸ Pause trading"
    assert "$50.00" in v.balances.object and "$45.00" in v.balances.object
    assert 'data-k="total">$95.00' in v.balances.object
    assert "3 / 50" in v.stats.object
    assert "+$1.25" in v.stats.object
    assert "67%" in v.stats.object  # 2 wins of 3


def test_status_changed_flips_badge_to_paused_and_names_the_stop(feed, page):
    p = page("executor")
    replay(feed, p, init(enabled=True), wire(schemas.STATUS_CHANGED, {"enabled": False, "at": T0}))
    assert "PAUSED" in p.view.badge.object and "paused" in p.view.badge.object
    assert p.view.toggle.label == "▶ Start trading"
    assert "Paused" in p.view.stats.object


def test_polymarket_us_balance_is_labelled_as_such(feed, page):
    p = page("executor")
    replay(feed, p, init(poly_venue="polymarket_us"))
    assert "Polymarket US:" in p.view.balances.object


def test_daily_trade_limit_reached_is_named_as_the_stop(feed, page):
    p = page("executor")
    replay(feed, p, init(trades=50, wins=40))
    assert "Stopped by Max Daily Trades" in p.view.stats.object


def test_daily_loss_limit_reached_is_named_as_the_stop(feed, page):
    p = page("executor")
    replay(feed, p, init(pnl="-5.00"))
    assert "Stopped by Max Daily Loss" in p.view.stats.object


def test_positions_name_each_leg_by_its_venue_contract(feed, page):
    p = page("executor")
    replay(feed, p, init())
    text = p.view.positions.items["pos-1"]["sum"]
    assert p.view.positions.order == ["pos-1"]
    assert "Poly Rockets @ 0.51" in text
    assert "Kalshi NO HOU @ 0.48" in text
    assert "Open Positions (1)" in p.view.positions_title.object


def test_position_opened_and_closed_add_and_remove_cards(feed, page):
    p = page("executor")
    replay(feed, p, init(positions=[]))
    replay(feed, p, position_opened("pos-9", "Kings vs Ducks"))
    assert "Open Positions (1)" in p.view.positions_title.object
    replay(feed, p, position_closed("pos-9", "Kings vs Ducks"))
    assert "Open Positions (0)" in p.view.positions_title.object
    assert p.view.positions.order == [] and p.view.positions.empty == "No open positions."


def test_close_position_button_needs_confirmation_and_sends_the_id(feed, page):
    p = page("executor")
    replay(feed, p, init())
    assert 'data-action="close" data-confirm="Confirm close"' in p.view.positions.items["pos-1"]["sum"]
    p.view.positions.click("pos-1", "close")
    sent = json.loads(feed.socket.sent[-1])
    assert sent["action"] == "close_position" and sent["position_id"] == "pos-1" and sent["id"]
    replay(feed, p, {"type": "error", "message": "no open position pos-1", "field": "position_id", "id": sent["id"]})
    assert "no open position pos-1" in p.view.positions.items["pos-1"]["sum"]


def test_trade_rows_are_coloured_by_status_newest_first(feed, page):
    p = page("executor")
    replay(feed, p, init(), trade("SUCCESS", trade_id="a", attempt_id="a1"),
           trade("ROLLED_BACK", event="MIA vs NYK", pnl="-0.80", roi=None, reason="Poly fail", trade_id="b", attempt_id="b1"))
    log = p.view.trades.list
    assert log.order == ["b", "a"]  # newest first
    assert log.items["b"]["cls"] == "trade-row st-rolled" and log.items["a"]["cls"] == "trade-row st-success"
    assert "-$0.80" in log.items["b"]["sum"] and "Poly fail" in log.items["b"]["sum"]
    assert "2.4% ROI" in log.items["a"]["sum"]


def test_clear_empties_the_view_and_new_trades_still_appear(feed, page):
    p = page("executor")
    replay(feed, p, init(), trade(trade_id="a"))
    log = p.view.trades
    log.clear.clicks += 1
    assert log.list.order == [] and log.list.empty == "No new trades since Clear."
    assert "1 row hidden by Clear" in log.note.object and log.undo.visible
    assert len(feed.state.trades) == 1  # history is kept
    replay(feed, p, trade(event="NEW GAME", trade_id="b", attempt_id="z"))
    assert log.list.order == ["b"] and "NEW GAME" in log.list.items["b"]["sum"]
    log.undo.clicks += 1
    assert log.list.order == ["b", "a"] and not log.undo.visible and log.note.object == ""


def test_stranded_attempt_stands_out_with_retry_and_resolve(feed, page):
    p = page("executor")
    replay(feed, p, init(), trade("STRANDED", pnl="0", roi=None, reason="Kalshi leg open", attempt_id="att-7"))
    assert "st-stranded" in next(iter(p.view.trades.list.items.values()))["cls"]
    assert p.view.stranded.order == ["att-7"]
    box = p.view.stranded.items["att-7"]["sum"]
    assert "STRANDED" in box and 'data-action="retry"' in box and 'data-action="resolve"' in box
    p.view.stranded.click("att-7", "retry", "")
    sent = json.loads(feed.socket.sent[-1])
    assert sent == {"action": "retry_unwind", "attempt_id": "att-7", "id": sent["id"]}
    p.view.stranded.click("att-7", "resolve", "flattened by hand on Kalshi")
    sent = json.loads(feed.socket.sent[-1])
    assert sent["action"] == "resolve_stranded" and sent["note"] == "flattened by hand on Kalshi"
    assert "proceeds" not in sent  # none given: the leg settles when its market resolves
    # What the contracts brought in, typed by the operator: sent exactly; bad text refused here.
    before = len(feed.socket.sent)
    p.view.stranded.click("att-7", "resolve", {"note": "sold on Kalshi", "proceeds": "abc"})
    assert len(feed.socket.sent) == before and "Proceeds must be an amount" in p.view.stranded.items["att-7"]["sum"]
    p.view.stranded.click("att-7", "resolve", {"note": "sold on Kalshi", "proceeds": "$3.10"})
    with_proceeds = json.loads(feed.socket.sent[-1], parse_float=Decimal)
    assert with_proceeds["proceeds"] == Decimal("3.10") and with_proceeds["note"] == "sold on Kalshi"
    replay(feed, p, {"type": "ack", "action": "retry_unwind", "id": json.loads(feed.socket.sent[-3])["id"], "data": {}},
           {"type": "ack", "action": "resolve_stranded", "id": sent["id"], "data": {}})
    assert p.view.stranded.order == []


def test_settings_widgets_are_named_and_shown_by_the_worker_rules():
    form = SettingsForm()
    for spec in schemas.FIELDS:
        par = form.param[spec.name]
        assert par.label == spec.widget_label
        assert getattr(form, spec.name) == spec.shown(spec.default)
    assert form.param["min_bet"].label == "Min bet ($)" and form.min_roi == "1.00" and form.max_daily_trades == "50"


def test_save_sends_only_changed_settings_as_exact_numbers(feed, page):
    p = page("executor")
    replay(feed, p, init())
    p.view.settings.widgets["max_bet"].value = "15.1"
    p.view.settings.save.clicks += 1
    raw = feed.socket.sent[-1]
    assert '"settings":{"max_bet":15.10}' in raw  # exact, at the rules' precision
    assert json.loads(raw, parse_float=Decimal)["settings"] == {"max_bet": Decimal("15.1")}


def test_worker_field_error_is_shown_next_to_that_field(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    s.widgets["min_bet"].value = "6"
    s.save.clicks += 1
    sent_id = json.loads(feed.socket.sent[-1])["id"]
    # e.g. another client lowered max bet meanwhile: the worker's refusal names the field
    replay(feed, p, {"type": "error", "message": "Min bet must not exceed max bet", "field": "min_bet", "id": sent_id})
    assert "Min bet must not exceed max bet" in s.errors["min_bet"].object
    assert 'class="field-error"' in s.errors["min_bet"].object and "invalid" in s.widgets["min_bet"].css_classes
    assert s.errors["max_bet"].object == "" and "invalid" not in s.widgets["max_bet"].css_classes
    assert "Not saved" in s.message.object


def test_error_without_id_goes_to_the_oldest_waiting_action(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    s.widgets["max_roi"].value = "60"
    s.save.clicks += 1
    replay(feed, p, {"type": "error", "message": "bad", "field": "max_roi", "id": None})
    assert "bad" in s.errors["max_roi"].object


def test_ack_confirms_save_and_settings_changed_resets_widgets(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    s.widgets["max_bet"].value = "12"
    s.save.clicks += 1
    sent_id = json.loads(feed.socket.sent[-1])["id"]
    replay(feed, p, {"type": "ack", "action": "update_settings", "id": sent_id, "data": {}})
    assert "Settings saved" in s.message.object
    # Another client changes the settings: the widgets follow the worker.
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, {"enabled": True, "min_bet": Decimal("6.00"), "max_bet": Decimal("11.00"),
                                                     "min_roi": Decimal("1.00"), "max_roi": Decimal("50.00"),
                                                     "max_daily_trades": 40, "max_daily_loss": Decimal("5.00")}))
    assert s.widgets["min_bet"].value == "6.00" and s.widgets["max_bet"].value == "11.00"
    assert s.widgets["max_daily_trades"].value == "40"
    assert "/ 40" in p.view.stats.object


def test_toggle_sends_the_opposite_of_the_current_state(feed, page):
    p = page("executor")
    replay(feed, p, init(enabled=True))
    p.view.toggle.clicks += 1
    sent = json.loads(feed.socket.sent[-1])
    assert sent["action"] == "toggle_enabled" and sent["value"] is False


def test_kill_switch_needs_confirmation(feed, page):
    p = page("executor")
    replay(feed, p, init())
    p.view.kill.clicks += 1
    kill = p.view.kill_switch
    assert feed.socket.sent == [] and kill.box.visible
    kill.flatten.value = [FLATTEN_LABEL]
    kill.confirm.clicks += 1
    sent = json.loads(feed.socket.sent[-1])
    assert sent["action"] == "kill_switch" and sent["flatten"] is True


def test_action_while_disconnected_says_so(feed, page):
    p = page("executor")
    replay(feed, p, init())
    feed._ws = None
    p.view.toggle.clicks += 1
    assert "Not connected" in p.view.action_msg.object


def test_status_snapshot_after_a_trade_updates_stats_and_balances(feed, page):
    p = page("executor")
    replay(feed, p, init(trades=3, pnl="1.25", wins=2))
    replay(feed, p, {"type": "status_snapshot", "data": api_status(
        trades=4, pnl="1.37", wins=3, balances=Balances(Decimal("49.50"), None))})
    assert "4 / 50" in p.view.stats.object and "+$1.37" in p.view.stats.object and "75%" in p.view.stats.object
    assert "$49.50" in p.view.balances.object and "$45.00" in p.view.balances.object  # null keeps the last known


def test_books_say_whether_they_match_and_what_is_owed_until_redeemed(feed, page):
    p = page("executor")
    replay(feed, p, init())
    assert "Books:" not in p.view.balances.object  # nothing known yet: nothing claimed
    books = {
        "venues": {}, "total": {"difference": Decimal("0.00")}, "in_flight": 0, "agrees": True,
        "resolved_to_redeem": Decimal("12.00"),
        "to_redeem": [{"venue": "polymarket", "amount": Decimal("12.00"), "what": "12 × Rockets at 1"}],
    }
    replay(feed, p, wire(schemas.BALANCE_UPDATE, {"poly": Decimal("40.00"), "kalshi": Decimal("45.00"), "books": books}))
    text = p.view.balances.object
    assert "match the venues" in text
    assert "Resolved, to redeem: $12.00" in text and "12 × Rockets at 1" in text and "Claim" in text
    assert 'data-k="poly">$40.00' in text  # the books key is not read as a balance
    off = {**books, "agrees": False, "total": {"difference": Decimal("-0.35")}, "resolved_to_redeem": 0, "to_redeem": []}
    replay(feed, p, wire(schemas.BALANCE_UPDATE, {"poly": Decimal("40.00"), "kalshi": Decimal("45.00"), "books": off}))
    assert "differ by -$0.35" in p.view.balances.object and "to redeem" not in p.view.balances.object


def test_a_database_outage_in_the_heartbeat_puts_a_banner_on_the_page_until_it_is_back(feed, page):
    p = page("executor")
    replay(feed, p, init())
    assert p.header.database.object == ""
    down = {"state": "down", "error": "cannot connect (ConnectionRefusedError)", "since": "2026-12-06T14:02:11Z"}
    replay(feed, p, {"type": "heartbeat", "data": {"server_time": "2026-12-06T14:02:12Z", "uptime_s": 61,
                                                   "enabled": True, "executor_running": True, "lease": "leader",
                                                   "venues": {}, "database": down}})
    banner = p.header.database.object
    assert 'data-database="down"' in banner and "14:02:11" in banner and "ConnectionRefusedError" in banner
    replay(feed, p, {"type": "heartbeat", "data": {"server_time": "2026-12-06T14:02:40Z", "uptime_s": 89,
                                                   "enabled": True, "executor_running": True, "lease": "leader",
                                                   "venues": {},
                                                   "database": {"state": "up", "error": None, "since": None}}})
    assert p.header.database.object == ""


def test_the_total_is_shown_only_once_both_balances_are_known(feed, page):
    p = page("executor")
    replay(feed, p, init())
    unread = {"type": "init", "data": {**init()["data"], "balances": {"poly": None, "kalshi": Decimal("40.00")}}}
    replay(feed, p, unread)
    assert 'data-k="total">—' in p.view.balances.object  # not $40.00: Polymarket not read yet
    replay(feed, p, {"type": "balance_update", "data": {"poly": Decimal("55.00"), "kalshi": Decimal("40.00")}})
    assert 'data-k="total">$95.00' in p.view.balances.object


def test_positions_table_shows_quantities_cost_locked_edge_and_game_start_and_sorts(feed, page):
    def row(pid: str, title: str, cost: str, minutes: int, start_h: int | None, qty: int = 10) -> dict:
        p = dataclasses.replace(
            stored_position(pid, title), cost=Decimal(cost), opened_at=T0 + timedelta(minutes=minutes),
            expires_at=None if start_h is None else T0 + timedelta(hours=start_h), poly_contracts=qty,
        )
        return schemas.to_wire(p)

    p = page("executor", now=T0 + timedelta(hours=1))
    replay(feed, p, init(positions=[
        row("a", "Kings vs Ducks", "9.95", 0, 5),
        row("b", "Rockets vs Lakers", "4.80", 30, 2),
        row("c", "Jets vs Bills", "9.00", 10, None, qty=7),  # legs differ: not hedged
    ]))
    table = p.view.positions_table
    assert table.list.order == ["b", "c", "a"]  # newest first
    a = table.list.items["a"]["sum"]
    assert "10 × 0.51" in a and "10 × 0.48" in a and "$9.95" in a and "+$0.05" in a  # 10 − 9.95
    assert "in 4 h" in a
    assert "not hedged" in table.list.items["c"]["sum"]
    table.sort.value = "Cost"
    assert table.list.order == ["a", "c", "b"]
    table.sort.value = "Game start"
    assert table.list.order == ["b", "a", "c"]  # unknown start last
    table.sort.value = "Locked edge"
    assert table.list.order == ["b", "a", "c"]  # +0.20, +0.05, not hedged


def test_money_view_values_holdings_at_mark_per_venue_and_in_total(feed, page):
    """Every figure worked out by hand from the holdings and marks below (the oracle is
    this arithmetic, not the code under test)."""
    from worker.domain.markets import ContractRef, OutcomeSide, Venue
    from worker.domain.marks import HeldLeg, Holding, Mark
    from worker.engine.books import Books, VenueBooks

    k_yes = ContractRef(Venue.KALSHI, "KXNBAGAME-26NOV29HOULAL-HOU", "KXNBAGAME-26NOV29HOULAL-HOU", OutcomeSide.YES)
    p_tok = ContractRef(Venue.POLYMARKET, "7132", "tok_lakers", OutcomeSide.TOKEN)
    k_no = ContractRef(Venue.KALSHI, "KXNHLGAME-26NOV29NYRBOS-NYR", "KXNHLGAME-26NOV29NYRBOS-NYR", OutcomeSide.NO)
    hedged = Holding("att-1", "pos-a", (HeldLeg(k_yes, "YES HOU", D("100")), HeldLeg(p_tok, "Lakers", D("100"))),
                     D("100"), {Venue.KALSHI: D("45.20"), Venue.POLYMARKET: D("51.30")})
    stranded = Holding("att-2", None, (HeldLeg(k_no, "NO NYR", D("20")),), D("0"), {Venue.KALSHI: D("9.00")})
    books = Books(
        venues={
            Venue.KALSHI: VenueBooks("kalshi", cash_now=D("310.40"), open_cost=D("54.20")),
            Venue.POLYMARKET: VenueBooks("polymarket", cash_now=D("402.10"), open_cost=D("51.30"), to_redeem=D("12.00")),
        },
        trade_log_realised=D("1.25"), realised_today=D("0.75"), locked_edge=D("3.50"), in_flight=0,
        holdings=[hedged, stranded],
    )
    fresh = {k_yes: Mark(D("0.44"), T0), p_tok: Mark(D("0.53"), T0), k_no: Mark(D("0.40"), T0)}
    now = T0 + timedelta(milliseconds=500)
    p = page("executor", now=now)
    replay(feed, p, init(positions=[position("pos-a")]))

    def show(marks: dict) -> str:
        valued = books.at_marks(marks.get, now, 2000)
        replay(feed, p, wire(schemas.BALANCE_UPDATE, {"poly": D("402.10"), "kalshi": D("310.40"),
                                                      "books": schemas.to_wire(valued.wire())}))
        return str(p.view.money.object)

    html = show(fresh)

    def cell(key: str) -> str:
        return html.split(f'data-money="{key}"', 1)[1].split(">", 1)[1].split("<", 1)[0]

    assert cell("cash-kalshi") == "$310.40" and cell("cash-polymarket") == "$402.10" and cell("cash-total") == "$712.50"
    assert cell("exposure-total") == "$105.50"
    assert cell("at-mark-kalshi") == "$52.00"  # 100 × 0.44 + 20 × 0.40
    assert cell("at-mark-polymarket") == "$53.00"  # 100 × 0.53
    assert cell("at-mark-total") == "$108.00"  # 100 hedged pairs at $1 + 20 × 0.40
    assert cell("unrealised-kalshi") == "-$2.20"  # 52.00 − 54.20
    assert cell("unrealised-polymarket") == "+$1.70"  # 53.00 − 51.30
    assert cell("unrealised-total") == "+$2.50"  # locked 3.50 + stranded (8.00 − 9.00)
    assert cell("equity-kalshi") == "$362.40"  # 310.40 + 52.00
    assert cell("equity-polymarket") == "$467.10"  # 402.10 + 53.00 + 12.00
    assert cell("equity-total") == "$832.50"  # 712.50 + 108.00 + 12.00
    assert cell("locked-total") == "+$3.50" and cell("realised-total") == "+$0.75"
    row = p.view.positions_table.list.items["pos-a"]["sum"]
    assert "bid 0.44" in row and "bid 0.53" in row and "+$3.50" in row  # hedged: unrealised = locked edge

    # The hedged pair's Polymarket book is too old: that venue has no mark, the total
    # still counts the pair at $1.
    html = show({**fresh, p_tok: Mark(D("0.53"), T0 - timedelta(seconds=5))})
    assert cell("at-mark-polymarket") == "no mark" and cell("equity-polymarket") == "no mark"
    assert "no mark" in p.view.positions_table.list.items["pos-a"]["sum"]
    assert cell("at-mark-total") == "$108.00" and cell("unrealised-total") == "+$2.50"
    # The stranded leg's mark is missing: it is not guessed, in its venue or in total.
    html = show({k_yes: fresh[k_yes], p_tok: fresh[p_tok]})
    assert cell("at-mark-kalshi") == "no mark" and cell("at-mark-total") == "no mark"
    assert cell("unrealised-total") == "no mark" and cell("equity-total") == "no mark"
    assert cell("at-mark-polymarket") == "$53.00"
    # A venue's cash unknown: its sums are unknown, never a part passed off as a total.
    books.venues[Venue.KALSHI].cash_now = None
    html = show(fresh)
    assert cell("cash-total") == "—" and cell("equity-total") == "—" and cell("equity-kalshi") == "—"
    assert cell("equity-polymarket") == "$467.10"
