"""The ``/mappings`` review: matched pairs with confidence and reasons, Confirm / Reject,
and the listings refused at discovery.

A decision is sent to the worker; the row changes when the worker's ``mapping_changed``
comes back, so every open page (here or in another dashboard process) shows the same.

Below the pairs, "Refused at discovery" counts the markets the worker left out at its
latest discovery (a market a venue parser could not read, or one the matcher refused: a
spread, a total, a polarity in doubt …) and lists the latest of them (venue, id, reason,
first seen), from ``init`` and every ``discovery_refusals``.
"""

from __future__ import annotations

from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownMapping
from dashboard.views.common import STYLES, Context, has, html
from dashboard.views.keyed import Item, KeyedList
from worker.api import schemas
from worker.api import views as wire

STATUS_FILTERS = ("all", "candidate", "confirmed", "rejected")
MAX_ROWS = 300
ACTIONS = {"confirm": schemas.CONFIRM_MAPPING, "reject": schemas.REJECT_MAPPING}


def discovery_html(d: wire.DiscoveryView | None) -> str:
    """The "Refused at discovery" section: the count and a table (venue, id, reason, when)."""
    if d is None or d.discovered_at is None:
        return (
            '<div class="discovery" data-refused-count="">'
            "<h4 style='margin:8px 0 4px'>Refused at discovery</h4>"
            '<span class="muted">No discovery has run in the worker yet.</span></div>'
        )
    head = (
        f'<div class="discovery" data-refused-count="{d.refused_count}">'
        f"<h4 style='margin:8px 0 4px'>Refused at discovery: <b class=\"refused-count\">{d.refused_count}</b></h4>"
        f'<span class="muted">latest discovery {fmt.stamp(d.discovered_at)}'
    )
    if d.refused_count > len(d.refused):
        head += f"; the {len(d.refused)} first seen most recently are listed"
    head += "</span>"
    if not d.refused:
        return head + '<p class="muted">No listing was refused.</p></div>'
    rows = "".join(
        f'<tr data-venue="{fmt.esc(r.venue.value)}" data-id="{fmt.esc(r.id)}"><td>{fmt.esc(r.venue.value)}</td>'
        f"<td><code>{fmt.esc(r.id)}</code></td><td>{fmt.esc(r.reason)}</td><td>{fmt.stamp(r.at)}</td></tr>"
        for r in d.refused
    )
    return (
        head + '<div style="max-height:420px;overflow-y:auto">'
        '<table class="refusals" style="width:100%;border-collapse:collapse">'
        "<thead><tr><th align='left'>Venue</th><th align='left'>Id</th><th align='left'>Reason</th>"
        "<th align='left'>Since</th></tr></thead><tbody>" + rows + "</tbody></table></div></div>"
    )


def mapping_item(m: ShownMapping, message: str = "") -> Item:
    reasons = "; ".join(m.reasons) or "—"
    confirm_off = " disabled" if m.status == "confirmed" else ""
    reject_off = " disabled" if m.status == "rejected" else ""
    return {
        "cls": f"map-row opp-card {fmt.confidence_class(m.confidence)}",
        "sum": (
            f'<div data-mapping="{fmt.esc(m.id)}"><b>{fmt.esc(m.title or m.kalshi)}</b> '
            f'<span class="conf-tag {fmt.confidence_class(m.confidence)}">{fmt.esc(m.confidence)}</span> '
            f'<span class="map-status {fmt.esc(m.status)}" data-status="{fmt.esc(m.status)}">{fmt.esc(m.status)}</span> '
            # The review's verdict: the settlement rules are judged per opportunity (its card).
            f"{fmt.trade_verdict(m.tradeable, m.why_not, m.why_not_text, ok='may trade (rules: see its cards)')}"
            f'<span style="float:right"><button class="act ok" data-action="confirm"{confirm_off}>Confirm</button> '
            f'<button class="act bad" data-action="reject"{reject_off}>Reject</button></span><br>'
            f'<span class="muted">Kalshi <code>{fmt.esc(m.kalshi)}</code> ↔ Poly <code>{fmt.esc(m.poly)}</code>'
            f" · starts {fmt.stamp(m.starts_at)}</span><br><span class=\"muted\">{fmt.esc(reasons)}</span>"
            f"{message}</div>"
        ),
    }


class MappingsView:
    """Filter by status; one row per mapping."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.status = pn.widgets.RadioButtonGroup(options=list(STATUS_FILTERS), value="all")
        self.status.param.watch(lambda _e: self.refilter(), "value")
        self.count = html("", name="mapping-count")
        self.messages: dict[str, str] = {}
        self.list = KeyedList(on_action=self._act, empty="No mappings.", sizing_mode="stretch_width", stylesheets=STYLES)
        self.refused = html(discovery_html(ctx.feed.state.discovery), name="discovery-refusals",
                            sizing_mode="stretch_width")
        self.layout = pn.Column(
            pn.Row(html("<h3 style='margin:0'>Market mappings</h3>"), self.status, self.count,
                   styles={"flex-wrap": "wrap", "align-items": "center"}),
            self.list, self.refused, sizing_mode="stretch_width",
        )
        # Discovery may have added pairs since the feed connected: read the list afresh.
        ctx.feed.refresh("mappings")

    def __panel__(self) -> pn.Column:
        return self.layout

    def _items(self) -> dict[str, Item]:
        return {mid: mapping_item(m, self.messages.get(mid, "")) for mid, m in self.ctx.feed.state.mappings.items()}

    def update(self, topics: set[str]) -> None:
        if has(topics, "mappings"):
            self.list.apply(self._items(), self.visible_ids())
            self._count()
        if has(topics, "discovery"):
            text = discovery_html(self.ctx.feed.state.discovery)
            if self.refused.object != text:
                self.refused.object = text

    def _act(self, action: str, mid: str, _value: Any) -> None:
        if action not in ACTIONS:
            return

        def reply(r: wire.ReplyView) -> None:
            if isinstance(r, wire.AckView):
                self.messages[mid] = ' <span class="saved">✓ sent</span>'
            else:
                self.messages[mid] = f' <span class="field-error">⚠ {fmt.esc(r.message or "Refused")}</span>'
            self.list.apply(self._items())

        self.ctx.send(ACTIONS[action], reply, mapping_id=mid)

    def visible_ids(self) -> list[str]:
        want = self.status.value
        rank = fmt.CONFIDENCE_RANK
        shown = [m for m in self.ctx.feed.state.mappings.values() if want == "all" or m.status == want]
        # Candidates needing a decision first, weakest confidence first within them.
        shown.sort(key=lambda m: (m.status != "candidate", rank.get(m.confidence, 0), m.title, m.id))
        return [m.id for m in shown[:MAX_ROWS]]

    def _count(self) -> None:
        want = self.status.value
        total = sum(1 for m in self.ctx.feed.state.mappings.values() if want == "all" or m.status == want)
        self.count.object = f'<span class="muted" data-shown="{len(self.list.order)}">{len(self.list.order)} of {total} shown</span>'

    def refilter(self) -> None:
        self.list.apply(self.list.items, self.visible_ids())  # the order only: nothing re-sent
        self._count()
