"""Small tolerant readers for venue JSON: Decimal strings, timestamps, JSON-in-a-string,
and the rule that one bad market is refused alone (:func:`listing_markets`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from worker.domain.money import D


class PayloadError(ValueError):
    """A venue payload did not have the shape we rely on."""


class MarketRefused(PayloadError):
    """One market (or one event) of a listing cannot be used: it is malformed (no
    ``clobTokenIds``, outcomes and tokens that do not pair up, a number that is not one, a
    missing id …) or cannot be traded safely (fees enabled without a rate). The listing
    goes on without it.

    ``market_id`` names it as the venue does (Gamma id, Kalshi ticker, Polymarket US slug;
    ``event <id>`` for a whole event, ``event <id> market #<n>`` when the market has no id);
    ``reason`` says why, for the operator.
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


def venue_time(value: Any) -> datetime | None:
    """A venue's own timestamp of a message (:func:`ts`), or None when it has none or an
    unreadable one: it is kept for the record, never a reason to drop the message."""
    try:
        return ts(value)
    except (PayloadError, ValueError, OverflowError, OSError):
        return None


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


#: What reading one market can raise when the market is malformed (never a bug's
#: NameError/AssertionError: those still fail loudly).
MARKET_ERRORS: tuple[type[Exception], ...] = (
    PayloadError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    ArithmeticError,
)


def refusal(market_id: str, exc: Exception) -> MarketRefused:
    """``exc`` (raised while reading market ``market_id``) as that market's refusal."""
    if isinstance(exc, MarketRefused):
        return exc
    reason = str(exc) if isinstance(exc, PayloadError) else f"{type(exc).__name__}: {exc}"
    return MarketRefused(market_id, reason or type(exc).__name__)


def note_refused(
    exc: MarketRefused, refused: list[MarketRefused] | None, logger: logging.Logger, venue: str
) -> None:
    """Hand a refusal to the caller's list; without one, log it (the caller logs otherwise,
    once per market, so a listing polled again does not log it again)."""
    if refused is not None:
        refused.append(exc)
    else:
        logger.warning("%s: %s", venue, exc)


def listing_markets(
    events: list[Any],
    refused: list[MarketRefused] | None,
    logger: logging.Logger,
    venue: str,
    event_id: Callable[[Mapping[str, Any]], str],
    market_id: Callable[[Mapping[str, Any]], str],
) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """Every (market id, market object, its event) of a page of events.

    An event that is not an object, or whose ``markets`` is not a list, and a market that
    is not an object, are refused here (noted, skipped); the rest of the page is yielded.
    The caller parses each market inside ``try`` and notes :func:`refusal` on failure.
    """
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            note_refused(
                MarketRefused(f"event #{i}", f"event is not an object: {type(ev).__name__}"),
                refused, logger, venue,
            )
            continue
        eid = event_id(ev) or f"#{i}"
        markets = ev.get("markets")
        if markets is None:
            continue
        if not isinstance(markets, list):
            note_refused(
                MarketRefused(f"event {eid}", f"markets is not a list: {type(markets).__name__}"),
                refused, logger, venue,
            )
            continue
        for j, m in enumerate(markets):
            if not isinstance(m, Mapping):
                note_refused(
                    MarketRefused(f"event {eid} market #{j}", f"market is not an object: {type(m).__name__}"),
                    refused, logger, venue,
                )
                continue
            yield market_id(m) or f"event {eid} market #{j}", m, ev
