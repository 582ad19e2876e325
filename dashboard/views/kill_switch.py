"""The ``/executor`` kill switch: the button, its confirmation, and flattening as it goes.

Confirming asks what will happen: the confirm button says it ("Pause and cancel all
orders", or with flatten ticked "Pause, cancel all orders and close 34 positions"). While
the worker flattens it publishes ``kill_switch_progress`` after each position, shown here
as "n of N closed"; the outcome (how many closed, which failed and why) is the
``kill_switch`` alert's, stored by the worker: on every page until dismissed, then in the alert history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.feed import UNANSWERED
from dashboard.views.common import STYLES, Context, has, html
from worker.api import schemas
from worker.api import views as wire

FLATTEN_LABEL = "Also flatten: close every open position"


def confirm_label(flatten: bool, positions: int) -> str:
    """The confirm button's text for the choice made."""
    if not flatten:
        return "Pause and cancel all orders"
    noun = "position" if positions == 1 else "positions"
    return f"Pause, cancel all orders and close {positions} {noun}"


def progress_html(progress: wire.KillSwitchProgressView | None, alerted: bool = True) -> str:
    """``Flattening: 12 of 34 closed`` while it goes; the count it ended with after, while
    the kill switch alert is ``alerted`` (once dismissed it leaves the banner and stays in the alert history)."""
    if progress is None or (progress.done and not alerted):
        return ""
    failed = f", {progress.failed} failed" if progress.failed else ""
    if progress.done:
        cls = "field-error" if progress.failed else "saved"
        return (f'<span class="kill-progress {cls}" data-k="kill-progress" data-done="true">'
                f"Flattened (kill switch pulled {fmt.clock(progress.started_at)} UTC): {progress.closed} of "
                f"{progress.total} closed{failed}; the outcome stays in the kill switch alert</span>")
    return (f'<span class="kill-progress" data-k="kill-progress" data-done="false">⏳ Flattening: '
            f"{progress.closed} of {progress.total} closed{failed}…</span>")


class KillSwitch:
    """The kill switch button (for the header) and its confirmation row with progress."""

    def __init__(self, ctx: Context, say: Callable[[wire.ReplyView, str], None]) -> None:
        self.ctx = ctx
        self._say = say
        self.button = pn.widgets.Button(label="☠ Kill switch", color="danger", width=140)
        self.button.on_click(lambda _e: self.ask(True))
        # A one-option CheckBoxGroup: its box sits inside a real <label>, so clicking the
        # words toggles it (Panel's Checkbox draws its words beside the box, not as a label).
        self.flatten = pn.widgets.CheckBoxGroup(options=[FLATTEN_LABEL], value=[], css_classes=["kill-flatten"],
                                                stylesheets=STYLES)
        self.confirm = pn.widgets.Button(label="Confirm: " + confirm_label(False, 0), color="danger")
        self.cancel = pn.widgets.Button(label="Cancel", color="light")
        self.confirm.on_click(lambda _e: self.pull())
        self.cancel.on_click(lambda _e: self.ask(False))
        self.flatten.param.watch(lambda _e: self._relabel(), "value")
        self.box = pn.Row(self.flatten, self.confirm, self.cancel, visible=False,
                          styles={"flex-wrap": "wrap", "align-items": "center"}, sizing_mode="stretch_width")
        self.progress = html("", name="kill-progress", sizing_mode="stretch_width")
        self.layout = pn.Column(self.box, self.progress, sizing_mode="stretch_width")

    def ask(self, show: bool) -> None:
        if show:
            self._relabel()
        self.box.visible = show

    def _relabel(self) -> None:
        label = "Confirm: " + confirm_label(self.flattening, len(self.ctx.feed.state.positions))
        if self.confirm.label != label:
            self.confirm.label = label

    def pull(self) -> None:
        self.box.visible = False
        flatten = self.flattening

        def said(reply: wire.ReplyView) -> None:
            if isinstance(reply, wire.ErrorView):
                text = self.not_pulled(reply)
                self._say(wire.ErrorView(text, reply.field, reply.id), text)
                return
            text, complete = self.pulled(reply, flatten)
            # Anything not done reads as a warning, never as a green tick.
            self._say(reply if complete else wire.ErrorView(text, None, None), text)

        self.ctx.send(schemas.KILL_SWITCH, said, flatten=flatten)

    @property
    def flattening(self) -> bool:
        """Whether "also flatten" is ticked."""
        return FLATTEN_LABEL in (self.flatten.value or ())

    @staticmethod
    def not_pulled(error: wire.ErrorView) -> str:
        """What an ``error`` in answer to the kill switch means: refused by the worker, or
        never sent, nothing was done; sent and then the connection lost, what was done is
        not known here, and the worker's state after the reconnect (the badge, the kill
        switch alert, the flattening count) says."""
        if error.message == UNANSWERED:
            return ("Kill switch: the connection to the worker was lost before it answered, so what it did "
                    "is not known here: the trading badge and its kill switch alert say (pull it again if "
                    "trading is not paused)")
        return f"Kill switch NOT pulled: {error.message}"

    @staticmethod
    def pulled(reply: wire.ReplyView, flatten: bool = False) -> tuple[str, bool]:
        """What the ack says was done, and whether all of it was (False: something asked
        for was not done — 'enabled' not saved, orders not checked, positions not closed)."""
        data: dict[str, Any] = dict(reply.data) if isinstance(reply, wire.AckView) else {}
        text = "Kill switch pulled: paused"
        complete = True
        if data.get("saved") is False:
            text += ", but 'enabled' was NOT saved (database unavailable)"
            complete = False
        if data.get("orders_checked"):
            text += f", {data.get('cancelled', 0)} resting orders cancelled"
        elif data.get("executor_running", True):
            text += ", resting orders NOT checked: check the venues"
            complete = False
        flattened = data.get("flattened") or []
        if flatten and data.get("flatten_skipped"):
            text += ", open positions NOT flattened (database unavailable)"
            complete = False
        elif flattened:
            closed = sum(1 for r in flattened if isinstance(r, dict) and r.get("closed"))
            text += f", {closed} of {len(flattened)} positions closed"
            complete = complete and closed == len(flattened)
        return text, complete

    def update(self, topics: set[str]) -> None:
        if has(topics, "kill_switch", "alerts"):
            state = self.ctx.feed.state
            alerted = any(a.kind.value == "kill_switch" for a in state.alerts.values())
            text = progress_html(state.kill_progress, alerted)
            if self.progress.object != text:
                self.progress.object = text
        if has(topics, "positions") and self.box.visible:
            self._relabel()
