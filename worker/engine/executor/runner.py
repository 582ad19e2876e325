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

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from worker.domain.attempts import (
    UNWIND_MAX_TRIES,
    UNWIND_WINDOW_S,
    AttemptRecord,
    AttemptState,
    AttemptStore,
    LegRecord,
    LegRole,
    hedge_cap,
    label_side,
    ladder_price,
    unwind_floor_price,
)
from worker.domain.errors import VenueError
from worker.domain.fees import FeeSchedule
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.orders import OrderAction, OrderState, TimeInForce
from worker.domain.tradelog import NewPosition, PositionLeg, TradeRecord, TradeStatus
from worker.engine.executor.crash import CrashPoints
from worker.engine.executor.legs import LegSender, LegUnresolved

log = logging.getLogger(__name__)

Publish = Callable[[str, Mapping[str, Any]], object]
Sleep = Callable[[float], Awaitable[None]]
HUNDRED = Decimal(100)
VENUE_SHORT = {Venue.KALSHI: "Kalshi", Venue.POLYMARKET: "Poly", Venue.POLYMARKET_US: "PolyUS"}


@dataclass(frozen=True)
class UnwindPolicy:
    """The ladder's bounds; ``pause_s`` is the wait between tries (tests shorten it)."""

    max_tries: int = UNWIND_MAX_TRIES
    window_s: float = UNWIND_WINDOW_S
    pause_s: float = 1.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _cost(leg: LegRecord | None, quantity: Decimal | None = None) -> Decimal:
    """Cash a buy leg cost with its fee, pro rata for ``quantity`` of its fills."""
    if leg is None or leg.filled <= 0 or leg.avg_price is None:
        return ZERO
    q = leg.filled if quantity is None else min(quantity, leg.filled)
    return leg.avg_price * q + leg.fees * q / leg.filled


def _proceeds(legs: list[LegRecord]) -> Decimal:
    return sum((g.notional - g.fees for g in legs), ZERO)


# -- P&L (of an attempt whose legs' figures are final) ------------------------------------
def _nothing(attempt: AttemptRecord) -> Decimal:
    return ZERO


def unwind_pnl(attempt: AttemptRecord) -> Decimal:
    """Proceeds of the unwind sales minus the cost of the leg 1 contracts they sold."""
    leg1 = attempt.leg(LegRole.LEG1)
    assert leg1 is not None
    unwinds = attempt.legs_of(LegRole.UNWIND)
    sold = sum((u.filled for u in unwinds), ZERO)
    if sold == 0:
        return ZERO
    return _proceeds(unwinds) - _cost(leg1, sold)


def locked_pnl(attempt: AttemptRecord) -> Decimal:
    """Edge locked by the hedged pairs, plus what unwinding any excess realised."""
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    hedged = min(leg1.filled, leg2.filled)
    return hedged - _cost(leg1, hedged) - _cost(leg2) + unwind_pnl(attempt)


def position_cost(attempt: AttemptRecord) -> Decimal:
    """What the position of an attempt cost, fees included.

    Once the attempt is HEDGED every leg 1 contract is either hedged or sold back, so the
    position carries the whole of both legs less what the unwind brought in: its
    settlement then realises the unwind's loss too. Before that (a partial hedge whose
    excess is still being sold, or STRANDED) it carries the hedged pairs only; the rest is
    the stranded leg's, realised when that leg is resolved.
    """
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    if attempt.state is AttemptState.HEDGED:
        return _cost(leg1) + _cost(leg2) - _proceeds(attempt.legs_of(LegRole.UNWIND))
    return _cost(leg1, min(leg1.filled, leg2.filled)) + _cost(leg2)


def stranded_cost(attempt: AttemptRecord) -> Decimal:
    """Cost (fees included) of the leg 1 contracts a STRANDED attempt still holds."""
    leg1 = attempt.leg(LegRole.LEG1)
    assert leg1 is not None
    return _cost(leg1, attempt.leg1_open_quantity())


class AttemptRunner:
    """Moves attempts along :data:`~worker.domain.attempts.TRANSITIONS`, persisting each step."""

    def __init__(
        self,
        store: AttemptStore,
        sender: LegSender,
        publish: Publish,
        crash: CrashPoints | None = None,
        unwind: UnwindPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = _utcnow,
        gate: Callable[[], None] | None = None,
        worker_id: str | None = None,
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
        self._sleep = sleep
        self._clock = clock

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
        attempt.move(AttemptState.FAILED, self._clock())
        await self._end(attempt, TradeStatus.FAILED, _nothing, why)

    def _timing(self, attempt: AttemptRecord, name: str) -> None:
        attempt.details.setdefault("timings", {})[name] = self._clock().isoformat()

    def _stamp(self, attempt: AttemptRecord, leg: LegRecord) -> None:
        if self.worker_id is not None:
            attempt.details.setdefault("sent_by", {})[leg.id] = self.worker_id

    async def _move(self, attempt: AttemptRecord, state: AttemptState) -> None:
        attempt.move(state, self._clock())
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
            attempt.move(AttemptState.LEG1_SENT, self._clock())  # path shows it got that far
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
        attempt.move(AttemptState.FAILED, self._clock())
        reason = f"{VENUE_SHORT[leg1.venue]} fail: {leg1.error or leg1.state}"
        await self._end(attempt, TradeStatus.FAILED, _nothing, reason)

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
        leg1_cost = _cost(leg1)
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
            attempt.move(AttemptState.HEDGED, self._clock())
            await self._end(attempt, TradeStatus.SUCCESS, locked_pnl, None)
            return
        if leg2.filled > 0:
            # A partial hedge is a real position now; the excess of leg 1 is unwound.
            await self.store.finish(attempt, None, self._position(attempt))
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
        started = time.monotonic()
        tries = 0
        port = self.sender.venues[leg1.venue]
        while attempt.leg1_open_quantity() > 0 and tries < self.unwind.max_tries:
            if time.monotonic() - started > self.unwind.window_s:
                break
            if tries:
                await self._sleep(self.unwind.pause_s)
            self.gate()  # LeaseLost: persisted as it stands, the lease holder resumes it
            best_bid = None
            try:
                book = await port.get_book(leg1.contract)
                best_bid = book.best_bid.price if book.best_bid else None
            except VenueError as exc:
                log.info("unwind of %s: no book (%s); selling at the floor", attempt.id, exc)
            price = ladder_price(best_bid, tries, floor)
            seq = 10 + len(attempt.legs_of(LegRole.UNWIND))
            leg = LegRecord(
                id=f"{attempt.id}-u{seq}",
                attempt_id=attempt.id,
                role=LegRole.UNWIND,
                seq=seq,
                contract=leg1.contract,
                label=leg1.label,
                action=OrderAction.SELL,
                price=price,
                quantity=attempt.leg1_open_quantity(),
                tif=TimeInForce.IOC,
                client_order_id=_client_id(),
            )
            attempt.legs.append(leg)
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
            attempt.move(AttemptState.HEDGED, self._clock())
            reason = f"partial hedge {leg2.filled} of {leg1.filled}; excess unwound ({failure})"
            await self._end(attempt, TradeStatus.SUCCESS, locked_pnl, reason)
            return
        attempt.move(AttemptState.ROLLED_BACK, self._clock())
        await self._end(attempt, TradeStatus.ROLLED_BACK, unwind_pnl, failure)

    async def _strand(self, attempt: AttemptRecord, why: str) -> None:
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None
        attempt.move(AttemptState.STRANDED, self._clock())
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
    def _position(self, attempt: AttemptRecord) -> NewPosition:
        leg1 = attempt.leg(LegRole.LEG1)
        leg2 = attempt.leg(LegRole.LEG2)
        assert leg1 is not None and leg2 is not None
        hedged = min(leg1.filled, leg2.filled)
        kalshi, poly = (leg1, leg2) if leg1.venue is Venue.KALSHI else (leg2, leg1)

        def pleg(g: LegRecord) -> PositionLeg:
            contract = f"{label_side(g.contract)} {g.contract.contract_id}" if g.venue is Venue.KALSHI else g.label
            side = label_side(g.contract) if g.venue is not Venue.POLYMARKET else g.label
            return PositionLeg(
                venue=g.venue.value,
                market=g.contract.contract_id,
                contract=contract,
                side=side,
                price=g.avg_price or g.price,
                contracts=int(hedged),
            )

        return NewPosition(
            event_key=f"{attempt.game_key}:{attempt.id}",
            event_title=attempt.event_title,
            opened_at=self._clock(),
            poly=pleg(poly),
            kalshi=pleg(kalshi),
            cost=position_cost(attempt),
            attempt_id=attempt.id,
            game_key=attempt.game_key,
            expires_at=_parse_time(attempt.details.get("expires_at")),
        )

    def _publish_position(self, attempt: AttemptRecord) -> None:
        pos = self._position(attempt)
        self.publish(
            "position_opened",
            {
                "id": attempt.position_id,
                "position_id": attempt.position_id,
                "event": pos.event_title,
                "event_title": pos.event_title,
                "attempt_id": attempt.id,
                "poly_side": pos.poly.side,
                "poly_price": pos.poly.price,
                "poly_contracts": pos.poly.contracts,
                "kalshi_side": pos.kalshi.side,
                "kalshi_price": pos.kalshi.price,
                "kalshi_contracts": pos.kalshi.contracts,
                "cost": pos.cost,
                # Names as the venues name them, as /api/positions has them.
                "poly_venue": pos.poly.venue,
                "poly_market": pos.poly.market,
                "poly_contract": pos.poly.contract,
                "kalshi_ticker": pos.kalshi.market,
                "game_key": pos.game_key,
                "opened_at": pos.opened_at,
            },
        )

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
        leg1 = attempt.leg(LegRole.LEG1)
        leg2 = attempt.leg(LegRole.LEG2)
        spent = _cost(leg1) + _cost(leg2)
        bet = spent if spent > 0 else attempt.planned_cost
        attempt.pnl = pnl
        attempt.reason = reason
        self._timing(attempt, attempt.state.value)
        if attempt.state is not AttemptState.STRANDED:
            attempt.worst_case_loss = ZERO
        retries = int(attempt.details.get("unwind_retries", 0))
        roi = (pnl / bet * HUNDRED).quantize(Decimal("0.01")) if bet > 0 else None
        poly_leg = next((g for g in (leg1, leg2) if g is not None and g.venue is not Venue.KALSHI), None)
        kalshi_leg = next((g for g in (leg1, leg2) if g is not None and g.venue is Venue.KALSHI), None)
        details = {
            "path": list(attempt.path),
            "legs": [_leg_detail(g) for g in attempt.legs],
            "fees": str(sum((g.fees for g in attempt.legs), ZERO)),
            "timings": attempt.details.get("timings", {}),
            "game_key": attempt.game_key,
            "mapping_id": attempt.mapping_id,
            "direction": attempt.direction,
        }
        if "stranded" in attempt.details:
            details["stranded"] = attempt.details["stranded"]
        trade = TradeRecord(
            event_title=attempt.event_title,
            status=status,
            bet_size=bet,
            pnl=pnl,
            timestamp=self._clock(),
            roi=roi,
            poly_order_id=poly_leg.venue_order_id if poly_leg else None,
            kalshi_order_id=kalshi_leg.venue_order_id if kalshi_leg else None,
            reason=reason,
            attempt_id=attempt.id,
            details=details,
            # An operator's retry of a STRANDED attempt's unwind ends in a row of its own.
            dedup_key=f"attempt:{attempt.id}:retry{retries}" if retries else None,
        )
        opened_now = attempt.state is AttemptState.HEDGED and attempt.position_id is None
        position = self._position(attempt) if attempt.state is AttemptState.HEDGED else None
        trade_id, _ = await self.store.finish(attempt, trade, position)
        if opened_now and attempt.position_id is not None:
            self._publish_position(attempt)
        if trade_id is not None:
            self.publish(
                "trade_event",
                {
                    "event": attempt.event_title,
                    "status": status.value,
                    "bet_size": bet,
                    "pnl": pnl,
                    "roi": roi,
                    "reason": reason,
                    "attempt_id": attempt.id,
                    "trade_id": trade_id,
                    "timestamp": self._clock().isoformat(),
                    "loud": status is TradeStatus.STRANDED,
                },
            )


def _leg_detail(g: LegRecord) -> dict[str, Any]:
    return {
        "role": g.role.value,
        "venue": g.venue.value,
        "contract": g.label,
        "contract_id": g.contract.contract_id,
        "side": g.contract.side.value,
        "action": g.action.value,
        "price": str(g.price),
        "quantity": str(g.quantity),
        "tif": g.tif.value,
        "client_order_id": g.client_order_id,
        "venue_order_id": g.venue_order_id,
        "state": g.state,
        "filled": str(g.filled),
        "avg_price": None if g.avg_price is None else str(g.avg_price),
        "fees": str(g.fees),
        "error": g.error,
        "sent_at": None if g.sent_at is None else g.sent_at.isoformat(),
    }


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def _client_id() -> str:
    """Our order id: unique, venue-safe characters (Kalshi accepts up to 64)."""
    return "ex-" + uuid.uuid4().hex
