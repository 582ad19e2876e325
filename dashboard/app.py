"""Builds a page for one browser session: header + view, linked to the process's feed.

The page scripts in ``dashboard/pages/`` (what ``panel serve`` runs, once per session)
call :func:`serve_page`; tests call :func:`build_page` with a fake feed and no document.
Nothing here is module-level mutable state: the one shared object is the feed, which
lives in :mod:`dashboard.feed`.
"""

from __future__ import annotations

import gc
from typing import Any

import panel as pn
from bokeh.document import Document

from dashboard.feed import Feed, get_feed
from dashboard.session import SessionLink
from dashboard.views.arbitrage import ArbitrageView
from dashboard.views.charts import ChartsView
from dashboard.views.common import Context, Header
from dashboard.views.executor import ExecutorView
from dashboard.views.home import HomeView
from dashboard.views.mappings import MappingsView
from dashboard.worker_watch import watch_worker

# What the server imported before the first page is built lives as long as the process:
# kept out of the collector's full passes, which otherwise scan it every time (with 50
# pages open a full pass held the loop for half a second).
gc.freeze()

VIEWS: dict[str, Any] = {
    "home": HomeView,
    "executor": ExecutorView,
    "arbitrage": ArbitrageView,
    "mappings": MappingsView,
    "charts": ChartsView,
}
# Every page's <head>: the viewport (without it a phone lays the page out 980 px wide and
# shrinks it) and, in the dark theme, the browser's own controls in dark. Panel extends
# its base template with a string template (its blocks: ``preamble`` is in <head>).
HEAD = (
    "{% block preamble %}{{ super() }}"
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    '{% if theme_name == "dark" %}<meta name="color-scheme" content="dark">{% endif %}'
    "{% endblock %}"
)
# The browser's choice of theme (the header's toggle writes it): remembered per browser.
THEME_COOKIE = "executor_theme"
THEMES = ("default", "dark")

TITLES = {
    "home": "Executor",
    "executor": "Executor — control",
    "arbitrage": "Executor — arbitrage",
    "mappings": "Executor — mappings",
    "charts": "Executor — charts",
}


class Page:
    """One session's page: its header, its view, and its link to the feed."""

    def __init__(self, page: str, feed: Feed, doc: Document | None) -> None:
        self.link = SessionLink(feed, doc, self.render)
        self.ctx = Context(feed, post=self.link.post)
        self.header = Header(self.ctx, page)
        self.view = VIEWS[page](self.ctx)
        self.layout = pn.Column(
            self.header.layout, self.view.layout, sizing_mode="stretch_width",
            styles={"max-width": "1500px", "margin": "0 auto"},
        )

        self._stale: bool | None = None

    def render(self, topics: set[str]) -> None:
        """Redraw ``topics``; the feed's "clock" (once a second) redraws the data's age
        (every render does) and, when the data turned stale or fresh, its "freshness"."""
        stale = self.ctx.stale()
        if stale != self._stale:
            self._stale = stale
            topics = topics | {"freshness"}
        self.header.update(topics)
        self.view.update(topics)


def build_page(page: str, feed: Feed | None = None, doc: Document | None = None) -> Page:
    """Build and link a page; the first render happens at once."""
    built = Page(page, feed or get_feed(), doc)
    built.link.start()
    return built


def chosen_theme(cookies: dict[str, str], args: dict[str, list[bytes]]) -> str:
    """The session's theme: ``?theme=`` when the URL names one (Panel's own parameter),
    else the browser's cookie, else the default."""
    asked = (args.get("theme") or [b""])[0].decode("utf-8", "replace")
    if asked in THEMES:
        return asked
    remembered = cookies.get(THEME_COOKIE, "")
    return remembered if remembered in THEMES else "default"


def serve_page(page: str) -> Page:
    """Entry point of the page scripts run by ``panel serve``."""
    doc = pn.state.curdoc
    # Panel's theme support, per session: set before any component is built.
    pn.config.theme = chosen_theme(pn.state.cookies or {}, pn.state.session_args or {})
    doc.template = HEAD
    built = build_page(page, doc=doc)
    # worker_down to the trader's phone: one watch per process, started with the feed.
    watch_worker(get_feed())
    # The browser's own banner when this dashboard server goes away (Panel's notification).
    pn.config.disconnect_notification = (
        "Connection to the dashboard server lost: nothing on this page is live. Reload once it is back."
    )
    built.layout.servable(title=TITLES[page])
    return built
