"""Alerts to the trader's phone: every alert kind in every format, against a local endpoint.

The endpoint (``receiver.py``) is a real HTTP server on 127.0.0.1; the clock is a
:class:`FakeClock`, so back-off and the 5-minute collapse are driven, not slept through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.support.processes import free_port
from tests.support.waiting import wait_until
from tests.worker.notify.receiver import Receiver
from worker.clock import FakeClock
from worker.domain.events import SEVERITY, Alert, AlertKind
from worker.engine.alerts import AlertCenter
from worker.engine.event_bus import EventBus
from worker.notify.forward import AlertNotifications
from worker.notify.message import Notification
from worker.notify.sender import Notifier
from worker.notify.targets import NotifyTarget, parse_notify_urls

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOW_WIRE = "2026-03-01T12:00:00Z"
FORMATS = ("json", "slack", "discord", "telegram")


class Store:  # the alert center's storage (its writer task is not run here)
    async def save(self, alert: Alert) -> None: ...

    async def active(self, limit: int = 200) -> list[Alert]:
        return []

    async def dismiss(self, alert_id: str, at: object) -> Alert | None:
        return None

    async def dismissed_keys(self, kinds: list[AlertKind]) -> set[tuple[AlertKind, str]]:
        return set()


def written(receiver: Receiver, fmt: str, secret: str = "SECRET") -> str:
    """``EXECUTOR_NOTIFY_URLS`` as an operator writes it for ``fmt``, at ``receiver``."""
    base = f"http://127.0.0.1:{receiver.port}"
    return {
        "json": f"{base}/hook/{secret}-json",
        "slack": f"slack+{base}/services/T000/B000/{secret}-slack",
        "discord": f"discord+{base}/api/webhooks/123/{secret}-discord",
        "telegram": f"telegram+{base}/bot123:{secret}-tg/sendMessage?chat_id=-1001234",
    }[fmt]


def target(receiver: Receiver, fmt: str, secret: str = "SECRET") -> NotifyTarget:
    (parsed,) = parse_notify_urls(written(receiver, fmt, secret))
    return parsed


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def note(kind: str = "stranded", key: str = "a1", message: str = "leg 2 refused") -> Notification:
    return Notification(kind=kind, severity="critical", title=f"{kind}: A at B", message=message, at=NOW, key=key)


# --- every kind, every format --------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", list(AlertKind))
async def test_each_alert_kind_reaches_each_format_field_by_field(
    receiver: Receiver, clock: FakeClock, kind: AlertKind, fmt: str
) -> None:
    bus = EventBus(clock=clock)
    notifier = Notifier([target(receiver, fmt)], clock=clock)
    forward = AlertNotifications(bus, notifier)
    await forward.start()
    center = AlertCenter(Store(), bus, clock=clock)
    try:
        center.raise_alert(
            kind, f"Title of {kind.value}", f"What happened: {kind.value}.",
            key="k1", data={"venue": "kalshi", "amount": Decimal("1.50")},
        )
        await wait_until(lambda: receiver.requests, 10, "the notification")
    finally:
        await forward.stop()
    (got,) = receiver.requests
    assert got.method == "POST" and got.content_type.startswith("application/json")
    severity = SEVERITY[kind].value
    text = f"[{severity.upper()}] Title of {kind.value}\nWhat happened: {kind.value}.\n{NOW_WIRE}"
    if fmt == "json":
        assert got.path == "/hook/SECRET-json" and got.query == ""
        assert set(got.body) == {"kind", "message", "severity", "at", "data"}
        assert got.body["kind"] == kind.value
        assert got.body["message"] == f"What happened: {kind.value}."
        assert got.body["severity"] == severity
        assert got.body["at"] == NOW_WIRE
        assert got.body["data"] == {"venue": "kalshi", "amount": "1.50"}  # money exact, as a string
    elif fmt == "slack":
        assert got.path == "/services/T000/B000/SECRET-slack"
        assert got.body == {"text": text}
    elif fmt == "discord":
        assert got.path == "/api/webhooks/123/SECRET-discord"
        assert got.body == {"content": text, "allowed_mentions": {"parse": []}}
    else:
        assert got.path == "/bot123:SECRET-tg/sendMessage" and got.query == ""  # chat_id moved to the body
        assert got.body == {"chat_id": "-1001234", "text": text}
    assert notifier.sent == 1 and notifier.failed == 0


@pytest.mark.parametrize(("fmt", "field", "limit"), [("discord", "content", 2000), ("telegram", "text", 4096)])
async def test_long_messages_are_cut_to_the_chat_limit(
    receiver: Receiver, clock: FakeClock, fmt: str, field: str, limit: int
) -> None:
    notifier = Notifier([target(receiver, fmt)], clock=clock)
    await notifier.start()
    try:
        notifier.notify(note(message="x" * 5000))
        await wait_until(lambda: receiver.requests, 10, "the notification")
    finally:
        await notifier.stop()
    sent: str = receiver.requests[0].body[field]
    assert len(sent) == limit and sent.endswith("x…") and sent.startswith("[CRITICAL] stranded: A at B\nxxx")


# --- retries -------------------------------------------------------------------------------


async def test_a_500_is_retried_after_the_back_off_and_then_delivered(receiver: Receiver, clock: FakeClock) -> None:
    receiver.answer(500)
    notifier = Notifier([target(receiver, "slack")], clock=clock, backoff_start_s=1.0)
    await notifier.start()
    try:
        assert notifier.notify(note())
        await wait_until(lambda: len(receiver.requests) == 1 and clock.sleepers == 1, 10, "the first try and its back-off")
        await clock.advance(0.9)
        assert len(receiver.requests) == 1  # not before the back-off
        await clock.advance(0.1)
        await wait_until(lambda: notifier.sent == 1, 10, "the second try")
    finally:
        await notifier.stop()
    first, second = receiver.requests
    assert first.body == second.body and first.path == second.path
    assert notifier.failed == 0


async def test_back_off_doubles_and_gives_up_after_the_last_attempt(receiver: Receiver, clock: FakeClock) -> None:
    for _ in range(3):
        receiver.answer(503)
    notifier = Notifier([target(receiver, "json")], clock=clock, attempts=3, backoff_start_s=1.0)
    await notifier.start()
    try:
        notifier.notify(note())
        await wait_until(lambda: len(receiver.requests) == 1 and clock.sleepers == 1, 10, "try 1")
        await clock.advance(1.0)
        await wait_until(lambda: len(receiver.requests) == 2 and clock.sleepers == 1, 10, "try 2")
        await clock.advance(1.9)
        assert len(receiver.requests) == 2  # the second wait is 2 s
        await clock.advance(0.1)
        await wait_until(lambda: notifier.failed == 1, 10, "giving up")
        await clock.advance(600)
    finally:
        await notifier.stop()
    assert len(receiver.requests) == 3 and notifier.sent == 0


async def test_429_waits_as_long_as_retry_after_says(receiver: Receiver, clock: FakeClock) -> None:
    receiver.answer(429, {"Retry-After": "7"})
    notifier = Notifier([target(receiver, "telegram")], clock=clock, backoff_start_s=1.0)
    await notifier.start()
    try:
        notifier.notify(note())
        await wait_until(lambda: len(receiver.requests) == 1 and clock.sleepers == 1, 10, "the first try")
        await clock.advance(6.5)
        assert len(receiver.requests) == 1
        await clock.advance(0.5)
        await wait_until(lambda: notifier.sent == 1, 10, "the try after Retry-After")
    finally:
        await notifier.stop()


async def test_a_refusal_such_as_404_is_final(receiver: Receiver, clock: FakeClock) -> None:
    receiver.answer(404)
    notifier = Notifier([target(receiver, "discord")], clock=clock)
    await notifier.start()
    try:
        notifier.notify(note())
        await wait_until(lambda: notifier.failed == 1, 10, "the refusal")
        await clock.advance(600)
    finally:
        await notifier.stop()
    assert len(receiver.requests) == 1 and notifier.sent == 0


# --- collapse ------------------------------------------------------------------------------


async def test_repeats_of_an_alert_collapse_for_five_minutes(receiver: Receiver, clock: FakeClock) -> None:
    bus = EventBus(clock=clock)
    notifier = Notifier([target(receiver, "json")], clock=clock)
    forward = AlertNotifications(bus, notifier)
    await forward.start()
    center = AlertCenter(Store(), bus, clock=clock)
    try:
        center.raise_alert(AlertKind.STRANDED, "STRANDED: A at B", "leg 2 open", key="a1")
        await wait_until(lambda: len(receiver.requests) == 1, 10, "the first alert")
        again = center.raise_alert(AlertKind.STRANDED, "STRANDED: A at B", "still open", key="a1")
        assert again is not None and again.count == 2  # the page counts the repeat
        await wait_until(lambda: notifier.collapsed == 1, 10, "the repeat collapsed")
        await clock.advance(299)
        center.raise_alert(AlertKind.STRANDED, "STRANDED: A at B", "still open", key="a1")
        await wait_until(lambda: notifier.collapsed == 2, 10, "the repeat at 299 s collapsed")
        center.raise_alert(AlertKind.STRANDED, "STRANDED: C at D", "another attempt", key="a2")
        await wait_until(lambda: len(receiver.requests) == 2, 10, "another situation, sent")
        await clock.advance(1)
        center.raise_alert(AlertKind.STRANDED, "STRANDED: A at B", "open for 5 min", key="a1")
        await wait_until(lambda: len(receiver.requests) == 3, 10, "the repeat after 5 minutes")
    finally:
        await forward.stop()
    assert [r.body["message"] for r in receiver.requests] == ["leg 2 open", "another attempt", "open for 5 min"]
    assert notifier.collapsed == 2


async def test_a_recovery_lets_the_next_outage_through(receiver: Receiver, clock: FakeClock) -> None:
    notifier = Notifier([target(receiver, "json")], clock=clock)
    await notifier.start()
    try:
        assert notifier.notify(note("venue_down", "kalshi"))
        assert notifier.notify(note("venue_up", "kalshi"))
        assert notifier.notify(note("venue_down", "kalshi"))  # down again a minute later: the phone hears it
        assert not notifier.notify(note("venue_down", "kalshi"))
        assert notifier.notify(note("venue_up", "kalshi"))  # and back again: the phone's last word is "up"
        assert not notifier.notify(note("venue_up", "kalshi"))
        await wait_until(lambda: len(receiver.requests) == 4, 10, "four notifications")
    finally:
        await notifier.stop()
    assert [r.body["kind"] for r in receiver.requests] == ["venue_down", "venue_up", "venue_down", "venue_up"]


async def test_an_alert_that_never_arrived_does_not_silence_its_repeat(receiver: Receiver, clock: FakeClock) -> None:
    """The endpoint was down for every attempt: the STRANDED alert's next repeat (within
    the 5 minutes that would otherwise collapse it) is sent, not swallowed."""
    for _ in range(2):
        receiver.answer(503)
    notifier = Notifier([target(receiver, "json")], clock=clock, attempts=2, backoff_start_s=1.0)
    await notifier.start()
    try:
        assert notifier.notify(note())
        await wait_until(lambda: len(receiver.requests) == 1 and clock.sleepers == 1, 10, "try 1")
        await clock.advance(1.0)
        await wait_until(lambda: notifier.failed == 1, 10, "giving up")
        await clock.advance(10)  # well inside the collapse window
        assert notifier.notify(note())
        await wait_until(lambda: notifier.sent == 1, 10, "the repeat delivered")
        assert not notifier.notify(note())  # delivered: now it collapses
    finally:
        await notifier.stop()
    assert len(receiver.requests) == 3


# --- off the trading path ------------------------------------------------------------------


async def test_notify_returns_before_the_endpoint_answers(receiver: Receiver, clock: FakeClock) -> None:
    receiver.hold = asyncio.Event()
    notifier = Notifier([target(receiver, "json")], clock=clock)
    await notifier.start()
    try:
        assert notifier.notify(note())  # synchronous: the caller never awaits the network
        await wait_until(lambda: receiver.requests, 10, "the request to arrive")
        assert notifier.sent == 0  # still unanswered
        receiver.hold.set()
        await wait_until(lambda: notifier.sent == 1, 10, "the answer")
    finally:
        await notifier.stop()


async def test_a_full_queue_drops_and_counts(
    receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    notifier = Notifier([target(receiver, "json")], clock=clock, queue_size=2)
    for key in ("a", "b", "c", "d"):
        notifier.notify(note(key=key))  # not started: nothing leaves the queue yet
    assert notifier.dropped == 2
    assert "dropped" in caplog.text and "SECRET" not in caplog.text
    await notifier.start()
    try:
        await wait_until(lambda: notifier.sent == 2, 10, "what was queued")
    finally:
        await notifier.stop()
    assert [r.body["message"] for r in receiver.requests] == ["leg 2 refused"] * 2


# --- secrets -------------------------------------------------------------------------------


async def test_urls_never_reach_the_log(receiver: Receiver, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dead = Receiver()
    dead.port = free_port()  # nothing listens there
    targets = [target(receiver, fmt) for fmt in FORMATS] + [target(dead, "slack")]
    targets = [NotifyTarget(t.format, t.url, t.chat_id, i) for i, t in enumerate(targets, 1)]
    for status in (500, 404, 429, 503):
        receiver.answer(status)
    notifier = Notifier(targets, clock=clock, attempts=2, backoff_start_s=1.0)
    await notifier.start()
    try:
        notifier.notify(note())
        await wait_until(lambda: clock.sleepers >= 3, 10, "the retries to wait")
        await clock.advance(1.0)
        await wait_until(lambda: notifier.sent + notifier.failed == 5, 10, "every target's outcome")
    finally:
        await notifier.stop()
    logged = caplog.text
    assert "#5 slack http://127.0.0.1:" in logged and "ConnectError" in logged  # the failure is told...
    assert "SECRET" not in logged and "/hook" not in logged and "chat_id" not in logged  # ...without the URL
    for t in targets:
        assert t.url not in logged
    assert "SECRET" not in repr(targets) and "SECRET" not in repr(notifier.targets)
