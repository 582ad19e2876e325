"""One browser session's link to the process-wide feed.

Concurrency rule (ARCHITECTURE.md, "Dashboard rules"): the feed tells every session which
topics changed; a session never touches its Bokeh document from the feed's call stack.
It marks the topics dirty and schedules *one* callback on its own document
(``add_next_tick_callback`` — Bokeh then holds the document lock), where all dirty topics
are rendered inside one ``pn.io.hold``. The first update after a quiet period goes out on
the next tick; further ones within ``throttle_s`` (20 ms) are coalesced into one flush,
so a burst of worker events costs each browser one websocket patch, and no update is
lost: topics only accumulate until the flush reads the current state. (A longer throttle
delayed the next event by up to its length whenever another redraw, a stats read or the
clock, had just gone out.)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc

from dashboard.feed import Feed

Render = Callable[[set[str]], None]

THROTTLE_S = 0.02
LOAD_GRACE_S = 2.0


class SessionLink:
    """Subscribes a document's views to the feed and flushes changes, coalesced."""

    def __init__(
        self,
        feed: Feed,
        doc: Document | None,
        render: Render,
        throttle_s: float = THROTTLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.feed = feed
        self.doc = doc
        self._render = render
        self._throttle = throttle_s
        self._clock = clock
        self._dirty: set[str] = set()
        self._scheduled = False
        self._last_flush = float("-inf")
        self._unsubscribe: Callable[[], None] | None = None
        self.flushes = 0
        # Until the browser has loaded the page, changes are only collected: Panel cannot
        # yet send new models to it, and a layout change made then can be lost.
        self._ready = doc is None

    def start(self) -> None:
        """Subscribe and render everything once; unsubscribe when the session ends."""
        self._unsubscribe = self.feed.subscribe(self._on_topics)
        self._dirty.update({"*"})
        self.flush()
        if self.doc is not None:
            with contextlib.suppress(Exception):
                self.doc.on_session_destroyed(lambda _ctx: self.close())
            with set_curdoc(self.doc):
                pn.state.onload(self._on_load)
            # A client that never reports "loaded" (bokeh.client, a stalled tab) still
            # gets updates after a grace period.
            with contextlib.suppress(Exception):
                self.doc.add_timeout_callback(self._on_load, int(LOAD_GRACE_S * 1000))

    def _on_load(self) -> None:
        if self._ready:
            return
        self._ready = True
        self._dirty.add("*")
        self.flush()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def mark(self, topics: set[str]) -> None:
        """Have this page redraw ``topics`` (a change it noticed itself, e.g. staleness)."""
        self._on_topics(topics)

    @property
    def pending(self) -> set[str]:
        return set(self._dirty)

    def _on_topics(self, topics: set[str]) -> None:
        self._dirty |= topics
        if self._scheduled or self.doc is None or not self._ready:
            return
        self._scheduled = True
        wait = self._throttle - (self._clock() - self._last_flush)
        try:
            if wait <= 0:
                self.doc.add_next_tick_callback(self.flush)
            else:
                self.doc.add_timeout_callback(self.flush, int(wait * 1000) + 1)
        except Exception:  # the session is gone; the destroy hook unsubscribes
            self._scheduled = False
            self.close()

    def flush(self) -> None:
        """Render every dirty topic now, inside one hold of the document."""
        self._scheduled = False
        topics, self._dirty = self._dirty, set()
        if not topics:
            return
        self._last_flush = self._clock()
        self.flushes += 1
        if "*" in topics:
            topics = {"*"}
        if self.doc is not None:
            # Make this session's document current so Panel applies model changes
            # directly (we hold its lock here) instead of deferring them to a later tick.
            with set_curdoc(self.doc), pn.io.hold(self.doc):
                self._render(topics)
        else:
            self._render(topics)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on this session's document (a reply to one of its actions)."""
        if self.doc is None:
            fn()
            return

        def run() -> None:
            with set_curdoc(self.doc), pn.io.hold(self.doc):
                fn()

        with contextlib.suppress(Exception):
            self.doc.add_next_tick_callback(run)
