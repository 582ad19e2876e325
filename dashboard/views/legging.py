"""Legging risk on the pages: each card's expected edge beside its locked one, and the
"Legging risk" section of ``/charts`` (the estimates the worker prices with).

A card says, at the opportunity's full depth, the locked edge and ROI, the expected edge
and ROI after legging risk, and leg 2's P(fail) with the samples behind it and its venue;
when the expected ROI falls below ``min_roi`` while the locked one is not, that with
``EXECUTOR_PRICE_LEGGING_RISK=1`` the risk manager refuses it. Without an estimate the
card says "no legging estimate".

The section reads ``GET /api/legging`` when the page opens, every :data:`REFRESH_S`
seconds after, and on its button: the estimates table (a cell per row, then each venue's
pool, then every venue's; a sparse cell, under :data:`MIN_SAMPLES` samples, is marked and
pulled toward its pool), when they were last refreshed and whether they apply to
``min_roi``. Built once; a read replaces the panes' HTML only when it changed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.shown import ShownOpportunity
from dashboard.views.common import Context, changed, has, html, in_background, server_loop
from worker.api import views as wire
from worker.domain.legging import MIN_SAMPLES

log = logging.getLogger(__name__)

#: Seconds between two reads of the estimates while the page is open.
REFRESH_S = 60.0
#: After a failed read, the next one this soon.
RETRY_S = 5.0
Fetch = Callable[[str, Mapping[str, str]], Awaitable[Any]]
EMPTY = ("No estimates yet: run <code>python -m worker legging DIR</code> on a recording, or trade: our own "
         "fills are counted every <code>EXECUTOR_LEGGING_REFRESH_S</code>.")


def chance(p: Decimal) -> str:
    """A probability in percent, to 0.1 (``10%``, ``27.6%``)."""
    pct = (p * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
    return f"{pct.normalize() if pct == pct.to_integral_value() else pct:f}%"


def venue_name(venue: str) -> str:
    return fmt.VENUE_LONG.get(venue, venue)


# --- the cards -------------------------------------------------------------------------


def card_legging(opp: ShownOpportunity, min_roi: Decimal | None = None) -> str:
    """The card's legging line (see the module doc), as HTML."""
    q = opp.legging
    if q is None:
        return '<div class="legging muted" data-legging="none">Legging risk: no legging estimate</div>'
    pairs = f" at {fmt.volume(opp.size)} pairs" if opp.size is not None else ""
    sparse = " (sparse: pooled)" if q.samples < MIN_SAMPLES else ""
    refused = ""
    if min_roi is not None and opp.roi >= min_roi > q.expected_roi_pct:
        refused = (f'<div class="warn-mark" data-legging-refused="1">⚠{pairs} the expected ROI '
                   f"{fmt.percent(q.expected_roi_pct, 2)} is below min ROI {fmt.percent(min_roi, 2)}: "
                   "refused when EXECUTOR_PRICE_LEGGING_RISK=1</div>")
    return (
        f'<div class="legging" data-legging="{fmt.esc(q.cell)}">'
        f'Locked <b data-k="locked">{fmt.money(opp.edge)} · {fmt.percent(opp.roi, 2)}</b> · '
        f'Expected <b data-k="expected">{fmt.money(q.expected_edge)} · {fmt.percent(q.expected_roi_pct, 2)}</b>'
        f'<span class="muted">{pairs}</span><br>'
        f'<span class="muted" data-k="leg2">leg 2 ({fmt.esc(venue_name(q.second_venue.value))}) fails '
        f"{chance(q.p_fail)} of {q.samples} samples{sparse}, {fmt.money(q.cost)} a contract</span></div>{refused}"
    )


def expected_roi(opp: ShownOpportunity) -> Decimal:
    """The sort key "Expected ROI": the expected ROI, or the locked one without an estimate."""
    return opp.legging.expected_roi_pct if opp.legging is not None else opp.roi


# --- the /charts section -----------------------------------------------------------------


def _band(value: str) -> str:
    return "all" if value == "*" else fmt.esc(value)


def row_html(r: wire.LeggingRowView) -> str:
    sparse = r.samples < MIN_SAMPLES
    k = r.key
    kind = "all" if k.venue == "*" else ("pool" if wire.pooled(r) else "cell")
    venue = "every venue" if k.venue == "*" else fmt.esc(venue_name(k.venue))
    mark = ' <span class="warn-mark" title="under 30 samples: pulled toward its pool">⚠ sparse</span>' if sparse else ""
    cells = (
        venue, _band(k.league), _band(k.price_band), _band(k.depth_band), f"{r.samples}{mark}", str(r.failures),
        chance(r.raw_p_fail), f"<b>{chance(r.p_fail)}</b>", f"{chance(r.ci_low)} – {chance(r.ci_high)}",
        f"{fmt.money(r.cost)} <span class='muted'>(raw {fmt.money(r.raw_cost)})</span>", f"{r.weight:.2f}",
    )
    tds = "".join(f"<td>{c}</td>" for c in cells)
    key = f"{k.venue}/{k.league}/{k.price_band}/{k.depth_band}"
    return (f'<tr class="legging-row {kind}{" sparse" if sparse else ""}" data-cell="{fmt.esc(key)}" '
            f'data-sparse="{int(sparse)}">{tds}</tr>')


HEAD = ("Venue (leg 2)", "League", "Price band", "Size ÷ depth", "Samples", "Failures", "Raw P(fail)",
        "P(fail) used", "95 % interval", "Cost / contract", "Weight")


def table_html(estimates: wire.LeggingEstimatesView) -> str:
    """The estimates table; the empty state when there is no row or no sample."""
    if not estimates.rows or estimates.samples == 0:
        return f'<div class="chart-empty" data-empty="legging">{EMPTY}</div>'
    head = "".join(f"<th>{h}</th>" for h in HEAD)
    body = "".join(row_html(r) for r in estimates.rows)
    return (f"<style>.legging-table th, .legging-table td {{ white-space: nowrap; }}</style>"
            f'<div style="overflow-x:auto;max-width:100%"><table class="trades legging-table" '
            f'data-rows="{len(estimates.rows)}" style="width:100%;border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
            f'<div class="muted" style="font-size:12px">Weight: the share of the cell\'s own rate in the P(fail) '
            f"used; a cell under {MIN_SAMPLES} samples is pulled toward its venue's pool.</div>")


def status_html(estimates: wire.LeggingEstimatesView | None, error: str = "") -> str:
    """When the estimates were refreshed, what they rest on and whether they apply."""
    if error:
        return f'<span class="field-error" data-k="legging-error">{fmt.esc(error)}</span>'
    if estimates is None:
        return '<span class="muted">Reading the estimates…</span>'
    when = fmt.stamp(estimates.updated_at) if estimates.updated_at is not None else "never"
    applied = ('<b data-k="legging-applied" data-applied="1">applied to min ROI</b> (EXECUTOR_PRICE_LEGGING_RISK=1)'
               if estimates.price_legging_risk else
               '<span data-k="legging-applied" data-applied="0">shown only: min ROI applies to the locked ROI '
               "(EXECUTOR_PRICE_LEGGING_RISK=0)</span>")
    return (f'<span data-k="legging-updated">Last refresh: {when}</span> · '
            f'<span data-k="legging-samples">{estimates.samples} samples</span> · {applied}')


class LeggingSection:
    """The "Legging risk" section of ``/charts`` (see the module doc)."""

    def __init__(self, ctx: Context, fetch: Fetch | None = None) -> None:
        self.ctx = ctx
        self._fetch: Fetch = fetch or ctx.feed.api_get
        self.estimates: wire.LeggingEstimatesView | None = None
        self._next_at: float | None = None  # monotonic time of the next read; None: at once
        self._reading = False
        self.title = html("<h3 style='margin:0'>Legging risk</h3>", name="legging-title")
        self.refresh_button = pn.widgets.Button(label="↻ Refresh", color="default", width=110,
                                                css_classes=["legging-refresh"])
        self.refresh_button.on_click(lambda _e: self.refresh())
        self.status = html(status_html(None), name="legging-status", sizing_mode="stretch_width")
        self.table = html("", name="legging-table", sizing_mode="stretch_width")
        self.layout = pn.Column(
            pn.FlexBox(self.title, self.refresh_button, self.status, align_items="center", sizing_mode="stretch_width"),
            self.table, sizing_mode="stretch_width", css_classes=["legging-section"],
        )

    def __panel__(self) -> pn.Column:
        return self.layout

    def update(self, topics: set[str]) -> None:
        """Reads the estimates on the first render, then every :data:`REFRESH_S` seconds."""
        if not has(topics, "clock", "connection"):
            return
        if self._next_at is None or self.ctx.monotonic() >= self._next_at:
            self.refresh()

    def refresh(self) -> None:
        if self._reading:
            return
        loop = server_loop()
        if loop is None:
            return
        self._next_at = self.ctx.monotonic() + REFRESH_S
        self._reading = True
        in_background(loop, self._read())

    async def _read(self) -> None:
        try:
            estimates = wire.decode_api_legging(await self._fetch("/api/legging", {}))
        except Exception as exc:
            why = type(exc).__name__  # the kind only: a message could carry a URL
            log.warning("legging estimates not read: %s", why)
            self._next_at = self.ctx.monotonic() + RETRY_S
            self.ctx.post(lambda: self.show(None, f"⚠ Estimates not read from the worker ({why})"))
            return
        finally:
            self._reading = False
        self.ctx.post(lambda: self.show(estimates))

    def show(self, estimates: wire.LeggingEstimatesView | None, error: str = "") -> None:
        if estimates is not None:
            self.estimates = estimates
        changed(self.status, "object", status_html(self.estimates if not error else None, error))
        if self.estimates is not None:
            changed(self.table, "object", table_html(self.estimates))
