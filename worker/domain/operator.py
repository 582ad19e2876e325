"""The operator's console: what the worker's server may ask of the engine, as ports.

The server (``worker/api``) talks to one :class:`OperatorConsole` object handed to it by
the composition root; it never reaches into the engine. The console is built from the
settings manager and trade logger, plus an :class:`ExecutionControl` (the executor:
closing positions, STRANDED handling, kill switch, balances, venue states) and a
:class:`MappingDecisions` store (the scanner's mappings) when those are running. An
action whose engine part is not running raises :class:`ActionUnavailable` — never a fake
success.

Every refusal is an :class:`OperatorError` naming the field the operator should look at
(``position_id``, ``attempt_id`` …); a refused action changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from worker.domain.mapping import JudgedMapping
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import DailyStats, StoredPosition


class OperatorError(Exception):
    """An operator action was refused; ``field`` names the offending field. Nothing changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ActionUnavailable(OperatorError):
    """The part of the engine this action needs is not running (e.g. no executor yet)."""


class VenueConnection(StrEnum):
    """Connection states a venue feed reports."""

    UP = "up"
    DOWN = "down"
    CONNECTING = "connecting"
    NOT_RUNNING = "not_running"


class DatabaseState(StrEnum):
    """The database's state as the last write probe found it."""

    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class DatabaseStatus:
    """The database as last probed: ``error`` a short secret-free reason (None when up),
    ``since`` when the state last changed."""

    state: DatabaseState
    error: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class VenueState:
    """One venue's feed as the operator sees it.

    ``data_age_ms`` is the age of the freshest book data (None if none was ever received);
    ``detail`` is a short, secret-free reason when the venue is down.
    """

    venue: str
    state: str
    data_age_ms: int | None = None
    detail: str | None = None
    since: datetime | None = None

    @property
    def live(self) -> bool:
        return self.state == VenueConnection.UP


@dataclass(frozen=True)
class Balances:
    """Cash per side of the arbitrage, in dollars; None while never read."""

    poly: Decimal | None = None
    kalshi: Decimal | None = None


@dataclass(frozen=True)
class ConsoleSnapshot:
    """Everything ``init`` and ``/api/status`` show, taken at one moment."""

    settings: ExecutorSettings
    balances: Balances
    #: None while the database is down and nothing was read from it yet.
    stats: DailyStats | None
    positions: Sequence[StoredPosition] | None
    venues: Sequence[VenueState]
    opportunities: Sequence[Mapping[str, Any]]
    limits: Mapping[str, Any]
    mode: str
    poly_venue: str
    started_at: datetime
    taken_at: datetime
    last_trade_at: datetime | None = None
    executor_running: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def kill_switch_answer(
    *,
    saved: bool,
    cancelled: int,
    orders_checked: bool,
    flattened: Sequence[Mapping[str, Any]] = (),
    executor_running: bool = True,
    note: str | None = None,
    flatten_skipped: bool = False,
) -> dict[str, Any]:
    """The kill switch's answer, one shape wherever it is pulled: trading is paused;
    ``saved``: ``enabled`` off was stored; ``cancelled``: resting orders the venues took off
    their books; ``orders_checked``: whether they were looked for at all (False: the
    executor or the database was not there, so ``cancelled`` 0 says nothing); ``flattened``:
    each position's close result; ``flatten_skipped``: flattening was asked for and not
    tried (no position was touched); ``note``: what the operator should know."""
    return {
        "paused": True,
        "saved": saved,
        "cancelled": cancelled,
        "orders_checked": orders_checked,
        "flattened": list(flattened),
        "executor_running": executor_running,
        "note": note,
        "flatten_skipped": flatten_skipped,
    }


def kill_switch_report(flatten: bool, result: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``kill_switch`` alert's message and data for the answer ``result``: what was
    stopped and cancelled, and with ``flatten`` how many positions closed of how many and
    each one that did not with its reasons (``data``: ``total``, ``closed``, ``failed``,
    ``failures``: ``[{position_id, problems}]``)."""
    parts = ["new trades stopped"]
    if result["saved"] is False:
        parts.append("'enabled' NOT saved (database unavailable): it must be paused again once it is back")
    if result["orders_checked"]:
        parts.append(f"{result['cancelled']} resting orders cancelled")
    elif result["executor_running"]:
        parts.append("resting orders NOT checked: check the venues")
    data: dict[str, Any] = {"flatten": flatten}
    if flatten and result.get("flatten_skipped"):
        data.update(flatten_skipped=True)
        parts.append("open positions NOT flattened (not tried: the database is unavailable): close them at the "
                     "venues or pull the kill switch again once it is back")
    elif flatten:
        results = list(result["flattened"])
        failures = [
            {"position_id": str(r.get("position_id")), "problems": [str(p) for p in r.get("problems") or ()]}
            for r in results if not r.get("closed")
        ]
        closed = len(results) - len(failures)
        data.update(total=len(results), closed=closed, failed=len(failures), failures=failures)
        parts.append(f"{closed} of {len(results)} open positions closed")
        if failures:
            parts.append(f"{len(failures)} NOT closed: " + "; ".join(
                f"position {f['position_id']}: {', '.join(f['problems']) or 'no reason given'}" for f in failures
            ))
    return "; ".join(parts) + ". Trading stays paused until someone starts it again.", data


class ExecutionControl(Protocol):
    """What the executor offers the operator; implemented by ``worker/engine/executor``.

    Each action returns a small JSON-ready result for the ``ack`` and publishes its own
    effects (``position_closed``, ``trade_event`` …) on the event bus. Refusals raise
    :class:`OperatorError` naming the field; nothing changes on refusal.
    """

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        """Close an open position at the venues (waits for an in-flight attempt on it)."""

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        """Run the unwind ladder again for a STRANDED attempt."""

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        """Take a STRANDED attempt off the desk with the operator's note: with
        ``proceeds`` (what its contracts brought in) its loss is realised now, without
        them its leg settles when the market resolves."""

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        """Pause, cancel every resting order, and flatten all positions if asked."""

    def balances(self) -> Balances:
        """Last known balances (no I/O)."""

    def venue_states(self) -> Sequence[VenueState]:
        """Each venue's connection state and data age (no I/O)."""


class MappingDecisions(Protocol):
    """The operator's decisions on market mappings (the scanner's mapping store).

    ``get`` and ``list`` return mappings as JSON-ready objects (with at least ``id`` and
    ``status``). ``decide`` records the decision on the mapping's whole game (both
    directions) and returns the mapping asked for, with whether it may now trade; it
    raises :class:`OperatorError` (field ``mapping_id``) for an unknown id. ``game`` lists
    the game's mappings, each with its verdict, the one asked for first.
    """

    async def get(self, mapping_id: str) -> Mapping[str, Any] | None: ...

    async def list(self, status: str | None = None) -> Sequence[Mapping[str, Any]]: ...

    async def decide(
        self, mapping_id: str, status: str, now: datetime, note: str | None = None
    ) -> JudgedMapping: ...

    async def game(self, mapping_id: str) -> Sequence[JudgedMapping]: ...


class OperatorConsole(Protocol):
    """The single object the worker's server calls; see the module docstring."""

    async def snapshot(self) -> ConsoleSnapshot: ...

    async def toggle_enabled(self, value: bool) -> ExecutorSettings: ...

    async def update_settings(self, patch: Mapping[str, Any]) -> ExecutorSettings: ...

    async def close_position(self, position_id: str) -> Mapping[str, Any]: ...

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]: ...

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]: ...

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]: ...

    async def confirm_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]: ...

    async def reject_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]: ...

    async def reopen_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]: ...
