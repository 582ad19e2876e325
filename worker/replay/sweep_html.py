"""A settings sweep as one self-contained page: ``sweep.html``, drawn with Bokeh.

Like ``report.html`` (:mod:`worker.replay.report_html`) it carries Bokeh's JavaScript
inline and opens from the disk without a server. It shows ``sweep.csv``'s rows as a table
(each run linked to its own ``runs/NNN/report.html``), the P&L (locked + realised) of each
combination and, where capital was in use, its ROI per capital-day. Bars are drawn from
floats; every figure written on the page is the row's exact text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bokeh.embed import file_html
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, FactorRange, HoverTool, NumeralTickFormatter
from bokeh.models.widgets import Div
from bokeh.plotting import figure
from bokeh.resources import INLINE

from worker.replay.report_html import _STYLE, _e

HTML_FILE = "sweep.html"
_NOTE = ("One replay per combination of the swept settings. trades: attempts made; hedged: attempts that "
         "ended hedged; capital-days: capital in use integrated over the replayed window (dollar-days); "
         "ROI per capital-day: (locked + realised P&amp;L) ÷ capital-days × 100.")


def _label(names: Sequence[str], row: Mapping[str, str]) -> str:
    return f"{row['run']}: " + " ".join(f"{n}={row[n]}" for n in names)


def _table(names: Sequence[str], columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> Div:
    numeric = set(columns) - {"run"}
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{_e(c)}</th>' for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            text = _e(r[c])
            if c == "run":
                text = f'<a href="runs/{_e(r["run"])}/report.html">{text}</a>'
            cells.append(f'<td class="{"n" if c in numeric else ""}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    swept = ", ".join(names)
    return Div(text=f'{_STYLE}<div class="replay"><h1>Settings sweep</h1><p class="note">Swept: {_e(swept)}. '
               f'{_NOTE}</p><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>',
               sizing_mode="stretch_width")


def _bars(title: str, axis: str, labels: list[str], values: list[Decimal], texts: list[str], fmt: str) -> Any:
    src = ColumnDataSource({"label": labels, "value": [float(v) for v in values], "text": texts,
                            "color": ["#1a7f37" if v >= 0 else "#cf222e" for v in values]})
    p = figure(x_range=FactorRange(factors=labels), height=320, sizing_mode="stretch_width", title=title,
               tools="save", toolbar_location=None)
    p.vbar(x="label", top="value", source=src, width=0.8, color="color", alpha=0.8)
    p.add_tools(HoverTool(tooltips=[("run", "@label"), (axis, "@text")]))
    p.yaxis.formatter = NumeralTickFormatter(format=fmt)
    p.yaxis.axis_label = axis
    p.xaxis.major_label_orientation = 0.7
    return p


def render(names: Sequence[str], columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """The page's HTML text."""
    parts: list[Any] = [_table(names, columns, rows)]
    if rows:
        labels = [_label(names, r) for r in rows]
        pnl = [Decimal(r["locked_pnl"]) + Decimal(r["realised_pnl"]) for r in rows]
        parts.append(_bars("P&L per combination (locked + realised)", "USD", labels, pnl,
                           [str(v) for v in pnl], "$0,0.00"))
        with_roi = [(lab, r) for lab, r in zip(labels, rows, strict=True) if r["roi_per_capital_day_pct"]]
        if with_roi:
            parts.append(_bars("ROI per capital-day (combinations that put capital to use)", "% per day",
                               [lab for lab, _ in with_roi],
                               [Decimal(r["roi_per_capital_day_pct"]) for _, r in with_roi],
                               [r["roi_per_capital_day_pct"] + " %" for _, r in with_roi], "0,0.[00]"))
    layout = column(*parts, sizing_mode="stretch_width", styles={"max-width": "1200px", "margin": "0 auto"})
    return file_html(layout, resources=INLINE, title="Settings sweep")


def write_sweep_html(directory: Path, names: Sequence[str], columns: Sequence[str],
                     rows: Sequence[Mapping[str, str]]) -> Path:
    """Write ``sweep.html`` into ``directory``; returns its path."""
    path = directory / HTML_FILE
    path.write_text(render(names, columns, rows), encoding="utf-8")
    return path
