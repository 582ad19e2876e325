"""Whole worker messages as views: ``init``, every other server message of
``/ws/executor`` by its type (:func:`decode_view`), and the answers of the read-only
``/api`` routes a client reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from worker.api.views.reading import (
    Obj,
    ViewError,
    array_of,
    enum_of,
    flag,
    json_object,
    moment,
    number,
    object_of,
    text,
)
from worker.api.views.status import (
    AlertView,
    BalancesView,
    BalanceUpdateView,
    BooksView,
    DatabaseView,
    DiscoveryView,
    HeartbeatView,
    KillSwitchProgressView,
    StatsView,
    StatusChangedView,
    VenueStatusView,
    VenueView,
    decode_alert,
    decode_balances,
    decode_books,
    decode_database,
    decode_discovery,
    decode_kill_switch_progress,
    decode_settings,
    decode_stats,
    venues_reader,
)
from worker.api.views.trading import (
    MappingView,
    OpportunitiesView,
    OpportunityClosedView,
    OpportunityView,
    PnlPointView,
    PositionClosedView,
    PositionView,
    RefusalView,
    TradeView,
    decode_mapping,
    decode_opportunity,
    decode_pnl_point,
    decode_position,
    decode_position_closed,
    decode_refusal,
    decode_trade_event,
    decode_trade_row,
)
from worker.domain.events import EventKind
from worker.domain.mapping import CloseReason
from worker.domain.markets import Venue
from worker.domain.settings import ExecutorSettings


@dataclass(frozen=True, slots=True)
class InitView:
    """``init``: the worker's state when a client connects (see ``server.init_data``).
    ``stats`` and ``positions`` are None while the database is down and nothing was
    read yet; ``books`` None until the balances were read once."""

    enabled: bool
    settings: ExecutorSettings
    balances: BalancesView
    stats: StatsView | None
    positions: tuple[PositionView, ...] | None
    mode: str
    poly_venue: Venue
    venues: Mapping[str, VenueView]
    executor_running: bool
    server_time: datetime
    books: BooksView | None
    alerts: tuple[AlertView, ...]
    discovery: DiscoveryView
    database: DatabaseView | None
    #: ``limits.suspicious_roi`` (``EXECUTOR_SUSPICIOUS_ROI``), None from a worker that does not send it.
    suspicious_roi: Decimal | None = None
    #: The last ``kill_switch_progress`` (``kill_switch``): how far the kill switch's
    #: flattening got, for a client that was not listening; None while none was published.
    kill_switch: KillSwitchProgressView | None = None


def decode_init(o: Obj) -> InitView:
    return InitView(
        o.req("enabled", flag),
        o.req("settings", object_of(decode_settings)),
        o.req("balances", object_of(decode_balances)),
        o.null("stats", object_of(decode_stats)),
        o.null("positions", array_of(object_of(decode_position))),
        o.req("mode", text),
        o.req("poly_venue", enum_of(Venue)),
        o.req("venues", venues_reader(detail=True, since=True)),
        o.req("executor_running", flag),
        o.req("server_time", moment),
        o.null("books", object_of(decode_books)),
        o.req("alerts", array_of(object_of(decode_alert))),
        o.req("discovery", object_of(decode_discovery)),
        o.null("database", object_of(decode_database)),
        o.opt("limits", object_of(lambda limits: limits.opt("suspicious_roi", number))),
        o.opt("kill_switch", object_of(decode_kill_switch_progress)),
    )


@dataclass(frozen=True, slots=True)
class AckView:
    """The one acknowledgement of an accepted action (``id``: the client's request id)."""

    action: str
    id: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorView:
    """A refused message: why, the first offending field, the client's request id."""

    message: str
    field: str | None
    id: str | None


ReplyView = AckView | ErrorView


@dataclass(frozen=True, slots=True)
class StatusView:
    """``GET /api/status``, the parts a client folds in after a trade."""

    stats: StatsView | None
    balances: BalancesView
    books: BooksView | None
    discovery: DiscoveryView


MessageData = (
    InitView | BalanceUpdateView | TradeView | PositionView | PositionClosedView | ExecutorSettings
    | StatusChangedView | OpportunitiesView | OpportunityView | OpportunityClosedView | PnlPointView
    | RefusalView | MappingView | VenueStatusView | HeartbeatView | AlertView | DiscoveryView | KillSwitchProgressView
    | AckView | ErrorView
)


@dataclass(frozen=True, slots=True)
class MessageView:
    """One server message: its ``type`` and its data as a view (for ``ack`` and
    ``error``, the message's own fields)."""

    type: str
    data: MessageData


# --- the messages ------------------------------------------------------------------------

_DATA: Final[Mapping[str, Callable[[Obj], MessageData]]] = {
    "init": decode_init,
    "opportunities_snapshot": lambda o: OpportunitiesView(o.req("opportunities", array_of(object_of(decode_opportunity)))),
    EventKind.BALANCE_UPDATE.value: lambda o: BalanceUpdateView(decode_balances(o), o.opt("books", object_of(decode_books))),
    EventKind.TRADE_EVENT.value: decode_trade_event,
    EventKind.POSITION_OPENED.value: decode_position,
    EventKind.POSITION_CLOSED.value: decode_position_closed,
    EventKind.SETTINGS_CHANGED.value: decode_settings,
    EventKind.STATUS_CHANGED.value: lambda o: StatusChangedView(o.req("enabled", flag), o.req("at", moment)),
    EventKind.OPPORTUNITY_OPENED.value: decode_opportunity,
    EventKind.OPPORTUNITY_UPDATED.value: decode_opportunity,
    EventKind.OPPORTUNITY_CLOSED.value: lambda o: OpportunityClosedView(
        o.req("id", text), o.null("reason", enum_of(CloseReason))
    ),
    EventKind.PNL_POINT.value: decode_pnl_point,
    EventKind.REFUSAL.value: decode_refusal,
    EventKind.MAPPING_CHANGED.value: decode_mapping,
    EventKind.VENUE_STATUS.value: lambda o: VenueStatusView(o.req("venues", venues_reader(detail=True, since=False))),
    EventKind.HEARTBEAT.value: lambda o: HeartbeatView(
        o.req("server_time", moment),
        o.req("uptime_s", number),
        o.req("enabled", flag),
        o.req("executor_running", flag),
        o.req("venues", venues_reader(detail=False, since=False)),
        o.req("database", object_of(decode_database)),
    ),
    EventKind.ALERT.value: decode_alert,
    EventKind.ALERT_DISMISSED.value: decode_alert,
    EventKind.DISCOVERY_REFUSALS.value: decode_discovery,
    EventKind.KILL_SWITCH_PROGRESS.value: decode_kill_switch_progress,
}
#: Every server message type a view is decoded for.
MESSAGE_TYPES: Final = frozenset(_DATA) | {"ack", "error"}


def decode_view(message: object) -> MessageView:
    """One server message (parsed JSON, numbers exact) as its view; raises
    :class:`ViewError` naming the field when it does not read as the protocol says."""
    top = Obj(message, "message")
    kind = top.req("type", text)
    top = Obj(message, kind)
    if kind == "ack":
        return MessageView(kind, AckView(top.req("action", text), top.null("id", text), top.req("data", json_object)))
    if kind == "error":
        return MessageView(kind, ErrorView(top.req("message", text), top.null("field", text), top.null("id", text)))
    decode = _DATA.get(kind)
    if decode is None:
        raise ViewError(f"{kind[:40]}", "not a server message type of the protocol")
    return MessageView(kind, top.req("data", object_of(decode)))


# --- the read-only API's answers ---------------------------------------------------------


def decode_api_status(body: object) -> StatusView:
    """``GET /api/status`` (``server.status_data``)."""
    o = Obj(body, "/api/status")
    return StatusView(
        o.null("stats", object_of(decode_stats)),
        o.req("balances", object_of(decode_balances)),
        o.null("books", object_of(decode_books)),
        o.req("discovery", object_of(decode_discovery)),
    )


def decode_api_trades(body: object) -> tuple[TradeView, ...]:
    """``GET /api/trades``: ``{"trades": [row, …]}``, newest first."""
    return Obj(body, "/api/trades").req("trades", array_of(object_of(decode_trade_row)))


def decode_api_positions(body: object) -> tuple[PositionView, ...]:
    """``GET /api/positions``: ``{"positions": [stored position, …]}``."""
    return Obj(body, "/api/positions").req("positions", array_of(object_of(decode_position)))


def decode_api_pnl(body: object) -> tuple[PnlPointView, ...]:
    """``GET /api/pnl``: ``{"bucket", "points": [point, …]}``, oldest first."""
    return Obj(body, "/api/pnl").req("points", array_of(object_of(decode_pnl_point)))


def decode_api_alerts(body: object) -> tuple[AlertView, ...]:
    """``GET /api/alerts``: ``{"alerts": [alert, …]}``, newest first, dismissed included."""
    return Obj(body, "/api/alerts").req("alerts", array_of(object_of(decode_alert)))


def decode_api_mappings(body: object) -> tuple[MappingView, ...]:
    """``GET /api/mappings``: ``{"mappings": [mapping, …]}`` (the mapping store's view,
    as ``mapping_changed``)."""
    return Obj(body, "/api/mappings").req("mappings", array_of(object_of(decode_mapping)))
