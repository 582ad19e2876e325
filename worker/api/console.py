"""The operator console: the one object the server calls (:class:`~worker.domain.operator.OperatorConsole`).

Built by the composition root from what runs: the settings manager and trade logger
always; the executor (:class:`~worker.domain.operator.ExecutionControl`) and the mapping
store (:class:`~worker.domain.operator.MappingDecisions`) when they are there. An action
whose engine part is missing raises :class:`~worker.domain.operator.ActionUnavailable`
(the client gets an ``error``), never a pretend success.

Announcements: every committed settings change is published on the event bus as
``settings_changed`` (the complete settings), and as ``status_changed`` when ``enabled``
flipped, so every client sees a change made by any other client. The console also keeps
the live opportunities (from the scanner's ``opportunity_*`` events) for the snapshot sent
right after ``init``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from worker.api import schemas
from worker.domain.operator import (
    ActionUnavailable,
    Balances,
    ConsoleSnapshot,
    ExecutionControl,
    MappingDecisions,
    OperatorError,
    VenueConnection,
    VenueState,
)
from worker.domain.settings import ExecutorSettings, SettingsError
from worker.engine.event_bus import OVERFLOW, EventBus
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Probe = Callable[[], Awaitable[None]]
OPPORTUNITY_TYPES = frozenset(
    {schemas.OPPORTUNITY_OPENED, schemas.OPPORTUNITY_UPDATED, schemas.OPPORTUNITY_CLOSED}
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def settings_limits(settings: ExecutorSettings, trades_today: int, pnl_today: Decimal) -> dict[str, Any]:
    """Today's limits and what is left of them (money exact)."""
    loss_today = max(-pnl_today, Decimal(0))
    return {
        "max_daily_trades": settings.max_daily_trades,
        "trades_today": trades_today,
        "trades_left": max(settings.max_daily_trades - trades_today, 0),
        "max_daily_loss": settings.max_daily_loss,
        "loss_today": loss_today,
        "loss_left": max(settings.max_daily_loss - loss_today, Decimal(0)),
        "min_bet": settings.min_bet,
        "max_bet": settings.max_bet,
        "min_roi": settings.min_roi,
        "max_roi": settings.max_roi,
    }


class OpportunityBook:
    """The live opportunities by id, kept from the bus's ``opportunity_*`` events."""

    def __init__(self) -> None:
        self._by_id: dict[str, Mapping[str, Any]] = {}

    def apply(self, type_: str, data: Mapping[str, Any]) -> None:
        wire = schemas.to_wire(data)
        opp_id = wire.get("id") if isinstance(wire, dict) else None
        if not isinstance(opp_id, str):
            # An event shaped {"opportunity": {...}} (the scanner's OpportunityEvent).
            inner = wire.get("opportunity") if isinstance(wire, dict) else None
            opp_id = inner.get("id") if isinstance(inner, dict) else None
            wire = inner if isinstance(inner, dict) else wire
        if not isinstance(opp_id, str):
            return
        if type_ == schemas.OPPORTUNITY_CLOSED:
            self._by_id.pop(opp_id, None)
        else:
            self._by_id[opp_id] = wire

    def clear(self) -> None:
        self._by_id.clear()

    def all(self) -> list[Mapping[str, Any]]:
        return list(self._by_id.values())


class Console:
    """The operator console over the running parts of the worker (see module docstring)."""

    def __init__(
        self,
        *,
        settings: ExecutorSettingsManager,
        trades: TradeLogger,
        bus: EventBus,
        mode: str,
        poly_venue: str,
        execution: ExecutionControl | None = None,
        mappings: MappingDecisions | None = None,
        db_probe: Probe | None = None,
        venue_monitor: Callable[[], list[VenueState]] | None = None,
        lease_status: Callable[[], str] | None = None,
        books_source: Callable[[], Mapping[str, Any] | None] | None = None,
        budget_source: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None,
        standby_of: Callable[[], str | None] | None = None,
        clock: Clock = _utcnow,
    ) -> None:
        self._settings = settings
        self._trades = trades
        self._bus = bus
        self.mode = mode
        self.poly_venue = poly_venue
        self.execution = execution
        self.mappings = mappings
        self._db_probe = db_probe
        self.venue_monitor = venue_monitor
        self._lease_status = lease_status
        self._books_source = books_source
        self._budget_source = budget_source
        # The leading worker's id while this one stands by (None when it trades).
        self._standby_of = standby_of
        self._clock = clock
        self.started_at = clock()
        self.opportunities = OpportunityBook()
        self._tracker: asyncio.Task[None] | None = None
        self._unsubscribe = settings.subscribe(self._announce_settings)

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start following the scanner's opportunities (for the post-``init`` snapshot)."""
        if self._tracker is None:
            self._tracker = asyncio.create_task(self._track_opportunities(), name="console-opportunities")

    async def stop(self) -> None:
        self._unsubscribe()
        if self._tracker is not None:
            self._tracker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tracker
            self._tracker = None

    async def _track_opportunities(self) -> None:
        while True:
            sub = self._bus.subscribe(maxsize=10_000, types=set(OPPORTUNITY_TYPES))
            try:
                while True:
                    event = await sub.get()
                    if event is OVERFLOW:
                        # Fell behind a burst: forget what we had; the scanner's next
                        # updates rebuild it (clients are resynced by the server).
                        self.opportunities.clear()
                        break
                    self.opportunities.apply(event.type, event.data)
            finally:
                sub.close()

    def _announce_settings(self, old: ExecutorSettings, new: ExecutorSettings) -> None:
        self._bus.publish(schemas.SETTINGS_CHANGED, schemas.settings_to_wire(new))
        if old.enabled != new.enabled:
            self._bus.publish(schemas.STATUS_CHANGED, {"enabled": new.enabled, "at": self._clock()})

    # --- reads ---------------------------------------------------------------------------

    @property
    def settings(self) -> ExecutorSettings:
        return self._settings.current

    def venue_states(self) -> list[VenueState]:
        if self.execution is not None:
            return list(self.execution.venue_states())
        if self.venue_monitor is not None:
            return self.venue_monitor()
        # Nothing is connected to the venues: say so, per venue, rather than "up".
        return [
            VenueState("kalshi", VenueConnection.NOT_RUNNING, detail="executor not running"),
            VenueState(self.poly_venue, VenueConnection.NOT_RUNNING, detail="executor not running"),
        ]

    def _leader_elsewhere(self) -> str | None:
        return self._standby_of() if self._standby_of is not None else None

    def _refuse_on_standby(self, what: str) -> None:
        """A standby only stops things: anything else would act on stale state."""
        leader = self._leader_elsewhere()
        if leader is not None:
            raise OperatorError(
                "action",
                f"this worker is on standby: {leader} trades this account; {what} on its dashboard "
                "(here only pausing and the kill switch without flatten are accepted)",
            )

    async def snapshot(self) -> ConsoleSnapshot:
        if self._leader_elsewhere() is not None:
            # A standby's cache may lag the leader's changes: answer from the database.
            await self._settings.refresh()
        settings = self._settings.current
        stats = await self._trades.stats()
        positions = await self._trades.open_positions()
        last = await self._trades.recent_trades(limit=1)
        balances = self.execution.balances() if self.execution is not None else Balances()
        limits = settings_limits(settings, stats.trades, stats.pnl)
        if self._budget_source is not None:
            limits["loss_budget"] = await self._budget_source()
        return ConsoleSnapshot(
            settings=settings,
            balances=balances,
            stats=stats,
            positions=positions,
            venues=self.venue_states(),
            opportunities=self.opportunities.all(),
            limits=limits,
            mode=self.mode,
            poly_venue=self.poly_venue,
            started_at=self.started_at,
            taken_at=self._clock(),
            last_trade_at=last[0].timestamp if last else None,
            executor_running=self.execution is not None,
            extra={
                "lease": self._lease_status() if self._lease_status is not None else None,
                "books": self._books_source() if self._books_source is not None else None,
            },
        )

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Live only when the database answers and every venue feed is up."""
        database = "up"
        if self._db_probe is not None:
            try:
                await self._db_probe()
            except Exception as exc:  # any failure means "not live"; the type is enough
                database = f"down: {type(exc).__name__}"
        venues = {v.venue: v.state for v in self.venue_states()}
        ok = database == "up" and all(state == VenueConnection.UP for state in venues.values())
        return ok, {"database": database, "venues": venues}

    # --- actions -------------------------------------------------------------------------

    async def toggle_enabled(self, value: bool) -> ExecutorSettings:
        if value:
            self._refuse_on_standby("start trading")
        try:
            return await self._settings.set_enabled(value)
        except SettingsError as exc:
            raise OperatorError(exc.field, exc.message) from None

    async def update_settings(self, patch: Mapping[str, Any]) -> ExecutorSettings:
        self._refuse_on_standby("change the settings")
        try:
            return await self._settings.update(patch)
        except SettingsError as exc:
            raise OperatorError(exc.field, exc.message) from None

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        self._refuse_on_standby("close positions")
        open_ids = {p.id for p in await self._trades.open_positions()}
        if position_id not in open_ids:
            raise OperatorError("position_id", f"no open position {position_id}")
        if self.execution is None:
            raise ActionUnavailable("action", "closing a position needs the executor, which is not running")
        return await self.execution.close_position(position_id)

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        self._refuse_on_standby("retry unwinds")
        if self.execution is None:
            raise ActionUnavailable("action", "retrying an unwind needs the executor, which is not running")
        return await self.execution.retry_unwind(attempt_id)

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        self._refuse_on_standby("resolve stranded attempts")
        if self.execution is None:
            raise ActionUnavailable("action", "resolving a stranded attempt needs the executor, which is not running")
        return await self.execution.resolve_stranded(attempt_id, note, proceeds)

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        if flatten:
            self._refuse_on_standby("flatten positions")
        standby = self._leader_elsewhere() is not None
        if self.execution is not None and not standby:
            return await self.execution.kill_switch(flatten)
        if flatten:
            # Flattening means selling at the venues: refuse rather than pretend.
            raise ActionUnavailable("flatten", "flattening needs the executor, which is not running")
        # Stopping is always allowed: it writes `enabled` alone (a leader elsewhere follows
        # the stored settings every second and stops admitting within a second).
        await self._settings.set_enabled(False)
        return {
            "paused": True,
            "orders_cancelled": None,
            "flattened": False,
            "executor_running": False,
            "note": "trading paused from a standby; the leading worker stops within a second"
            if standby
            else "trading paused; resting orders were not checked because the executor is not running",
        }

    async def confirm_mapping(self, mapping_id: str) -> Mapping[str, Any]:
        return await self._decide(mapping_id, "confirmed")

    async def reject_mapping(self, mapping_id: str) -> Mapping[str, Any]:
        return await self._decide(mapping_id, "rejected")

    async def _decide(self, mapping_id: str, status: str) -> Mapping[str, Any]:
        self._refuse_on_standby("review mappings")
        if self.mappings is None:
            raise ActionUnavailable("action", "mapping decisions need the scanner's mapping store, which is not running")
        if await self.mappings.get(mapping_id) is None:
            raise OperatorError("mapping_id", f"no mapping {mapping_id}")
        decided = await self.mappings.decide(mapping_id, status, self._clock())
        # The decision is the game's: every mapping of it (both directions) changed.
        self._bus.publish(schemas.MAPPING_CHANGED, decided)
        for other in await self.mappings.game(mapping_id):
            if other.get("id") != mapping_id:
                self._bus.publish(schemas.MAPPING_CHANGED, other)
        return decided
