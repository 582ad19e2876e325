"""Reconciliation: every attempt, order and fill of ours checked against the venues.

A pass (at start, before anything is admitted, then every ``reconcile_interval_s``)

* resumes every non-terminal attempt of this or an older lease grant that is not running
  here (a PLANNED one found at start was never sent: it ends FAILED);
* looks up the unanswered close orders of open positions and the legs of STRANDED
  attempts;
* records the venues' fills that arrived after an attempt ended (a ROLLED_BACK row gets an
  adjusting row, so the realised sum stays the cash that moved);
* reports loudly every fill at a venue that is not in our database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptRecord, AttemptState, AttemptStore, LegRecord, LegRole
from worker.domain.errors import VenueError
from worker.domain.events import AlertKind
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.orders import OrderState
from worker.domain.pnl import unwind_pnl
from worker.domain.ports import VenuePort
from worker.domain.storage import TradeStore
from worker.domain.tradelog import PositionStatus, TradeRecord, TradeStatus
from worker.engine.executor.legs import LegSender, LegUnresolved
from worker.engine.executor.tasks import AttemptTasks

log = logging.getLogger(__name__)

RaiseAlert = Callable[..., object]
#: How far back each pass reads the venues' fills: older ones were checked by earlier passes.
FILLS_LOOKBACK = timedelta(days=2)


class Reconciler:
    """Resolves what was left in flight and what the venues know that we do not.

    ``alerts`` and ``venue_errors`` are the executor's (shared with its other parts);
    ``admitting`` tells whether admission is open (a pass at start waits for every attempt
    it resumed; a PLANNED attempt then is one just admitted, about to run)."""

    def __init__(
        self,
        store: AttemptStore,
        trades: TradeStore,
        venues: Mapping[Venue, VenuePort],
        sender: LegSender,
        tasks: AttemptTasks,
        admitting: Callable[[], bool],
        *,
        epoch: Callable[[], int] | None = None,
        alert: RaiseAlert | None = None,
        alerts: list[str],
        venue_errors: dict[Venue, str],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.trades = trades
        self.venues = venues
        self.sender = sender
        self.tasks = tasks
        self.runner = tasks.runner
        self._admitting = admitting
        # This process's grant of the lease: reconciliation adopts only older grants' work.
        self.epoch = epoch
        # Tells the operator (stored, on every page) of what needs a person.
        self.alert = alert
        self.alerts = alerts
        self.venue_errors = venue_errors
        self.clock = clock

    async def reconcile(self) -> dict[str, int]:
        """Resolve every non-terminal attempt against the venues; report unknown orders loudly."""
        resumed = 0
        own = self.epoch() if self.epoch is not None else None
        for attempt in await self.store.list_active():
            if self.tasks.running(attempt.id):
                continue
            if own is not None and attempt.epoch is not None and attempt.epoch > own:
                # Written under a later grant than ours: another holder's live work, which
                # the fence already keeps us from writing. Never adopted.
                log.error("attempt %s (epoch %s) belongs to a later grant than ours (%s)", attempt.id, attempt.epoch, own)
                continue
            # Older grants' attempts are abandoned work to resume; this grant's own, not
            # running here, were paused by this process (a leg left unresolved): resumed.
            resumed += 1
            log.info("reconciling attempt %s in %s", attempt.id, attempt.state.value)
            if attempt.state is AttemptState.PLANNED:
                if self._admitting():
                    # Admitted by this process a moment ago and about to be spawned.
                    continue
                await self.runner.abandon_planned(attempt, "not sent before the worker stopped")
                self.tasks.outcomes[attempt.state.value] += 1
                continue
            self.tasks.spawn(attempt)
        pending = self.tasks.pending()
        if pending and not self._admitting():
            # At start: trading begins only once every attempt found is settled (or waits).
            await asyncio.wait(pending)
        # Close orders of open positions that a crash left unanswered: look them up too.
        # Only the attempts that have such an order are read (one query): most open
        # positions were never closed, and reading each of them every round is most of
        # a reconciliation's work. A close that starts after the query holds its game's
        # lock and looks its orders up itself; one it leaves unknown is found next round.
        closing = await self.store.with_unknown_legs(LegRole.CLOSE)
        for position in await self.trades.list_positions(PositionStatus.OPEN):
            if not position.attempt_id or position.attempt_id not in closing:
                continue
            lock = self.tasks.game_lock(position.game_key or position.event_key)
            if lock.locked():
                continue  # a close or settlement is working on it: it looks its orders up itself
            async with lock:
                # Read under the lock: a copy read before would save stale legs over a close.
                owner = await self.store.get(position.attempt_id)
                if owner is None:
                    continue
                await self._look_up(owner, owner.legs_of(LegRole.CLOSE), f"close order of position {position.id}")
        stranded_checked = 0
        for found in await self.store.list_state(AttemptState.STRANDED):
            if self.tasks.running(found.id):
                continue
            async with self.tasks.game_lock(found.game_key):
                current = await self.store.get(found.id)
                if current is None or current.state is not AttemptState.STRANDED:
                    continue
                await self._look_up(current, current.legs, f"stranded attempt {current.id}")
                stranded_checked += 1
        recorded = await self._record_late_fills()
        unknown = await self._unknown_orders()
        return {"resumed": resumed, "stranded": stranded_checked, "unknown_orders": unknown, "recorded": recorded}

    def remind_stranded(self, attempts: list[AttemptRecord]) -> None:
        """Every attempt still STRANDED is an alert (again after a restart: an alert raised
        while the database was down would otherwise be gone with the process)."""
        if self.alert is None:
            return
        for attempt in attempts:
            self.alert(
                AlertKind.STRANDED, f"STRANDED: {attempt.event_title}",
                "one leg is open and could not be unwound. Retry the unwind or resolve it by hand on the "
                "/executor page.", key=attempt.id, data={"attempt_id": attempt.id, "event": attempt.event_title},
            )

    async def _look_up(self, attempt: AttemptRecord, legs: Sequence[LegRecord], what: str) -> None:
        """Look up every sent leg of ``legs`` whose outcome is not known; save what changed."""
        unsettled = [g for g in legs if not g.settled and g.state != OrderState.PENDING.value]
        for leg in unsettled:
            try:
                await self.sender.resolve(leg)
            except LegUnresolved as exc:
                log.warning("%s: %s", what, exc)
        if unsettled:
            await self.store.save(attempt)

    async def _record_late_fills(self) -> int:
        """Fills a venue had not yet reported when an attempt ended: recorded now.

        A ROLLED_BACK row was realised with the order answers' figures: the difference the
        venue's own fills make is written as a row of its own, so the realised sum stays
        the cash that moved. (A position's and a stranded leg's P&L are computed from the
        legs when they settle, so they need nothing more.)
        """
        done = 0
        for found in await self.store.list_unrecorded():
            if self.tasks.running(found.id):
                continue
            async with self.tasks.game_lock(found.game_key):
                attempt = await self.store.get(found.id)
                if attempt is None:
                    continue
                if not await self.runner.record_fills(attempt):
                    continue
                attempt.details.pop("fills_pending", None)
                done += 1
                delta = ZERO
                if attempt.state is AttemptState.ROLLED_BACK and attempt.pnl is not None:
                    delta = unwind_pnl(attempt) - attempt.pnl
                if not delta:
                    await self.store.save(attempt)
                    continue
                attempt.pnl = (attempt.pnl or ZERO) + delta
                trade = TradeRecord(
                    event_title=attempt.event_title,
                    status=TradeStatus.ROLLED_BACK,
                    bet_size=ZERO,
                    pnl=delta,
                    timestamp=self.clock.now(),
                    reason="fees and prices as the venue charged them (its fills arrived after the attempt ended)",
                    attempt_id=attempt.id,
                    details={"adjusts": "fills"},
                    dedup_key=f"attempt:{attempt.id}:fills",
                )
                # Its own row (not the attempt's: that link stays on the attempt's first row).
                await self.trades.record_trade(trade)
                await self.store.save(attempt)
                log.warning("attempt %s: realised P&L adjusted by %s to the venue's fills", attempt.id, delta)
        return done

    async def _unknown_orders(self) -> int:
        venue_ids, client_ids = await self.store.known_order_ids()
        found = 0
        for venue, port in self.venues.items():
            try:
                fills = await port.fills(self.clock.now() - FILLS_LOOKBACK)
            except VenueError as exc:
                self.venue_errors[venue] = str(exc)
                log.warning("reconciliation could not read %s fills: %s", venue.value, exc)
                continue
            for fill in fills:
                if fill.venue_order_id in venue_ids or (fill.client_order_id and fill.client_order_id in client_ids):
                    continue
                found += 1
                message = (
                    f"order {fill.venue_order_id} on {venue.value} ({fill.contract}) filled "
                    f"{fill.size} @ {fill.price} is not in our database"
                )
                if message not in self.alerts:
                    self.alerts.append(message)
                    log.error("RECONCILIATION: %s", message)
                    if self.alert is not None:
                        self.alert(
                            AlertKind.RECONCILIATION, f"Unknown order on {venue.value}",
                            message + ": check it at the venue; the books will not match until it is explained",
                            key=f"{venue.value}:{fill.venue_order_id}",
                            data={"venue": venue.value, "venue_order_id": fill.venue_order_id,
                                  "contract": str(fill.contract)},
                        )
        return found
