"""The alert history on ``/executor``: the latest alerts, dismissed ones included.

An alert leaves the pages' banner once dismissed; what it said (a kill switch's outcome,
a STRANDED attempt, a venue's outage) stays readable here, read from the worker's
``/api/alerts`` whenever an alert is raised or dismissed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from dashboard import format as fmt
from dashboard.views.common import Context, changed, has, html, in_background, server_loop
from worker.api import views as wire

log = logging.getLogger(__name__)

LIMIT = 20
Fetch = Callable[[str, Mapping[str, str]], Awaitable[Any]]


def history_html(alerts: Sequence[wire.AlertView], error: str = "") -> str:
    """The section: a row per alert, newest first, saying whether it was dismissed."""
    head = "<h3 style='margin:0'>Alert history</h3>"
    if error:
        return f'{head}<span class="field-error">{fmt.esc(error)}</span>'
    if not alerts:
        return f'{head}<span class="muted">No alerts yet.</span>'
    rows = []
    for a in alerts:
        state = (f'<span class="muted" data-state="dismissed">dismissed {fmt.stamp(a.dismissed_at)}</span>'
                 if a.dismissed_at is not None else '<b data-state="active">active</b>')
        repeat = f' <span class="muted">×{a.count}</span>' if a.count > 1 else ""
        rows.append(
            f'<div class="alert-row {a.severity.value}" data-id="{fmt.esc(a.id)}" data-kind="{fmt.esc(a.kind.value)}">'
            f'<span class="muted">{fmt.stamp(a.last_at)}</span> <b>{fmt.esc(a.title)}</b>{repeat} — '
            f"{fmt.esc(a.message)} · {state}</div>"
        )
    return f'{head}<div class="alert-history" data-shown="{len(alerts)}">{"".join(rows)}</div>'


class AlertHistory:
    """Reads ``/api/alerts`` on the first render and after each alert raised or dismissed."""

    def __init__(self, ctx: Context, fetch: Fetch | None = None) -> None:
        self.ctx = ctx
        self._fetch: Fetch = fetch or ctx.feed.api_get
        self.pane = html(history_html(()), name="alert-history", sizing_mode="stretch_width")
        self.layout = self.pane

    def update(self, topics: set[str]) -> None:
        if has(topics, "alerts"):
            self.refresh()

    def refresh(self) -> None:
        loop = server_loop()
        if loop is not None:
            in_background(loop, self._read())

    async def _read(self) -> None:
        try:
            alerts = wire.decode_api_alerts(await self._fetch("/api/alerts", {"limit": str(LIMIT)}))
        except Exception as exc:
            why = type(exc).__name__  # the kind only: a message could carry a URL
            log.warning("alert history not read: %s", why)
            self.ctx.post(lambda: changed(self.pane, "object", history_html((), f"⚠ Not read from the worker ({why})")))
            return
        self.ctx.post(lambda: changed(self.pane, "object", history_html(alerts)))
