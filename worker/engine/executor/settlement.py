"""Settlement: what we hold is settled from each venue's own result, market by market.

For every open position and every STRANDED leg (or one the operator left to settle), the
venue is asked for the market's result by the id it resolves by
(:meth:`VenuePort.resolution`); a resolved one gets its SETTLED row and the payout as a
cash entry. A venue that pays a resolved holding only once it is redeemed (Polymarket's
conditional tokens) has its payout booked as owed until the venue no longer lists it.
One whose game is overdue raises an alert (once an hour) and keeps being asked: postponed
games resolve days later, and nothing ends without its money.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptRecord, AttemptState, AttemptStore, LegRole
from worker.domain.errors import VenueError
from worker.domain.events import Publish, TradeEvent, TradeNotice
from worker.domain.ledger import CashEntry, CashKind
from worker.domain.markets import ContractRef, MarketResolution, Venue, resolution_payout
from worker.domain.money import ZERO
from worker.domain.operator import OperatorError
from worker.domain.pnl import exit_pnl, position_cost, stranded_cost, stranded_pnl
from worker.domain.ports import VenuePort
from worker.domain.storage import TradeStore
from worker.domain.tradelog import PositionStatus, TradeStatus
from worker.engine.books import BooksKeeper
from worker.engine.executor.positions import Positions
from worker.engine.executor.records import parse_time, stranded_row
from worker.engine.executor.tasks import AttemptTasks

log = logging.getLogger(__name__)

#: A holding whose game should have resolved this long ago without a result raises an
#: alert (and keeps being asked: postponed games resolve days later).
SETTLEMENT_GRACE = timedelta(hours=12)
#: What the operator does to collect a payout the venue holds until it is redeemed.
REDEEM_STEP = (
    "Redeem it at Polymarket: Portfolio → Claim on polymarket.com (redeemPositions on the "
    "conditional-tokens contract for its condition); on the paper exchange: "
    "POST /paper/redeem. The books count it as owed until the venue pays it."
)
OVERDUE_ALERT_EVERY = timedelta(hours=1)
#: Each venue's redeemable holdings as read in one pass (None: it pays without redeeming).
Redeemable = dict[Venue, Mapping[str, Decimal] | None]


def _UNKNOWN() -> bool:
    """A venue port without ``resolved_nothing``: it may have resolved anything."""
    return False


class Settlement:
    """One settlement pass at a time (the executor's reconcile loop runs it)."""

    def __init__(
        self,
        store: AttemptStore,
        trades: TradeStore,
        venues: Mapping[Venue, VenuePort],
        positions: Positions,
        tasks: AttemptTasks,
        publish: Publish,
        *,
        books: BooksKeeper | None = None,
        alerts: list[str],
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.trades = trades
        self.venues = venues
        self.positions = positions
        self.tasks = tasks
        self.runner = tasks.runner
        self.publish = publish
        self.books = books
        self.alerts = alerts
        self.clock = clock
        self._overdue_alerted: dict[str, datetime] = {}

    async def settle(self) -> dict[str, int]:
        """Settle what we hold from each venue's own answer, market by market."""
        now = self.clock.now()
        results: dict[tuple[Venue, str, str], MarketResolution | None] = {}

        async def payout(contract: ContractRef) -> Decimal | None:
            key = (contract.venue, contract.market_id, contract.contract_id)
            if key not in results:
                try:
                    results[key] = await self.venues[contract.venue].resolution(contract)
                except VenueError as exc:
                    log.warning("resolution of %s not read: %s", contract, exc)
                    return None
            res = results[key]
            return None if res is None else resolution_payout(res, contract)

        # Each venue's redeemable holdings, read once a pass (settling and collecting both
        # need them); a venue that could not be read is missing.
        redeemable: Redeemable = {}

        async def owed(venue: Venue) -> bool:
            """Does ``venue`` pay a resolved holding only once it is redeemed?"""
            if not await self._read_redeemable(venue, redeemable):
                return True  # owed until the venue shows otherwise
            return redeemable[venue] is not None

        settled = stranded = overdue = 0
        # A venue that can say it has resolved nothing at all (a replay's, whose recording
        # holds no results) spares the pass loading every position's legs to learn that.
        unresolved = all(getattr(port, "resolved_nothing", _UNKNOWN)() for port in self.venues.values())
        for position in await self.trades.list_positions(PositionStatus.OPEN):
            if position.attempt_id and self.tasks.running(position.attempt_id):
                continue
            if unresolved:
                if self._overdue(position.expires_at, now, f"position {position.id}", position.event_title):
                    overdue += 1
                continue
            async with self.tasks.game_lock(position.game_key or position.event_key):
                current = await self.trades.get_position(position.id)
                if current is None or current.status != PositionStatus.OPEN:
                    continue  # closed by the operator while this pass waited for the game
                position = current
                try:
                    attempt, held = await self.positions.legs(position)
                except OperatorError:
                    continue
                if attempt.state.in_flight:
                    continue  # its unwind is not done: the position's cost is not final yet
                if held and all(q == 0 for _, q in held):
                    # Sold by a close whose fills the venue had not reported yet: realise
                    # it now from them, no result needed.
                    if await self.runner.record_fills(attempt):
                        await self.store.save(attempt)
                        await self.positions.realise_close(position, attempt)
                    continue
                values = [await payout(leg.contract) for leg, _ in held]
                if not held or any(v is None for v in values):
                    if self._overdue(position.expires_at, now, f"position {position.id}", position.event_title):
                        overdue += 1
                    continue
                if not await self.runner.record_fills(attempt):
                    await self.store.save(attempt)
                    continue  # realised only from the venues' own fills: the next pass
                await self.store.save(attempt)
                cash = [
                    CashEntry(leg.venue, CashKind.SETTLEMENT, f"settle:{leg.id}", q * v, now,
                              f"{q} × {leg.label} at {v}", attempt.id, leg.contract.contract_id,
                              received=q * v == 0 or not await owed(leg.venue))
                    for (leg, q), v in zip(held, values, strict=True)
                    if v is not None and q > 0
                ]
                payout_total = sum((c.amount for c in cash), ZERO)
                to_redeem = any(not c.received for c in cash)
                cost = position_cost(attempt)
                pnl = exit_pnl(attempt, payout_total)
                _, trade = await self.positions.trade_logger.close_position(
                    position.id,
                    pnl=pnl,
                    cost=cost,
                    reason="settled",
                    settled=True,
                    details={
                        "payouts": {str(leg.contract): str(v) for (leg, _), v in zip(held, values, strict=True)},
                        "payout": str(payout_total),
                    },
                    cash=cash,
                    status=PositionStatus.TO_REDEEM if to_redeem else PositionStatus.CLOSED,
                )
                self.positions.closed(position, pnl, TradeStatus.SETTLED, trade)
                settled += 1
        waiting = [
            *await self.store.list_state(AttemptState.STRANDED),
            *[a for a in await self.store.list_state(AttemptState.RESOLVED) if a.details.get("settle_at_resolution")],
        ]
        for attempt in waiting:
            leg1 = attempt.leg(LegRole.LEG1)
            if leg1 is None or self.tasks.running(attempt.id) or attempt.details.get("stranded_settled"):
                continue
            value = await payout(leg1.contract)
            if value is None:
                expires = parse_time(attempt.details.get("expires_at"))
                if self._overdue(expires, now, f"stranded attempt {attempt.id}", attempt.event_title):
                    overdue += 1
                continue
            async with self.tasks.game_lock(attempt.game_key):
                # Read again under the lock: the operator may have acted on it meanwhile.
                fresh = await self.store.get(attempt.id)
                if fresh is None or fresh.details.get("stranded_settled") or not (
                    fresh.state is AttemptState.STRANDED
                    or (fresh.state is AttemptState.RESOLVED and fresh.details.get("settle_at_resolution"))
                ):
                    continue
                await self._settle_stranded(fresh, value, now, owed=await owed(leg1.venue))
            stranded += 1
        await self._collect_redemptions(now, redeemable)
        return {"settled": settled, "stranded": stranded, "overdue": overdue}

    async def _read_redeemable(self, venue: Venue, into: Redeemable) -> bool:
        """``venue``'s redeemable holdings into ``into`` (once); False if not readable."""
        if venue not in into:
            try:
                into[venue] = await self.venues[venue].redeemable()
            except VenueError as exc:
                log.warning("redeemable holdings of %s not read: %s", venue.value, exc)
                return False
        return True

    async def _collect_redemptions(self, now: datetime, redeemable: Redeemable) -> None:
        """Owed payouts that the venue no longer lists as redeemable have reached the
        account; a position whose payouts all arrived is closed. The others are shown (an
        alert an hour) with the step that collects them."""
        if self.books is None:
            return
        owed = [e for e in await self.books.ledger.cash() if not e.received]
        if not owed:
            return
        received: set[str] = set()
        for venue in {e.venue for e in owed}:
            port = self.venues.get(venue)
            if port is None or not await self._read_redeemable(venue, redeemable):
                continue
            waiting = redeemable[venue]
            mine = [e for e in owed if e.venue is venue]
            held: set[str] = set()
            if waiting is not None:
                # Paid only once the venue holds the contract no more, redeemable or not (a
                # Data API that has not caught up with the resolution still lists it held).
                try:
                    held = {p.contract.contract_id for p in await port.positions()}
                except VenueError as exc:
                    log.warning("holdings of %s not read: %s", venue.value, exc)
                    continue
            arrived = [
                e.ref for e in mine if waiting is None or (e.contract_id not in waiting and e.contract_id not in held)
            ]
            await self.books.ledger.mark_received(venue, arrived, now)
            received.update(arrived)
            for e in mine:
                if e.ref in received:
                    continue
                what = f"redeem {e.ref}"
                last = self._overdue_alerted.get(what)
                if last is not None and now - last < OVERDUE_ALERT_EVERY:
                    continue
                self._overdue_alerted[what] = now
                message = f"resolved, to redeem: {e.amount} on {venue.value} ({e.note}). {REDEEM_STEP}"
                log.warning("TO REDEEM: %s", message)
                self.publish(TradeEvent(e.note or e.ref, TradeNotice.TO_REDEEM, now, reason=message,
                                        attempt_id=e.attempt_id, pnl=None, loud=False))
        still = {e.attempt_id for e in owed if e.ref not in received}
        for position in await self.trades.list_positions(PositionStatus.TO_REDEEM):
            if position.attempt_id not in still:
                await self.trades.set_position_status(position.id, PositionStatus.CLOSED)

    def _overdue(self, expires_at: datetime | None, now: datetime, what: str, title: str) -> bool:
        """Alert (once an hour per holding) when a game should have resolved long ago."""
        if expires_at is None or now <= expires_at + SETTLEMENT_GRACE:
            return False
        last = self._overdue_alerted.get(what)
        if last is None or now - last >= OVERDUE_ALERT_EVERY:
            self._overdue_alerted[what] = now
            message = (
                f"{what} ({title}) has no result {now - expires_at} after its expected resolution; "
                "still asking the venue (a postponed game resolves later)"
            )
            log.error("SETTLEMENT OVERDUE: %s", message)
            if message not in self.alerts:
                self.alerts.append(message)
            self.publish(TradeEvent(title, TradeNotice.SETTLEMENT_OVERDUE, now, reason=message, what=what, loud=True))
        return True

    async def _settle_stranded(self, attempt: AttemptRecord, value: Decimal, now: datetime, owed: bool = False) -> None:
        """The stranded leg's market resolved: realise the attempt's unwound and stranded
        contracts (a SETTLED row) and record the payout."""
        leg1 = attempt.leg(LegRole.LEG1)
        assert leg1 is not None
        if not await self.runner.record_fills(attempt):
            await self.store.save(attempt)
            return  # realised only from the venues' own fills: the next pass settles it
        held = attempt.leg1_open_quantity()
        cost = stranded_cost(attempt)
        paid = held * value
        pnl = stranded_pnl(attempt, paid)
        if attempt.state is AttemptState.STRANDED:
            attempt.move(AttemptState.RESOLVED, now)
        attempt.worst_case_loss = ZERO
        attempt.details["stranded_settled"] = {"payout": str(paid), "value": str(value), "at": now.isoformat()}
        trade = stranded_row(
            attempt, TradeStatus.SETTLED, cost, pnl, now, f"stranded {held} × {leg1.label} settled at {value}",
            {"payout": str(paid)}, "settled",
        )
        cash = [CashEntry(leg1.venue, CashKind.SETTLEMENT, f"settle:stranded:{leg1.id}", paid, now,
                          f"{held} × {leg1.label} at {value}", attempt.id, leg1.contract.contract_id,
                          received=paid == 0 or not owed)]
        trade_id, _ = await self.store.finish(attempt, trade, None, cash)
        if trade_id is not None:
            self.publish(TradeEvent(attempt.event_title, TradeStatus.SETTLED, now, pnl=pnl, attempt_id=attempt.id,
                                    trade_id=trade_id, reason=trade.reason, loud=False))
