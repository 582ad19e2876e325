"""Bokeh charts through Panel: cumulative realised P&L (streaming, today / 7 d / all),
ROI of executed trades over time, and the distribution of live opportunity ROI.

Values are converted to floats only to draw them; every figure shown in a tooltip is
pre-formatted from the exact Decimal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import panel as pn
from bokeh.models import (
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    HoverTool,
    NumeralTickFormatter,
)
from bokeh.plotting import figure

from dashboard import format as fmt
from dashboard.views.common import Context, has, html
from worker.api import views as wire

RANGES = ("today", "7 d", "all")
ROI_BINS = tuple(Decimal(x) for x in ("0", "0.5", "1", "1.5", "2", "2.5", "3", "4", "5", "7.5", "10", "20"))

HOUR_MS = 3_600_000  # Bokeh datetime axes are in epoch milliseconds


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


class ChartsView:
    """The three charts; each redraws only when its data changed."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.range = pn.widgets.RadioButtonGroup(options=list(RANGES), value="all")
        self.range.param.watch(lambda _e: self._render_pnl(), "value")
        self._range_shown = ""
        self._first_shown: datetime | None = None
        self.pnl_src = ColumnDataSource({"t": [], "pnl": [], "label": [], "time": []})
        # One point (the first realised trade) would otherwise span Bokeh's default 2 ms,
        # labelling the time axis in microseconds: show an hour around it instead.
        p = figure(height=280, sizing_mode="stretch_width", x_axis_type="datetime", title="Cumulative realised P&L",
                   x_range=DataRange1d(default_span=HOUR_MS),
                   tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right")
        p.step("t", "pnl", source=self.pnl_src, mode="after", line_width=2, color="#0969da")
        p.scatter("t", "pnl", source=self.pnl_src, size=4, color="#0969da")
        p.add_tools(HoverTool(tooltips=[("time", "@time"), ("P&L", "@label")], mode="vline"))
        p.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
        p.xaxis.formatter = DatetimeTickFormatter(seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M", hourmin="%H:%M", hours="%H:%M", days="%b %d", months="%b %Y")
        p.yaxis.axis_label = "USD"
        self.pnl_fig = p
        self.roi_src = ColumnDataSource({"t": [], "roi": [], "label": [], "event": [], "time": []})
        r = figure(height=260, sizing_mode="stretch_width", x_axis_type="datetime", title="ROI of executed trades",
                   x_range=DataRange1d(default_span=HOUR_MS),
                   tools="pan,wheel_zoom,box_zoom,reset,save")
        r.scatter("t", "roi", source=self.roi_src, size=7, color="#1a7f37", alpha=0.8)
        r.add_tools(HoverTool(tooltips=[("event", "@event"), ("time", "@time"), ("ROI", "@label")]))
        r.yaxis.formatter = NumeralTickFormatter(format="0.0")
        r.xaxis.formatter = p.xaxis.formatter
        r.yaxis.axis_label = "ROI (%)"
        self.roi_fig = r
        self.hist_src = ColumnDataSource(roi_histogram([]))
        # A count: the axis starts at zero, also while no opportunity is live.
        h = figure(height=260, sizing_mode="stretch_width", title="Live opportunity ROI distribution",
                   y_range=DataRange1d(start=0),
                   tools="reset,save")
        h.quad(left="left", right="right", top="count", bottom=0, source=self.hist_src, color="#bf8700", alpha=0.7,
               line_color="white")
        h.add_tools(HoverTool(tooltips=[("ROI", "@label"), ("opportunities", "@count")]))
        h.xaxis.axis_label = "ROI (%)"
        h.yaxis.axis_label = "opportunities"
        self.hist_fig = h
        self.summary = html("", name="pnl-summary")
        self.layout = pn.Column(
            pn.Row(self.range, self.summary, styles={"align-items": "center"}),
            pn.pane.Bokeh(p, sizing_mode="stretch_width"),
            pn.FlexBox(pn.pane.Bokeh(r, sizing_mode="stretch_width", styles={"flex": "1 1 420px"}),
                       pn.pane.Bokeh(h, sizing_mode="stretch_width", styles={"flex": "1 1 420px"}),
                       sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.Column:
        return self.layout

    def update(self, topics: set[str]) -> None:
        if has(topics, "pnl"):
            self._render_pnl()
        if has(topics, "trades"):
            self._render_roi()
        if has(topics, "opportunities"):
            self.hist_src.data = roi_histogram([o.roi for o in self.ctx.feed.state.opportunities.values()])

    def pnl_points(self) -> list[wire.PnlPointView]:
        points = self.ctx.feed.state.pnl
        now = self.ctx.now()
        if self.range.value == "today":
            start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            return [p for p in points if p.t >= start]
        if self.range.value == "7 d":
            return [p for p in points if p.t >= now - timedelta(days=7)]
        return list(points)

    @staticmethod
    def _columns(points: list[wire.PnlPointView]) -> dict[str, Any]:
        # Bokeh draws datetimes as UTC epoch milliseconds: drop tzinfo after UTC.
        return {
            "t": [p.t.astimezone(UTC).replace(tzinfo=None) for p in points],
            "pnl": [float(p.pnl) for p in points],
            "label": [fmt.money(p.pnl, signed=True) for p in points],
            "time": [fmt.stamp(p.t) for p in points],
        }

    def _render_pnl(self) -> None:
        points = self.pnl_points()
        shown = len(self.pnl_src.data["t"])
        if (
            self.range.value == "all" and self._range_shown == "all" and 0 < shown < len(points)
            and self._first_shown == points[0].t
        ):
            # New points only: stream them instead of resending the whole series.
            self.pnl_src.stream(self._columns(points[shown:]))
        else:
            self.pnl_src.data = self._columns(points)
        self._range_shown = self.range.value
        self._first_shown = points[0].t if points else None
        last = points[-1].pnl if points else None
        self.summary.object = f'<span data-k="pnl-last">Realised P&amp;L: <b>{fmt.money(last, signed=True)}</b> ({len(points)} points)</span>'

    def _render_roi(self) -> None:
        rows = [t for t in self.ctx.feed.state.trades if t.roi is not None and t.time is not None and t.status == "SUCCESS"]
        self.roi_src.data = {
            "t": [t.time.astimezone(UTC).replace(tzinfo=None) for t in rows if t.time],
            "roi": [float(t.roi) for t in rows if t.roi is not None],
            "label": [fmt.percent(t.roi, 2) for t in rows],
            "event": [t.event for t in rows],
            "time": [fmt.stamp(t.time) for t in rows],
        }
