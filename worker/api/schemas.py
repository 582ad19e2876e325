"""The ``/ws/executor`` protocol: every message, its fields, validation and exact JSON.

This is the one module the dashboard imports from the worker (with ``worker.config``), so
it imports nothing of ours except :mod:`worker.domain.settings`.

**The plan's messages keep their shapes** (section 3 of the plan). Server → client
messages are ``{"type": T, "data": {...}}``; additions are new types, never changed
shapes; extra keys inside ``data`` are allowed (``init`` also carries ``mode``,
``poly_venue``, ``limits``, ``venues``, ``uptime_s``, ``server_time``)::

    init              {enabled, settings, balances {poly, kalshi}, stats {trades, pnl, wins},
                       positions [...], + mode, poly_venue, limits, venues, uptime_s, server_time}
    balance_update    {poly, kalshi}
    trade_event       {event, status, ...trade row}
    position_opened   {...position}
    position_closed   {...position}
    settings_changed  {...complete settings after the change, enabled included}
    status_changed    {enabled, ...}
    --- additions
    opportunities_snapshot  {opportunities: [...]}       right after init
    opportunity_opened / opportunity_updated  {...opportunity, tradeable, why_not}
    opportunity_closed      {id, reason, ...}
    pnl_point         {t, pnl (cumulative realised), delta, trade_id}
    refusal           {opportunity_id, reason, detail, at}
    mapping_changed   {...mapping, review_key, tradeable, why_not}  one per row of the game
    venue_status      {venues: {name: {state, data_age_ms, ...}}}
    heartbeat         {server_time, uptime_s, enabled, executor_running}   every second
    alert             {...alert}: id, kind (AlertKind), severity, title, message, count, ...
    alert_dismissed   {...alert, dismissed_at}
    discovery_refusals {refused_count, refused [{venue, id, reason, at}] latest first,
                        at most 200, discovered_at}   when the refused listings change
    ack               {"type": "ack", "action", "id", "data"}  one per accepted action
    error             {"type": "error", "message", "field", "id"}  one per refused message

Client → server messages are objects with an ``action`` and that action's fields (see
:data:`ACTIONS`), plus an optional ``id`` (a string) echoed in the ``ack`` / ``error``.

**Numbers.** Money, prices, ROI and counts are JSON numbers on the wire in both
directions. The server parses them exactly (``parse_float=Decimal``); :func:`dumps`
writes a ``Decimal`` as the exact JSON number it is (``5.00`` stays ``5.00``), never
through a float. Strings where numbers are due, booleans, null, NaN, Infinity and
numbers too large to be meant (``1e999``) are refused. Ids on the wire are strings.

**Errors** name the first offending field: a top-level key (``action``, ``value``,
``position_id`` …), a setting's name inside ``settings`` (``min_bet``), or ``"$"`` for
the message as a whole (not JSON, not an object, too large).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Final, Literal, TypedDict, TypeVar

from worker.api.views import *  # noqa: F403 - the decoders, the client side of this protocol
from worker.domain.attempts import size_candidates
from worker.domain.events import (
    EVENT_CLASSES,
    OMIT,
    AlertDismissed,
    AlertKind,
    AlertRaised,
    BalanceUpdate,
    DiscoveryRefusalsChanged,
    EngineEvent,
    EventKind,
    Heartbeat,
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
from worker.domain.mapping import CurvePoint, MarketMapping, OpportunityEventKind, TradePermission
from worker.domain.settings import (
    FIELD_NAMES,
    FIELDS,
    ExecutorSettings,
    FieldSpec,
    SettingsError,
    coerce_field,
)

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "FIELDS",
    "FIELD_NAMES",
    "MAX_MESSAGE_BYTES",
    "SERVER_TYPES",
    "SETTING_BOUNDS",
    "WHOLE_MESSAGE",
    "ClientMessage",
    "FieldSpec",
    "ProtocolError",
    "ack",
    "dumps",
    "error",
    "loads",
    "message",
    "parse_client_message",
    "settings_to_wire",
    "size_at_bet",
    "to_wire",
]

def size_at_bet(
    points: Sequence[tuple[Decimal, Decimal, Decimal]], max_bet: Decimal
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(size, cost, ROI %) the executor's sizing reaches with ``max_bet`` on an
    opportunity's curve (``(size, cost, ROI %)`` points), before its ROI bands and
    ``min_bet``: the same arithmetic as admission (a size between two points costs the
    segment's marginal price plus a cushion). None when not even the smallest fits."""
    curve = [CurvePoint(size, cost, size - cost, roi) for size, cost, roi in points]
    fits = [c for c in size_candidates(curve, max_bet) if c.cost <= max_bet]
    if not fits:
        return None
    best = fits[-1]
    return best.contracts, best.cost, best.roi_pct


PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_ID_LENGTH: Final = 128
MAX_NOTE_LENGTH: Final = 1000
# Numbers beyond this many digits before the point are not prices or counts anyone means.
MAX_NUMBER_DIGITS: Final = 30
WHOLE_MESSAGE: Final = "$"

# --- server -> client --------------------------------------------------------------------

INIT: Final = "init"
BALANCE_UPDATE: Final = EventKind.BALANCE_UPDATE
TRADE_EVENT: Final = EventKind.TRADE_EVENT
POSITION_OPENED: Final = EventKind.POSITION_OPENED
POSITION_CLOSED: Final = EventKind.POSITION_CLOSED
SETTINGS_CHANGED: Final = EventKind.SETTINGS_CHANGED
STATUS_CHANGED: Final = EventKind.STATUS_CHANGED
ERROR: Final = "error"
# additions
ACK: Final = "ack"
OPPORTUNITIES_SNAPSHOT: Final = "opportunities_snapshot"
OPPORTUNITY_OPENED: Final = EventKind.OPPORTUNITY_OPENED
OPPORTUNITY_UPDATED: Final = EventKind.OPPORTUNITY_UPDATED
OPPORTUNITY_CLOSED: Final = EventKind.OPPORTUNITY_CLOSED
PNL_POINT: Final = EventKind.PNL_POINT
REFUSAL: Final = EventKind.REFUSAL
MAPPING_CHANGED: Final = EventKind.MAPPING_CHANGED
VENUE_STATUS: Final = EventKind.VENUE_STATUS
HEARTBEAT: Final = EventKind.HEARTBEAT
ALERT: Final = EventKind.ALERT
ALERT_DISMISSED: Final = EventKind.ALERT_DISMISSED
#: The worker sends ``heartbeat`` this often; a client that hears nothing for
#: :data:`STALE_AFTER_S` must treat what it shows as stale.
HEARTBEAT_S: Final = 1.0
STALE_AFTER_S: Final = 3.0
ALERT_KINDS: Final = tuple(k.value for k in AlertKind)
DISCOVERY_REFUSALS: Final = EventKind.DISCOVERY_REFUSALS
#: How many refused listings ``init``, ``/api/status`` and ``discovery_refusals`` carry.
DISCOVERY_REFUSALS_LIMIT: Final = 200

PLAN_TYPES: Final = frozenset(
    {INIT, BALANCE_UPDATE, TRADE_EVENT, POSITION_OPENED, POSITION_CLOSED, SETTINGS_CHANGED, STATUS_CHANGED, ERROR}
)
SERVER_TYPES: Final = PLAN_TYPES | {
    ACK,
    OPPORTUNITIES_SNAPSHOT,
    OPPORTUNITY_OPENED,
    OPPORTUNITY_UPDATED,
    OPPORTUNITY_CLOSED,
    PNL_POINT,
    REFUSAL,
    MAPPING_CHANGED,
    VENUE_STATUS,
    HEARTBEAT,
    ALERT,
    ALERT_DISMISSED,
    DISCOVERY_REFUSALS,
}
# Event-bus event types the server forwards to every client as they are.
BROADCAST_TYPES: Final = SERVER_TYPES - {INIT, ERROR, ACK, OPPORTUNITIES_SNAPSHOT}

# Setting bounds for the dashboard's widgets (the worker still validates).
SETTING_BOUNDS: Final[Mapping[str, FieldSpec]] = {spec.name: spec for spec in FIELDS}


class BalancesData(TypedDict):
    """Dollars per venue; ``null`` while a venue's balance has never been read."""

    poly: Decimal | None
    kalshi: Decimal | None


class StatsData(TypedDict):
    trades: int
    pnl: Decimal
    wins: int


class DiscoveryRefusal(TypedDict):
    """One listing left out at discovery: ``venue`` (``kalshi``, ``polymarket``,
    ``polymarket_us``), ``id`` (the venue's market id: Kalshi ticker, Gamma market id,
    Polymarket US slug; ``event <id>`` for a whole event), ``reason``, ``at`` (first seen)."""

    venue: str
    id: str
    reason: str
    at: datetime


class DiscoveryData(TypedDict):
    """``discovery`` in ``init`` and ``/api/status``, and the ``discovery_refusals`` data:
    ``refused_count`` is the full count; ``refused`` the latest first seen, at most
    :data:`DISCOVERY_REFUSALS_LIMIT`; ``discovered_at`` null before any discovery ran."""

    refused_count: int
    refused: list[DiscoveryRefusal]
    discovered_at: datetime | None


class InitData(TypedDict, total=False):
    enabled: bool
    settings: dict[str, Any]
    balances: BalancesData
    stats: StatsData
    positions: list[dict[str, Any]]
    mode: str
    poly_venue: str
    limits: dict[str, Any]
    venues: dict[str, Any]
    uptime_s: Decimal
    server_time: str
    books: dict[str, Any] | None
    alerts: list[dict[str, Any]]
    discovery: DiscoveryData


class ErrorMessage(TypedDict):
    type: Literal["error"]
    message: str
    field: str | None
    id: str | None


class AckMessage(TypedDict):
    type: Literal["ack"]
    action: str
    id: str | None
    data: dict[str, Any]


# --- client -> server --------------------------------------------------------------------

TOGGLE_ENABLED: Final = "toggle_enabled"
UPDATE_SETTINGS: Final = "update_settings"
CLOSE_POSITION: Final = "close_position"
CONFIRM_MAPPING: Final = "confirm_mapping"
REJECT_MAPPING: Final = "reject_mapping"
RETRY_UNWIND: Final = "retry_unwind"
RESOLVE_STRANDED: Final = "resolve_stranded"
KILL_SWITCH: Final = "kill_switch"
DISMISS_ALERT: Final = "dismiss_alert"

FieldKind = Literal["bool", "id", "note", "settings", "amount"]

# action -> its required fields and their kinds (the optional ``id`` is allowed on all).
ACTIONS: Final[Mapping[str, Mapping[str, FieldKind]]] = {
    TOGGLE_ENABLED: {"value": "bool"},
    UPDATE_SETTINGS: {"settings": "settings"},
    CLOSE_POSITION: {"position_id": "id"},
    CONFIRM_MAPPING: {"mapping_id": "id"},
    REJECT_MAPPING: {"mapping_id": "id"},
    RETRY_UNWIND: {"attempt_id": "id"},
    RESOLVE_STRANDED: {"attempt_id": "id", "note": "note"},
    KILL_SWITCH: {"flatten": "bool"},
    DISMISS_ALERT: {"alert_id": "id"},
}
# action -> fields it may carry besides the required ones.
OPTIONAL: Final[Mapping[str, Mapping[str, FieldKind]]] = {
    # What the stranded contracts brought in (sold by hand; 0 if worthless): the loss is
    # realised now. Without it the stranded leg is settled when its market resolves.
    RESOLVE_STRANDED: {"proceeds": "amount"},
}
#: The largest amount an action may name, in dollars.
MAX_AMOUNT: Final = Decimal(10_000_000)
ACTION_NAMES: Final = tuple(ACTIONS)
_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]+$")


class ProtocolError(ValueError):
    """A client message was refused; ``field`` names the first offending field.

    ``id`` is the client's request id when it could be read (so the ``error`` echoes it).
    """

    def __init__(self, field: str | None, message: str, id: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.id = id


@dataclass(frozen=True)
class ClientMessage:
    """A validated client action. ``fields`` holds canonical values (settings as Decimal/int)."""

    action: str
    fields: Mapping[str, Any]
    id: str | None = None


class BadNumber:
    """A JSON number the server will not take (NaN, Infinity, absurdly long).

    The parser yields this placeholder instead of failing, so the field check can name
    the field it was sent in (``min_bet``), as for any other wrong value.
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"BadNumber({self.reason!r})"


def _reject_constant(name: str) -> BadNumber:
    return BadNumber(f"{name} is not a finite number")


def _parse_int(text: str) -> int | BadNumber:
    # Bounded before int() so a 100,000-digit number costs nothing and never trips
    # Python's int-conversion limit with an unexpected exception.
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        return BadNumber("number out of range")
    return int(text)


def _parse_float(text: str) -> Decimal | BadNumber:
    if len(text) > 2 * MAX_NUMBER_DIGITS:
        return BadNumber("number out of range")
    number = Decimal(text)
    if not number.is_finite() or abs(number.adjusted()) > MAX_NUMBER_DIGITS:
        return BadNumber("number out of range")
    return number


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Two values for one key: which one "counts" differs between parsers.
            raise _DuplicateKey(key)
        result[key] = value
    return result


def loads(raw: str | bytes) -> Any:
    """Parse JSON exactly: floats as ``Decimal``, no NaN/Infinity, no duplicate keys.

    Raises :class:`ProtocolError` (field ``"$"``, or the duplicated key).
    """
    if isinstance(raw, bytes | bytearray):
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ProtocolError(WHOLE_MESSAGE, f"message larger than {MAX_MESSAGE_BYTES} bytes")
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(WHOLE_MESSAGE, "message is not UTF-8 text") from None
    elif len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError(WHOLE_MESSAGE, f"message larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        return json.loads(
            raw,
            parse_float=_parse_float,
            parse_int=_parse_int,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicates,
        )
    except _DuplicateKey as exc:
        raise ProtocolError(exc.key, f"duplicate key {exc.key!r}") from None
    except ProtocolError:
        raise
    except RecursionError:
        raise ProtocolError(WHOLE_MESSAGE, "message nested too deeply") from None
    except (ValueError, InvalidOperation):
        raise ProtocolError(WHOLE_MESSAGE, "message is not valid JSON") from None


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float | BadNumber):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _check_id(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ProtocolError(field, f"{field} must be a string, got {_type_name(value)}")
    if not value or len(value) > MAX_ID_LENGTH or not _ID_RE.match(value):
        raise ProtocolError(field, f"{field} is not a valid id")
    return value


def _check_field(action: str, field: str, kind: FieldKind, value: object, msg_id: str | None) -> Any:
    try:
        if kind == "bool":
            if not isinstance(value, bool):
                raise ProtocolError(field, f"{field} must be true or false, got {_type_name(value)}")
            return value
        if kind == "id":
            return _check_id(field, value)
        if kind == "note":
            if not isinstance(value, str):
                raise ProtocolError(field, f"{field} must be a string, got {_type_name(value)}")
            text = value.strip()
            if not text:
                raise ProtocolError(field, f"{field} must not be empty")
            if len(text) > MAX_NOTE_LENGTH:
                raise ProtocolError(field, f"{field} is longer than {MAX_NOTE_LENGTH} characters")
            if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
                raise ProtocolError(field, f"{field} contains control characters")
            return text
        if kind == "amount":
            return _check_amount(field, value)
        return _check_settings(value)
    except ProtocolError as exc:
        exc.id = msg_id
        raise


def _check_amount(field: str, value: object) -> Decimal:
    """A dollar amount: a finite JSON number >= 0 (exact, never a float), at most
    :data:`MAX_AMOUNT`, to the micro-dollar at most."""
    if isinstance(value, BadNumber):
        raise ProtocolError(field, f"{field}: {value.reason}")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ProtocolError(field, f"{field} must be a number of dollars, got {_type_name(value)}")
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ProtocolError(field, f"{field} must be between 0 and {MAX_AMOUNT} dollars")
    if amount != amount.quantize(Decimal("0.000001")):
        raise ProtocolError(field, f"{field} has more than 6 decimal places")
    return amount


def _check_settings(value: object) -> dict[str, Decimal | int]:
    """Types and per-field bounds; the cross-field rules (min <= max) need the current
    settings and are checked by the settings manager, all or nothing."""
    if not isinstance(value, dict):
        raise ProtocolError("settings", f"settings must be an object, got {_type_name(value)}")
    if not value:
        raise ProtocolError("settings", "no settings given")
    result: dict[str, Decimal | int] = {}
    for key, raw in value.items():
        if key == "enabled":
            raise ProtocolError("enabled", "enabled is changed with toggle_enabled, not update_settings")
        if key not in FIELD_NAMES:
            raise ProtocolError(key, f"unknown setting {key!r}")
        if isinstance(raw, BadNumber):
            raise ProtocolError(key, f"{key}: {raw.reason}")
        if isinstance(raw, float):  # never produced by loads(); refused so no float sneaks in
            raise ProtocolError(key, f"{key} must be an exact number")
        try:
            result[key] = coerce_field(key, raw)
        except SettingsError as exc:
            raise ProtocolError(exc.field, exc.message) from None
    return result


def parse_client_message(raw: str | bytes | Mapping[str, Any]) -> ClientMessage:
    """Validate one client message completely, before it touches any state.

    Raises :class:`ProtocolError` naming the first offending field (``"$"`` for the
    message as a whole). Checks, in order: size, JSON, object, ``id``, ``action``,
    unknown keys, missing keys, then each field in the action's order.
    """
    data = loads(raw) if isinstance(raw, str | bytes | bytearray) else raw
    if not isinstance(data, dict):
        raise ProtocolError(WHOLE_MESSAGE, f"message must be a JSON object, got {_type_name(data)}")
    msg_id: str | None = None
    if "id" in data:
        msg_id = _check_id("id", data["id"])
    if "action" not in data:
        raise ProtocolError("action", "missing action", msg_id)
    action = data["action"]
    if not isinstance(action, str):
        raise ProtocolError("action", f"action must be a string, got {_type_name(action)}", msg_id)
    spec = ACTIONS.get(action)
    if spec is None:
        raise ProtocolError("action", f"unknown action {action[:40]!r}", msg_id)
    optional = OPTIONAL.get(action, {})
    for key in data:
        if key not in spec and key not in optional and key not in ("action", "id"):
            raise ProtocolError(str(key)[:64], f"unknown key {str(key)[:40]!r} for {action}", msg_id)
    fields: dict[str, Any] = {}
    for field, kind in spec.items():
        if field not in data:
            raise ProtocolError(field, f"{action} needs {field}", msg_id)
        fields[field] = _check_field(action, field, kind, data[field], msg_id)
    for field, kind in optional.items():
        fields[field] = None if data.get(field) is None else _check_field(action, field, kind, data[field], msg_id)
    return ClientMessage(action=action, fields=fields, id=msg_id)


# --- exact JSON out ----------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A finite Decimal as the exact JSON number it is (``5.00`` → ``5.00``)."""
    if not value.is_finite():
        raise ValueError("non-finite numbers are never sent")
    text = format(value, "f")
    return "0" if text in ("-0", "+0") else text


#: Field names per dataclass type, read once (``dataclasses.fields`` is slow to call for
#: every object of every message).
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_PLAIN = (str, int, Decimal, bool, type(None))


def to_wire(value: Any) -> Any:
    """Plain JSON-ready data from domain values.

    Dataclasses become objects, enums their value, aware datetimes ISO-8601 UTC
    (``…Z``), dates ``YYYY-MM-DD``, tuples/sets arrays. Decimals stay Decimals (for
    :func:`dumps`); floats are refused because money never passes through them.
    """
    kind = type(value)
    if kind in _PLAIN:  # the exact types (an enum that is also a str goes below)
        return value
    names = _FIELD_NAMES.get(kind)
    if names is not None:
        return {name: to_wire(getattr(value, name)) for name in names}
    if value is None or isinstance(value, bool | str | int | Decimal):
        if isinstance(value, Enum):
            return value.value
        return value
    if isinstance(value, Enum):
        return to_wire(value.value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("non-finite numbers are never sent")
        # Display-only REAL values read back from the plan's columns: exact decimal of the repr.
        return Decimal(repr(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: times on the wire are UTC")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
        return {name: to_wire(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_wire(v) for v in value]
    raise TypeError(f"{type(value).__name__} cannot be sent on the wire")


_encode_str: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, Sequence):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        _encode(to_wire(value), out)


def dumps(value: Any) -> str:
    """JSON text with Decimals written exactly as JSON numbers (never via float)."""
    out: list[str] = []
    _encode(to_wire(value), out)
    return "".join(out)


def message(type_: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A server → client message ``{"type": T, "data": {...}}``."""
    if type_ not in SERVER_TYPES or type_ in (ERROR, ACK):
        raise ValueError(f"not a data message type: {type_}")
    return {"type": type_, "data": to_wire(data)}


def error(message_: str, field: str | None, id: str | None = None) -> ErrorMessage:
    """The plan's error shape, plus the client's request ``id`` when it sent one."""
    return {"type": "error", "message": message_, "field": field, "id": id}


def ack(action: str, id: str | None, data: Mapping[str, Any] | None = None) -> AckMessage:
    """The one acknowledgement of an accepted action, echoing the client's ``id``."""
    return {"type": "ack", "action": action, "id": id, "data": to_wire(dict(data or {}))}


def settings_to_wire(settings: ExecutorSettings) -> dict[str, Any]:
    """The complete settings, ``enabled`` included, as wire values (Decimal / int / bool)."""
    return settings.values()


def decode_server_message(raw: str | bytes) -> dict[str, Any]:
    """For clients (the dashboard): one server message, numbers parsed exactly."""
    data = json.loads(raw, parse_float=Decimal)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ValueError("server message must be an object with a type")
    return data


def trade_event_data(trade: Any) -> dict[str, Any]:
    """A trade-log row as ``trade_event`` data: the plan's ``event`` and ``status`` first."""
    data = to_wire(trade)
    if not isinstance(data, dict):
        raise TypeError("a trade must be an object")
    return {"event": data.get("event_title", data.get("event")), "status": data.get("status"), **data}


# =========================================================================================
# Engine events -> server messages
#
# Each event class of worker.domain.events is written as exactly one server message, by
# the one encoder registered for it below; the server forwards every bus event with
# event_message(). The data is JSON-ready (Decimals stay Decimals for dumps()). Times are
# ISO-8601 UTC ("…Z"), except the fields the engine has always written with the datetime's
# own offset ("+00:00"): trade_event and position_closed "timestamp", refusal "timestamp",
# pnl_point "t".
# =========================================================================================

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
    return {"t": _offset_time(e.t), "pnl": e.pnl, "delta": e.delta, "trade_id": e.trade_id}


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


if set(_EVENT_ENCODERS) != set(EVENT_CLASSES.values()):
    raise RuntimeError("every engine event class needs exactly one encoder in worker.api.schemas")
