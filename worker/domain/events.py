"""Every kind of event the engine may publish, and the operator alerts among them.

:class:`EventKind` is the closed list of what goes on the worker's event bus
(:class:`worker.engine.event_bus.EventBus` refuses anything else): each kind is one
server message of ``/ws/executor`` (``worker/api/schemas/`` maps them, and a test fails
when the protocol or the dashboard has no handler for one). The values are the wire's
message types, so a kind *is* its message type.

Each kind has exactly one event class (:data:`EVENT_CLASSES`), a frozen dataclass whose
``kind`` names it: what the engine publishes is one of these, typed (money ``Decimal``,
aware times, enums, nested frozen dataclasses), never a hand-built dict. How each one is
written on the wire is ``worker/api/schemas/event_messages.py``'s (:func:`worker.api.schemas.event_message`).

:class:`AlertKind` lists what the operator must be told and must acknowledge: each alert
is stored, sent in ``init`` until dismissed, and shown on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, ClassVar, Final, Protocol

from worker.domain.attempts import RefusalReason
from worker.domain.discovery import DiscoveryRefusals
from worker.domain.ledger import BooksFigures
from worker.domain.mapping import (
    CloseReason,
    MarketMapping,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    TradePermission,
)
from worker.domain.markets import Venue
from worker.domain.operator import DatabaseStatus, VenueConnection, VenueState
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import NewPosition, TradeStatus


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
    KILL_SWITCH_PROGRESS = "kill_switch_progress"


class UnknownEventKind(ValueError):
    """Something tried to publish an event kind that is not in :class:`EventKind`."""


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

    async def recent(self, limit: int = 50) -> list[Alert]:
        """The latest alerts, dismissed ones included, newest first."""

    async def dismiss(self, alert_id: str, at: datetime) -> Alert | None:
        """Mark dismissed (once: a dismissed alert keeps its first dismissal time);
        None when there is no such alert."""

    async def dismissed_keys(self, kinds: list[AlertKind]) -> set[tuple[AlertKind, str]]:
        """(kind, key) of every dismissed alert of ``kinds``."""


# --- the events ---------------------------------------------------------------------------


class EngineEvent:
    """What the engine publishes: one frozen dataclass per :class:`EventKind` below."""

    __slots__ = ()
    kind: ClassVar[EventKind]


class Omit(Enum):
    """The marker of a field an event does not carry (see :class:`TradeEvent`)."""

    OMIT = "omit"


#: A :class:`TradeEvent` field left at this is not in its message (``None`` is sent as null).
OMIT: Final = Omit.OMIT


@dataclass(frozen=True)
class BalanceUpdate(EngineEvent):
    """Each venue side's cash just read (the Polymarket side is whichever Polymarket venue
    runs; zero while never read) and the books computed with it (None: not computed)."""

    kind: ClassVar[EventKind] = EventKind.BALANCE_UPDATE
    poly: Decimal
    kalshi: Decimal
    books: BooksFigures | None = None


class TradeNotice(StrEnum):
    """``trade_event`` statuses that are not a trade-log row's (:class:`TradeStatus`)."""

    RESOLVED = "RESOLVED"  # the operator took a STRANDED attempt off the desk
    CLOSE_INCOMPLETE = "CLOSE_INCOMPLETE"  # closing a position left contracts open
    TO_REDEEM = "TO_REDEEM"  # a payout won, to be redeemed at the venue
    SETTLEMENT_OVERDUE = "SETTLEMENT_OVERDUE"  # a holding's game is over, not yet settled


@dataclass(frozen=True)
class TradeEvent(EngineEvent):
    """A trade-log row written (``status`` a :class:`TradeStatus`) or a notice about a
    trade (a :class:`TradeNotice`). Each site carries the fields that say what happened;
    a field left at :data:`OMIT` is not in the message. ``loud``: the dashboard makes a
    sound. ``left``: contracts still held per venue (``CLOSE_INCOMPLETE``); ``what``: the
    holding an overdue settlement is about."""

    kind: ClassVar[EventKind] = EventKind.TRADE_EVENT
    event: str
    status: TradeStatus | TradeNotice
    timestamp: datetime
    bet_size: Decimal | Omit = OMIT
    pnl: Decimal | None | Omit = OMIT
    roi: Decimal | None | Omit = OMIT
    reason: str | None | Omit = OMIT
    attempt_id: str | None | Omit = OMIT
    position_id: str | Omit = OMIT
    trade_id: str | Omit = OMIT
    what: str | Omit = OMIT
    left: Mapping[Venue, Decimal] | Omit = OMIT
    loud: bool | Omit = OMIT


@dataclass(frozen=True)
class PositionOpened(EngineEvent):
    """A hedge opened (or a partial hedge became) a position."""

    kind: ClassVar[EventKind] = EventKind.POSITION_OPENED
    position_id: str | None
    position: NewPosition


@dataclass(frozen=True)
class PositionClosed(EngineEvent):
    """A position closed (``CLOSED``: by the operator; ``SETTLED``: at resolution)."""

    kind: ClassVar[EventKind] = EventKind.POSITION_CLOSED
    position_id: str
    event_title: str
    status: TradeStatus
    pnl: Decimal
    timestamp: datetime


@dataclass(frozen=True)
class SettingsChanged(EngineEvent):
    """The complete settings after a committed change."""

    kind: ClassVar[EventKind] = EventKind.SETTINGS_CHANGED
    settings: ExecutorSettings


@dataclass(frozen=True)
class StatusChanged(EngineEvent):
    """``enabled`` flipped."""

    kind: ClassVar[EventKind] = EventKind.STATUS_CHANGED
    enabled: bool
    at: datetime


@dataclass(frozen=True)
class OpportunityOpened(EngineEvent):
    """The scanner found an opportunity; ``permission`` says whether its pair may trade
    (None while no feed can judge it)."""

    kind: ClassVar[EventKind] = EventKind.OPPORTUNITY_OPENED
    opportunity: Opportunity
    at: datetime
    permission: TradePermission | None = None


@dataclass(frozen=True)
class OpportunityUpdated(EngineEvent):
    """An open opportunity's quote changed (or its pair's verdict, on a confirmation)."""

    kind: ClassVar[EventKind] = EventKind.OPPORTUNITY_UPDATED
    opportunity: Opportunity
    at: datetime
    permission: TradePermission | None = None


@dataclass(frozen=True)
class OpportunityClosed(EngineEvent):
    """An opportunity closed, and why; ``opportunity`` is its last state."""

    kind: ClassVar[EventKind] = EventKind.OPPORTUNITY_CLOSED
    opportunity: Opportunity
    at: datetime
    reason: CloseReason
    permission: TradePermission | None = None


OpportunityChange = OpportunityOpened | OpportunityUpdated | OpportunityClosed


def opportunity_change(event: OpportunityEvent, permission: TradePermission | None = None) -> OpportunityChange:
    """The bus event of one scanner lifecycle step, with its pair's verdict when known."""
    if event.kind is OpportunityEventKind.OPENED:
        return OpportunityOpened(event.opportunity, event.at, permission)
    if event.kind is OpportunityEventKind.UPDATED:
        return OpportunityUpdated(event.opportunity, event.at, permission)
    if event.reason is None:
        raise ValueError(f"closing {event.opportunity.id} needs a reason")
    return OpportunityClosed(event.opportunity, event.at, event.reason, permission)


@dataclass(frozen=True)
class PnlPoint(EngineEvent):
    """A realised trade-log row moved the cumulative realised P&L to ``pnl`` (by ``delta``)."""

    kind: ClassVar[EventKind] = EventKind.PNL_POINT
    t: datetime
    pnl: Decimal
    delta: Decimal
    trade_id: str | None
    #: The trade-log row's event (the game), for the chart's tooltip.
    event: str | None = None


@dataclass(frozen=True)
class OpportunityRefused(EngineEvent):
    """The executor skipped an opportunity (published once per change of reason)."""

    kind: ClassVar[EventKind] = EventKind.REFUSAL
    opportunity_id: str
    event: str
    reason: RefusalReason
    detail: str
    timestamp: datetime


@dataclass(frozen=True)
class MappingChanged(EngineEvent):
    """An operator decided a mapping's game: one event per mapping of the game."""

    kind: ClassVar[EventKind] = EventKind.MAPPING_CHANGED
    mapping: MarketMapping
    permission: TradePermission


@dataclass(frozen=True)
class VenueFeed:
    """One venue's feed as events carry it (``detail``: why it is down, secret-free)."""

    venue: Venue
    state: VenueConnection
    data_age_ms: int | None = None
    detail: str | None = None

    @classmethod
    def of(cls, state: VenueState) -> VenueFeed:
        return cls(Venue(state.venue), VenueConnection(state.state), state.data_age_ms, state.detail)


def venue_feeds(states: Iterable[VenueState]) -> tuple[VenueFeed, ...]:
    return tuple(VenueFeed.of(s) for s in states)


@dataclass(frozen=True)
class VenueStatus(EngineEvent):
    """A venue feed changed state; ``lease`` is the trading engine's lease status (None
    where no engine runs)."""

    kind: ClassVar[EventKind] = EventKind.VENUE_STATUS
    venues: tuple[VenueFeed, ...]
    lease: str | None = None


@dataclass(frozen=True)
class Heartbeat(EngineEvent):
    """Every second: the worker is alive, and what it is doing."""

    kind: ClassVar[EventKind] = EventKind.HEARTBEAT
    server_time: datetime
    uptime_s: Decimal
    enabled: bool
    executor_running: bool
    lease: str | None
    venues: tuple[VenueFeed, ...]
    database: DatabaseStatus


@dataclass(frozen=True)
class AlertRaised(EngineEvent):
    """An alert raised, or repeated (its ``count`` and ``last_at`` moved)."""

    kind: ClassVar[EventKind] = EventKind.ALERT
    alert: Alert


@dataclass(frozen=True)
class AlertDismissed(EngineEvent):
    """An alert dismissed (``alert.dismissed_at`` set)."""

    kind: ClassVar[EventKind] = EventKind.ALERT_DISMISSED
    alert: Alert


@dataclass(frozen=True)
class KillSwitchProgress(EngineEvent):
    """The kill switch flattening, as it goes: ``closed`` and ``failed`` of the ``total``
    positions that were open when it was pulled at ``started_at`` (published once before
    the first close, then after each; ``done`` on the last). The outcome itself is the
    ``kill_switch`` alert's, which stays."""

    kind: ClassVar[EventKind] = EventKind.KILL_SWITCH_PROGRESS
    started_at: datetime
    total: int
    closed: int
    failed: int
    done: bool


@dataclass(frozen=True)
class RefusedListing:
    """A listing refused at discovery, and when it was first seen refused."""

    venue: Venue
    id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class DiscoveryRefusalsChanged(EngineEvent):
    """The listings refused at discovery changed: the full count, the latest first seen
    (at most the wire's limit) and when discovery ran."""

    kind: ClassVar[EventKind] = EventKind.DISCOVERY_REFUSALS
    refused_count: int
    refused: tuple[RefusedListing, ...]
    discovered_at: datetime | None

    @classmethod
    def of(cls, refusals: DiscoveryRefusals, limit: int) -> DiscoveryRefusalsChanged:
        latest = tuple(RefusedListing(r.venue, r.id, r.reason, at) for r, at in refusals.latest(limit))
        return cls(refusals.count, latest, refusals.discovered_at)


#: Every event class, one per :class:`EventKind` (checked below and by the API's tests).
EVENT_CLASSES: Final[Mapping[EventKind, type[EngineEvent]]] = {
    cls.kind: cls
    for cls in (
        BalanceUpdate,
        TradeEvent,
        PositionOpened,
        PositionClosed,
        SettingsChanged,
        StatusChanged,
        OpportunityOpened,
        OpportunityUpdated,
        OpportunityClosed,
        PnlPoint,
        OpportunityRefused,
        MappingChanged,
        VenueStatus,
        Heartbeat,
        AlertRaised,
        AlertDismissed,
        DiscoveryRefusalsChanged,
        KillSwitchProgress,
    )
}
if set(EVENT_CLASSES) != set(EventKind) or len(EVENT_CLASSES) != len(EventKind):
    raise RuntimeError("every EventKind needs exactly one event class")


#: How a component publishes (the event bus's ``publish``).
Publish = Callable[[EngineEvent], object]


def event_class(event: object) -> type[EngineEvent]:
    """The event class of ``event``; raises :class:`UnknownEventKind` for anything that is
    not one of :data:`EVENT_CLASSES`."""
    kind = getattr(type(event), "kind", None)
    if isinstance(event, EngineEvent) and isinstance(kind, EventKind) and EVENT_CLASSES.get(kind) is type(event):
        return type(event)
    what = repr(event) if isinstance(event, str) else type(event).__name__
    raise UnknownEventKind(f"{what} is not an event the engine may publish (worker.domain.events.EVENT_CLASSES)")
