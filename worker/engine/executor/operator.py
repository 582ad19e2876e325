"""The operator's actions on the desk: retry a STRANDED unwind, resolve a STRANDED leg by
hand, pull the kill switch.

Each action re-reads what it acts on under the game's lock (a settlement or another
action may have changed it meanwhile) and refuses with an :class:`OperatorError` naming
the field when it no longer applies; a refused action changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptState, AttemptStore, LegRole
from worker.domain.errors import VenueError
from worker.domain.events import KillSwitchProgress, Publish, TradeEvent, TradeNotice
from worker.domain.ledger import CashEntry, CashKind
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.operator import OperatorError, kill_switch_answer
from worker.domain.orders import OrderState
from worker.domain.pnl import stranded_cost, stranded_pnl
from worker.domain.ports import VenuePort
from worker.domain.settings import ExecutorSettings
from worker.domain.storage import TradeStore
from worker.domain.tradelog import PositionStatus, TradeStatus
from worker.engine.executor.records import stranded_row
from worker.engine.executor.risk import KILL_SWITCH_HALT, RiskManager
from worker.engine.executor.tasks import AttemptTasks
from worker.engine.settings_manager import ExecutorSettingsManager

log = logging.getLogger(__name__)

ClosePosition = Callable[[str], Awaitable[Mapping[str, Any]]]
_RESTING = (OrderState.OPEN.value, OrderState.PARTIALLY_FILLED.value)


class OperatorActions:
    """STRANDED handling and the kill switch (the rest of :class:`ExecutionControl` is the
    executor's own)."""

    def __init__(
        self,
        settings: ExecutorSettingsManager,
        store: AttemptStore,
        trades: TradeStore,
        venues: Mapping[Venue, VenuePort],
        risk: RiskManager,
        tasks: AttemptTasks,
        publish: Publish,
        close_position: ClosePosition,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.store = store
        self.trades = trades
        self.venues = venues
        self.risk = risk
        self.tasks = tasks
        self.runner = tasks.runner
        self.publish = publish
        self._close_position = close_position
        self.clock = clock
        # The kill switch halts admission in memory first (the database may be what is
        # down); starting trading again, once that is saved, lifts it.
        settings.subscribe(self._lift_kill_switch)

    def _lift_kill_switch(self, old: ExecutorSettings, new: ExecutorSettings) -> None:
        if new.enabled and self.risk.halted == KILL_SWITCH_HALT:
            self.risk.halted = None

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        attempt = await self.store.get(attempt_id)
        if attempt is None or attempt.state is not AttemptState.STRANDED:
            raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
        if self.tasks.running(attempt_id):
            raise OperatorError("attempt_id", f"attempt {attempt_id} is already being worked on")
        async with self.tasks.game_lock(attempt.game_key):
            # Read again under the lock: a settlement may have resolved it meanwhile.
            current = await self.store.get(attempt_id)
            if current is None or current.state is not AttemptState.STRANDED or self.tasks.running(attempt_id):
                raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
            attempt = current
            retries = int(attempt.details.get("unwind_retries", 0)) + 1
            attempt.details["unwind_retries"] = retries
            attempt.move(AttemptState.UNWINDING, self.clock.now())
            await self.store.save(attempt)
        self.tasks.spawn(attempt)
        await self.tasks.wait_for(attempt.id)
        return {"attempt_id": attempt_id, "state": attempt.state.value, "retry": retries}

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        """The operator takes a STRANDED attempt off the desk.

        With ``proceeds`` (what the stranded contracts brought in, e.g. sold by hand; 0 if
        they are worthless) the attempt's loss is realised now: a CLOSED row with the
        unwound and stranded contracts' P&L. Without it the leg is settled like a position
        when its market resolves. Either way no loss disappears.
        """
        if not isinstance(note, str) or not note.strip():
            raise OperatorError("note", "a note is required")
        if proceeds is not None and (not isinstance(proceeds, Decimal) or not proceeds.is_finite() or proceeds < 0):
            raise OperatorError("proceeds", "proceeds must be an amount in dollars >= 0")
        attempt = await self.store.get(attempt_id)
        if attempt is None or attempt.state is not AttemptState.STRANDED:
            raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
        if self.tasks.running(attempt_id):
            raise OperatorError("attempt_id", f"attempt {attempt_id} is already being worked on")
        async with self.tasks.game_lock(attempt.game_key):
            current = await self.store.get(attempt_id)
            if current is None or current.state is not AttemptState.STRANDED:
                raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
            attempt = current
            held = attempt.leg1_open_quantity()
            if proceeds is not None and proceeds > held:  # each contract pays at most $1
                raise OperatorError(
                    "proceeds",
                    f"{held} stranded contracts can have brought in at most ${held}: check the amount",
                )
            now = self.clock.now()
            await self.runner.record_fills(attempt)
            attempt.move(AttemptState.RESOLVED, now)
            attempt.details["resolution_note"] = note.strip()
            attempt.details["resolved_at"] = now.isoformat()
            result: dict[str, Any] = {"attempt_id": attempt_id, "state": attempt.state.value}
            if proceeds is None:
                # Still held: it counts against the day's loss budget until it settles.
                attempt.details["settle_at_resolution"] = True
                await self.store.save(attempt)
                result["settles_at_resolution"] = True
            else:
                attempt.worst_case_loss = ZERO
                cost = stranded_cost(attempt)
                pnl = stranded_pnl(attempt, proceeds)
                attempt.details["operator_proceeds"] = str(proceeds)
                trade = stranded_row(
                    attempt, TradeStatus.CLOSED, cost, pnl, now, f"stranded leg resolved by operator: {note.strip()}",
                    {"proceeds": str(proceeds)}, "resolved",
                )
                leg1 = attempt.leg(LegRole.LEG1)
                assert leg1 is not None
                # Sold by hand at the venue: that cash moved outside our orders' fills.
                cash = [CashEntry(leg1.venue, CashKind.MANUAL, f"manual:{attempt.id}", proceeds, now,
                                  note.strip(), attempt.id)]
                await self.store.finish(attempt, trade, None, cash)
                result["pnl"] = pnl
        self.publish(
            TradeEvent(attempt.event_title, TradeNotice.RESOLVED, now, attempt_id=attempt_id,
                       pnl=result.get("pnl"), reason=note.strip())
        )
        return result

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        """Stop admitting at once, pause (enabled off), cancel every resting order we know,
        flatten if asked.

        The stop comes first and in memory, so it holds even while the database is down:
        then ``enabled`` is not saved (``"saved": false``; the operator is told) and the
        resting orders cannot be looked for (``"orders_checked": false``, ``"cancelled":
        0``), but nothing new is opened by this worker. ``cancelled`` counts the resting
        orders the venues took off their books."""
        if self.risk.halted is None:
            self.risk.halted = KILL_SWITCH_HALT
        saved = True
        try:
            await self.settings.set_enabled(False)
        except Exception as exc:
            saved = False
            log.error("kill switch: new trades stopped in this worker, but 'enabled' was not saved (%s)",
                      type(exc).__name__)
        cancelled = 0
        try:
            attempts = [*await self.store.list_active(), *await self.store.list_state(AttemptState.HEDGED)]
        except Exception as exc:
            log.error("kill switch: resting orders not checked: the database is unavailable (%s)", type(exc).__name__)
            return kill_switch_answer(
                saved=saved, cancelled=0, orders_checked=False, flatten_skipped=flatten,
                note="new trades stopped; the database is unavailable, so 'enabled' was "
                + ("saved" if saved else "not saved")
                + " and resting orders were not checked: check the venues",
            )
        # From here on trading is paused: a failure is an answer that says what was done,
        # never an error (the worker's error would read "nothing was changed").
        try:
            for attempt in attempts:
                for leg in attempt.legs:
                    if leg.state in _RESTING and leg.venue_order_id:
                        try:
                            order = await self.venues[leg.venue].cancel_order(leg.venue_order_id)
                        except VenueError as exc:
                            log.warning("kill switch: cancel of %s failed: %s", leg.id, exc)
                            continue
                        leg.state = order.state.value
                        cancelled += 1
                        await self.store.save(attempt)
            await self.tasks.wait_idle()
        except Exception as exc:
            log.error("kill switch: checking resting orders failed after %d cancelled (%s)", cancelled, type(exc).__name__)
            return kill_switch_answer(
                saved=saved, cancelled=cancelled, orders_checked=False, flatten_skipped=flatten,
                note=f"new trades stopped; {cancelled} resting orders cancelled, then checking the rest failed "
                f"({type(exc).__name__}): check the venues",
            )
        try:
            results = await self._flatten() if flatten else []
        except Exception as exc:  # the open positions could not be listed: none was touched
            log.error("kill switch: flatten not tried: open positions not read (%s)", type(exc).__name__)
            return kill_switch_answer(
                saved=saved, cancelled=cancelled, orders_checked=True, flatten_skipped=True,
                note=f"new trades stopped; the open positions could not be read ({type(exc).__name__}): "
                "none was closed",
            )
        return kill_switch_answer(saved=saved, cancelled=cancelled, orders_checked=True, flattened=results)

    async def _flatten(self) -> list[Mapping[str, Any]]:
        """Close every open position, one after the other, publishing how far it got
        (``kill_switch_progress``) before the first and after each: flattening dozens of
        positions takes seconds, and the operator sees them go. A position that cannot be
        closed is counted as failed with its reasons, and the rest are still closed."""
        started = self.clock.now()
        positions = await self.trades.list_positions(PositionStatus.OPEN)
        total = len(positions)
        results: list[Mapping[str, Any]] = []
        closed = failed = 0
        self.publish(KillSwitchProgress(started, total, 0, 0, done=total == 0))
        for i, position in enumerate(positions, 1):
            try:
                result = await self._close_position(position.id)
            except (OperatorError, VenueError) as exc:
                result = {"position_id": position.id, "closed": False, "problems": [str(exc)]}
            except Exception as exc:  # one position's surprise must not leave the rest open
                log.exception("kill switch: closing %s failed", position.id)
                result = {"position_id": position.id, "closed": False, "problems": [type(exc).__name__]}
            results.append(result)
            if result.get("closed"):
                closed += 1
            else:
                failed += 1
            self.publish(KillSwitchProgress(started, total, closed, failed, done=i == total))
        return results
