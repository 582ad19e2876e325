"""What every page shares: the context views act through, the header and navigation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import panel as pn

from dashboard import format as fmt
from dashboard.feed import DOWN, LIVE, RECONNECTING, Feed

STYLESHEET = "/dashboard-assets/dashboard.css"
STYLES = [STYLESHEET]
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

    def send(self, action: str, on_reply: Callable[[dict[str, Any]], None] | None = None, **payload: Any) -> str:
        """Send an action; ``on_reply`` runs on this session's document."""

        def reply(message: Any) -> None:
            if on_reply is not None:
                self.post(lambda: on_reply(dict(message)))

        return self.feed.send(action, reply, **payload)


def html(text: str = "", **kwargs: Any) -> pn.pane.HTML:
    return pn.pane.HTML(text, stylesheets=STYLES, margin=(2, 5), **kwargs)


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
        self.layout = pn.Row(
            self.nav, pn.layout.HSpacer(), self.mode, self.conn,
            sizing_mode="stretch_width", css_classes=["header"],
            styles={"border-bottom": "1px solid #d0d7de", "flex-wrap": "wrap"},
        )

    def update(self, topics: set[str]) -> None:
        state = self.ctx.feed.state
        if has(topics, "status", "connection"):
            mode = state.mode or "…"
            cls = "live" if mode == "live" else "paper"
            text = "LIVE — real money" if mode == "live" else ("PAPER" if mode == "paper" else "…")
            self._set(self.mode, f'<span class="mode {cls}">{fmt.esc(text)}</span>')
        self.tick()

    def tick(self) -> None:
        """Refresh the connection indicator (also called once a second)."""
        conn = self.ctx.feed.connection
        status = conn.status
        label = {LIVE: "live", RECONNECTING: "reconnecting…", DOWN: "worker down"}.get(status, "connecting…")
        if conn.last_message is None:
            age_text = "no data yet"
        else:
            age_text = f"data {fmt.age(self.ctx.monotonic() - conn.last_message)} old"
        self._set(
            self.conn,
            f'<span class="conn {status}" data-status="{status}"><span class="dot"></span>'
            f"<b>{label}</b><span class=\"muted\">{age_text}</span></span>",
        )

    @staticmethod
    def _set(pane: pn.pane.HTML, text: str) -> None:
        if pane.object != text:
            pane.object = text
