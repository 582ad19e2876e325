"""Exact JSON out: domain values as wire data (:func:`to_wire`), Decimals written as the
exact JSON numbers they are (:func:`dumps`), and the server messages' envelopes."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from worker.api.schemas.protocol import ACK, ERROR, SERVER_TYPES, AckMessage, ErrorMessage
from worker.domain.settings import ExecutorSettings


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
