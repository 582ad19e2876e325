"""``/``: where the pages are, with the figures that matter at a glance."""

from __future__ import annotations

import panel as pn

from dashboard import format as fmt
from dashboard.views.common import PAGES, Context, has, html

BLURBS = {
    "executor": "Start / pause trading, settings, balances, today's stats, open positions, recent trades.",
    "arbitrage": "Live opportunities as cards: confidence, legs, ROI, filters and sort.",
    "mappings": "Review matched Kalshi / Polymarket pairs: confirm or reject.",
    "charts": "Cumulative P&L, ROI of executed trades, live ROI distribution.",
}


class HomeView:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        links = "".join(
            f'<a class="home-link" href="{href}">{label} →</a><div class="muted">{BLURBS[key]}</div>'
            for key, href, label in PAGES
        )
        self.links = html(links)
        self.glance = html("", name="glance")
        self.layout = pn.Column(self.glance, self.links, sizing_mode="stretch_width")

    def __panel__(self) -> pn.Column:
        return self.layout

    def update(self, topics: set[str]) -> None:
        if not has(topics, "status", "balances", "stats", "positions", "opportunities"):
            return
        s = self.ctx.feed.state
        status = '<span class="badge active">ACTIVE</span>' if s.enabled else '<span class="badge paused">PAUSED</span>'
        self.glance.object = (
            f"{status} &nbsp; Total balance <b>{fmt.money(s.total_balance())}</b> · "
            f"P&amp;L today <b>{fmt.money(s.stats.pnl if s.stats is not None else None, signed=True)}</b> · "
            f"{len(s.positions)} open positions · {len(s.opportunities)} live opportunities"
        )
