"""What every page shares: the context views act through, the header and navigation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.feed import DOWN, LIVE, RECONNECTING, Feed
from dashboard.views.keyed import Item, KeyedList
from dashboard.views.live_html import LiveHTML
from worker.api import schemas
from worker.api import views as wire

STYLESHEET = "/dashboard-assets/dashboard.css"
STYLES = [STYLESHEET]
# Choices (filters, sorts, ranges) as Bokeh button groups: the chosen one (``bk-active``)
# filled, bold and ticked, so it stands out from the outlined rest.
SELECTED_CSS = """
.bk-btn.bk-active { font-weight: 700; }
.bk-btn.bk-active::before { content: "✓ "; }
.bk-btn { min-height: 36px; }
@media (max-width: 700px) { .bk-btn { min-height: 44px; } }
"""
PAGES = (
    ("executor", "/executor", "Executor"),
    ("arbitrage", "/arbitrage", "Arbitrage"),
    ("mappings", "/mappings", "Mappings"),
    ("charts", "/charts", "Charts"),
)


def has(topics: Iterable[str], *names: str) -> bool:
    """Whether a flush must redraw something that depends on any of ``names``."""
    t = set(topics)
    return "*" in t or bool(t.intersection(names))


@dataclass
class Context:
    """What a view needs: the feed (state and actions), a way back onto its document
    for replies, and clocks (injected so tests control time)."""

    feed: Feed
    post: Callable[[Callable[[], Any]], None] = field(default=lambda fn: fn())
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = time.monotonic

    def send(self, action: str, on_reply: Callable[[wire.ReplyView], None] | None = None, **payload: Any) -> str:
        """Send an action; ``on_reply`` runs on this session's document with the worker's
        ``ack`` or ``error``."""

        def reply(message: wire.ReplyView) -> None:
            if on_reply is not None:
                self.post(lambda: on_reply(message))

        return self.feed.send(action, reply, **payload)

    def stale(self) -> bool:
        """Whether the figures shown may be out of date (no word from the worker)."""
        return self.feed.stale()

    def as_of(self) -> str:
        """``as of 14:02:11 UTC, 12 s ago``: when the worker last said anything."""
        conn = self.feed.connection
        age = self.feed.data_age()
        if conn.last_message_at is None or age is None:
            return "no data from the worker yet"
        return f"as of {fmt.clock(conn.last_message_at)} UTC, {fmt.age(age)} ago"


def server_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop (the dashboard server's), or None in a headless view, which has
    nothing to read the worker with."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def in_background(loop: asyncio.AbstractEventLoop, read: Coroutine[Any, Any, None]) -> None:
    """Run a view's read on ``loop``, not awaited: the read reports its own failure (it
    logs it and shows it in its pane)."""
    loop.create_task(read).add_done_callback(lambda f: f.cancelled() or f.exception())


def changed(obj: Any, name: str, value: Any) -> None:
    """Set ``obj.name`` only when it differs: with many sessions open a parameter set costs
    the server even when it changes nothing."""
    if getattr(obj, name) != value:
        setattr(obj, name, value)


def html(text: str = "", **kwargs: Any) -> pn.pane.HTML:
    return pn.pane.HTML(text, stylesheets=STYLES, margin=(2, 5), **kwargs)


def live_html(text: str = "", **kwargs: Any) -> LiveHTML:
    """:func:`html` for a pane that changes often (its changes travel as messages)."""
    return LiveHTML(text, stylesheets=STYLES, margin=(2, 5), **kwargs)


def theme_toggle(current: str) -> str:
    """The header's theme switch: writes the browser's choice (a cookie the page reads on
    its next load, so every page of this browser keeps it) and reloads without ``?theme=``.
    ``window.`` throughout: in an inline handler ``URL`` is ``document.URL``, a string."""
    other, label = ("default", "☀ Light") if current == "dark" else ("dark", "☾ Dark")
    script = (
        f"document.cookie='executor_theme={other}; path=/; max-age=31536000; samesite=lax';"
        "const u=new window.URL(window.location.href);u.searchParams.delete('theme');window.location.replace(u.href);"
    )
    return (f'<button class="act theme-toggle" data-theme="{current}" title="Switch to the {label[2:].lower()} theme" '
            f'onclick="{script}">{label}</button>')


class Header:
    """Brand, navigation, PAPER/LIVE banner and the connection indicator with data age."""

    def __init__(self, ctx: Context, current: str) -> None:
        self.ctx = ctx
        links = "".join(
            f'<a href="{href}" class="{"current" if key == current else ""}">{label}</a>'
            for key, href, label in PAGES
        )
        self.nav = html(f'<span class="brand"><a href="/" style="color:inherit;text-decoration:none">⚡ Executor</a></span><span class="nav">{links}</span>')
        self.mode = html("", name="mode")
        self.conn = html("", name="connection")
        self.theme = html(theme_toggle(pn.config.theme), name="theme")
        self.banner = html("", name="stale-banner", sizing_mode="stretch_width")
        self.database = html("", name="database-banner", sizing_mode="stretch_width")
        self.alerts = KeyedList(on_action=self._alert_action, list_class="alerts", sizing_mode="stretch_width",
                                stylesheets=STYLES)
        self.alert_msgs: dict[str, str] = {}
        self.layout = pn.Column(
            pn.Row(
                self.nav, pn.layout.HSpacer(), self.mode, self.conn, self.theme,
                sizing_mode="stretch_width", css_classes=["header"],
                styles={"border-bottom": "1px solid var(--panel-border-color, #d0d7de)", "flex-wrap": "wrap"},
            ),
            self.banner, self.database, self.alerts, sizing_mode="stretch_width",
        )

    def update(self, topics: set[str]) -> None:
        state = self.ctx.feed.state
        if has(topics, "status", "connection"):
            mode = state.mode or "…"
            cls = "live" if mode == "live" else "paper"
            text = "LIVE — real money" if mode == "live" else ("PAPER" if mode == "paper" else "…")
            self._set(self.mode, f'<span class="mode {cls}">{fmt.esc(text)}</span>')
        if has(topics, "alerts"):
            self._render_alerts()
        if has(topics, "database", "status"):
            self._render_database()
        self.tick()

    def _render_database(self) -> None:
        db = self.ctx.feed.state.database
        if db is None or db.state is not wire.DatabaseState.DOWN:
            self._set(self.database, "")
            return
        as_of = db.figures_as_of
        figures = f"; today's figures as of {fmt.clock(as_of)} UTC" if as_of else ""
        self._set(self.database, (
            '<div class="stale-banner" data-database="down">⚠ The worker\'s database is down since '
            f"{fmt.clock(db.since)} UTC ({fmt.esc(db.error or 'not reachable')}){figures}. Trades, positions and "
            "settings changes may not be recorded until it is back.</div>"
        ))

    # -- alerts ----------------------------------------------------------------------
    def alert_item(self, alert: wire.AlertView) -> Item:
        repeat = f' <span class="muted">×{alert.count}</span>' if alert.count > 1 else ""
        return {
            "cls": f"alert {alert.severity.value}",
            "sum": (
                f'<span class="alert-kind" data-kind="{fmt.esc(alert.kind.value)}">'
                f"{fmt.esc(alert.title)}</span>{repeat} "
                f'<span class="muted">{fmt.clock(alert.last_at)} UTC</span> — {fmt.esc(alert.message)} '
                '<button class="act" data-action="dismiss">Dismiss</button>'
                f"{self.alert_msgs.get(alert.id, '')}"
            ),
        }

    def _render_alerts(self) -> None:
        alerts = self.ctx.feed.state.active_alerts()
        items = {a.id: self.alert_item(a) for a in alerts}
        self.alerts.apply(items, list(items))

    def _alert_action(self, action: str, alert_id: str, _value: Any) -> None:
        if action != "dismiss":
            return

        def reply(r: wire.ReplyView) -> None:
            if isinstance(r, wire.ErrorView):
                self.alert_msgs[alert_id] = f' <span class="field-error">⚠ {fmt.esc(r.message or "Refused")}</span>'
                alert = self.ctx.feed.state.alerts.get(alert_id)
                if alert is not None:  # gone meanwhile: its item is gone too
                    self.alerts.update_item(alert_id, self.alert_item(alert))

        self.ctx.send(schemas.DISMISS_ALERT, reply, alert_id=alert_id)

    def tick(self) -> None:
        """Refresh the connection indicator (also called once a second)."""
        conn = self.ctx.feed.connection
        status = conn.status
        label = {LIVE: "live", RECONNECTING: "reconnecting…", DOWN: "worker down"}.get(status, "connecting…")
        if status == LIVE and self.ctx.stale():
            label, status = "no heartbeat", "silent"
        if conn.last_message is None:
            age_text = "no data yet"
        else:
            # Whole seconds: while the worker talks (a heartbeat every second) this reads
            # "data <1 s old" and the pane is not re-sent with every message.
            age_text = f"data {fmt.age_whole(self.ctx.monotonic() - conn.last_message)} old"
        self._set(
            self.conn,
            f'<span class="conn {status}" data-status="{status}"><span class="dot"></span>'
            f"<b>{label}</b><span class=\"muted\">{age_text}</span></span>",
        )
        if self.ctx.stale() and conn.last_message is not None:
            self._set(self.banner, (
                '<div class="stale-banner" data-stale="true">⚠ No word from the worker '
                f"({fmt.esc(label)}): everything below is {fmt.esc(self.ctx.as_of())} and may be out of date. "
                "Trading status is UNKNOWN.</div>"
            ))
        elif self.ctx.stale():
            self._set(self.banner, '<div class="stale-banner" data-stale="true">⚠ Waiting for the worker: '
                                   "nothing shown yet.</div>")
        else:
            self._set(self.banner, "")

    @staticmethod
    def _set(pane: pn.pane.HTML, text: str) -> None:
        changed(pane, "object", text)
