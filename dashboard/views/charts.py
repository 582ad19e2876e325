"""Bokeh charts through Panel: cumulative realised P&L over the selected range (today /
7 d / all), the ROI of executed trades over the same range, and the distribution of live
opportunity ROI; beside the live P&L, a replay report's figures and P&L when one is picked
(:mod:`dashboard.views.replay`).

The P&L line starts at 0 at the range's start (the P&L realised within the range) and
runs to now; both time charts share one time axis. A chart with nothing to draw says
"No data yet" instead of showing an empty box. Values are converted to floats only to
draw them; every figure shown in a tooltip is pre-formatted from the exact Decimal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import panel as pn
from bokeh.models import (
    AdaptiveTicker,
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    HoverTool,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from dashboard import format as fmt
from dashboard.views.common import SELECTED_CSS, Context, changed, has, html
from dashboard.views.legging import LeggingSection
from dashboard.views.replay import ReplayReportView
from worker.api import views as wire

RANGES = ("today", "7 d", "all")
ROI_BINS = tuple(Decimal(x) for x in ("0", "0.5", "1", "1.5", "2", "2.5", "3", "4", "5", "7.5", "10", "20"))

HOUR_MS = 3_600_000  # Bokeh datetime axes are in epoch milliseconds
EMPTY = {
    "pnl": "No data yet: the P&amp;L appears with the first realised trade in this range.",
    "roi": "No data yet: no executed trade in this range.",
    "hist": "No data yet: no live opportunity.",
}


def roi_histogram(rois: list[Decimal]) -> dict[str, Any]:
    """Counts per ROI bin (exact Decimal comparisons), the last bin open-ended."""
    edges = list(ROI_BINS)
    counts = [0] * len(edges)
    for roi in rois:
        idx = 0
        for i, edge in enumerate(edges):
            if roi >= edge:
                idx = i
        counts[idx] += 1
    lefts = [float(e) for e in edges]
    rights = [float(e) for e in edges[1:]] + [float(edges[-1]) + 5]
    labels = [f"{edges[i]}–{edges[i + 1]} %" if i + 1 < len(edges) else f"> {edges[i]} %" for i in range(len(edges))]
    return {"left": lefts, "right": rights, "count": counts, "label": labels}


def range_start(choice: str, now: datetime, earliest: datetime | None) -> datetime | None:
    """Where the range begins: the trading day's midnight (``EXECUTOR_DAY_TZ``), seven
    days ago, or the earliest point there is (None: nothing at all)."""
    if choice == "today":
        zone = fmt.trading_zone()
        return now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    if choice == "7 d":
        return now - timedelta(days=7)
    return earliest


def baseline(points: list[wire.PnlPointView], start: datetime | None) -> Decimal:
    """The cumulative realised P&L when the range starts: the last point before it."""
    before = [p for p in points if start is not None and p.t < start]
    return before[-1].pnl if before else Decimal(0)


def pnl_in_range(points: list[wire.PnlPointView], start: datetime | None, now: datetime) -> dict[str, Any]:
    """The P&L realised from ``start`` on, as the chart draws it: 0 at ``start`` (the
    cumulative total there is the baseline), one step per realised point in the range,
    held until ``now``. Empty when the range holds no point."""
    inside = [p for p in points if start is None or p.t >= start]
    if not inside:
        return {"t": [], "pnl": [], "label": [], "delta": [], "event": [], "time": []}
    base = baseline(points, start)
    begin = start if start is not None else inside[0].t
    rows: list[tuple[datetime, Decimal, str, str]] = [(begin, Decimal(0), "—", "start of range")]
    rows += [(p.t, p.pnl - base, fmt.money(p.delta, signed=True), p.event or (f"trade {p.trade_id}" if p.trade_id else "—"))
             for p in inside]
    if now > rows[-1][0]:
        rows.append((now, rows[-1][1], "—", "now"))
    return {
        # Bokeh draws datetimes as UTC epoch milliseconds: drop tzinfo after UTC.
        "t": [t.astimezone(UTC).replace(tzinfo=None) for t, _, _, _ in rows],
        "pnl": [float(v) for _, v, _, _ in rows],
        "label": [fmt.money(v, signed=True) for _, v, _, _ in rows],
        "delta": [d for _, _, d, _ in rows],
        "event": [e for _, _, _, e in rows],
        "time": [fmt.stamp(t) for t, _, _, _ in rows],
    }


def _epoch_ms(t: datetime) -> float:
    return t.timestamp() * 1000


class ChartsView:
    """The three charts; each redraws only when its data changed."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.range = pn.widgets.RadioButtonGroup(options=list(RANGES), value="all", color="primary", variant="outline",
                                                 stylesheets=[SELECTED_CSS])
        self.range.param.watch(lambda _e: self._render_time_charts(), "value")
        # One time axis for both time charts: the selected range, start to now.
        self.x_range = Range1d(start=0, end=HOUR_MS)
        self.pnl_src = ColumnDataSource(pnl_in_range([], None, ctx.now()))
        p = figure(height=280, sizing_mode="stretch_width", x_axis_type="datetime", title="Realised P&L in the range",
                   x_range=self.x_range, tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right")
        p.step("t", "pnl", source=self.pnl_src, mode="after", line_width=2, color="#0969da")
        p.scatter("t", "pnl", source=self.pnl_src, size=4, color="#0969da")
        p.add_tools(HoverTool(tooltips=[("event", "@event"), ("time", "@time"), ("trade", "@delta"), ("P&L", "@label")],
                              mode="vline"))
        p.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
        p.xaxis.formatter = DatetimeTickFormatter(seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M", hourmin="%H:%M", hours="%H:%M", days="%b %d", months="%b %Y")
        p.yaxis.axis_label = "USD"
        self.pnl_fig = p
        self.roi_src = ColumnDataSource({"t": [], "roi": [], "label": [], "event": [], "time": []})
        r = figure(height=260, sizing_mode="stretch_width", x_axis_type="datetime", title="ROI of executed trades",
                   x_range=self.x_range, tools="pan,wheel_zoom,box_zoom,reset,save")
        r.scatter("t", "roi", source=self.roi_src, size=7, color="#1a7f37", alpha=0.8)
        r.add_tools(HoverTool(tooltips=[("event", "@event"), ("time", "@time"), ("ROI", "@label")]))
        r.yaxis.formatter = NumeralTickFormatter(format="0.0")
        r.xaxis.formatter = p.xaxis.formatter
        r.yaxis.axis_label = "ROI (%)"
        self.roi_fig = r
        self.hist_src = ColumnDataSource(roi_histogram([]))
        # A count: the axis starts at zero and its ticks are whole opportunities.
        h = figure(height=260, sizing_mode="stretch_width", title="Live opportunity ROI distribution",
                   y_range=DataRange1d(start=0), tools="reset,save")
        h.quad(left="left", right="right", top="count", bottom=0, source=self.hist_src, color="#bf8700", alpha=0.7,
               line_color="white")
        h.add_tools(HoverTool(tooltips=[("ROI", "@label"), ("opportunities", "@count")]))
        h.yaxis.ticker = AdaptiveTicker(min_interval=1)
        h.yaxis.formatter = NumeralTickFormatter(format="0")
        h.xaxis.axis_label = "ROI (%)"
        h.yaxis.axis_label = "opportunities"
        self.hist_fig = h
        self.summary = html("", name="pnl-summary")
        # Each chart in a column of its own, shown only when it has something to draw
        # (a Bokeh pane's own ``visible`` does not hide its figure).
        self.panes = {
            key: pn.Column(pn.pane.Bokeh(fig, sizing_mode="stretch_width"), sizing_mode="stretch_width", visible=False,
                           css_classes=[f"chart-{key}"])
            for key, fig in (("pnl", p), ("roi", r), ("hist", h))
        }
        self.empty = {
            key: html(f'<div class="chart-empty" data-empty="{key}"><b>{title}</b><br>{text}</div>',
                      sizing_mode="stretch_width", name=f"{key}-empty")
            for key, title, text in (
                ("pnl", "Realised P&amp;L in the range", EMPTY["pnl"]),
                ("roi", "ROI of executed trades", EMPTY["roi"]),
                ("hist", "Live opportunity ROI distribution", EMPTY["hist"]),
            )
        }
        half = {"flex": "1 1 420px"}
        # A replay's report (EXECUTOR_REPLAY_REPORTS), when one is picked: beside the live P&L.
        self.replay = ReplayReportView(ctx)
        # The legging-risk estimates the worker prices with (GET /api/legging).
        self.legging = LeggingSection(ctx)
        self.layout = pn.Column(
            pn.Row(self.range, self.summary, styles={"align-items": "center", "flex-wrap": "wrap"}),
            self.replay.controls,
            pn.FlexBox(pn.Column(self.panes["pnl"], self.empty["pnl"], sizing_mode="stretch_width", styles=half),
                       self.replay.column, sizing_mode="stretch_width"),
            pn.FlexBox(pn.Column(self.panes["roi"], self.empty["roi"], sizing_mode="stretch_width", styles=half),
                       pn.Column(self.panes["hist"], self.empty["hist"], sizing_mode="stretch_width", styles=half),
                       sizing_mode="stretch_width"),
            self.legging.layout,
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.Column:
        return self.layout

    def update(self, topics: set[str]) -> None:
        self.legging.update(topics)
        if has(topics, "pnl", "trades"):
            self._render_time_charts()
        if has(topics, "opportunities"):
            rois = [o.roi for o in self.ctx.feed.state.opportunities.values()]
            self.hist_src.data = roi_histogram(rois)
            self._show("hist", bool(rois))

    def _show(self, key: str, filled: bool) -> None:
        changed(self.panes[key], "visible", filled)
        changed(self.empty[key], "visible", not filled)

    def _executed(self) -> list[Any]:
        return [t for t in self.ctx.feed.state.trades if t.roi is not None and t.time is not None and t.status == "SUCCESS"]

    def _render_time_charts(self) -> None:
        now = self.ctx.now()
        points = list(self.ctx.feed.state.pnl)
        executed = self._executed()
        times = [p.t for p in points] + [t.time for t in executed]
        start = range_start(self.range.value, now, min(times) if times else None)
        self.pnl_src.data = pnl_in_range(points, start, now)
        inside = [p for p in points if start is None or p.t >= start]
        self._show("pnl", bool(inside))
        rows = [t for t in executed if start is None or t.time >= start]
        self.roi_src.data = {
            "t": [t.time.astimezone(UTC).replace(tzinfo=None) for t in rows],
            "roi": [float(t.roi) for t in rows],
            "label": [fmt.percent(t.roi, 2) for t in rows],
            "event": [t.event for t in rows],
            "time": [fmt.stamp(t.time) for t in rows],
        }
        self._show("roi", bool(rows))
        begin = start if start is not None else now - timedelta(hours=1)
        end = max(now, begin + timedelta(hours=1))  # never a zero-width axis
        self.x_range.update(start=_epoch_ms(begin), end=_epoch_ms(end))
        total = inside[-1].pnl - baseline(points, start) if inside else None
        self.summary.object = (
            f'<span data-k="pnl-last">Realised P&amp;L in the range: <b>{fmt.money(total, signed=True)}</b> '
            f"({len(inside)} realised trade{'s' if len(inside) != 1 else ''})</span>"
        )
