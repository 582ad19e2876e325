"""A replay's report beside the live P&L on ``/charts``.

``python -m worker replay`` writes each run's ``report.json`` and ``report.html`` into a
directory of its own; the directories live under ``EXECUTOR_REPLAY_REPORTS`` (default
``<EXECUTOR_DATA_DIR>/replays``). The page lists those that hold a ``report.json``
("Replay report"); the one picked shows its headline figures and its cumulative locked,
realised and net P&L over its recorded time, in a chart of its own beside the live one
(the two time axes differ: the replay's is the recording's). Its ``report.html`` can be
downloaded through the page's own session (only a file of a listed report, never a path
the browser names) and opened from the disk.

The file is the replay's (``worker.replay.facts``), read here as plain JSON: a report that
cannot be read or lacks what is shown gives one line saying so, never an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import panel as pn
from bokeh.models import ColumnDataSource, DatetimeTickFormatter, HoverTool, NumeralTickFormatter
from bokeh.models.annotations import Title
from bokeh.plotting import figure

from dashboard import format as fmt
from dashboard.views.common import Context, changed, html
from worker.config import ConfigError, load_config

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
#: A report.json above this size is not read by the page (a replay of many hours).
MAX_BYTES = 64 * 1024 * 1024
NONE = "—"
_EMPTY_PNL: dict[str, list[Any]] = {"t": [], "locked": [], "realised": [], "net": [], "locked_s": [],
                                    "realised_s": [], "net_s": [], "time": []}


class BadReport(ValueError):
    """A report that cannot be shown, and why (one line)."""


@dataclass(frozen=True)
class ReplaySummary:
    """What the page shows of one report."""

    name: str
    summary: dict[str, Any]
    #: (time, cumulative locked, realised, net P&L), in time order.
    pnl: list[tuple[datetime, Decimal, Decimal, Decimal]]
    html_path: Path | None


def reports_root() -> tuple[Path | None, str]:
    """Where the reports are (``EXECUTOR_REPLAY_REPORTS``), or None and why not."""
    try:
        return load_config().replay_reports, ""
    except ConfigError as exc:
        return None, f"Replay reports are not available: {exc}"


def list_reports(root: Path) -> list[str]:
    """The report directories under ``root`` (those with a report.json), newest first."""
    try:
        found = [d for d in root.iterdir() if d.is_dir() and (d / REPORT_JSON).is_file()]
    except OSError:
        return []
    return [d.name for d in sorted(found, key=lambda d: (-(d / REPORT_JSON).stat().st_mtime, d.name))]


def _money(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BadReport(f"{where} is not an amount: {value!r}") from None


def _time(value: Any, where: str) -> datetime:
    try:
        t = datetime.fromisoformat(str(value))
    except ValueError:
        raise BadReport(f"{where} is not a time: {value!r}") from None
    if t.tzinfo is None:
        raise BadReport(f"{where} has no time zone: {value!r}")
    return t.astimezone(UTC)


def load_report(root: Path, name: str) -> ReplaySummary:
    """The report ``name`` under ``root``; :class:`BadReport` says why it cannot be shown."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise BadReport(f"no report named {name!r}")
    directory = root / name
    path = directory / REPORT_JSON
    try:
        if path.stat().st_size > MAX_BYTES:
            raise BadReport(f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB: open {REPORT_HTML} instead")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadReport(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadReport(f"{path} is not a replay report (not JSON: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict) or not isinstance(data.get("pnl"), list):
        raise BadReport(f"{path} is not a replay report (no summary or pnl)")
    pnl = []
    for i, p in enumerate(data["pnl"]):
        if not isinstance(p, dict):
            raise BadReport(f"pnl point {i} is not an object")
        pnl.append((_time(p.get("t"), f"pnl point {i}"), _money(p.get("locked"), f"pnl point {i} locked"),
                    _money(p.get("realised"), f"pnl point {i} realised"), _money(p.get("net"), f"pnl point {i} net")))
    page = directory / REPORT_HTML
    return ReplaySummary(name, data["summary"], pnl, page if page.is_file() else None)


def _amount(summary: dict[str, Any], key: str, signed: bool = True) -> str:
    value = summary.get(key)
    try:
        return fmt.money(Decimal(str(value)), signed=signed) if value is not None else NONE
    except InvalidOperation:
        return fmt.esc(value)


def summary_html(report: ReplaySummary) -> str:
    """The report's headline figures as a table."""
    s = report.summary
    span = NONE
    if s.get("start") and s.get("end"):
        span = f"{fmt.esc(s['start'])[:19].replace('T', ' ')} → {fmt.esc(s['end'])[:19].replace('T', ' ')} UTC"
    states = s.get("attempts_by_state") if isinstance(s.get("attempts_by_state"), dict) else {}
    trades = f"{fmt.esc(s.get('attempts', NONE))}" + (
        f" ({', '.join(f'{fmt.esc(k)} {fmt.esc(v)}' for k, v in states.items())})" if states else "")
    rows = [
        ("Recorded span", span),
        ("Book updates", fmt.esc(s.get("book_updates", NONE))),
        ("Opportunities seen", fmt.esc(s.get("opportunities_seen", NONE))),
        ("Trades", trades),
        ("Refusals", fmt.esc(s.get("refusals", NONE))),
        ("Locked P&amp;L", _amount(s, "locked_pnl")),
        ("Realised P&amp;L", _amount(s, "realised_pnl")),
        ("Net P&amp;L", _amount(s, "net_pnl")),
        ("Worst drawdown", _amount(s, "worst_drawdown", signed=False)),
        ("Peak capital in use", _amount(s, "peak_capital", signed=False)),
    ]
    body = "".join(f'<tr><td>{k}</td><td class="v" data-k="replay-{i}">{v}</td></tr>' for i, (k, v) in enumerate(rows))
    return f'<table class="kv replay-summary" data-report="{fmt.esc(report.name)}">{body}</table>'


def pnl_data(report: ReplaySummary) -> dict[str, list[Any]]:
    """The chart's columns: floats to draw, exact text for the tooltip."""
    if not report.pnl:
        return dict(_EMPTY_PNL)
    return {
        "t": [t.replace(tzinfo=None) for t, _, _, _ in report.pnl],
        "locked": [float(v) for _, v, _, _ in report.pnl],
        "realised": [float(v) for _, _, v, _ in report.pnl],
        "net": [float(v) for _, _, _, v in report.pnl],
        "locked_s": [fmt.money(v, signed=True) for _, v, _, _ in report.pnl],
        "realised_s": [fmt.money(v, signed=True) for _, _, v, _ in report.pnl],
        "net_s": [fmt.money(v, signed=True) for _, _, _, v in report.pnl],
        "time": [fmt.stamp(t) for t, _, _, _ in report.pnl],
    }


class ReplayReportView:
    """The "Replay report" picker, and the picked report's figures and P&L chart."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.root, problem = reports_root()
        self.select = pn.widgets.Select(label="Replay report", options=[NONE], value=NONE, width=280,
                                        css_classes=["replay-select"])
        self.reload = pn.widgets.Button(label="↻ Reload list", color="default", width=120,
                                        css_classes=["replay-reload"])
        self.note = html(fmt.esc(problem), name="replay-note", sizing_mode="stretch_width")
        self.summary = html("", name="replay-summary", sizing_mode="stretch_width")
        self.where = html("", name="replay-where", sizing_mode="stretch_width")
        self.download = pn.widgets.FileDownload(label="Download report.html", filename=REPORT_HTML, embed=False,
                                                color="primary", visible=False, width=220,
                                                css_classes=["replay-download"])
        self.src = ColumnDataSource(dict(_EMPTY_PNL))
        self.title = Title(text="Replay report: cumulative P&L")
        p = figure(height=280, sizing_mode="stretch_width", x_axis_type="datetime", title=self.title,
                   tools="pan,wheel_zoom,box_zoom,reset,save", toolbar_location="right")
        for key, color, label in (("locked", "#1a7f37", "locked"), ("realised", "#0969da", "realised"),
                                  ("net", "#8250df", "net")):
            p.step("t", key, source=self.src, mode="after", line_width=2, color=color, legend_label=label,
                   line_dash="dashed" if key == "net" else "solid")  # visible where it equals locked
        p.add_tools(HoverTool(tooltips=[("time", "@time"), ("locked", "@locked_s"), ("realised", "@realised_s"),
                                        ("net", "@net_s")], mode="vline"))
        p.legend.orientation = "horizontal"
        p.legend.label_text_font_size = "11px"
        p.add_layout(p.legend[0], "above")  # over the plot, never over its lines
        p.xaxis.axis_label = "recorded time (UTC)"
        p.yaxis.formatter = NumeralTickFormatter(format="$0,0.00")
        p.xaxis.formatter = DatetimeTickFormatter(seconds="%H:%M:%S", minsec="%H:%M:%S", minutes="%H:%M",
                                                  hourmin="%H:%M", hours="%H:%M", days="%b %d", months="%b %Y")
        p.yaxis.axis_label = "USD"
        self.figure = p
        self.chart = pn.Column(pn.pane.Bokeh(p, sizing_mode="stretch_width"), sizing_mode="stretch_width",
                               visible=False, css_classes=["chart-replay"])
        # A FlexBox, not a Row: a Row's least width is the sum of its widgets' (a phone's 390 px
        # would not hold the picker and the button side by side); this one wraps.
        self.controls = pn.FlexBox(self.select, self.reload, self.note, align_items="flex-end",
                                   sizing_mode="stretch_width")
        # A flex item of the row it shares with the live P&L: hidden, the live chart is full width.
        # Its chart first, level with the live P&L chart beside it; then its figures.
        self.column = pn.Column(self.chart, self.summary, pn.FlexBox(self.download, self.where, align_items="center",
                                                                     sizing_mode="stretch_width"), sizing_mode="stretch_width",
                                visible=False, css_classes=["replay-report"], styles={"flex": "1 1 420px"})
        self.select.param.watch(lambda _e: self.show(), "value")
        self.reload.on_click(lambda _e: self.refresh())
        self.refresh()

    @property
    def picked(self) -> bool:
        return self.select.value not in (None, NONE)

    def refresh(self) -> None:
        """List the reports again (keeping the one picked when it is still there)."""
        if self.root is None:
            return
        names = list_reports(self.root)
        current = self.select.value if self.select.value in names else NONE
        self.select.options = [NONE, *names]
        changed(self.select, "value", current)
        if not names:
            self.note.object = (f'<span style="overflow-wrap:anywhere;font-size:12px;color:var(--muted)">'
                                f"No replay report in {fmt.esc(self.root)} yet (python -m worker replay writes "
                                "them).</span>")
        elif not self.picked:
            self.note.object = ""

    def show(self) -> None:
        """Show the picked report, or say why it cannot be shown."""
        if not self.picked or self.root is None:
            changed(self.column, "visible", False)
            self.note.object = ""
            return
        try:
            report = load_report(self.root, str(self.select.value))
        except BadReport as exc:
            self.note.object = (f'<span class="replay-error" style="color:var(--bad);overflow-wrap:anywhere">'
                                f"{fmt.esc(str(exc))}</span>")
            changed(self.column, "visible", False)
            return
        self.note.object = ""
        where = (f"or open {self.root / report.name / REPORT_HTML} on this machine" if report.html_path
                 else "this report has no report.html")
        # A path is one long word: it may break anywhere rather than widen a phone's page.
        self.where.object = (f'<span class="replay-where" style="overflow-wrap:anywhere;font-size:12px;'
                             f'color:var(--muted)">{fmt.esc(where)}</span>')
        self.summary.object = summary_html(report)
        self.title.text = f"Replay {report.name}: cumulative P&L"
        self.src.data = pnl_data(report)
        changed(self.chart, "visible", bool(report.pnl))
        if report.html_path is not None:
            self.download.file = str(report.html_path)
        changed(self.download, "visible", report.html_path is not None)
        changed(self.column, "visible", True)
