from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from bokeh.document import Document

from dashboard.app import Page, build_page
from dashboard.feed import LIVE, Feed
from dashboard.state import decode
from tests.dashboard.protocol import T0


class FakeSocket:
    """Stands in for the worker connection: records what the dashboard sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def write_message(self, text: str) -> concurrent.futures.Future[None]:
        self.sent.append(text)
        # A completed future that needs no event loop (headless tests run without one;
        # done callbacks run at once, as the feed only reads the exception).
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        fut.set_result(None)
        return fut

    def close(self) -> None:
        pass


class FakeFeed(Feed):
    """A real :class:`Feed` (reducer, routing, encoding) with a recording socket.

    ``strict``: a message that does not read as the protocol says fails the test (the
    real feed logs and skips it, which would let a test pass on a message never applied).
    """

    def __init__(self) -> None:
        super().__init__(url="ws://127.0.0.1:1/ws/executor", token=lambda: "t" * 32)
        self.socket = FakeSocket()
        self.strict = True

    def apply(self, message: Any) -> set[str]:
        if self.strict:
            decode(message)  # raises ViewError naming the field
        return super().apply(message)

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """System Chromium through Playwright, one per test module (the browser tests')."""
    from playwright.sync_api import sync_playwright

    from tests.dashboard.live import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def replay(feed: Feed, page: Page | None, *messages: dict[str, Any]) -> None:
    for m in messages:
        feed.apply(m)
    if page is not None:
        page.link.flush()
