"""``worker_down``: the dashboard process tells the trader's phone when the worker is gone
(after 30 s without it, once), and ``worker_up`` when it is back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard import worker_watch
from dashboard.feed import DOWN, LIVE, Feed
from dashboard.worker_watch import DOWN_AFTER_S, WorkerWatch, watch_worker
from tests.dashboard.live import DASHBOARD_PASSWORD, start_panel, stop_panel
from tests.dashboard.test_login import log_in, request
from tests.support.processes import free_port
from tests.support.waiting import wait_until, wait_until_blocking
from tests.worker.notify.receiver import Receiver, ThreadedReceiver
from worker.clock import FakeClock
from worker.config import load_config
from worker.notify.sender import Notifier
from worker.notify.targets import parse_notify_urls

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


async def test_worker_down_after_30_s_once_then_worker_up(receiver: Receiver) -> None:
    assert DOWN_AFTER_S == 30.0
    clock = FakeClock(NOW)
    up = [False]
    notifier = Notifier(parse_notify_urls(receiver.url("/hook/SECRET")), clock=clock)
    watch = WorkerWatch(lambda: up[0], notifier, clock=clock)
    watch.start()
    try:
        await wait_until(lambda: clock.sleepers == 1, 5, "the watch's first look")
        await clock.advance(29)
        assert receiver.requests == [] and notifier.sent == 0
        await clock.advance(1)
        await wait_until(lambda: len(receiver.requests) == 1, 10, "worker_down")
        await clock.advance(600)  # still down for ten minutes: nothing more
        assert notifier.sent == 1 and len(receiver.requests) == 1
        up[0] = True
        await clock.advance(1)
        await wait_until(lambda: len(receiver.requests) == 2, 10, "worker_up")
        up[0] = False
        await clock.advance(10)  # a short drop is not an outage
        up[0] = True
        await clock.advance(1)
        up[0] = False
        await clock.advance(31)  # down again, after the recovery: the phone hears it again
        await wait_until(lambda: len(receiver.requests) == 3, 10, "the second worker_down")
    finally:
        await watch.stop()
    down, back, again = (r.body for r in receiver.requests)
    assert set(down) == {"kind", "message", "severity", "at", "data"}
    assert down["kind"] == "worker_down" and down["severity"] == "critical"
    assert down["at"] == "2026-03-01T12:00:30Z" and down["data"] == {"down_for_s": 30}
    assert "no connection to the worker for 30 s" in down["message"]
    assert back["kind"] == "worker_up" and back["severity"] == "info" and back["at"] == "2026-03-01T12:10:31Z"
    assert again["kind"] == "worker_down"


async def test_the_dashboard_sends_one_worker_down_per_process_from_its_feed(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_watch, "_WATCH", None)
    monkeypatch.setattr(worker_watch, "_OFF", False)
    config = load_config({"EXECUTOR_DATA_DIR": str(tmp_path), "EXECUTOR_NOTIFY_URLS": receiver.url("/hook/SECRET")})
    feed = Feed(url=f"ws://127.0.0.1:{free_port()}/ws/executor", token=lambda: "t" * 20)  # no worker there
    feed.start()
    watch = watch_worker(feed, config, down_after_s=0.5)
    try:
        assert watch is not None
        # Every further page (browser session) gets the same watch, not one of its own.
        assert watch_worker(feed) is watch and watch_worker(feed, config) is watch
        await wait_until(lambda: receiver.requests, 10, "worker_down")
        assert feed.connection.status != LIVE
        await wait_until(lambda: feed.connection.status == DOWN, 10, "the feed to say down")
    finally:
        if watch is not None:
            await watch.stop()
        await feed.stop()
    assert [r.body["kind"] for r in receiver.requests] == ["worker_down"]


def test_without_urls_there_is_no_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_watch, "_WATCH", None)
    monkeypatch.setattr(worker_watch, "_OFF", False)
    feed = Feed(url="ws://127.0.0.1:1/ws/executor", token=lambda: None)
    assert watch_worker(feed, load_config({"EXECUTOR_DATA_DIR": str(tmp_path)})) is None


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("pages", [(), ("/executor", "/home", "/mappings")], ids=["no page opened", "three pages"])
def test_the_served_dashboard_sends_worker_down_after_30_s_without_the_worker(
    tmp_path: Path, pages: tuple[str, ...]
) -> None:
    """The Procfile's web line: the watch starts with the server (``--setup``), so a
    dashboard nobody has opened tells the phone too; open pages add nothing."""
    with ThreadedReceiver() as got:
        url = f"telegram+{got.url('/bot1:SECRET-tg/sendMessage')}?chat_id=77"
        env = {"EXECUTOR_DATA_DIR": str(tmp_path), "EXECUTOR_NOTIFY_URLS": url}
        proc, base = start_panel(f"ws://127.0.0.1:{free_port()}/ws/executor", extra_env=env)  # no worker there
        try:
            if pages:
                cookie = log_in(base, DASHBOARD_PASSWORD)
                for page in pages:  # three sessions, one process
                    assert request(base, "GET", page, cookie).status == 200
            wait_until_blocking(lambda: got.requests, 60, "worker_down from the dashboard")
        finally:
            stop_panel(proc)
        requests = list(got.requests)
    assert len(requests) == 1
    assert requests[0].path == "/bot1:SECRET-tg/sendMessage" and requests[0].body["chat_id"] == "77"
    assert requests[0].body["text"].startswith("[CRITICAL] Worker down\nThe dashboard has had no connection")
