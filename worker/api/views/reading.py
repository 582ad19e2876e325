"""Reading the JSON values of a worker message, for the views of :mod:`worker.api.views`.

A reader takes a value and where it is (``trade_event.data.bet_size``) and returns it typed,
or raises :class:`ViewError` naming the place and what is wrong. :class:`Obj` reads the
keys of one JSON object: always sent (:meth:`Obj.req`), sent possibly null
(:meth:`Obj.null`), or left out by some producer (:meth:`Obj.opt`).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")
Read = Callable[[object, str], T]


class ViewError(ValueError):
    """A worker message that does not read as the protocol says. ``where`` names the
    message and the field (``trade_event.data.bet_size``), ``problem`` what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


def json_kind(value: object) -> str:
    """What a JSON value is, for an error (``a string``, ``null`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ViewError(where, f"must be a string, got {json_kind(value)}")
    return value


def count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ViewError(where, f"must be a whole number, got {json_kind(value)}")
    return value


def flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ViewError(where, f"must be true or false, got {json_kind(value)}")
    return value


def number(value: object, where: str) -> Decimal:
    """An exact JSON number (int or Decimal, as ``parse_float=Decimal`` reads it)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ViewError(where, "must be a finite number")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise ViewError(where, f"must be an exact number, got {json_kind(value)}")


def moment(value: object, where: str) -> datetime:
    """ISO-8601 text with a zone (the worker writes UTC as ``…Z`` or ``+00:00``)."""
    raw = text(value, where)
    try:
        parsed = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise ViewError(where, f"is not an ISO-8601 time: {raw[:40]!r}") from None
    if parsed.tzinfo is None:
        raise ViewError(where, f"has no time zone: {raw[:40]!r}")
    return parsed.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


def enum_of(cls: type[E]) -> Read[E]:
    def read(value: object, where: str) -> E:
        raw = text(value, where)
        try:
            return cls(raw)
        except ValueError:
            raise ViewError(where, f"{raw[:40]!r} is not a {cls.__name__}") from None

    return read


def array_of(item: Read[T]) -> Read[tuple[T, ...]]:
    def read(value: object, where: str) -> tuple[T, ...]:
        if not isinstance(value, list | tuple):
            raise ViewError(where, f"must be an array, got {json_kind(value)}")
        return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return read


def by_name(item: Read[T]) -> Read[Mapping[str, T]]:
    def read(value: object, where: str) -> Mapping[str, T]:
        if not isinstance(value, Mapping):
            raise ViewError(where, f"must be an object, got {json_kind(value)}")
        return types.MappingProxyType({str(k): item(v, f"{where}.{k}") for k, v in value.items()})

    return read


def json_object(value: object, where: str) -> Mapping[str, Any]:
    """An object whose contents the views leave as they are (read-only)."""
    if not isinstance(value, Mapping):
        raise ViewError(where, f"must be an object, got {json_kind(value)}")
    return types.MappingProxyType(dict(value))


class Obj:
    """One JSON object being read, and where it is (for the errors)."""

    __slots__ = ("_data", "_where")

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, Mapping):
            raise ViewError(where, f"must be an object, got {json_kind(value)}")
        self._data: Mapping[Any, Any] = value
        self._where = where

    def req(self, key: str, read: Read[T]) -> T:
        """A key always sent, never null."""
        if key not in self._data:
            raise ViewError(f"{self._where}.{key}", "missing")
        value = self._data[key]
        if value is None:
            raise ViewError(f"{self._where}.{key}", "must not be null")
        return read(value, f"{self._where}.{key}")

    def null(self, key: str, read: Read[T]) -> T | None:
        """A key always sent, possibly null."""
        if key not in self._data:
            raise ViewError(f"{self._where}.{key}", "missing")
        value = self._data[key]
        return None if value is None else read(value, f"{self._where}.{key}")

    def opt(self, key: str, read: Read[T]) -> T | None:
        """A key some producer leaves out (None when absent or null)."""
        value = self._data.get(key)
        return None if value is None else read(value, f"{self._where}.{key}")


def object_of(decode: Callable[[Obj], T]) -> Read[T]:
    """The reader of a JSON object that ``decode`` turns into a view."""
    return lambda value, where: decode(Obj(value, where))

