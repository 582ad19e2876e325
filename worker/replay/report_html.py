"""A replay's report as one self-contained page: ``report.html``, drawn with Bokeh.

The page carries Bokeh's JavaScript inline (``bokeh.resources.INLINE``): it opens from
the disk in any browser, with no server and no network. It shows what ``report.json``
holds (:mod:`worker.replay.facts`): the headline figures, cumulative locked / realised /
net P&L, its drawdown, capital in use, the opportunities' best ROI and edge, refusals by
reason, the breakdowns per league and venue pair, and the trades. Amounts are drawn from
floats but every figure written on the page is the report's exact text.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import (
    AdaptiveTicker,
    ColumnDataSource,
    DataRange1d,
    DatetimeTickFormatter,
    FactorRange,
    HoverTool,
    NumeralTickFormatter,
)
from bokeh.models.widgets import Div
from bokeh.plotting import figure
from bokeh.resources import INLINE

HTML_FILE = "report.html"
#: At most this many trades are listed on the page (the JSON has them all).
MAX_TRADE_ROWS = 500
_STYLE = """
<style>
  .replay { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
  .replay h1 { font-size: 22px; margin: 8px 0 4px; }
  .replay h2 { font-size: 16px; margin: 18px 0 6px; }
  .replay p.note { color: #59636e; margin: 2px 0 10px; font-size: 13px; }
  .replay table { border-collapse: collapse; font-size: 13px; margin-bottom: 8px; }
  .replay th, .replay td { border-bottom: 1px solid #d1d9e0; padding: 4px 10px; text-align: left; }
  .replay td.n, .replay th.n { text-align: right; font-variant-numeric: tabular-nums; }
  .replay .headline td:first-child { color: #59636e; }
  .replay .headline td:last-child { font-weight: 600; text-align: right; font-variant-numeric: tabular-nums; }
  .replay .empty { color: #59636e; font-style: italic; padding: 8px 0; }
</style>
"""


def _e(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


def _time(text: str) -> datetime:
    """An ISO time as Bokeh draws it: UTC, without the zone."""
    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def _money(text: str | None) -> str:
    """An exact amount as written in the report, shown with at least cents (``0.7`` →
    ``$0.70``; more digits, when there are, stay)."""
    if text is None:
        return "—"
    sign = "−" if text.startswith("-") else ""
    digits = text.lstrip("-")
    whole, _, cents = digits.partition(".")
    return f"{sign}${whole}.{cents.ljust(2, '0')}"


def _stamp(text: str | None) -> str:
    """An ISO time as ``2026-03-01 18:00:59`` (UTC, to the second)."""
    return "—" if text is None else _time(text).strftime("%Y-%m-%d %H:%M:%S")


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int], css: str = "") -> str:
    head = "".join(f'<th class="{"n" if i in numeric else ""}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{"n" if i in numeric else ""}">{_e(v)}</td>' for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _div(text: str) -> Div:
    return Div(text=f'{_STYLE}<div class="replay">{text}</div>', sizing_mode="stretch_width")


def _headline(report: Mapping[str, Any]) -> Div:
    s = report["summary"]
    states = ", ".join(f"{k} {v}" for k, v in s["attempts_by_state"].items()) or "none"
    rows = [
        ("Recorded span (UTC)", f"{_stamp(s['start'])} → {_stamp(s['end'])} ({s['span_seconds']} s)"),
        ("Book updates replayed", s["book_updates"]),
        ("Opportunities seen", s["opportunities_seen"]),
        ("Trades (attempts)", f"{s['attempts']} — {states}"),
        ("Refusals", s["refusals"]),
        ("Locked P&L", _money(s["locked_pnl"])),
        ("Realised P&L", _money(s["realised_pnl"])),
        ("Net P&L (realised + locked on open positions)", _money(s["net_pnl"])),
        ("Worst drawdown of net P&L", _money(s["worst_drawdown"])),
        ("Peak capital in use", _money(s["peak_capital"])),
        ("Skipped recording parts", s["skipped_parts"]),
    ]
    note = ("Locked P&amp;L: the edge hedged pairs locked at the fill ($1 per pair less both legs' cost and fees). "
            "Realised P&amp;L: the trade log's FAILED, ROLLED_BACK, CLOSED and SETTLED rows.")
    skipped = ""
    if report.get("skipped"):
        skipped = "<h2>Skipped parts of the recording</h2>" + _table(
            ("part", "reason"), [(p["path"], p["reason"]) for p in report["skipped"]], set())
    return _div(f"<h1>Replay report</h1><p class='note'>{note}</p>"
                + _table(("", ""), rows, set(), "headline") + skipped)


def _time_figure(title: str, y_label: str, height: int = 280) -> Any:
    p = figure(height=height, sizing_mode="stretch_width", x_axis_type="datetime", title=title,
               tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right")
    # A model of its own per figure: a Bokeh model belongs to one document only.
    p.xaxis.formatter = DatetimeTickFormatter(seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M",
                                              hourmin="%H:%M", hours="%H:%M", days="%b %d", months="%b %Y")
    p.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
    p.yaxis.axis_label = y_label
    p.xaxis.axis_label = "recorded time (UTC)"
    return p


def _pnl(report: Mapping[str, Any]) -> list[Any]:
    points = report["pnl"]
    if len(points) < 2 or not report["trades"]:
        return [_div("<h2>Cumulative P&amp;L</h2><div class='empty'>No trade in this replay: nothing to draw.</div>")]
    src = ColumnDataSource({
        "t": [_time(p["t"]) for p in points],
        "locked": [float(p["locked"]) for p in points],
        "realised": [float(p["realised"]) for p in points],
        "net": [float(p["net"]) for p in points],
        "drawdown": [-float(p["drawdown"]) for p in points],
        "locked_s": [_money(p["locked"]) for p in points],
        "realised_s": [_money(p["realised"]) for p in points],
        "net_s": [_money(p["net"]) for p in points],
        "drawdown_s": [_money(p["drawdown"]) for p in points],
        "time": [p["t"] for p in points],
    })
    p = _time_figure("Cumulative P&L", "USD", height=340)  # its legend sits above the plot
    for key, color, label in (("locked", "#1a7f37", "locked"), ("realised", "#0969da", "realised"),
                              ("net", "#8250df", "net (realised + open locked)")):
        # Net dashed: where it equals locked (no exit yet) both stay visible.
        p.step("t", key, source=src, mode="after", line_width=2, color=color, legend_label=label,
               line_dash="dashed" if key == "net" else "solid")
    p.add_tools(HoverTool(tooltips=[("time", "@time"), ("locked", "@locked_s"), ("realised", "@realised_s"),
                                    ("net", "@net_s")], mode="vline"))
    p.legend.orientation = "horizontal"
    p.add_layout(p.legend[0], "above")
    d = _time_figure("Drawdown of net P&L", "USD below the peak")
    d.x_range = p.x_range
    d.varea_step(x="t", y1=0, y2="drawdown", source=src, step_mode="after", fill_color="#cf222e", fill_alpha=0.35)
    d.step("t", "drawdown", source=src, mode="after", line_width=1.5, color="#cf222e")
    d.add_tools(HoverTool(tooltips=[("time", "@time"), ("drawdown", "@drawdown_s")], mode="vline"))
    return [p, d]


def _capital(report: Mapping[str, Any], x_range: Any | None) -> Any:
    points = report["capital"]
    if len(points) < 2 or all(p["capital"] == "0" for p in points):
        return _div("<h2>Capital in use</h2><div class='empty'>No capital was put to use.</div>")
    src = ColumnDataSource({
        "t": [_time(p["t"]) for p in points],
        "capital": [float(p["capital"]) for p in points],
        "label": [_money(p["capital"]) for p in points],
        "time": [p["t"] for p in points],
    })
    c = _time_figure("Capital in use (open positions and stranded legs, at cost)", "USD")
    if x_range is not None:
        c.x_range = x_range
    c.varea_step(x="t", y1=0, y2="capital", source=src, step_mode="after", fill_color="#bf8700", fill_alpha=0.3)
    c.step("t", "capital", source=src, mode="after", line_width=2, color="#bf8700")
    c.add_tools(HoverTool(tooltips=[("time", "@time"), ("capital", "@label")], mode="vline"))
    return c


def _histogram(bins: Sequence[Mapping[str, Any]], title: str, unit: str) -> Any:
    labels = [f"{b['from']}–{b['to']}{unit}" if b["to"] is not None else f"≥ {b['from']}{unit}" for b in bins]
    if unit == "$":
        labels = [f"${b['from']}–${b['to']}" if b["to"] is not None else f"≥ ${b['from']}" for b in bins]
    src = ColumnDataSource({"label": labels, "count": [b["count"] for b in bins]})
    h = figure(x_range=FactorRange(factors=labels), y_range=DataRange1d(start=0), height=260, sizing_mode="stretch_width", title=title, tools="save",
               toolbar_location=None)
    h.vbar(x="label", top="count", source=src, width=0.85, color="#0969da", alpha=0.75)
    h.add_tools(HoverTool(tooltips=[("bin", "@label"), ("opportunities", "@count")]))
    h.yaxis.ticker = AdaptiveTicker(min_interval=1)
    h.yaxis.formatter = NumeralTickFormatter(format="0")
    h.xaxis.major_label_orientation = 0.7
    h.yaxis.axis_label = "opportunities"
    return h


def _refusals(report: Mapping[str, Any]) -> Any:
    by_reason = report["refusals"]["by_reason"]
    if not by_reason:
        return _div("<h2>Refusals by reason</h2><div class='empty'>No refusal.</div>")
    reasons = sorted(by_reason, key=lambda r: (by_reason[r], r))
    src = ColumnDataSource({"reason": reasons, "count": [by_reason[r] for r in reasons]})
    r = figure(y_range=FactorRange(factors=reasons), x_range=DataRange1d(start=0), height=max(160, 34 * len(reasons) + 80), sizing_mode="stretch_width",
               title="Refusals by reason (published: once per opportunity and change of reason)", tools="save",
               toolbar_location=None)
    r.hbar(y="reason", right="count", source=src, height=0.7, color="#cf222e", alpha=0.7)
    r.add_tools(HoverTool(tooltips=[("reason", "@reason"), ("refusals", "@count")]))
    r.xaxis.ticker = AdaptiveTicker(min_interval=1)
    r.xaxis.formatter = NumeralTickFormatter(format="0")
    return r


def _breakdowns(report: Mapping[str, Any]) -> Div:
    headers = ("opportunities", "refusals", "attempts", "hedged", "locked P&L", "realised P&L")

    def table(title: str, data: Mapping[str, Mapping[str, Any]]) -> str:
        rows = [(key, v["opportunities"], v["refusals"], v["attempts"], v["hedged"], _money(v["locked_pnl"]),
                 _money(v["realised_pnl"])) for key, v in data.items()]
        if not rows:
            return f"<h2>{_e(title)}</h2><div class='empty'>Nothing.</div>"
        return f"<h2>{_e(title)}</h2>" + _table((title.split()[-1], *headers), rows, {1, 2, 3, 4, 5, 6})

    opp = report["opportunities"]
    life = opp["lifetime_seconds"]
    lifetimes = (f"<p class='note'>Opportunity lifetimes (s): median {_e(life['p50'])}, 90th percentile "
                 f"{_e(life['p90'])}, longest {_e(life['max'])}; {opp['open_at_end']} still open at the end.</p>")
    return _div(table("Per league", report["by_league"]) + table("Per venue pair", report["by_venue_pair"])
                + lifetimes)


def _trades(report: Mapping[str, Any]) -> Div:
    trades = report["trades"]
    if not trades:
        return _div("<h2>Trades</h2><div class='empty'>No trade in this replay.</div>")
    rows = [(_stamp(t["time"]), t["event"], t["league"], t["pair"], t["state"], t["contracts"], t["hedged_contracts"],
             _money(t["cost"]), _money(t["locked_pnl"]), _money(t["realised_pnl"])) for t in trades[:MAX_TRADE_ROWS]]
    more = (f"<p class='note'>The first {MAX_TRADE_ROWS} of {len(trades)} trades; report.json lists them all.</p>"
            if len(trades) > MAX_TRADE_ROWS else "")
    return _div("<h2>Trades</h2>" + more + _table(
        ("started (UTC)", "event", "league", "pair", "state", "size", "hedged", "cost", "locked P&L", "realised P&L"),
        rows, {5, 6, 7, 8, 9}))


def render(report: Mapping[str, Any]) -> str:
    """The page's HTML text."""
    pnl = _pnl(report)
    x_range = pnl[0].x_range if len(pnl) > 1 else None
    opp = report["opportunities"]
    layout = column(
        _headline(report),
        *pnl,
        _capital(report, x_range),
        row(_histogram(opp["roi_pct_histogram"], "Opportunities by best ROI", " %"),
            _histogram(opp["edge_histogram"], "Opportunities by best edge", "$"), sizing_mode="stretch_width"),
        _refusals(report),
        _breakdowns(report),
        _trades(report),
        sizing_mode="stretch_width",
        styles={"max-width": "1200px", "margin": "0 auto"},
    )
    return file_html(layout, resources=INLINE, title="Replay report")


def write_html(directory: Path, report: Mapping[str, Any]) -> Path:
    """Write ``report.html`` into ``directory`` (made if missing); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / HTML_FILE
    path.write_text(render(report), encoding="utf-8")
    return path
