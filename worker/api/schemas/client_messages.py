"""Client → server: exact JSON in (:func:`loads`), and a client message validated
completely before it touches any state (:func:`parse_client_message`), the first
offending field named."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from worker.api.schemas.protocol import (
    ACTIONS,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_MESSAGE_BYTES,
    MAX_NOTE_LENGTH,
    MAX_NUMBER_DIGITS,
    OPTIONAL,
    WHOLE_MESSAGE,
    FieldKind,
)
from worker.api.views.reading import json_kind
from worker.domain.settings import FIELD_NAMES, SettingsError, coerce_field
from worker.domain.settings import label as setting_label

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
    """What a client sent, for an error (as the decoders say it); a refused number is
    still a number."""
    return "a number" if isinstance(value, BadNumber) else json_kind(value)


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
            raise ProtocolError(key, f"{setting_label(key)}: {raw.reason}")
        if isinstance(raw, float):  # never produced by loads(); refused so no float sneaks in
            raise ProtocolError(key, f"{setting_label(key)} must be an exact number")
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
