"""Every event kind reaches the wire and the dashboard; alerts round-trip over the real WebSocket."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from dashboard.state import WorkerState
from tests.worker.api.conftest import connect_ready, make_config, start_worker
from tests.worker.api.event_samples import samples
from worker.api import schemas
from worker.bootstrap import Worker
from worker.clock import FakeClock
from worker.domain.attempts import RefusalReason
from worker.domain.events import (
    EVENT_CLASSES,
    AlertKind,
    AlertRaised,
    EngineEvent,
    EventKind,
    OpportunityRefused,
    StatusChanged,
    TradeEvent,
    TradeNotice,
    UnknownEventKind,
    VenueFeed,
    VenueStatus,
)
from worker.domain.markets import Venue
from worker.domain.operator import VenueConnection
from worker.domain.tradelog import TradeStatus
from worker.engine.event_bus import EventBus

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "worker-api.md").read_text()


NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def venues(detail: str | None = None, **states: str) -> VenueStatus:
    """A ``venue_status`` event: each venue's state."""
    return VenueStatus(tuple(VenueFeed(Venue(v), VenueConnection(st), detail=detail) for v, st in states.items()))


def refused(opportunity_id: str, reason: str, detail: str = "") -> OpportunityRefused:
    return OpportunityRefused(opportunity_id, "A at B", RefusalReason(reason), detail, NOW)


def trade(event: str, status: TradeStatus | TradeNotice, **fields: object) -> TradeEvent:
    return TradeEvent(event, status, NOW, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", list(EventKind), ids=lambda k: k.value)
def test_every_event_kind_is_a_documented_server_message_with_a_dashboard_handler(kind: EventKind) -> None:
    assert kind.value in schemas.SERVER_TYPES, f"{kind.value} is not a server message of the protocol"
    assert kind.value in schemas.BROADCAST_TYPES, f"the server does not forward {kind.value}"
    assert re.search(rf"`{kind.value}`", DOC), f"docs/worker-api.md does not document {kind.value}"
    handler = getattr(WorkerState, f"_on_{kind.value}", None)
    assert callable(handler), f"the dashboard has no handler for {kind.value}"
    classes = [cls for cls in _event_classes() if getattr(cls, "kind", None) is kind]
    assert classes == [EVENT_CLASSES[kind]], f"{kind.value} needs exactly one event class, has {classes}"


def _event_classes() -> list[type[EngineEvent]]:
    """Every subclass of EngineEvent the worker defines, registered or not (a test's own
    stray classes aside)."""
    found: list[type[EngineEvent]] = []
    todo = list(EngineEvent.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("worker."):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("cls", list(EVENT_CLASSES.values()), ids=lambda c: c.__name__)
def test_every_event_class_encodes_to_a_documented_message_the_dashboard_handles(cls: type[EngineEvent]) -> None:
    kind = cls.kind
    assert EVENT_CLASSES[kind] is cls
    found = [s.event for s in samples() if type(s.event) is cls]
    assert found, f"no sample of {cls.__name__}"
    for event in found:
        message = schemas.event_message(event)
        assert message["type"] == kind.value, f"{cls.__name__} is written as {message['type']}"
        assert message["type"] in schemas.BROADCAST_TYPES and message["type"] in schemas.SERVER_TYPES
        assert re.search(rf"`{message['type']}`", DOC), f"docs/worker-api.md does not document {message['type']}"
        text = schemas.dumps(message)
        state = WorkerState()
        topics = state.apply(schemas.decode_server_message(text))  # the dashboard folds it in
        assert isinstance(topics, set)


def test_the_bus_takes_typed_events_stamped_with_its_clock_and_refuses_anything_else() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    bus = EventBus(clock=clock)
    sub = bus.subscribe()
    changed = StatusChanged(False, datetime(2026, 3, 1, 11, 59, tzinfo=UTC))
    published = bus.publish(changed)
    event = sub.get_nowait()
    assert event is published and event.payload is changed
    assert event.type == "status_changed" and event.at == clock.now()

    @dataclass(frozen=True)
    class Stray(EngineEvent):  # an event class outside the enumeration
        kind: ClassVar[EventKind] = EventKind.STATUS_CHANGED
        enabled: bool

    @dataclass(frozen=True)
    class NotAnEvent:
        enabled: bool

    for wrong in (Stray(True), NotAnEvent(True), {"enabled": True}, EventKind.STATUS_CHANGED, "status_changed"):
        with pytest.raises(UnknownEventKind):
            bus.publish(wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):  # a typed event carries its own data: no second argument
        bus.publish(changed, {"enabled": False})  # type: ignore[call-arg]
    assert sub.get_nowait() is None  # nothing was delivered


async def test_alerts_are_derived_from_typed_events() -> None:
    from worker.domain.events import Alert
    from worker.engine.alerts import AlertCenter

    class Store:  # storing happens in the writer task (not run here)
        async def save(self, alert: Alert) -> None: ...
        async def active(self, limit: int = 200) -> list[Alert]:
            return []
        async def dismiss(self, alert_id: str, at: object) -> Alert | None:
            return None

    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    center = AlertCenter(Store(), EventBus(), start_grace_s=0)
    stranded = center.observe(TradeEvent("A at B", TradeStatus.STRANDED, at, reason="leg 2 refused", attempt_id="a1"))
    assert stranded is not None and stranded.kind is AlertKind.STRANDED and stranded.key == "a1"
    assert "leg 2 refused" in stranded.message
    overdue = center.observe(TradeEvent("A at B", TradeNotice.SETTLEMENT_OVERDUE, at, reason="late",
                                        what="position p1"))
    assert overdue is not None and overdue.kind is AlertKind.SETTLEMENT_OVERDUE and overdue.key == "position p1"
    assert center.observe(TradeEvent("A at B", TradeStatus.SUCCESS, at, attempt_id="a2")) is None
    limit = center.observe(OpportunityRefused("o1", "A at B", RefusalReason.DAILY_TRADES, "50 trades today", at))
    assert limit is not None and limit.kind is AlertKind.LIMIT_REACHED and "50 trades today" in limit.message
    assert center.observe(OpportunityRefused("o2", "A at B", RefusalReason.ROI_TOO_LOW, "low", at)) is None
    up, down = VenueConnection.UP, VenueConnection.DOWN
    center.observe(VenueStatus((VenueFeed(Venue.KALSHI, up, 10),)))
    center.observe(VenueStatus((VenueFeed(Venue.KALSHI, down, None, "HTTP 503"),)))
    (venue_down,) = [a for a in center._active.values() if a.kind is AlertKind.VENUE_DOWN]
    assert venue_down.key == "kalshi" and venue_down.message == "HTTP 503"
    assert center.observe(StatusChanged(True, at)) is None  # nothing to alert
    await center.stop()


def test_every_alert_kind_is_documented() -> None:
    for kind in AlertKind:
        assert f"`{kind.value}`" in DOC, kind


def test_the_bus_refuses_a_kind_outside_the_enumeration() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    with pytest.raises(UnknownEventKind, match="reconciliation_alert"):
        bus.publish("reconciliation_alert")  # type: ignore[arg-type]
    with pytest.raises(UnknownEventKind):
        bus.publish({"type": "trade_event", "data": {"status": "SUCCESS"}})  # type: ignore[arg-type]
    assert sub.get_nowait() is None  # nothing was delivered
    bus.publish(trade("E", TradeStatus.SUCCESS))
    event = sub.get_nowait()
    assert event is not None and event.type == "trade_event"


async def test_an_alert_is_published_stored_sent_in_init_and_dismissed(worker: Worker, tmp_path: Path) -> None:
    assert worker.alerts is not None
    a, init = await connect_ready(worker)
    assert [a for a in init["data"]["alerts"] if a["kind"] == "stranded"] == []
    # A STRANDED attempt as the engine announces it: the alert is derived from it.
    worker.bus.publish(trade("Rockets vs Kings", TradeStatus.STRANDED, attempt_id="att_1", reason="leg 2 refused"))
    alert = (await a.recv_type("alert"))["data"]
    assert alert["kind"] == "stranded" and alert["severity"] == "critical"
    assert "Rockets vs Kings" in alert["title"] and "leg 2 refused" in alert["message"]
    assert alert["dismissed_at"] is None and alert["count"] == 1

    # Stored: a worker started afresh on the same database sends it in init.
    await worker.alerts.stop()
    await worker.alerts.start()
    b, init_b = await connect_ready(worker)
    assert [x["id"] for x in init_b["data"]["alerts"]] == [alert["id"]]
    rows = await worker.alerts._store.active()
    assert [r.id for r in rows] == [alert["id"]]

    # Dismissed by one client: every client hears it; init no longer carries it.
    await a.send({"action": "dismiss_alert", "alert_id": alert["id"], "id": "d1"})
    ack = await a.reply()
    assert ack["type"] == "ack" and ack["data"]["alert_id"] == alert["id"] and ack["data"]["dismissed_at"]
    gone = await b.recv_type("alert_dismissed")
    assert gone["data"]["id"] == alert["id"] and gone["data"]["dismissed_at"]
    c, init_c = await connect_ready(worker)
    assert init_c["data"]["alerts"] == []
    assert await worker.alerts._store.active() == []
    for client in (a, b, c):
        await client.close()


async def test_dismissing_an_unknown_alert_is_an_error_naming_the_field(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "dismiss_alert", "alert_id": "alert_nope", "id": "d2"})
    err = await client.reply()
    assert err["type"] == "error" and err["field"] == "alert_id" and "no alert alert_nope" in err["message"]
    await client.send({"action": "dismiss_alert", "alert_id": 12})
    assert (await client.reply())["field"] == "alert_id"
    await client.close()


async def test_a_repeated_situation_counts_instead_of_piling_up(worker: Worker) -> None:
    assert worker.alerts is not None
    client, _ = await connect_ready(worker)
    for state in ("up", "down", "up", "down"):
        worker.bus.publish(venues(detail="refused", kalshi=state))
    seen = [await client.recv_type("alert", "alert_dismissed") for _ in range(4)]
    down, up, down_again = [m["data"] for m in seen if m["type"] == "alert"]
    (cleared,) = [m["data"] for m in seen if m["type"] == "alert_dismissed"]
    assert (down["kind"], up["kind"], down_again["kind"]) == ("venue_down", "venue_up", "venue_down")
    # Back up: the first outage's alert is cleared on the operator's behalf; the next
    # outage is a new alert, not a repeat of a situation that ended.
    assert cleared["id"] == down["id"] and cleared["dismissed_at"] is not None
    assert down_again["id"] != down["id"] and down_again["count"] == 1
    worker.bus.publish(venues(detail="still", kalshi="down"))
    worker.bus.publish(venues(kalshi="up"))
    worker.bus.publish(venues(kalshi="up"))
    back = await client.recv_type("alert")
    assert back["data"]["kind"] == "venue_up" and back["data"]["id"] == up["id"] and back["data"]["count"] == 2
    init = (await connect_ready(worker))[1]
    assert sorted(a["kind"] for a in init["data"]["alerts"] if a["key"] == "kalshi") == ["venue_up"]
    await client.close()


async def test_a_venue_never_up_is_alerted_only_after_the_start_up_grace(tmp_path: Path) -> None:
    from db.alerts import AlertRepository
    from db.engine import Database
    from db.migrate import migrate
    from worker.clock import FakeClock
    from worker.engine.alerts import START_GRACE_S, AlertCenter

    db = Database(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    await migrate(db, "paper")
    bus = EventBus()
    seen = bus.subscribe(types={"alert"})
    clock = FakeClock()
    center = AlertCenter(AlertRepository(db), bus, clock=clock)
    await center.start()
    try:
        center.observe(venues(kalshi="down", polymarket="down"))
        center.observe(venues(polymarket="up"))  # came up within the grace
        await clock.advance(START_GRACE_S - 1)
        assert seen.get_nowait() is None
        await clock.advance(1)
        event = await asyncio.wait_for(seen.get(), 2)
        assert isinstance(event.payload, AlertRaised)
        assert event.payload.alert.kind == "venue_down" and event.payload.alert.key == "kalshi"
        await clock.advance(START_GRACE_S)
        assert seen.get_nowait() is None  # polymarket came up in time: no alert for it
    finally:
        await center.stop()
        await db.dispose()


async def test_the_kill_switch_and_a_daily_limit_raise_alerts(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "kill_switch", "flatten": False})
    assert (await client.reply())["type"] == "ack"
    kill = (await client.recv_type("alert"))["data"]
    assert kill["kind"] == "kill_switch" and "paused" in kill["message"]
    worker.bus.publish(refused("o1", "max_daily_trades", "50 trades today"))
    limit = (await client.recv_type("alert"))["data"]
    assert limit["kind"] == "limit_reached" and "50 trades today" in limit["message"]
    # An ordinary refusal (one opportunity) is not an alert.
    worker.bus.publish(refused("o2", "roi_below_min"))
    beat = await client.recv_type("alert", "heartbeat")
    assert beat["type"] == "heartbeat"
    await client.close()


async def test_heartbeat_every_second(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    first = await client.recv_type("heartbeat", wait_s=3)
    second = await client.recv_type("heartbeat", wait_s=3)
    assert first["data"]["server_time"] < second["data"]["server_time"]
    assert set(first["data"]) >= {"server_time", "uptime_s", "enabled", "executor_running"}
    await client.close()


async def test_alerts_survive_a_restart_of_the_worker(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    w = await start_worker(config)
    assert w.alerts is not None
    raised = w.alerts.raise_alert(AlertKind.RECONCILIATION, "Unknown order on kalshi", "order X filled", key="kalshi:X")
    await w.stop()  # stores what is not stored yet
    w2 = await start_worker(config)
    try:
        _, init = await connect_ready(w2)
        assert [a["id"] for a in init["data"]["alerts"]] == [raised.id]
    finally:
        await w2.stop()


def test_an_overdue_settlement_and_a_stranded_attempt_are_alerts_a_success_is_not() -> None:
    from worker.domain.events import Alert
    from worker.engine.alerts import AlertCenter

    class Store:  # observe() publishes at once; storing happens in the writer task (not run here)
        async def save(self, alert: Alert) -> None: ...
        async def active(self, limit: int = 200) -> list[Alert]:
            return []
        async def dismiss(self, alert_id: str, at: object) -> Alert | None:
            return None

    bus = EventBus()
    seen = bus.subscribe(types={"alert"})
    center = AlertCenter(Store(), bus)
    assert center.observe(trade("A at B", TradeStatus.SUCCESS, attempt_id="a1")) is None
    overdue = center.observe(trade("A at B", TradeNotice.SETTLEMENT_OVERDUE, attempt_id="a1",
                                   reason="game ended 14 h ago; Kalshi has not settled"))
    assert overdue is not None and overdue.kind is AlertKind.SETTLEMENT_OVERDUE and overdue.key == "a1"
    assert "Kalshi has not settled" in overdue.message
    again = center.observe(trade("A at B", TradeNotice.SETTLEMENT_OVERDUE, attempt_id="a1",
                                 reason="still not settled"))
    assert again is not None and again.id == overdue.id and again.count == 2
    stranded = center.observe(trade("C at D", TradeStatus.STRANDED, attempt_id="a2"))
    assert stranded is not None and stranded.kind is AlertKind.STRANDED and stranded.severity.value == "critical"
    published = [seen.get_nowait() for _ in range(3)]
    raised = [e.payload for e in published if e is not None]
    assert all(isinstance(r, AlertRaised) for r in raised)
    assert [r.alert.kind for r in raised] == ["settlement_overdue", "settlement_overdue", "stranded"]


async def test_a_dismissed_daily_limit_stays_dismissed_even_after_a_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    w = await start_worker(config)
    try:
        client, _ = await connect_ready(w)
        w.bus.publish(refused("o1", "max_daily_loss", "lost $5.00 today"))
        alert = (await client.recv_type("alert"))["data"]
        await client.send({"action": "dismiss_alert", "alert_id": alert["id"]})
        assert (await client.reply())["type"] == "ack"
        w.bus.publish(refused("o2", "max_daily_loss", "lost $5.00 today"))  # every later opportunity
        assert (await client.recv_type("alert", "heartbeat", wait_s=3))["type"] == "heartbeat"
        await client.close()
    finally:
        await w.stop()
    w2 = await start_worker(config)
    try:
        client, init = await connect_ready(w2)
        assert init["data"]["alerts"] == []
        w2.bus.publish(refused("o3", "max_daily_loss", "x"))
        assert (await client.recv_type("alert", "heartbeat", wait_s=3))["type"] == "heartbeat"
        await client.close()
    finally:
        await w2.stop()


async def test_a_stranded_alert_clears_when_the_attempt_is_resolved(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    worker.bus.publish(trade("E", TradeStatus.STRANDED, attempt_id="att_9"))
    raised = (await client.recv_type("alert"))["data"]
    worker.bus.publish(trade("E", TradeNotice.RESOLVED, attempt_id="att_9"))
    cleared = (await client.recv_type("alert_dismissed"))["data"]
    assert cleared["id"] == raised["id"]
    assert (await connect_ready(worker))[1]["data"]["alerts"] == []
    await client.close()


async def test_an_alert_dismissed_by_another_worker_leaves_this_ones_init(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    a = await start_worker(config)
    b = await start_worker(config)
    try:
        assert a.alerts is not None and b.alerts is not None
        raised = a.alerts.raise_alert(AlertKind.RECONCILIATION, "Unknown order", "order X", key="kalshi:X")
        assert raised is not None
        await a.alerts._flush_once()  # what a's writer does in the background
        await b.alerts.dismiss(raised.id)
        _, init = await connect_ready(a)
        assert init["data"]["alerts"] == []
    finally:
        await b.stop()
        await a.stop()


async def test_a_dismissed_alert_stays_out_of_init_even_when_the_database_read_began_before_the_dismissal() -> None:
    from dataclasses import replace as copy

    from worker.domain.events import Alert
    from worker.engine.alerts import AlertCenter

    class StaleReads:
        """Stores alerts, but ``active`` answers as a read begun before the last dismissal."""

        def __init__(self) -> None:
            self.rows: dict[str, Alert] = {}

        async def save(self, alert: Alert) -> None:
            self.rows[alert.id] = alert

        async def active(self, limit: int = 200) -> list[Alert]:
            return list(self.rows.values())  # the dismissal is not visible yet

        async def dismiss(self, alert_id: str, at: datetime) -> Alert | None:
            row = self.rows.get(alert_id)
            return None if row is None else copy(row, dismissed_at=at)

    store = StaleReads()
    center = AlertCenter(store, EventBus(), clock=FakeClock(NOW))
    raised = center.observe(trade("C at D", TradeStatus.STRANDED, attempt_id="a2"))
    assert raised is not None
    await center._flush_once()  # stored, as the writer task does
    assert [a["id"] for a in await center.active()] == [raised.id]
    await center.dismiss(raised.id)
    assert await center.active() == []
