"""Positions: closing them at the venues by hand, and settling them from the venues' results.

Every exit is realised from the venues' own fills (:meth:`AttemptRunner.record_fills`);
one whose fills the venue has not reported yet is left for the next settlement pass,
which realises it then. A close or settlement takes the game's lock, so it never races
the attempt that opened the position, nor another exit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptRecord, AttemptStore, LegRecord, LegRole
from worker.domain.errors import VenueError
from worker.domain.events import PositionClosed, Publish, TradeEvent, TradeNotice
from worker.domain.markets import Venue
from worker.domain.operator import OperatorError
from worker.domain.orders import OrderState
from worker.domain.pnl import close_proceeds, exit_pnl, held_contracts, position_cost
from worker.domain.ports import VenuePort
from worker.domain.storage import TradeStore
from worker.domain.tradelog import PositionStatus, StoredPosition, StoredTrade, TradeStatus
from worker.engine.executor.legs import LegSender, LegUnresolved
from worker.engine.executor.records import sale_leg
from worker.engine.executor.tasks import AttemptTasks
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger(__name__)



#: Sales one close may send for a leg: an answered sale that sold less than asked (the bid
#: moved between the book read and the order) is tried again at the then best bid.
CLOSE_TRIES = 3


class Positions:
    """Closes open positions by hand and writes each exit's row (shared by settlement)."""

    def __init__(
        self,
        store: AttemptStore,
        trades: TradeStore,
        trade_logger: TradeLogger,
        venues: Mapping[Venue, VenuePort],
        sender: LegSender,
        tasks: AttemptTasks,
        publish: Publish,
        refresh: Callable[[], Awaitable[None]],
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.trades = trades
        self.trade_logger = trade_logger
        self.venues = venues
        self.sender = sender
        self.tasks = tasks
        self.runner = tasks.runner
        self.publish = publish
        self._refresh = refresh
        self.clock = clock

    async def legs(self, position: StoredPosition) -> tuple[AttemptRecord, list[tuple[LegRecord, Decimal]]]:
        """The attempt behind a position and, per venue leg, the contracts still held."""
        if position.attempt_id is None:
            raise OperatorError("position_id", f"position {position.id} has no attempt of ours to trade")
        attempt = await self.store.get(position.attempt_id)
        if attempt is None:
            raise OperatorError("position_id", f"position {position.id}: attempt {position.attempt_id} is missing")
        return attempt, held_contracts(attempt)

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        """Sell both legs at the best bids; CLOSED row with realised P&L, or report what is left."""
        position = await self.trades.get_position(position_id)
        if position is None or position.status != PositionStatus.OPEN:
            raise OperatorError("position_id", f"no open position {position_id}")
        if position.attempt_id and self.tasks.running(position.attempt_id):
            # The attempt is still in flight: wait for it rather than race it.
            await self.tasks.wait_for(position.attempt_id)
        async with self.tasks.game_lock(position.game_key or position.event_key):
            position = await self.trades.get_position(position_id)
            if position is None or position.status != PositionStatus.OPEN:
                raise OperatorError("position_id", f"no open position {position_id}")
            attempt, held = await self.legs(position)
            if attempt.state.in_flight:
                raise OperatorError(
                    "position_id",
                    f"position {position_id}: its attempt is still {attempt.state.value}; close it once that ends",
                )
            problems: list[str] = []
            for leg, quantity in held:
                problem = await self._sell_held(attempt, leg, quantity)
                if problem:
                    problems.append(problem)
            attempt, held = await self.legs(position)
            left = {leg.venue: q for leg, q in held if q > 0}
            if left:
                log.warning("position %s not fully closed: %s", position_id, "; ".join(problems))
                self.publish(
                    TradeEvent(
                        position.event_title, TradeNotice.CLOSE_INCOMPLETE, self.clock.now(), position_id=position_id,
                        left=left, reason="; ".join(problems), loud=True,
                    )
                )
                return {"position_id": position_id, "closed": False,
                        "left": {venue.value: str(q) for venue, q in left.items()}, "problems": problems}
            complete = await self.runner.record_fills(attempt)
            await self.store.save(attempt)
            if not complete:
                # Sold, but realised only from the venues' own fills: the settlement pass
                # closes it once the venue reports them.
                return {"position_id": position_id, "closed": False, "left": {},
                        "problems": ["sold; the venue has not reported the fills yet: the books close it then"]}
            pnl = await self.realise_close(position, attempt)
        await self._refresh()
        return {"position_id": position_id, "closed": True, "pnl": pnl}

    async def realise_close(self, position: StoredPosition, attempt: AttemptRecord) -> Decimal:
        """The CLOSED row of a position whose legs were all sold (figures from the fills)."""
        closes = attempt.legs_of(LegRole.CLOSE)
        proceeds = close_proceeds(attempt)
        cost = position_cost(attempt)
        pnl = exit_pnl(attempt)
        _, trade = await self.trade_logger.close_position(
            position.id,
            pnl=pnl,
            cost=cost,
            reason="closed by operator",
            details={"close_legs": [c.id for c in closes], "proceeds": str(proceeds)},
            poly_order_id=next((c.venue_order_id for c in closes if c.venue is not Venue.KALSHI), None),
            kalshi_order_id=next((c.venue_order_id for c in closes if c.venue is Venue.KALSHI), None),
        )
        self.closed(position, pnl, TradeStatus.CLOSED, trade)
        return pnl

    async def _sell_held(self, attempt: AttemptRecord, leg: LegRecord, quantity: Decimal) -> str | None:
        """Sell ``quantity`` of what ``leg`` bought at the best bid. A sale the venue
        answered with less sold than asked (the bid moved between the book read and the
        order: an IOC at that bid finds nothing) is tried again for the rest at the then
        best bid, up to :data:`CLOSE_TRIES` sales; a sale whose outcome is unknown is
        never sent again. What is still unsold, said as the last try's problem, or None."""
        problem: str | None = None
        for _ in range(CLOSE_TRIES):
            if quantity <= 0:
                return None
            problem, answered = await self._sell(attempt, leg, quantity)
            if problem is None or not answered:
                return problem
            quantity = next((q for held, q in held_contracts(attempt) if held.contract == leg.contract), Decimal(0))
        return problem

    async def _sell(self, attempt: AttemptRecord, leg: LegRecord, quantity: Decimal) -> tuple[str | None, bool]:
        """One sale at the best bid: (why not all was sold or None, whether the venue
        answered it, so what is left is known to be unsold)."""
        port = self.venues[leg.venue]
        try:
            book = await port.get_book(leg.contract)
        except VenueError as exc:
            return f"{leg.venue.value}: no book ({exc.message})", False
        if book.best_bid is None:
            return f"{leg.venue.value}: no bid for {leg.label}", False
        close = sale_leg(attempt, leg, LegRole.CLOSE, book.best_bid.price, quantity)
        try:
            prepared = await self.sender.prepare(close)
        except VenueError as exc:
            close.state = OrderState.REJECTED.value
            close.error = exc.message
            await self.store.save(attempt)
            return f"{leg.venue.value}: {exc.message}", False
        await self.store.save(attempt)  # write-ahead
        await self.sender.send(close, prepared)
        await self.store.save(attempt)
        if not close.settled:
            try:
                await self.sender.resolve(close)
            except LegUnresolved as exc:
                await self.store.save(attempt)
                return f"{leg.venue.value}: {exc}", False
            await self.store.save(attempt)
        if close.filled < quantity:
            return f"{leg.venue.value}: sold {close.filled} of {quantity} ({close.error or close.state})", close.settled
        return None, True

    def closed(self, position: StoredPosition, pnl: Decimal, status: TradeStatus, trade: StoredTrade | None) -> None:
        """Publish a position's exit: its trade-log row (CLOSED / SETTLED) and the close."""
        if trade is not None:
            # The exit's own trade-log row (CLOSED / SETTLED), like every other row.
            self.publish(
                TradeEvent(
                    trade.event_title, TradeStatus(trade.status), trade.timestamp, bet_size=trade.bet_size,
                    pnl=trade.pnl, roi=trade.roi, reason=trade.reason, attempt_id=trade.attempt_id,
                    position_id=position.id, trade_id=trade.id, loud=False,
                )
            )
        self.publish(PositionClosed(position.id, position.event_title, status, pnl, self.clock.now()))

