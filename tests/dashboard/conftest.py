from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from bokeh.document import Document

from dashboard.app import Page, build_page
from dashboard.feed import LIVE, Feed
from tests.dashboard.protocol import T0


class FakeSocket:
    """Stands in for the worker connection: records what the dashboard sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def write_message(self, text: str) -> asyncio.Future[None]:
        self.sent.append(text)
        fut: asyncio.Future[None] = asyncio.get_event_loop_policy().get_event_loop().create_future()
        fut.set_result(None)
        return fut

    def close(self) -> None:
        pass


class FakeFeed(Feed):
    """A real :class:`Feed` (reducer, routing, encoding) with a recording socket."""

    def __init__(self) -> None:
        super().__init__(url="ws://127.0.0.1:1/ws/executor", token=lambda: "t" * 32)
        self.socket = FakeSocket()

    def go_live(self) -> None:
        self._ws = self.socket  # type: ignore[assignment]
        self._set_status(LIVE)


@pytest.fixture
def feed() -> FakeFeed:
    f = FakeFeed()
    f.go_live()
    return f


@pytest.fixture
def page(feed: FakeFeed) -> Callable[..., Page]:
    def make(name: str, now: datetime = T0) -> Page:
        p = build_page(name, feed=feed)
        p.ctx.now = lambda: now
        p.layout.get_root(Document())
        return p

    return make


def replay(feed: Feed, page: Page | None, *messages: dict[str, Any]) -> None:
    for m in messages:
        feed.apply(m)
    if page is not None:
        page.link.flush()
