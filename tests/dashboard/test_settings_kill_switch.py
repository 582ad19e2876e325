"""Headless: the settings form's own checks, and the kill switch's dialog and progress.

The browser half (real Chromium at 1440 and 390 px on a paper stack) is
``test_settings_kill_switch_browser.py``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from dashboard.feed import UNANSWERED
from dashboard.views.kill_switch import FLATTEN_LABEL
from tests.dashboard.conftest import replay
from tests.dashboard.protocol import T0, init, position, wire
from worker.api import schemas
from worker.domain.events import Alert, AlertKind, AlertSeverity


def test_every_invalid_box_is_explained_next_to_it_in_red_and_nothing_is_sent(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    for name, text in {"min_bet": "-5", "max_bet": "", "min_roi": "5.123", "max_daily_trades": "2.5"}.items():
        s.widgets[name].value = text
    s.save.clicks += 1
    assert feed.socket.sent == []
    assert "Min bet must not be negative" in s.errors["min_bet"].object
    assert "Max bet is required" in s.errors["max_bet"].object
    assert "Min ROI allows at most 2 decimal places" in s.errors["min_roi"].object
    assert "Max daily trades must be a whole number" in s.errors["max_daily_trades"].object
    for name in ("min_bet", "max_bet", "min_roi", "max_daily_trades"):
        assert 'class="field-error"' in s.errors[name].object and "invalid" in s.widgets[name].css_classes
    assert s.errors["max_roi"].object == "" and "invalid" not in s.widgets["max_roi"].css_classes
    assert "4 values are not valid" in s.message.object
    # Never a silent revert: what was typed stays as typed.
    assert (s.widgets["min_bet"].value, s.widgets["max_bet"].value, s.widgets["min_roi"].value) == ("-5", "", "5.123")


def test_min_above_max_is_refused_on_the_edited_box_and_clears_when_fixed(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    s.widgets["min_bet"].value = "20"
    assert "Min bet must not exceed max bet" in s.errors["min_bet"].object  # as typed, before Save
    s.save.clicks += 1
    assert feed.socket.sent == [] and s.errors["max_bet"].object == ""
    s.widgets["max_bet"].value = "25"
    assert s.errors["min_bet"].object == "" and "invalid" not in s.widgets["min_bet"].css_classes
    s.save.clicks += 1
    sent = json.loads(feed.socket.sent[-1], parse_float=Decimal)
    assert sent["settings"] == {"min_bet": Decimal("20.00"), "max_bet": Decimal("25.00")}


def test_a_change_from_elsewhere_fills_the_untouched_boxes_and_keeps_what_was_typed(feed, page):
    """Another tab saves min_bet while this one has typed max_bet and not saved: the
    worker's new min_bet shows, the typed max_bet stays (never a silent revert)."""
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    s.widgets["max_bet"].value = "12.5"
    settings = {"enabled": True, "min_bet": Decimal("6.00"), "max_bet": Decimal("10.00"), "min_roi": Decimal("1.00"),
                "max_roi": Decimal("50.00"), "max_daily_trades": 50, "max_daily_loss": Decimal("5.00")}
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, settings))
    assert s.widgets["min_bet"].value == "6.00" and s.widgets["max_bet"].value == "12.5"
    s.save.clicks += 1
    sent = json.loads(feed.socket.sent[-1], parse_float=Decimal)
    assert sent["settings"] == {"max_bet": Decimal("12.50")}
    # Once the worker holds it, the box follows the worker again.
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, {**settings, "max_bet": Decimal("12.50")}))
    replay(feed, p, wire(schemas.SETTINGS_CHANGED, {**settings, "max_bet": Decimal("15.00")}))
    assert s.widgets["max_bet"].value == "15.00"


def test_a_value_equal_to_the_worker_s_is_no_change_and_its_box_shows_the_rules_precision(feed, page):
    p = page("executor")
    replay(feed, p, init())
    s = p.view.settings
    assert [s.widgets[n].value for n in ("min_bet", "min_roi", "max_daily_trades")] == ["5.00", "1.00", "50"]
    s.widgets["min_bet"].value = "5"
    s.save.clicks += 1
    assert feed.socket.sent == [] and "No changes" in s.message.object


def test_the_confirm_button_says_what_the_choice_will_do(feed, page):
    p = page("executor")
    replay(feed, p, init(positions=[position("pos-1"), position("pos-2")]))
    kill = p.view.kill_switch
    p.view.kill.clicks += 1
    assert kill.confirm.label == "Confirm: Pause and cancel all orders"
    kill.flatten.value = [FLATTEN_LABEL]
    assert kill.confirm.label == "Confirm: Pause, cancel all orders and close 2 positions"
    kill.flatten.value = []
    assert kill.confirm.label == "Confirm: Pause and cancel all orders"


def test_flattening_progress_shows_n_of_n_closed_then_the_count_it_ended_with(feed, page):
    p = page("executor")
    replay(feed, p, init())
    progress = p.view.kill_switch.progress
    assert progress.object == ""
    replay(feed, p, wire(schemas.KILL_SWITCH_PROGRESS,
                         {"started_at": T0, "total": 34, "closed": 12, "failed": 1, "done": False}))
    assert "Flattening: 12 of 34 closed, 1 failed" in progress.object and 'data-done="false"' in progress.object
    alert = Alert("al-1", AlertKind.KILL_SWITCH, T0.isoformat(), AlertSeverity.WARNING, "Kill switch pulled",
                  "new trades stopped; 33 of 34 open positions closed; 1 NOT closed: pos-9: no bid", T0, T0)
    replay(feed, p, wire(schemas.KILL_SWITCH_PROGRESS,
                         {"started_at": T0, "total": 34, "closed": 33, "failed": 1, "done": True}),
           wire(schemas.ALERT, alert.to_wire()))
    assert "33 of 34 closed, 1 failed" in progress.object and 'data-done="true"' in progress.object
    # Once the alert is dismissed the line goes: the alert history keeps the outcome.
    replay(feed, p, wire(schemas.ALERT_DISMISSED, {**alert.to_wire(), "dismissed_at": T0}))
    assert progress.object == ""


def test_an_init_brings_the_worker_s_flattening_not_the_count_heard_before_a_disconnect(feed, page):
    """The connection dropped at 12 of 34 and the flatten ended meanwhile: the ``init``
    of the reconnect carries the worker's last progress; from a worker that sends none
    (``null``, or an older worker without the key) the stale count goes."""
    p = page("executor")
    replay(feed, p, init())
    progress = p.view.kill_switch.progress
    replay(feed, p, wire(schemas.KILL_SWITCH_PROGRESS,
                         {"started_at": T0, "total": 34, "closed": 12, "failed": 0, "done": False}))
    assert "12 of 34 closed" in progress.object
    alert = Alert("al-1", AlertKind.KILL_SWITCH, T0.isoformat(), AlertSeverity.WARNING, "Kill switch pulled",
                  "new trades stopped; 34 of 34 open positions closed", T0, T0)
    again = init()["data"]
    again.update(kill_switch={"started_at": T0, "total": 34, "closed": 34, "failed": 0, "done": True},
                 alerts=[alert.to_wire()])
    replay(feed, p, wire(schemas.INIT, again))
    assert "34 of 34 closed" in progress.object and 'data-done="true"' in progress.object
    replay(feed, p, wire(schemas.KILL_SWITCH_PROGRESS,
                         {"started_at": T0, "total": 34, "closed": 12, "failed": 0, "done": False}))
    older = init()["data"]
    assert older.pop("kill_switch") is None  # this worker's init sends the key, null here
    replay(feed, p, wire(schemas.INIT, older))
    assert progress.object == ""


def test_a_kill_switch_the_worker_refused_says_not_pulled_and_a_lost_answer_says_unknown(feed, page):
    """An ``error`` is never read as an ack: a refusal (here a standby asked to flatten)
    did nothing; an answer lost with the connection leaves the outcome unknown here."""
    p, sent = pull_with_flatten(feed, page)
    replay(feed, p, {"type": "error", "id": sent["id"], "field": "action", "message":
                     "this worker is on standby: w-2 trades this account; flatten positions on its dashboard"})
    shown = p.view.action_msg.object
    assert "Kill switch NOT pulled: this worker is on standby" in shown and "field-error" in shown
    assert "paused" not in shown and "NOT checked" not in shown
    p, sent = pull_with_flatten(feed, page)
    feed._fail_pending(UNANSWERED)
    shown = p.view.action_msg.object
    assert "connection to the worker was lost before it answered" in shown and "NOT checked" not in shown


def pull_with_flatten(feed, page):  # type: ignore[no-untyped-def]
    """/executor with one open position: the kill switch pulled with "also flatten"
    ticked; the page and the message it sent."""
    p = page("executor")
    replay(feed, p, init(positions=[position("pos-1")]))
    kill = p.view.kill_switch
    p.view.kill.clicks += 1
    kill.flatten.value = [FLATTEN_LABEL]
    kill.confirm.clicks += 1
    return p, json.loads(feed.socket.sent[-1])


def test_the_ack_of_a_flatten_says_how_many_closed(feed, page):
    p, sent = pull_with_flatten(feed, page)
    assert sent == {"action": "kill_switch", "flatten": True, "id": sent["id"]}
    replay(feed, p, {"type": "ack", "action": "kill_switch", "id": sent["id"], "data": {
        "paused": True, "saved": True, "cancelled": 2, "orders_checked": True, "executor_running": True, "note": None,
        "flattened": [{"position_id": "pos-1", "closed": True}, {"position_id": "pos-2", "closed": False}]}})
    assert "2 resting orders cancelled, 1 of 2 positions closed" in p.view.action_msg.object
    # One of the two did not close: a warning, not a green tick.
    assert "field-error" in p.view.action_msg.object and "✓" not in p.view.action_msg.object


def test_a_flatten_the_worker_could_not_try_is_a_warning_never_a_tick(feed, page):
    """The database was down when the kill switch was pulled: 'enabled' not saved, no
    order checked, no position touched. The page says each, in red."""
    p, sent = pull_with_flatten(feed, page)
    replay(feed, p, {"type": "ack", "action": "kill_switch", "id": sent["id"], "data": {
        "paused": True, "saved": False, "cancelled": 0, "orders_checked": False, "executor_running": True,
        "note": "new trades stopped; the database is unavailable", "flattened": [], "flatten_skipped": True}})
    shown = p.view.action_msg.object
    assert "field-error" in shown and "✓" not in shown
    assert "enabled&#x27; was NOT saved" in shown and "resting orders NOT checked" in shown
    assert "open positions NOT flattened (database unavailable)" in shown
