"""Every kind of event the engine may publish, and the operator alerts among them.

:class:`EventKind` is the closed list of what goes on the worker's event bus
(:class:`worker.engine.event_bus.EventBus` refuses anything else): each kind is one
server message of ``/ws/executor`` (``worker/api/schemas.py`` maps them, and a test fails
when the protocol or the dashboard has no handler for one). The values are the wire's
message types, so a kind *is* its message type.

:class:`AlertKind` lists what the operator must be told and must acknowledge: each alert
is stored, sent in ``init`` until dismissed, and shown on every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class EventKind(StrEnum):
    """What the engine publishes; each value is the server message type it becomes."""

    # the plan's messages
    BALANCE_UPDATE = "balance_update"
    TRADE_EVENT = "trade_event"
    POSITION_OPENED = "position_opened"
    POSITION_CLOSED = "position_closed"
    SETTINGS_CHANGED = "settings_changed"
    STATUS_CHANGED = "status_changed"
    # additions
    OPPORTUNITY_OPENED = "opportunity_opened"
    OPPORTUNITY_UPDATED = "opportunity_updated"
    OPPORTUNITY_CLOSED = "opportunity_closed"
    PNL_POINT = "pnl_point"
    REFUSAL = "refusal"
    MAPPING_CHANGED = "mapping_changed"
    VENUE_STATUS = "venue_status"
    HEARTBEAT = "heartbeat"
    ALERT = "alert"
    ALERT_DISMISSED = "alert_dismissed"
    DISCOVERY_REFUSALS = "discovery_refusals"


class UnknownEventKind(ValueError):
    """Something tried to publish an event kind that is not in :class:`EventKind`."""


def event_kind(value: str) -> EventKind:
    """``value`` as an :class:`EventKind`; raises :class:`UnknownEventKind` otherwise."""
    try:
        return EventKind(value)
    except ValueError:
        raise UnknownEventKind(
            f"{value!r} is not an event kind the engine may publish (worker.domain.events.EventKind)"
        ) from None


class AlertKind(StrEnum):
    """What the operator is alerted to (one ``alert`` message; stored until dismissed)."""

    RECONCILIATION = "reconciliation"  # an order at a venue that our database does not know
    STRANDED = "stranded"  # an attempt left one leg open that could not be unwound
    LIMIT_REACHED = "limit_reached"  # a daily limit stops new trades
    VENUE_DOWN = "venue_down"
    VENUE_UP = "venue_up"
    LEASE_LOST = "lease_lost"  # this worker lost the right to trade the account
    SETTLEMENT_OVERDUE = "settlement_overdue"  # a position's game is over, not yet settled
    KILL_SWITCH = "kill_switch"


class AlertSeverity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


#: How loud each kind is by default.
SEVERITY: dict[AlertKind, AlertSeverity] = {
    AlertKind.RECONCILIATION: AlertSeverity.CRITICAL,
    AlertKind.STRANDED: AlertSeverity.CRITICAL,
    AlertKind.LIMIT_REACHED: AlertSeverity.WARNING,
    AlertKind.VENUE_DOWN: AlertSeverity.WARNING,
    AlertKind.VENUE_UP: AlertSeverity.INFO,
    AlertKind.LEASE_LOST: AlertSeverity.CRITICAL,
    AlertKind.SETTLEMENT_OVERDUE: AlertSeverity.WARNING,
    AlertKind.KILL_SWITCH: AlertSeverity.WARNING,
}


@dataclass(frozen=True)
class Alert:
    """One alert as stored and sent. ``key`` identifies the situation: raising the same
    (kind, key) again while it is not dismissed counts a repeat instead of a new alert."""

    id: str
    kind: AlertKind
    key: str
    severity: AlertSeverity
    title: str
    message: str
    raised_at: datetime
    last_at: datetime
    count: int = 1
    data: dict[str, Any] = field(default_factory=dict)
    dismissed_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.dismissed_at is None

    def repeated(self, message: str, at: datetime, data: dict[str, Any]) -> Alert:
        return replace(self, message=message, last_at=at, count=self.count + 1, data=data or self.data)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "key": self.key,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "raised_at": self.raised_at,
            "last_at": self.last_at,
            "count": self.count,
            "data": dict(self.data),
            "dismissed_at": self.dismissed_at,
        }


class AlertStore(Protocol):
    """Where alerts are kept (``db.alerts.AlertRepository``)."""

    async def save(self, alert: Alert) -> None:
        """Insert or replace the alert with this id."""

    async def active(self, limit: int = 200) -> list[Alert]:
        """Alerts not dismissed, newest first."""

    async def dismiss(self, alert_id: str, at: datetime) -> Alert | None:
        """Mark dismissed (once: a dismissed alert keeps its first dismissal time);
        None when there is no such alert."""

    async def dismissed_keys(self, kinds: list[AlertKind]) -> set[tuple[AlertKind, str]]:
        """(kind, key) of every dismissed alert of ``kinds``."""
