"""Sending one leg and finding out what happened to it.

Rules (VENUES.md, ARCHITECTURE.md "Two-leg execution"):

* the leg row is committed (with the Polymarket order hash / our client id) **before**
  the venue call; the caller does that;
* a timed-out or broken call is *unknown*: the order is looked up (Kalshi by client id,
  Polymarket by order hash, Polymarket US by the market's orders matched on intent) and
  never sent a second time while it is unknown;
* an IOC/FOK order found resting (a venue that misbehaves) is cancelled at once, so no
  order of ours is ever left on a book.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import LEG_NOT_FOUND, LegRecord
from worker.domain.errors import (
    AuthFailed,
    OrderNotFound,
    OrderRejected,
    OrderUnknown,
    RateLimited,
    VenueError,
)
from worker.domain.markets import OutcomeSide, Venue
from worker.domain.money import ONE
from worker.domain.orders import Fill, Order, OrderState, PreparedOrder
from worker.domain.ports import VenuePort

log = logging.getLogger(__name__)

#: Pauses between look-ups of an unknown order: the venue may still be processing it.
LOOKUP_DELAYS: tuple[float, ...] = (0.05, 0.2, 0.5, 1.0, 2.0)


class LegUnresolved(Exception):
    """The outcome of a sent leg is still unknown after every look-up (venue unreachable)."""


class LookupOutcome(StrEnum):
    """What one look-up of a sent leg found."""

    SETTLED = "settled"  # the order is terminal at the venue: the leg's outcome is known
    ABSENT = "absent"  # the venue has no such order
    PENDING = "pending"  # found, not terminal yet
    ERROR = "error"  # the venue could not be asked


def new_client_id() -> str:
    """Our order id: unique, venue-safe characters (Kalshi accepts up to 64)."""
    return "ex-" + uuid.uuid4().hex


def apply_order(leg: LegRecord, order: Order, now: datetime) -> None:
    """Copy the venue's view of the order onto the leg (never un-filling anything).

    Some look-ups (an order record rather than the create answer) report a fill count
    without an average price: the order's fills give it, else the limit price stands in
    (for a buy the most it can have cost, for a sell the least it brought) until
    :meth:`LegSender.complete_prices` reads the fills.
    """
    if order.venue_order_id:
        leg.venue_order_id = order.venue_order_id
    if order.filled_size >= leg.filled:
        leg.filled = order.filled_size
        avg = order.avg_fill_price
        fees = order.fee_paid
        if order.filled_size > 0 and avg is None:
            avg, fees = _from_fills(order.fills, fees) or (order.price, fees)
            leg.error = leg.error or "average price from fills/limit"
        leg.avg_price = avg if order.filled_size > 0 else None
        leg.fees = fees
    leg.state = order.state.value
    leg.updated_at = now


def _from_fills(fills: Sequence[Fill], fee_paid: Decimal) -> tuple[Decimal, Decimal] | None:
    qty = sum((f.size for f in fills), Decimal(0))
    if qty <= 0:
        return None
    vwap = sum((f.price * f.size for f in fills), Decimal(0)) / qty
    fees = sum((f.fee for f in fills), Decimal(0))
    return vwap, max(fees, fee_paid)


def _in_leg_terms(leg: LegRecord, fill: Fill) -> Fill:
    """A fill of ``leg``'s order as the leg's action on the leg's contract side.

    Kalshi reports a sale of YES as a purchase of NO at ``1 − price`` (one book for both
    sides; holdings net out): in the leg's terms that is a sale of YES at ``price``.
    """
    price = fill.price
    if fill.contract.side is not leg.contract.side and {fill.contract.side, leg.contract.side} <= _YES_NO:
        price = ONE - price
    return replace(fill, contract=leg.contract, action=leg.action, price=price)


_YES_NO = frozenset({OutcomeSide.YES, OutcomeSide.NO})


class LegSender:
    """Sends legs and resolves unknown outcomes against the venues."""

    def __init__(
        self,
        venues: Mapping[Venue, VenuePort],
        lookup_delays: Sequence[float] = LOOKUP_DELAYS,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.venues = venues
        self.clock = clock
        self._delays = tuple(lookup_delays)

    def port(self, leg: LegRecord) -> VenuePort:
        return self.venues[leg.venue]

    async def prepare(self, leg: LegRecord) -> PreparedOrder:
        """Build (and sign) the order; the Polymarket hash is kept on the leg for look-ups."""
        prepared = await self.port(leg).prepare_order(leg.intent())
        if prepared.venue_order_id:
            leg.venue_order_id = prepared.venue_order_id
        leg.state = OrderState.SUBMITTED.value
        leg.sent_at = self.clock.now()
        leg.updated_at = leg.sent_at
        return prepared

    async def send(self, leg: LegRecord, prepared: PreparedOrder) -> None:
        """Send once and record the outcome on ``leg`` (the caller persists it)."""
        try:
            order = await self.port(leg).send_order(prepared)
        except OrderRejected as exc:
            leg.state = OrderState.REJECTED.value
            leg.error = f"rejected: {exc.message}"
            log.info("leg %s rejected by %s: %s", leg.id, leg.venue.value, exc.message)
            return
        except RateLimited as exc:
            # A 429 is an answer: the venue did not take the order.
            leg.state = OrderState.REJECTED.value
            leg.error = f"rate limited: {exc.message}"
            log.info("leg %s rate limited by %s", leg.id, leg.venue.value)
            return
        except AuthFailed as exc:
            leg.state = OrderState.REJECTED.value
            leg.error = f"auth failed: {exc.message}"
            log.error("leg %s: %s refused our credentials", leg.id, leg.venue.value)
            return
        except OrderUnknown as exc:
            if exc.venue_order_id and not leg.venue_order_id:
                leg.venue_order_id = exc.venue_order_id
            leg.state = OrderState.UNKNOWN.value
            leg.error = f"unknown: {exc.message}"
            log.info("leg %s outcome unknown on %s (%s): looking it up", leg.id, leg.venue.value, exc.message)
            return
        except (VenueError, OSError, TimeoutError) as exc:
            leg.state = OrderState.UNKNOWN.value
            leg.error = f"unknown: {type(exc).__name__}"
            log.info("leg %s outcome unknown on %s (%s): looking it up", leg.id, leg.venue.value, exc)
            return
        apply_order(leg, order, self.clock.now())
        await self._settle_resting(leg)

    async def _settle_resting(self, leg: LegRecord) -> None:
        if leg.settled or leg.state in (OrderState.UNKNOWN.value, OrderState.SUBMITTED.value, OrderState.PENDING.value):
            return
        # OPEN / PARTIALLY_FILLED: our IOC/FOK orders must not rest; take it off the book.
        if leg.venue_order_id is None:
            return
        log.warning("leg %s found resting on %s: cancelling it", leg.id, leg.venue.value)
        try:
            apply_order(leg, await self.port(leg).cancel_order(leg.venue_order_id), self.clock.now())
        except VenueError as exc:
            log.warning("cancel of leg %s failed: %s", leg.id, exc)

    async def lookup_once(self, leg: LegRecord) -> LookupOutcome:
        """One look-up of ``leg``'s order at its venue (see :class:`LookupOutcome`)."""
        port = self.port(leg)
        order: Order | None = None
        try:
            if leg.venue_order_id:
                try:
                    order = await port.get_order(leg.venue_order_id)
                except OrderNotFound:
                    order = None
            if order is None:
                order = await port.find_order(leg.intent())
        except VenueError as exc:
            log.info("look-up of leg %s on %s failed: %s", leg.id, leg.venue.value, exc)
            return LookupOutcome.ERROR
        if order is None:
            return LookupOutcome.ABSENT
        apply_order(leg, order, self.clock.now())
        if order.filled_size > 0 and order.avg_fill_price is None and not order.fills:
            await self.complete_prices(leg)
        await self._settle_resting(leg)
        return LookupOutcome.SETTLED if leg.settled else LookupOutcome.PENDING

    async def complete_prices(self, leg: LegRecord) -> None:
        """Average price and fees of a filled leg from the venue's fills of its order."""
        if not leg.venue_order_id:
            return
        since = leg.sent_at - timedelta(minutes=5) if leg.sent_at else None
        try:
            fills = [f for f in await self.port(leg).fills(since) if f.venue_order_id == leg.venue_order_id]
        except VenueError as exc:
            log.info("fills of leg %s not read (%s): limit price kept as its average", leg.id, exc)
            return
        got = _from_fills(fills, leg.fees)
        if got is not None:
            leg.avg_price, leg.fees = got

    async def ledger(self, leg: LegRecord, tries: int = 4) -> list[Fill] | None:
        """The venue's own fills of a settled leg's order, in the leg's terms; the leg's
        average price and fees are set from them (the books rest on what was charged).

        None (and the leg as it was) when the venue cannot be read or its fills do not yet
        add up to what the order filled: the caller keeps the order answer's figures and a
        later pass records the fills.
        """
        if not leg.settled or leg.filled <= 0 or not leg.venue_order_id:
            return None
        since = leg.sent_at - timedelta(minutes=5) if leg.sent_at else None
        for delay in (0.0, *self._delays)[:tries]:
            if delay:
                await self.clock.sleep(delay)
            try:
                raw = await self.port(leg).order_fills(leg.venue_order_id, since)
            except VenueError as exc:
                log.info("fills of leg %s on %s not read: %s", leg.id, leg.venue.value, exc)
                continue
            fills = [_in_leg_terms(leg, f) for f in raw]
            qty = sum((f.size for f in fills), Decimal(0))
            if qty != leg.filled:
                log.info("fills of leg %s add up to %s of %s filled: waiting for the venue", leg.id, qty, leg.filled)
                continue
            leg.avg_price = sum((f.price * f.size for f in fills), Decimal(0)) / qty
            leg.fees = sum((f.fee for f in fills), Decimal(0))
            leg.fills_recorded = True
            return fills
        log.warning("leg %s on %s: fills not recorded; its figures are the order's answer", leg.id, leg.venue.value)
        return None

    async def resolve(self, leg: LegRecord, delays: Sequence[float] | None = None) -> None:
        """Look the leg up until its outcome is known.

        An order that every look-up answered "no such order" never reached the venue: it
        is marked ``not_found`` (nothing filled). A venue that cannot be reached, or an
        order found but not terminal, leaves the leg unknown and raises
        :class:`LegUnresolved`; the reconciler tries again later.
        """
        if leg.settled:
            return
        outcomes: list[LookupOutcome] = []
        for delay in (0.0, *(delays if delays is not None else self._delays)):
            if delay:
                await self.clock.sleep(delay)
            outcome = await self.lookup_once(leg)
            if outcome is LookupOutcome.SETTLED:
                return
            outcomes.append(outcome)
        if outcomes and all(o is LookupOutcome.ABSENT for o in outcomes):
            leg.state = LEG_NOT_FOUND
            leg.updated_at = self.clock.now()
            log.info("leg %s was never placed on %s (not found)", leg.id, leg.venue.value)
            return
        raise LegUnresolved(f"leg {leg.id} on {leg.venue.value}: {outcomes[-1].value if outcomes else 'unknown'}")
