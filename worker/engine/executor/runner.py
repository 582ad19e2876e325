"""Drives one attempt through its state machine, write-ahead, from any persisted state.

The same :meth:`AttemptRunner.drive` runs a fresh attempt and resumes one found after a
crash: every step looks at what is persisted (state and legs), settles any leg whose
outcome is unknown by looking it up, and only then decides. A venue call is always
preceded by a committed row describing it, so a ``kill -9`` between any two lines leaves
either nothing sent, or a leg that the next run looks up before doing anything else.

Leg 1 goes FOK at the scanner's limit. Leg 2 goes IOC (fill-and-kill) for leg 1's filled
quantity, at the worst price that still keeps a non-negative edge. Whatever leg 2 does not
hedge is sold back by the unwind ladder: at most 5 IOC tries within 30 s, each a further
tick into the book, never below 80 % of leg 1's price; what is left after that is
STRANDED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempt_money import (
    UNWIND_MAX_TRIES,
    UNWIND_WINDOW_S,
    hedge_cap,
    ladder_price,
    unwind_floor_price,
)
from worker.domain.attempts import (
    AttemptRecord,
    AttemptState,
    AttemptStore,
    LegRecord,
    LegRole,
    label_side,
)
from worker.domain.errors import VenueError
from worker.domain.events import PositionOpened, Publish, TradeEvent
from worker.domain.fees import FeeSchedule
from worker.domain.money import ZERO
from worker.domain.orders import OrderState
from worker.domain.pnl import leg_cost, locked_pnl, no_pnl, stranded_cost, unwind_pnl
from worker.domain.tradelog import TradeStatus
from worker.engine.executor.crash import CrashPoints
from worker.engine.executor.legs import LegSender, LegUnresolved
from worker.engine.executor.records import VENUE_SHORT, attempt_row, new_position, sale_leg

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class UnwindPolicy:
    """The ladder's bounds; ``pause_s`` is the wait between tries (tests shorten it)."""

    max_tries: int = UNWIND_MAX_TRIES
    window_s: float = UNWIND_WINDOW_S
    pause_s: float = 1.0


class AttemptRunner:
    """Moves attempts along :data:`~worker.domain.attempts.TRANSITIONS`, persisting each step."""

    def __init__(
        self,
        store: AttemptStore,
        sender: LegSender,
        publish: Publish,
        crash: CrashPoints | None = None,
        unwind: UnwindPolicy | None = None,
        gate: Callable[[], None] | None = None,
        worker_id: str | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.sender = sender
        self.publish = publish
        # Raises (LeaseLost) when this worker may not open exposure: checked right before
        # leg 1 and leg 2 are sent, and before each try of the unwind ladder. A try already
        # sent finishes; the next one is left to the new lease holder, which looks the
        # persisted try up first. Two workers selling the same leg 1 would oversell it —
        # new exposure — so an ex-leader never starts another try.
        self.gate = gate or (lambda: None)
        # Who sent each leg (``details["sent_by"][leg_id]``): an audit trail across failovers.
        self.worker_id = worker_id
        self.crash = crash or CrashPoints()
        self.unwind = unwind or UnwindPolicy()
        self.clock = clock

    # -- the loop ------------------------------------------------------------------------
    async def drive(self, attempt: AttemptRecord) -> AttemptRecord:
        """Advance ``attempt`` until it ends (or a venue leaves a leg unresolvable)."""
        steps = {
            AttemptState.PLANNED: self._send_leg1,
            AttemptState.LEG1_SENT: self._after_leg1,
            AttemptState.LEG1_FILLED: self._send_leg2,
            AttemptState.LEG2_SENT: self._after_leg2,
            AttemptState.UNWINDING: self._unwind,
        }
        while attempt.state in steps:
            before = (attempt.state, len(attempt.path))
            await steps[attempt.state](attempt)
            if (attempt.state, len(attempt.path)) == before:  # pragma: no cover - defensive
                raise RuntimeError(f"attempt {attempt.id} made no progress in {attempt.state}")
        return attempt

    async def abandon_planned(self, attempt: AttemptRecord, why: str) -> None:
        """A PLANNED attempt found after a restart: nothing was sent (LEG1_SENT is committed
        before any send), and its opportunity is stale, so it ends FAILED without trading."""
        attempt.move(AttemptState.FAILED, self.clock.now())
        await self._end(attempt, TradeStatus.FAILED, no_pnl, why)

    def _timing(self, attempt: AttemptRecord, name: str) -> None:
        attempt.details.setdefault("timings", {})[name] = self.clock.now().isoformat()

    def _stamp(self, attempt: AttemptRecord, leg: LegRecord) -> None:
        if self.worker_id is not None:
            attempt.details.setdefault("sent_by", {})[leg.id] = self.worker_id

    async def _move(self, attempt: AttemptRecord, state: AttemptState) -> None:
        attempt.move(state, self.clock.now())
        self._timing(attempt, state.value)
        await self.store.save(attempt)

    # -- leg 1 ---------------------------------------------------------------------------
    async def _send_leg1(self, attempt: AttemptRecord) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None, "a planned attempt has its leg 1"
        self.crash.hit("after_planned")
        try:
            prepared = await self.sender.prepare(leg1)
        except VenueError as exc:
            leg1.state = OrderState.REJECTED.value
            leg1.error = f"not prepared: {exc.message}"
            attempt.move(AttemptState.LEG1_SENT, self.clock.now())  # path shows it got that far
            await self._after_leg1(attempt)
            return
        # Write-ahead: LEG1_SENT with the client id / order hash, committed before the call.
        self.gate()
        self._stamp(attempt, leg1)
        await self._move(attempt, AttemptState.LEG1_SENT)
        self.gate()
        await self.sender.send(leg1, prepared)
        self.crash.hit("after_leg1_sent")
        await self.store.save(attempt)

    async def _after_leg1(self, attempt: AttemptRecord) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None
        if not leg1.settled:
            await self._resolve(attempt, leg1)
        if leg1.filled > 0:
            await self._move(attempt, AttemptState.LEG1_FILLED)
            self.crash.hit("after_leg1_fill")
            return
        attempt.move(AttemptState.FAILED, self.clock.now())
        reason = f"{VENUE_SHORT[leg1.venue]} fail: {leg1.error or leg1.state}"
        await self._end(attempt, TradeStatus.FAILED, no_pnl, reason)

    async def _resolve(self, attempt: AttemptRecord, leg: LegRecord) -> None:
        try:
            await self.sender.resolve(leg)
        finally:
            await self.store.save(attempt)

    # -- leg 2 ---------------------------------------------------------------------------
    async def _send_leg2(self, attempt: AttemptRecord) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        leg2 = attempt.leg(LegRole.LEG2)
        assert leg1 is not None and leg2 is not None and leg1.avg_price is not None
        leg2.quantity = leg1.filled
        fees = attempt.details.get("fees") or {}
        fees1 = FeeSchedule.from_record(fees[leg1.id]) if leg1.id in fees else None
        fees2 = FeeSchedule.from_record(fees[leg2.id]) if leg2.id in fees else None
        leg1_cost = leg_cost(leg1)
        if fees1 is not None:
            # An order answer may report no fee (Polymarket's): count at least what the
            # market's schedule charges for what filled.
            leg1_cost = max(leg1_cost, leg1.avg_price * leg1.filled + fees1.taker_fee(leg1.filled, leg1.avg_price))
        cap = hedge_cap(leg1.filled, leg1_cost, fees2)
        if cap is None:
            # No price hedges without locking a loss: unwind leg 1 instead.
            leg2.state = OrderState.REJECTED.value
            leg2.error = f"no break-even price: leg 1 cost {leg1_cost} for {leg1.filled}"
            await self._move(attempt, AttemptState.LEG2_SENT)
            return
        leg2.price = cap
        try:
            prepared = await self.sender.prepare(leg2)
        except VenueError as exc:
            leg2.state = OrderState.REJECTED.value
            leg2.error = f"not prepared: {exc.message}"
            await self._move(attempt, AttemptState.LEG2_SENT)
            return
        self.gate()
        self._stamp(attempt, leg2)
        await self._move(attempt, AttemptState.LEG2_SENT)
        self.gate()
        await self.sender.send(leg2, prepared)
        self.crash.hit("after_leg2_sent")
        await self.store.save(attempt)

    async def _after_leg2(self, attempt: AttemptRecord) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        leg2 = attempt.leg(LegRole.LEG2)
        assert leg1 is not None and leg2 is not None
        if not leg2.settled:
            await self._resolve(attempt, leg2)
        if leg2.filled >= leg1.filled:
            attempt.move(AttemptState.HEDGED, self.clock.now())
            await self._end(attempt, TradeStatus.SUCCESS, locked_pnl, None)
            return
        if leg2.filled > 0:
            # A partial hedge is a real position now; the excess of leg 1 is unwound.
            await self.store.finish(attempt, None, new_position(attempt, self.clock.now()))
            self._publish_position(attempt)
        attempt.details["leg2_failure"] = f"{VENUE_SHORT[leg2.venue]} fail: {leg2.error or leg2.state}"
        attempt.worst_case_loss = max(attempt.worst_case_loss, ZERO)
        await self._move(attempt, AttemptState.UNWINDING)

    # -- unwind --------------------------------------------------------------------------
    async def _unwind(self, attempt: AttemptRecord) -> None:
        """The ladder; leaves the attempt ROLLED_BACK, HEDGED (partial) or STRANDED."""
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None and leg1.avg_price is not None
        for prior in attempt.legs_of(LegRole.UNWIND):
            if not prior.settled:
                try:
                    await self._resolve(attempt, prior)
                except LegUnresolved as exc:
                    await self._strand(attempt, f"unwind order unresolved: {exc}")
                    return
        floor = unwind_floor_price(leg1.avg_price)
        started = self.clock.monotonic()
        tries = 0
        port = self.sender.venues[leg1.venue]
        while attempt.leg1_open_quantity() > 0 and tries < self.unwind.max_tries:
            if self.clock.monotonic() - started > self.unwind.window_s:
                break
            if tries:
                await self.clock.sleep(self.unwind.pause_s)
            self.gate()  # LeaseLost: persisted as it stands, the lease holder resumes it
            best_bid = None
            try:
                book = await port.get_book(leg1.contract)
                best_bid = book.best_bid.price if book.best_bid else None
            except VenueError as exc:
                log.info("unwind of %s: no book (%s); selling at the floor", attempt.id, exc)
            price = ladder_price(best_bid, tries, floor)
            leg = sale_leg(attempt, leg1, LegRole.UNWIND, price, attempt.leg1_open_quantity())
            tries += 1
            try:
                prepared = await self.sender.prepare(leg)
            except VenueError as exc:
                leg.state = OrderState.REJECTED.value
                leg.error = f"not prepared: {exc.message}"
                await self.store.save(attempt)
                continue
            self.gate()
            self._stamp(attempt, leg)
            await self.store.save(attempt)  # write-ahead
            await self.sender.send(leg, prepared)
            self.crash.hit("during_unwind")
            await self.store.save(attempt)
            if not leg.settled:
                try:
                    await self._resolve(attempt, leg)
                except LegUnresolved as exc:
                    await self._strand(attempt, f"unwind order unresolved: {exc}")
                    return
            log.info(
                "unwind %s try %d at %s: sold %s of %s (%s)",
                attempt.id, tries, price, leg.filled, leg.quantity, leg.error or leg.state,
            )
        if attempt.leg1_open_quantity() > 0:
            await self._strand(attempt, f"unwind ladder exhausted after {tries} tries")
            return
        leg2 = attempt.leg(LegRole.LEG2)
        failure = str(attempt.details.get("leg2_failure") or "leg 2 failed")
        if leg2 is not None and leg2.filled > 0:
            attempt.move(AttemptState.HEDGED, self.clock.now())
            reason = f"partial hedge {leg2.filled} of {leg1.filled}; excess unwound ({failure})"
            await self._end(attempt, TradeStatus.SUCCESS, locked_pnl, reason)
            return
        attempt.move(AttemptState.ROLLED_BACK, self.clock.now())
        await self._end(attempt, TradeStatus.ROLLED_BACK, unwind_pnl, failure)

    async def _strand(self, attempt: AttemptRecord, why: str) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None
        attempt.move(AttemptState.STRANDED, self.clock.now())
        await self.record_fills(attempt)
        # A stranded leg counts its full remaining cost toward the daily loss.
        attempt.worst_case_loss = stranded_cost(attempt)
        attempt.details["stranded"] = {
            "venue": leg1.venue.value,
            "contract": leg1.label,
            "side": label_side(leg1.contract),
            "open_quantity": str(attempt.leg1_open_quantity()),
            "why": why,
        }
        log.error("attempt %s STRANDED on %s %s: %s", attempt.id, leg1.venue.value, leg1.label, why)
        failure = str(attempt.details.get("leg2_failure") or "")
        await self._end(attempt, TradeStatus.STRANDED, unwind_pnl, f"{failure}; {why}".strip("; "))

    # -- ends ----------------------------------------------------------------------------
    def _publish_position(self, attempt: AttemptRecord) -> None:
        pos = new_position(attempt, self.clock.now())
        self.publish(PositionOpened(attempt.position_id, pos))

    async def record_fills(self, attempt: AttemptRecord) -> bool:
        """Take every filled leg's price and fees from the venue's own fills; True when
        every filled leg's figures now come from them."""
        complete = True
        for leg in attempt.legs:
            if leg.fills_recorded or leg.filled <= 0 or not leg.settled:
                continue
            fills = await self.sender.ledger(leg)
            if fills is None:
                complete = False
                continue
            await self.store.record_fills(leg, fills)
        return complete

    async def _end(
        self,
        attempt: AttemptRecord,
        status: TradeStatus,
        pnl_of: Callable[[AttemptRecord], Decimal],
        reason: str | None,
    ) -> None:
        """The attempt's one trade-log row (and position on a hedge), with its end state, atomically.

        The legs' figures are first taken from the venues' fills, so the row's P&L is what
        was charged, not what the order answers estimated.
        """
        if not await self.record_fills(attempt):
            attempt.details["fills_pending"] = True
        pnl = pnl_of(attempt)
        attempt.pnl = pnl
        attempt.reason = reason
        self._timing(attempt, attempt.state.value)
        if attempt.state is not AttemptState.STRANDED:
            attempt.worst_case_loss = ZERO
        trade = attempt_row(attempt, status, pnl, reason, self.clock.now())
        bet, roi = trade.bet_size, trade.roi
        opened_now = attempt.state is AttemptState.HEDGED and attempt.position_id is None
        position = new_position(attempt, self.clock.now()) if attempt.state is AttemptState.HEDGED else None
        trade_id, _ = await self.store.finish(attempt, trade, position)
        if opened_now and attempt.position_id is not None:
            self._publish_position(attempt)
        if trade_id is not None:
            self.publish(
                TradeEvent(
                    attempt.event_title, status, self.clock.now(), bet_size=bet, pnl=pnl, roi=roi, reason=reason,
                    attempt_id=attempt.id, trade_id=trade_id, loud=status is TradeStatus.STRANDED,
                )
            )

