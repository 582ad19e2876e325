"""The ``/mappings`` review: matched pairs with confidence and reasons, Confirm / Reject.

A decision is sent to the worker; the row changes when the worker's ``mapping_changed``
comes back, so every open page (here or in another dashboard process) shows the same.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.state import Mapping_
from dashboard.views.common import STYLES, Context, has, html
from worker.api import schemas

STATUS_FILTERS = ("all", "candidate", "confirmed", "rejected")
MAX_ROWS = 300


class MappingRow:
    """One mapping's row, updated in place when its status changes."""

    def __init__(self, view: MappingsView, m: Mapping_) -> None:
        self.view = view
        self.m = m
        self.text = html("", sizing_mode="stretch_width")
        self.confirm = pn.widgets.Button(label="Confirm", color="success", width=90)
        self.reject = pn.widgets.Button(label="Reject", color="danger", width=80)
        self.msg = html("")
        self.confirm.on_click(lambda _e: self.decide(schemas.CONFIRM_MAPPING))
        self.reject.on_click(lambda _e: self.decide(schemas.REJECT_MAPPING))
        self.layout = pn.Row(self.text, self.confirm, self.reject, self.msg, sizing_mode="stretch_width",
                             css_classes=["map-row", fmt.confidence_class(m.confidence), "opp-card"], stylesheets=STYLES)
        self.update(m)

    def update(self, m: Mapping_) -> None:
        self.m = m
        reasons = "; ".join(m.reasons) or "—"
        self.text.object = (
            f'<div data-mapping="{fmt.esc(m.id)}"><b>{fmt.esc(m.title or m.kalshi)}</b> '
            f'<span class="conf-tag {fmt.confidence_class(m.confidence)}">{fmt.esc(m.confidence)}</span> '
            f'<span class="map-status {fmt.esc(m.status)}" data-status="{fmt.esc(m.status)}">{fmt.esc(m.status)}</span><br>'
            f'<span class="muted">Kalshi <code>{fmt.esc(m.kalshi)}</code> ↔ Poly <code>{fmt.esc(m.poly)}</code>'
            f" · starts {fmt.stamp(m.starts_at)}</span><br><span class=\"muted\">{fmt.esc(reasons)}</span></div>"
        )
        self.confirm.disabled = m.status == "confirmed"
        self.reject.disabled = m.status == "rejected"
        classes = ["map-row", fmt.confidence_class(m.confidence), "opp-card"]
        if self.layout.css_classes != classes:
            self.layout.css_classes = classes

    def decide(self, action: str) -> None:
        self.msg.object = '<span class="muted">sending…</span>'

        def reply(r: dict[str, Any]) -> None:
            if r.get("type") == "ack":
                self.msg.object = '<span class="saved">✓</span>'
            else:
                self.msg.object = f'<span class="field-error">⚠ {fmt.esc(r.get("message") or "Refused")}</span>'

        self.view.ctx.send(action, reply, mapping_id=self.m.id)


class MappingsView:
    """Filter by status; one row per mapping."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.status = pn.widgets.RadioButtonGroup(options=list(STATUS_FILTERS), value="all")
        self.status.param.watch(lambda _e: self.refilter(), "value")
        self.count = html("", name="mapping-count")
        self.rows: dict[str, MappingRow] = {}
        self.list = pn.Column(sizing_mode="stretch_width")
        self.order: list[str] = []
        self.layout = pn.Column(
            pn.Row(html("<h3 style='margin:0'>Market mappings</h3>"), self.status, self.count,
                   styles={"flex-wrap": "wrap", "align-items": "center"}),
            self.list, sizing_mode="stretch_width",
        )
        # Discovery may have added pairs since the feed connected: read the list afresh.
        ctx.feed.refresh("mappings")

    def __panel__(self) -> pn.Column:
        return self.layout

    def update(self, topics: set[str]) -> None:
        if not has(topics, "mappings"):
            return
        mappings = self.ctx.feed.state.mappings
        for mid in list(self.rows):
            if mid not in mappings:
                del self.rows[mid]
        for mid, m in mappings.items():
            row = self.rows.get(mid)
            if row is None:
                self.rows[mid] = MappingRow(self, m)
            elif row.m != m:
                row.update(m)
        self.refilter()

    def visible_ids(self) -> list[str]:
        want = self.status.value
        rank = fmt.CONFIDENCE_RANK
        shown = [r.m for r in self.rows.values() if want == "all" or r.m.status == want]
        # Candidates needing a decision first, weakest confidence first within them.
        shown.sort(key=lambda m: (m.status != "candidate", rank.get(m.confidence, 0), m.title, m.id))
        return [m.id for m in shown[:MAX_ROWS]]

    def refilter(self) -> None:
        order = self.visible_ids()
        total = sum(1 for r in self.rows.values() if self.status.value == "all" or r.m.status == self.status.value)
        self.count.object = f'<span class="muted" data-shown="{len(order)}">{len(order)} of {total} shown</span>'
        if order != self.order:
            self.order = order
            self.list.objects = [self.rows[mid].layout for mid in order] or [html('<span class="muted">No mappings.</span>')]
