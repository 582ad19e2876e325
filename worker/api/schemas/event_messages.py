"""Engine events → server messages.

Each event class of worker.domain.events is written as exactly one server message, by
the one encoder registered for it below; the server forwards every bus event with
:func:`event_message`. The data is JSON-ready (Decimals stay Decimals for ``dumps``).
Times are ISO-8601 UTC ("…Z"), except the fields the engine has always written with the
datetime's own offset ("+00:00"): trade_event and position_closed "timestamp", refusal
"timestamp", pnl_point "t".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, TypeVar

from worker.api.schemas.encoding import settings_to_wire, to_wire
from worker.domain.events import (
    EVENT_CLASSES,
    OMIT,
    AlertDismissed,
    AlertRaised,
    BalanceUpdate,
    DiscoveryRefusalsChanged,
    EngineEvent,
    Heartbeat,
    KillSwitchProgress,
    MappingChanged,
    OpportunityChange,
    OpportunityClosed,
    OpportunityOpened,
    OpportunityRefused,
    OpportunityUpdated,
    PnlPoint,
    PositionClosed,
    PositionOpened,
    SettingsChanged,
    StatusChanged,
    TradeEvent,
    VenueStatus,
)
from worker.domain.mapping import MarketMapping, OpportunityEventKind, TradePermission

_EventT = TypeVar("_EventT", bound=EngineEvent)
_EVENT_ENCODERS: dict[type[EngineEvent], Callable[[Any], dict[str, Any]]] = {}


def _encodes(cls: type[_EventT]) -> Callable[[Callable[[_EventT], dict[str, Any]]], Callable[[_EventT], dict[str, Any]]]:
    def register(encode: Callable[[_EventT], dict[str, Any]]) -> Callable[[_EventT], dict[str, Any]]:
        if cls in _EVENT_ENCODERS:
            raise RuntimeError(f"{cls.__name__} has an encoder already")
        _EVENT_ENCODERS[cls] = encode
        return encode

    return register


def event_message(event: EngineEvent) -> dict[str, Any]:
    """The server message ``{"type": T, "data": {...}}`` of one engine event."""
    encode = _EVENT_ENCODERS.get(type(event))
    if encode is None:
        raise TypeError(f"{type(event).__name__} is not an engine event (worker.domain.events.EVENT_CLASSES)")
    return {"type": event.kind.value, "data": encode(event)}


def mapping_data(mapping: MarketMapping, permission: TradePermission) -> dict[str, Any]:
    """A mapping as ``mapping_changed``, ``confirm_mapping``'s ``ack`` and
    ``/api/mappings`` carry it: its fields, ``id``, ``review_key``, ``tradeable``, ``why_not``."""
    data: dict[str, Any] = to_wire(mapping)
    data["id"] = mapping.id
    data["review_key"] = mapping.review_key
    data.update(to_wire(permission.to_wire()))
    return data


def _offset_time(value: datetime) -> str:
    # The engine's own form for these fields: the datetime's isoformat, offset included.
    return value.isoformat()


@_encodes(BalanceUpdate)
def _balance_update(e: BalanceUpdate) -> dict[str, Any]:
    data: dict[str, Any] = {"poly": e.poly, "kalshi": e.kalshi}
    if e.books is not None:
        data["books"] = to_wire(e.books)
    return data


_TRADE_EVENT_FIELDS: Final = ("bet_size", "pnl", "roi", "reason", "attempt_id", "position_id", "trade_id", "what")


@_encodes(TradeEvent)
def _trade_event(e: TradeEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"event": e.event, "status": e.status.value}
    for name in _TRADE_EVENT_FIELDS:
        value = getattr(e, name)
        if value is not OMIT:
            data[name] = to_wire(value)
    if e.left is not OMIT:
        data["left"] = {venue.value: str(quantity) for venue, quantity in e.left.items()}
    data["timestamp"] = _offset_time(e.timestamp)
    if e.loud is not OMIT:
        data["loud"] = e.loud
    return data


@_encodes(PositionOpened)
def _position_opened(e: PositionOpened) -> dict[str, Any]:
    p = e.position
    return {
        "id": e.position_id,
        "position_id": e.position_id,
        "event": p.event_title,
        "event_title": p.event_title,
        "attempt_id": p.attempt_id,
        "poly_side": p.poly.side,
        "poly_price": p.poly.price,
        "poly_contracts": p.poly.contracts,
        "kalshi_side": p.kalshi.side,
        "kalshi_price": p.kalshi.price,
        "kalshi_contracts": p.kalshi.contracts,
        "cost": p.cost,
        # Names as the venues name them, as /api/positions has them.
        "poly_venue": p.poly.venue,
        "poly_market": p.poly.market,
        "poly_contract": p.poly.contract,
        "kalshi_ticker": p.kalshi.market,
        "game_key": p.game_key,
        "opened_at": to_wire(p.opened_at),
    }


@_encodes(PositionClosed)
def _position_closed(e: PositionClosed) -> dict[str, Any]:
    return {
        "id": e.position_id,
        "position_id": e.position_id,
        "event": e.event_title,
        "status": e.status.value,
        "pnl": e.pnl,
        "timestamp": _offset_time(e.timestamp),
    }


@_encodes(SettingsChanged)
def _settings_changed(e: SettingsChanged) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(settings_to_wire(e.settings))
    return data


@_encodes(StatusChanged)
def _status_changed(e: StatusChanged) -> dict[str, Any]:
    return {"enabled": e.enabled, "at": to_wire(e.at)}


def _opportunity(e: OpportunityChange, step: OpportunityEventKind) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(e.opportunity)
    if e.permission is not None:
        data.update(to_wire(e.permission.to_wire()))
    data["event"] = step.value
    data["at"] = to_wire(e.at)
    return data


@_encodes(OpportunityOpened)
def _opportunity_opened(e: OpportunityOpened) -> dict[str, Any]:
    return _opportunity(e, OpportunityEventKind.OPENED)


@_encodes(OpportunityUpdated)
def _opportunity_updated(e: OpportunityUpdated) -> dict[str, Any]:
    return _opportunity(e, OpportunityEventKind.UPDATED)


@_encodes(OpportunityClosed)
def _opportunity_closed(e: OpportunityClosed) -> dict[str, Any]:
    data = _opportunity(e, OpportunityEventKind.CLOSED)
    data["reason"] = e.reason.value
    return data


@_encodes(PnlPoint)
def _pnl_point(e: PnlPoint) -> dict[str, Any]:
    return {"t": _offset_time(e.t), "pnl": e.pnl, "delta": e.delta, "trade_id": e.trade_id, "event": e.event}


@_encodes(OpportunityRefused)
def _refusal(e: OpportunityRefused) -> dict[str, Any]:
    return {
        "opportunity_id": e.opportunity_id,
        "event": e.event,
        "reason": e.reason.value,
        "detail": e.detail,
        "timestamp": _offset_time(e.timestamp),
    }


@_encodes(MappingChanged)
def _mapping_changed(e: MappingChanged) -> dict[str, Any]:
    return mapping_data(e.mapping, e.permission)


@_encodes(VenueStatus)
def _venue_status(e: VenueStatus) -> dict[str, Any]:
    data: dict[str, Any] = {
        "venues": {
            v.venue.value: {"state": v.state.value, "data_age_ms": v.data_age_ms, "detail": v.detail}
            for v in e.venues
        }
    }
    if e.lease is not None:
        data["lease"] = e.lease
    return data


@_encodes(Heartbeat)
def _heartbeat(e: Heartbeat) -> dict[str, Any]:
    db = e.database
    return {
        "server_time": to_wire(e.server_time),
        "uptime_s": e.uptime_s,
        "enabled": e.enabled,
        "executor_running": e.executor_running,
        "lease": e.lease,
        "venues": {v.venue.value: {"state": v.state.value, "data_age_ms": v.data_age_ms} for v in e.venues},
        "database": {"state": db.state.value, "error": db.error, "since": to_wire(db.since)},
    }


@_encodes(AlertRaised)
def _alert(e: AlertRaised) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(e.alert.to_wire())
    return data


@_encodes(AlertDismissed)
def _alert_dismissed(e: AlertDismissed) -> dict[str, Any]:
    data: dict[str, Any] = to_wire(e.alert.to_wire())
    return data


@_encodes(DiscoveryRefusalsChanged)
def _discovery_refusals(e: DiscoveryRefusalsChanged) -> dict[str, Any]:
    return {
        "refused_count": e.refused_count,
        "refused": [
            {"venue": r.venue.value, "id": r.id, "reason": r.reason, "at": to_wire(r.at)} for r in e.refused
        ],
        "discovered_at": to_wire(e.discovered_at),
    }


@_encodes(KillSwitchProgress)
def _kill_switch_progress(e: KillSwitchProgress) -> dict[str, Any]:
    return {"started_at": to_wire(e.started_at), "total": e.total, "closed": e.closed, "failed": e.failed,
            "done": e.done}


if set(_EVENT_ENCODERS) != set(EVENT_CLASSES.values()):
    raise RuntimeError("every engine event class needs exactly one encoder in worker.api.schemas.event_messages")
