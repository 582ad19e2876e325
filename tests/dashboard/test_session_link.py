"""The per-session link: first change at once, later ones coalesced, nothing lost."""

from __future__ import annotations

from collections.abc import Callable

from bokeh.document import Document

from dashboard.feed import Feed
from dashboard.session import THROTTLE_S, SessionLink
from tests.dashboard.protocol import T0, init, position, trade, wire
from worker.api import schemas

BALANCES = wire(schemas.BALANCE_UPDATE, {"poly": 1, "kalshi": 1})


class FakeDoc(Document):
    """A real Bokeh document that records the callbacks scheduled on it instead of running a server."""

    def __init__(self) -> None:
        super().__init__()
        self.next_tick: list[Callable[[], None]] = []
        self.timeouts: list[tuple[Callable[[], None], int]] = []

    def add_next_tick_callback(self, callback):  # type: ignore[no-untyped-def,override]
        self.next_tick.append(callback)

    def add_timeout_callback(self, callback, timeout_milliseconds):  # type: ignore[no-untyped-def,override]
        self.timeouts.append((callback, timeout_milliseconds))


def make(clock: list[float]) -> tuple[Feed, FakeDoc, SessionLink, list[set[str]]]:
    feed = Feed(url="ws://127.0.0.1:1/ws/executor", token=lambda: None)
    doc = FakeDoc()
    rendered: list[set[str]] = []
    link = SessionLink(feed, None, rendered.append, clock=lambda: clock[0])
    link.doc = doc  # type: ignore[assignment]
    link._ready = True
    link._unsubscribe = feed.subscribe(link._on_topics)
    return feed, doc, link, rendered


def test_first_change_goes_out_on_the_next_tick_and_a_burst_is_coalesced():
    clock = [100.0]
    feed, doc, link, rendered = make(clock)
    feed.apply(BALANCES)
    assert len(doc.next_tick) == 1 and doc.timeouts == []
    doc.next_tick.pop()()
    assert rendered == [{"balances"}]
    # Three more within the throttle: one timeout callback, one render with every topic.
    clock[0] += THROTTLE_S / 4
    feed.apply(wire(schemas.STATUS_CHANGED, {"enabled": True, "at": T0}))
    feed.apply(trade("SUCCESS", event="A", trade_id="a"))
    feed.apply(trade("FAILED", event="B", trade_id="b"))
    assert doc.next_tick == [] and len(doc.timeouts) == 1
    cb, ms = doc.timeouts.pop()
    assert THROTTLE_S * 1000 * 0.7 <= ms <= THROTTLE_S * 1000 + 1
    cb()
    assert rendered[-1] == {"status", "stats", "trades"}
    assert [t.event for t in feed.state.trades] == ["A", "B"]  # both rows are there to render


def test_closed_session_gets_nothing_more():
    clock = [0.0]
    feed, doc, link, rendered = make(clock)
    link.close()
    feed.apply(BALANCES)
    assert doc.next_tick == [] and doc.timeouts == [] and feed.subscribers == 0


def test_init_after_reconnect_replaces_the_state():
    feed = Feed(url="ws://127.0.0.1:1/ws/executor", token=lambda: None)
    feed.apply(init(enabled=True, positions=[position("p1", "X")]))
    feed.apply(init(enabled=False, positions=[]))
    assert feed.state.enabled is False and feed.state.positions == {}
