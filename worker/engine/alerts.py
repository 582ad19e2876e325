"""Operator alerts: raised, stored, published as ``alert``, kept until dismissed.

Alerts come from two places. Parts that know of a situation first call
:meth:`AlertCenter.raise_alert` directly (reconciliation finding an order we do not
know, the lease lost, the kill switch). The rest is read off what the engine already
publishes (:meth:`AlertCenter.observe`): a ``trade_event`` with status ``STRANDED`` or
``SETTLEMENT_OVERDUE``, a ``venue_status`` in which a venue went down or came back, a
``refusal`` because a daily limit is reached.

An alert is published at once (the operator must not wait for the database) and stored
in the background with retries, so an outage of the database delays the record, never
the alert. ``(kind, key)`` names a situation: raised again while not dismissed, the alert
counts a repeat (``count``, ``last_at``) instead of piling up new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import RefusalReason
from worker.domain.events import (
    OMIT,
    SEVERITY,
    Alert,
    AlertDismissed,
    AlertKind,
    AlertRaised,
    AlertSeverity,
    AlertStore,
    EngineEvent,
    EventKind,
    OpportunityRefused,
    TradeEvent,
    VenueStatus,
)
from worker.domain.operator import OperatorError
from worker.engine.event_bus import OVERFLOW, EventBus

log = logging.getLogger(__name__)

#: Refusals that mean a daily limit stops every new trade (not one opportunity).
LIMIT_REASONS = frozenset(
    {RefusalReason.DAILY_TRADES.value, RefusalReason.DAILY_LOSS.value, RefusalReason.DAILY_LOSS_BUDGET.value}
)
#: Venue states that count as down for an alert (``connecting`` at start-up does not).
DOWN_STATES = frozenset({"down"})
#: A venue never seen up is alerted only if still down this long after it was first
#: reported (start-up order: the worker may come up before the exchange it talks to).
START_GRACE_S = 30.0
#: Kinds keyed by day: once dismissed, the same key is not raised again (a limit refuses
#: every later opportunity of the day; the operator has seen it).
ONCE_KINDS = frozenset({AlertKind.LIMIT_REACHED})
#: Trade statuses that end a STRANDED attempt: its alert is cleared.
STRANDED_ENDED = frozenset({"RESOLVED", "SETTLED", "CLOSED"})
#: How long ``init`` waits for the database's list before it goes on with this process's.
ACTIVE_READ_TIMEOUT_S = 2.0
RETRY_START_S = 0.5
RETRY_MAX_S = 30.0
DISMISSED_IDS_KEPT = 10_000  # this process's dismissals remembered for `active`


def _given(value: Any) -> Any:
    """A :class:`~worker.domain.events.TradeEvent` field's value; None when not carried."""
    return None if value is OMIT else value


def _new_id() -> str:
    return f"alert_{uuid.uuid4().hex[:16]}"


class AlertCenter:
    """Raises, stores, publishes and dismisses alerts (see the module docstring)."""

    def __init__(
        self,
        store: AlertStore,
        bus: EventBus,
        *,
        clock: Clock = SYSTEM_CLOCK,
        new_id: Callable[[], str] = _new_id,
        day: Callable[[datetime], str] | None = None,
        start_grace_s: float = START_GRACE_S,
    ) -> None:
        self._grace = start_grace_s
        self._store = store
        self._bus = bus
        self._clock = clock
        self._new_id = new_id
        self._day = day or (lambda at: at.date().isoformat())
        self._active: dict[tuple[AlertKind, str], Alert] = {}
        self._unsaved: dict[str, Alert] = {}
        self._wake = asyncio.Event()
        self._venue_states: dict[str, str] = {}
        self._seen_up: dict[str, bool] = {}
        self._alerted_down: dict[str, bool] = {}
        self._grace_pending: set[str] = set()
        self._dismissed: set[tuple[AlertKind, str]] = set()
        #: Alerts this process dismissed (a dismissal is final): ``active`` leaves them out
        #: even when its database read began before the dismissal was stored.
        self._dismissed_ids: dict[str, None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[None]] = set()
        self._graces: set[asyncio.Task[None]] = set()
        self.raised = 0

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Load what is still active, then store and observe in the background."""
        try:
            for alert in await self._store.active():
                self._active[(alert.kind, alert.key)] = alert
            self._dismissed |= await self._store.dismissed_keys(sorted(ONCE_KINDS))
        except Exception as exc:  # the database may be down at start: alerts still flow
            log.warning("active alerts not loaded (%s); new ones are kept until stored", type(exc).__name__)
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._writer(), name="alerts-writer"),
                asyncio.create_task(self._follow(), name="alerts-observer"),
            ]

    async def stop(self) -> None:
        for task in [*self._graces]:
            task.cancel()
        for task in [*self._side]:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), 1.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self._flush_once()

    # -- raising -------------------------------------------------------------------------
    def raise_alert(
        self,
        kind: AlertKind,
        title: str,
        message: str,
        *,
        key: str = "",
        data: Mapping[str, Any] | None = None,
        severity: AlertSeverity | None = None,
    ) -> Alert | None:
        """Raise (or repeat) an alert; published now, stored in the background. None when
        it is a once-a-day alert the operator already dismissed."""
        if kind in ONCE_KINDS and (kind, key) in self._dismissed:
            return None
        at = self._clock.now()
        payload = dict(data or {})
        current = self._active.get((kind, key))
        if current is not None:
            alert = current.repeated(message, at, payload)
        else:
            alert = Alert(
                id=self._new_id(), kind=kind, key=key, severity=severity or SEVERITY[kind], title=title,
                message=message, raised_at=at, last_at=at, data=payload,
            )
        self._active[(kind, key)] = alert
        self._unsaved[alert.id] = alert
        self._wake.set()
        self.raised += 1
        log.warning("ALERT %s %s: %s", kind.value, key, message)
        self._bus.publish(AlertRaised(alert))
        return alert

    async def dismiss(self, alert_id: str) -> Alert:
        """Dismiss an alert; the operator's error when there is no such alert."""
        at = self._clock.now()
        pending = self._unsaved.get(alert_id)
        if pending is not None and pending.active:
            # Not stored yet: stored as dismissed by the writer.
            done = replace(pending, dismissed_at=at)
            self._unsaved[alert_id] = done
            self._wake.set()
        else:
            try:
                stored = await self._store.dismiss(alert_id, at)
            except Exception as exc:
                raise OperatorError("alert_id", f"the alert was not dismissed: the database is unavailable ({type(exc).__name__})") from None
            if stored is None:
                raise OperatorError("alert_id", f"no alert {alert_id}")
            done = stored
        for key, alert in list(self._active.items()):
            if alert.id == alert_id:
                del self._active[key]
        self._dismissed.add((done.kind, done.key))
        self._dismissed_ids[done.id] = None
        while len(self._dismissed_ids) > DISMISSED_IDS_KEPT:
            del self._dismissed_ids[next(iter(self._dismissed_ids))]
        self._bus.publish(AlertDismissed(done))
        return done

    def clear(self, kind: AlertKind, key: str, why: str) -> None:
        """The situation is over (a venue is back, a STRANDED attempt resolved): its alert
        leaves the active set now (a new occurrence is a new alert) and is dismissed on the
        operator's behalf in the background."""
        alert = self._active.pop((kind, key), None)
        if alert is not None:
            self._later(self._dismiss_cleared(alert, why))

    async def _dismiss_cleared(self, alert: Alert, why: str) -> None:
        try:
            await self.dismiss(alert.id)
        except OperatorError as exc:
            log.warning("alert %s not cleared (%s): %s", alert.id, why, exc.message)

    async def active(self) -> list[dict[str, Any]]:
        """What ``init`` carries: every alert not dismissed, newest first.

        The database's rows (other workers' alerts too) merged with this process's
        (which may not be stored yet)."""
        by_id: dict[str, Alert] = {}
        stored: set[str] | None = None
        with contextlib.suppress(Exception):
            rows = await asyncio.wait_for(self._store.active(), ACTIVE_READ_TIMEOUT_S)
            stored = {a.id for a in rows}
            for alert in rows:
                by_id[alert.id] = alert
        for key, alert in list(self._active.items()):
            if stored is not None and alert.id not in stored and alert.id not in self._unsaved:
                # Dismissed by another worker on the same database.
                del self._active[key]
                self._dismissed.add(key)
                continue
            by_id[alert.id] = alert
        for alert in self._unsaved.values():
            if not alert.active:
                by_id.pop(alert.id, None)
        for alert_id in self._dismissed_ids:
            by_id.pop(alert_id, None)
        alerts = sorted(by_id.values(), key=lambda a: a.last_at, reverse=True)
        return [a.to_wire() for a in alerts]

    async def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The alert history: the latest ``limit`` alerts, dismissed ones included (with
        ``dismissed_at``), newest first; this process's not yet stored ones merged in."""
        by_id = {a.id: a for a in await self._store.recent(limit)}
        for alert in self._unsaved.values():
            by_id[alert.id] = alert
        alerts = sorted(by_id.values(), key=lambda a: a.last_at, reverse=True)[:limit]
        return [a.to_wire() for a in alerts]

    # -- storing -------------------------------------------------------------------------
    async def _flush_once(self) -> None:
        for alert_id, alert in list(self._unsaved.items()):
            await self._store.save(alert)
            if alert.dismissed_at is not None:
                await self._store.dismiss(alert.id, alert.dismissed_at)
            if self._unsaved.get(alert_id) is alert:
                del self._unsaved[alert_id]

    async def _writer(self) -> None:
        delay = RETRY_START_S
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush_once()
                delay = RETRY_START_S
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("alerts not stored yet (%s); retrying in %.1f s", type(exc).__name__, delay)
                await self._clock.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                self._wake.set()

    # -- observing -----------------------------------------------------------------------
    async def _follow(self) -> None:
        kinds = {EventKind.TRADE_EVENT.value, EventKind.VENUE_STATUS.value, EventKind.REFUSAL.value}
        while True:
            sub = self._bus.subscribe(maxsize=10_000, types=kinds)
            try:
                while True:
                    event = await sub.get()
                    if event is OVERFLOW:
                        break
                    try:
                        self.observe(event.payload)
                    except Exception:
                        log.exception("alert derivation failed for a %s event", event.type)
            finally:
                sub.close()

    def observe(self, event: EngineEvent | None) -> Alert | None:
        """Raise the alert an engine event calls for, if any."""
        if isinstance(event, TradeEvent):
            return self._trade(
                str(event.status), event.event, _given(event.what), _given(event.attempt_id),
                _given(event.position_id), _given(event.trade_id), _given(event.reason),
            )
        if isinstance(event, VenueStatus):
            for feed in event.venues:
                self._venue(feed.venue.value, feed.state.value, feed.detail)
            return None
        if isinstance(event, OpportunityRefused):
            return self._refusal(event.reason.value, event.detail)
        return None

    def _refusal(self, reason: str, detail: Any) -> Alert | None:
        if reason not in LIMIT_REASONS:
            return None
        day = self._day(self._clock.now())
        return self.raise_alert(
            AlertKind.LIMIT_REACHED, f"Daily limit reached: {reason.replace('_', ' ')}",
            str(detail or reason) + ". No new trades today unless the limit is raised.",
            key=f"{reason}:{day}", data={"reason": reason, "day": day},
        )

    def _trade(
        self, status_: str, event: str, what: Any, attempt_id: Any, position_id: Any, trade_id: Any, reason_: Any
    ) -> Alert | None:
        status = status_.upper()
        ref = str(what or attempt_id or position_id or trade_id or event)
        if status in STRANDED_ENDED and attempt_id:
            self.clear(AlertKind.STRANDED, str(attempt_id), f"attempt {status.lower()}")
        reason = str(reason_ or "")
        if status == "STRANDED":
            return self.raise_alert(
                AlertKind.STRANDED, f"STRANDED: {event}",
                (reason or "one leg is open and could not be unwound")
                + ". Retry the unwind or resolve it by hand on the /executor page.",
                key=ref, data={"attempt_id": attempt_id, "event": event},
            )
        if status == "SETTLEMENT_OVERDUE":
            return self.raise_alert(
                AlertKind.SETTLEMENT_OVERDUE, f"Settlement overdue: {event}",
                reason or "the game should be over and the position is not settled; still polling the venue",
                key=ref, data={"attempt_id": attempt_id, "event": event},
            )
        return None

    def _venue(self, venue: str, state: str, detail_: Any) -> None:
        before = self._venue_states.get(venue)
        self._venue_states[venue] = state
        detail = str(detail_ or "")
        if state == "up":
            self._seen_up[venue] = True
        if state in DOWN_STATES and before not in DOWN_STATES:
            if self._seen_up.get(venue):
                self._down_alert(venue, detail, state)
            elif venue not in self._grace_pending:
                # Never seen up (start-up order): only if it stays down past the grace.
                self._grace_pending.add(venue)
                due = self._clock.monotonic() + self._grace

                async def later() -> None:
                    await self._clock.sleep(due - self._clock.monotonic())
                    self._grace_pending.discard(venue)
                    if self._venue_states.get(venue) in DOWN_STATES and not self._seen_up.get(venue):
                        self._down_alert(venue, detail, state)

                with contextlib.suppress(RuntimeError):  # no running loop: nothing to wait on
                    task = asyncio.get_running_loop().create_task(later(), name=f"alerts-grace-{venue}")
                    self._graces.add(task)
                    task.add_done_callback(self._graces.discard)
        elif state == "up" and before in DOWN_STATES and self._alerted_down.get(venue):
            self.clear(AlertKind.VENUE_DOWN, venue, "venue back")
            self.raise_alert(
                AlertKind.VENUE_UP, f"{venue} is back",
                f"{venue} answers again; trading there resumes", key=venue, data={"venue": venue, "state": state},
            )

    def _later(self, work: Any) -> None:
        """Run ``work`` (a coroutine) beside the observer; without a loop, drop it."""
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:
            work.close()
            return
        self._side.add(task)
        task.add_done_callback(self._side.discard)

    def _down_alert(self, venue: str, detail: str, state: str) -> None:
        self._alerted_down[venue] = True
        self.raise_alert(
            AlertKind.VENUE_DOWN, f"{venue} is down",
            detail or f"no data from {venue}: no new trades there until it is back",
            key=venue, data={"venue": venue, "state": state},
        )
