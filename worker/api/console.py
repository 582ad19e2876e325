"""The operator console: the one object the server calls (:class:`~worker.domain.operator.OperatorConsole`).

Built by the composition root from what runs: the settings manager and trade logger
always; the executor (:class:`~worker.domain.operator.ExecutionControl`) and the mapping
store (:class:`~worker.domain.operator.MappingDecisions`) when they are there. An action
whose engine part is missing raises :class:`~worker.domain.operator.ActionUnavailable`
(the client gets an ``error``), never a pretend success.

Announcements: every committed settings change is published on the event bus as
``settings_changed`` (the complete settings), and as ``status_changed`` when ``enabled``
flipped, so every client sees a change made by any other client. The console also keeps
what it follows on the bus (:mod:`worker.api.followed`): the live opportunities for the
snapshot sent right after ``init``, and the kill switch's last progress for ``init``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from worker.api import schemas
from worker.api.followed import BusFollower, OpportunityBook
from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.events import (
    AlertKind,
    Heartbeat,
    KillSwitchProgress,
    MappingChanged,
    SettingsChanged,
    StatusChanged,
    venue_feeds,
)
from worker.domain.operator import (
    ActionUnavailable,
    Balances,
    ConsoleSnapshot,
    DatabaseState,
    DatabaseStatus,
    ExecutionControl,
    MappingDecisions,
    OperatorError,
    VenueConnection,
    VenueState,
    kill_switch_answer,
    kill_switch_report,
)
from worker.domain.settings import ExecutorSettings, SettingsError
from worker.domain.tradelog import DailyStats, StoredPosition
from worker.engine.alerts import AlertCenter
from worker.engine.event_bus import EventBus
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[None]]
#: How long one database probe's answer is reused (health checks and snapshots share it).
DB_PROBE_CACHE_S = 1.0
#: Bound on the snapshot's database reads before the database is reported down.
SNAPSHOT_DB_TIMEOUT_S = 5.0


def settings_limits(settings: ExecutorSettings, trades_today: int | None, pnl_today: Decimal | None) -> dict[str, Any]:
    """Today's limits and what is left of them (money exact); what is left is ``None``
    while today's figures are unknown (the database is down)."""
    if trades_today is None or pnl_today is None:
        return {
            "max_daily_trades": settings.max_daily_trades,
            "trades_today": None,
            "trades_left": None,
            "max_daily_loss": settings.max_daily_loss,
            "loss_today": None,
            "loss_left": None,
            "min_bet": settings.min_bet,
            "max_bet": settings.max_bet,
            "min_roi": settings.min_roi,
            "max_roi": settings.max_roi,
        }
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


def _probe_reason(exc: BaseException) -> str:
    """A probe failure as short text: the probe's own reason, else the error's type only
    (a driver's message may carry a host or user name; the type never carries a secret)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        return reason[:200]
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return type(exc).__name__


@dataclass
class _Figures:
    """What the snapshot last read from the database, kept for an outage."""

    stats: DailyStats
    positions: Sequence[StoredPosition]
    last_trade_at: datetime | None
    loss_budget: Mapping[str, Any] | None
    read_at: datetime


class Console:
    """The operator console over the running parts of the worker (see module docstring).

    Database outage: ``init`` and ``/api/status`` are still served. The database's state
    (``database``: ``state`` up/down, ``error``, ``since``) comes from a write probe cached
    for :data:`DB_PROBE_CACHE_S`; while it is down, today's figures and the open positions
    are the last ones read (``database.figures_as_of`` says when; ``None`` if never read),
    and everything else (settings, balances, venues, lease, books) is from memory as usual.
    """

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
        discovery_source: Callable[[], Mapping[str, Any] | None] | None = None,
        budget_source: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None,
        standby_of: Callable[[], str | None] | None = None,
        alerts: AlertCenter | None = None,
        suspicious_roi: Decimal | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._settings = settings
        #: ``EXECUTOR_SUSPICIOUS_ROI``: sent in ``limits`` (the cards say what it means).
        self.suspicious_roi = suspicious_roi
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
        self._discovery_source = discovery_source
        self._budget_source = budget_source
        # The leading worker's id while this one stands by (None when it trades).
        self._standby_of = standby_of
        self.alerts = alerts
        self._clock = clock
        self.started_at = clock.now()
        self.followed = BusFollower(bus)
        self._db: dict[str, Any] = {"state": "up", "error": None, "since": self.started_at}
        self._db_checked: float | None = None
        self._db_probe_task: asyncio.Task[None] | None = None
        self._figures: _Figures | None = None
        self._unsubscribe = settings.subscribe(self._announce_settings)

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start following the bus (opportunities, kill switch progress) for the snapshot."""
        self.followed.start()

    async def stop(self) -> None:
        self._unsubscribe()
        if self._db_probe_task is not None and not self._db_probe_task.done():
            with contextlib.suppress(Exception):
                await self._db_probe_task
        await self.followed.stop()

    @property
    def opportunities(self) -> OpportunityBook:
        return self.followed.opportunities

    @property
    def kill_progress(self) -> KillSwitchProgress | None:
        return self.followed.kill_progress

    def _announce_settings(self, old: ExecutorSettings, new: ExecutorSettings) -> None:
        self._bus.publish(SettingsChanged(new))
        if old.enabled != new.enabled:
            self._bus.publish(StatusChanged(new.enabled, self._clock.now()))

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

    # --- the database's state ------------------------------------------------------------

    def _mark_database(self, error: str | None) -> None:
        state = "up" if error is None else "down"
        if state != self._db["state"]:
            if error is None:
                log.warning("database is back up")
            else:
                log.warning("database is down: %s", error)
            self._db = {"state": state, "error": error, "since": self._clock.now()}
        elif error is not None:
            self._db["error"] = error

    async def _probe_database(self) -> None:
        error = None
        if self._db_probe is not None:
            try:
                await self._db_probe()
            except Exception as exc:  # any failure is "down"; the reason says which
                error = _probe_reason(exc)
        self._mark_database(error)
        self._db_checked = self._clock.monotonic()

    async def database(self) -> dict[str, Any]:
        """The database's state, probed at most once per :data:`DB_PROBE_CACHE_S`
        (concurrent callers share one probe)."""
        fresh = self._db_checked is not None and self._clock.monotonic() - self._db_checked < DB_PROBE_CACHE_S
        if not fresh:
            if self._db_probe_task is None or self._db_probe_task.done():
                self._db_probe_task = asyncio.create_task(self._probe_database(), name="db-probe")
            # shield: a caller that goes away (a closed socket) does not cancel the probe.
            await asyncio.shield(self._db_probe_task)
        return dict(self._db)

    async def _read_figures(self) -> _Figures:
        if self._leader_elsewhere() is not None:
            # A standby's cache may lag the leader's changes: answer from the database.
            await self._settings.refresh()
        stats = await self._trades.stats()
        positions = await self._trades.open_positions()
        last = await self._trades.recent_trades(limit=1)
        budget = await self._budget_source() if self._budget_source is not None else None
        return _Figures(stats, positions, last[0].timestamp if last else None, budget, self._clock.now())

    async def snapshot(self) -> ConsoleSnapshot:
        database = await self.database()
        if database["state"] == "up":
            try:
                self._figures = await asyncio.wait_for(self._read_figures(), SNAPSHOT_DB_TIMEOUT_S)
            except (SQLAlchemyError, OSError, TimeoutError) as exc:  # failed between probe and read
                self._mark_database(f"reading failed: {_probe_reason(exc)}")
                database = dict(self._db)
        figures = self._figures
        if database["state"] != "up":
            database["figures_as_of"] = figures.read_at if figures is not None else None
        settings = self._settings.current
        balances = self.execution.balances() if self.execution is not None else Balances()
        stats = figures.stats if figures is not None else None
        limits = (settings_limits(settings, stats.trades, stats.pnl) if stats is not None
                  else settings_limits(settings, None, None))
        if self._budget_source is not None:
            limits["loss_budget"] = figures.loss_budget if figures is not None else None
        if self.suspicious_roi is not None:
            limits["suspicious_roi"] = self.suspicious_roi
        return ConsoleSnapshot(
            settings=settings,
            balances=balances,
            stats=stats,
            positions=figures.positions if figures is not None else None,
            venues=self.venue_states(),
            opportunities=self.opportunities.all(),
            limits=limits,
            mode=self.mode,
            poly_venue=self.poly_venue,
            started_at=self.started_at,
            taken_at=self._clock.now(),
            last_trade_at=figures.last_trade_at if figures is not None else None,
            executor_running=self.execution is not None,
            extra={
                "lease": self._lease_status() if self._lease_status is not None else None,
                "books": self._books_source() if self._books_source is not None else None,
                "alerts": await self.alerts.active() if self.alerts is not None else [],
                "discovery": self._discovery_source() if self._discovery_source is not None else None,
                "database": database,
                "kill_switch": self.kill_progress,
            },
        )

    def heartbeat(self) -> Heartbeat:
        """``heartbeat`` (every second): the worker is alive, and what it is doing."""
        now = self._clock.now()
        return Heartbeat(
            server_time=now,
            uptime_s=Decimal((now - self.started_at).total_seconds()).quantize(Decimal("0.001")),
            enabled=self._settings.current.enabled,
            executor_running=self.execution is not None,
            lease=self._lease_status() if self._lease_status is not None else None,
            # Each venue's state and the age of its freshest data, now.
            venues=venue_feeds(self.venue_states()),
            # As last probed (the server probes it every few seconds while clients listen).
            database=DatabaseStatus(DatabaseState(self._db["state"]), self._db.get("error"), self._db.get("since")),
        )

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Live only when the database takes a write and every venue feed is up; the
        reasons name what is not."""
        database = await self.database()
        venues = {v.venue: v.state for v in self.venue_states()}
        reasons = []
        if database["state"] != "up":
            reasons.append(f"database down: {database['error']}")
        reasons.extend(f"{venue} {state}" for venue, state in venues.items() if state != VenueConnection.UP)
        return not reasons, {"database": database, "venues": venues, "reasons": reasons}

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
            result = await self.execution.kill_switch(flatten)
            self._kill_alert(flatten, result)
            return result
        if flatten:
            # Flattening means selling at the venues: refuse rather than pretend.
            raise ActionUnavailable("flatten", "flattening needs the executor, which is not running")
        # Stopping is always allowed: it writes `enabled` alone (a leader elsewhere follows
        # the stored settings every second and stops admitting within a second).
        await self._settings.set_enabled(False)
        result = kill_switch_answer(
            saved=True, cancelled=0, orders_checked=False, executor_running=False,
            note="trading paused from a standby; the leading worker stops within a second"
            if standby
            else "trading paused; resting orders were not checked because the executor is not running",
        )
        self._kill_alert(False, result)
        return result

    async def dismiss_alert(self, alert_id: str) -> Mapping[str, Any]:
        """The operator has seen the alert: it leaves every page (kept in the database)."""
        if self.alerts is None:
            raise ActionUnavailable("action", "alerts are not kept by this worker")
        done = await self.alerts.dismiss(alert_id)
        return {"alert_id": done.id, "dismissed_at": done.dismissed_at}

    def _kill_alert(self, flatten: bool, result: Mapping[str, Any]) -> None:
        if self.alerts is None:
            return
        # The outcome (how many closed, which failed and why) stays in the stored alert.
        message, data = kill_switch_report(flatten, result)
        self.alerts.raise_alert(
            AlertKind.KILL_SWITCH, "Kill switch pulled", message, key=self._clock.now().isoformat(), data=data
        )

    async def confirm_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]:
        return await self._decide(mapping_id, "confirmed", note)

    async def reject_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]:
        return await self._decide(mapping_id, "rejected", note)

    async def reopen_mapping(self, mapping_id: str, note: str | None = None) -> Mapping[str, Any]:
        """The game back to candidate (undoing a decision): judged again by its confidence."""
        return await self._decide(mapping_id, "candidate", note)

    async def _decide(self, mapping_id: str, status: str, note: str | None = None) -> Mapping[str, Any]:
        self._refuse_on_standby("review mappings")
        if self.mappings is None:
            raise ActionUnavailable("action", "mapping decisions need the scanner's mapping store, which is not running")
        if await self.mappings.get(mapping_id) is None:
            raise OperatorError("mapping_id", f"no mapping {mapping_id}")
        decided = await self.mappings.decide(mapping_id, status, self._clock.now(), note)
        # The decision is the game's: every mapping of it (both directions) changed.
        self._bus.publish(MappingChanged(decided.mapping, decided.permission))
        for other in await self.mappings.game(mapping_id):
            if other.mapping.id != mapping_id:
                self._bus.publish(MappingChanged(other.mapping, other.permission))
        return schemas.mapping_data(decided.mapping, decided.permission)
