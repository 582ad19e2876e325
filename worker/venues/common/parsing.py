"""Small tolerant readers for venue JSON: Decimal strings, timestamps, JSON-in-a-string."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from worker.domain.money import D


class PayloadError(ValueError):
    """A venue payload did not have the shape we rely on."""


class MarketRefused(PayloadError):
    """One market of a listing is well formed but cannot be traded safely (e.g. fees are
    enabled and the market does not say how much): the listing goes on without it.

    ``reason`` says why, for the operator; listing parsers skip the market and log it.
    """

    def __init__(self, market_id: str, reason: str) -> None:
        super().__init__(f"market {market_id} refused: {reason}")
        self.market_id = market_id
        self.reason = reason


def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    """Decimal from a venue string/int; ``None``/empty gives ``default``.

    Venues send money as strings (Kalshi ``*_dollars``, Polymarket ``price``); JSON
    numbers are converted through ``str`` so a float's binary error never becomes money.
    """
    if value is None or value == "":
        return default
    if isinstance(value, float):
        value = repr(value)
    try:
        return D(value)
    except (TypeError, ValueError) as exc:
        raise PayloadError(f"not a decimal: {value!r}") from exc


def req_dec(value: Any, what: str) -> Decimal:
    out = dec(value)
    if out is None:
        raise PayloadError(f"missing {what}")
    return out


def ts(value: Any) -> datetime | None:
    """Aware-UTC datetime from ISO-8601 (``Z`` or offset) or epoch seconds/milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return ts(int(text))
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise PayloadError(f"not a timestamp: {value!r}") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise PayloadError(f"not a timestamp: {value!r}")


def json_list(value: Any) -> list[Any]:
    """Gamma's JSON-encoded list strings (``"[\\"Rockets\\", \\"Kings\\"]"``) or a real list."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            out = json.loads(value)
        except json.JSONDecodeError as exc:
            raise PayloadError(f"not a JSON list: {value!r}") from exc
        if not isinstance(out, list):
            raise PayloadError(f"not a JSON list: {value!r}")
        return out
    raise PayloadError(f"not a list: {value!r}")


def obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{what} is not an object")
    return value


def text(value: Any) -> str:
    return "" if value is None else str(value)
