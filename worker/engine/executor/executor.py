"""The executor: admits opportunities, runs attempts concurrently, and serves the operator.

Lifecycle: :meth:`Executor.start` reads balances and reconciles every non-terminal
attempt against the venues **before** admitting anything new; :meth:`Executor.submit`
hands an opportunity to the risk manager and, when admitted, runs the attempt in its own
task (attempts on different games run concurrently); :meth:`Executor.shutdown` (SIGTERM)
stops admitting, lets attempts in flight finish or unwind within a bound, then returns.

Concurrency rules:

* one asyncio lock per game serialises everything that trades a game — an attempt, a
  close, a settlement — so a close that arrives while the game's attempt is still in
  flight waits for it rather than racing it;
* ``enabled`` false (or the kill switch) stops new attempts only; an attempt in flight
  always finishes or unwinds.

Implements :class:`worker.domain.operator.ExecutionControl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from worker.domain.attempts import (
    AttemptRecord,
    AttemptState,
    AttemptStore,
    LegRecord,
    LegRole,
    Refusal,
    RefusalReason,
)
from worker.domain.errors import VenueError
from worker.domain.events import AlertKind
from worker.domain.ledger import CashEntry, CashKind
from worker.domain.markets import ContractRef, MarketResolution, Venue, resolution_payout
from worker.domain.money import ZERO
from worker.domain.operator import (
    Balances,
    ExecutionControl,
    OperatorError,
    VenueConnection,
    VenueState,
)
from worker.domain.orders import OrderAction, OrderState, TimeInForce
from worker.domain.ports import VenuePort
from worker.domain.settings import ExecutorSettings
from worker.domain.storage import TradeStore
from worker.domain.tradelog import (
    PositionStatus,
    StoredPosition,
    StoredTrade,
    TradeRecord,
    TradeStatus,
    trading_day_bounds,
)
from worker.engine.books import BooksKeeper
from worker.engine.executor.balances import BalanceBook, BalanceRefresher
from worker.engine.executor.crash import CrashPoints
from worker.engine.executor.legs import LegSender, LegUnresolved
from worker.engine.executor.risk import Candidate, RiskConfig, RiskManager
from worker.engine.executor.runner import (
    AttemptRunner,
    UnwindPolicy,
    _client_id,
    _parse_time,
    position_cost,
    stranded_cost,
    unwind_pnl,
)
from worker.engine.lease import LeaseLost
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger(__name__)

Publish = Callable[[str, Mapping[str, Any]], object]
RaiseAlert = Callable[..., object]
#: ``RiskManager.halted`` while the kill switch holds (until trading is started again).
KILL_SWITCH_HALT = "kill switch pulled"
Sleep = Callable[[float], Awaitable[None]]
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


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Executor:
    """Auto-executor, attempt tasks, positions, settlement, reconciliation, operator actions."""

    def __init__(
        self,
        *,
        settings: ExecutorSettingsManager,
        store: AttemptStore,
        trades: TradeStore,
        trade_logger: TradeLogger,
        venues: Mapping[Venue, VenuePort],
        publish: Publish,
        risk_config: RiskConfig | None = None,
        crash: CrashPoints | None = None,
        unwind: UnwindPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        lookup_delays: Sequence[float] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        balance_interval_s: float = 30.0,
        reconcile_interval_s: float = 60.0,
        gate: Callable[[], None] | None = None,
        worker_id: str | None = None,
        books: BooksKeeper | None = None,
        epoch: Callable[[], int] | None = None,
        alert: RaiseAlert | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.trades = trades
        self.trade_logger = trade_logger
        self.venues = dict(venues)
        self.publish = publish
        # Tells the operator (stored, on every page) of what needs a person.
        self.alert = alert
        self.clock = clock
        self.balance_book = BalanceBook()
        self.books = books
        # This process's grant of the lease: reconciliation adopts only older grants' work.
        self.epoch = epoch
        self.last_books: Mapping[str, Any] | None = None
        self.refresher = BalanceRefresher(
            self.venues, self.balance_book, publish, balance_interval_s,
            on_refresh=self._books_after_refresh if books is not None else None,
        )
        self.risk = RiskManager(settings, store, self.balance_book, risk_config, clock)
        sender_kwargs: dict[str, Any] = {"sleep": sleep}
        if lookup_delays is not None:
            sender_kwargs["lookup_delays"] = lookup_delays
        self.sender = LegSender(self.venues, **sender_kwargs)
        # The single-trader lease: raises LeaseLost when this worker may not open exposure.
        self.gate = gate
        self.runner = AttemptRunner(store, self.sender, publish, crash, unwind, sleep, clock, gate, worker_id)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._game_locks: dict[str, asyncio.Lock] = {}
        self._reconcile_interval = reconcile_interval_s
        self._background: list[asyncio.Task[None]] = []
        self._last_refusal: dict[str, str] = {}
        self.ready = False
        self.opportunities_seen = 0
        self.refusals: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.pnl_total = Decimal(0)
        self.alerts: list[str] = []
        self.venue_errors: dict[Venue, str] = {}
        self._overdue_alerted: dict[str, datetime] = {}
        # The kill switch halts admission in memory first (the database may be what is
        # down); starting trading again, once that is saved, lifts it.
        settings.subscribe(self._lift_kill_switch)

    def _lift_kill_switch(self, old: ExecutorSettings, new: ExecutorSettings) -> None:
        if new.enabled and self.risk.halted == KILL_SWITCH_HALT:
            self.risk.halted = None

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self, *, background: bool = True) -> None:
        """Balances, then reconciliation, then (only then) admit opportunities."""
        await self.refresher.refresh()
        await self.reconcile()
        self._remind_stranded(await self.store.list_state(AttemptState.STRANDED))
        self.ready = True
        if background:
            self._background = [
                asyncio.create_task(self.refresher.run(), name="balances"),
                asyncio.create_task(self._reconcile_loop(), name="reconcile"),
            ]

    def _remind_stranded(self, attempts: list[AttemptRecord]) -> None:
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

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self._reconcile_interval)
            if not self._may_trade():
                # Lost the lease: the holder reconciles. Driving its attempts from here too
                # would race it (two unwinds of one leg).
                continue
            try:
                await self.reconcile()
                await self.settle()
            except Exception:
                log.exception("periodic reconciliation failed")

    async def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop admitting; let attempts in flight finish or unwind for up to ``timeout_s``.

        Returns True when nothing was left in flight.
        """
        self.risk.halted = "shutdown"
        pending = [t for t in self._tasks.values() if not t.done()]
        done = True
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout_s)
            if still:
                log.error("%d attempts still in flight at shutdown; reconciliation resumes them", len(still))
                done = False
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        return done

    async def wait_idle(self) -> None:
        """Wait for every attempt task started so far (tests, headless run)."""
        while True:
            pending = [t for t in self._tasks.values() if not t.done()]
            if not pending:
                return
            await asyncio.wait(pending)

    def game_lock(self, game_key: str) -> asyncio.Lock:
        lock = self._game_locks.get(game_key)
        if lock is None:
            lock = self._game_locks[game_key] = asyncio.Lock()
        return lock

    # -- admission -----------------------------------------------------------------------
    async def submit(self, candidate: Candidate) -> AttemptRecord | Refusal:
        """Judge one opportunity; when admitted its attempt starts running at once."""
        self.opportunities_seen += 1
        if not self.ready:
            refusal: AttemptRecord | Refusal = Refusal(
                RefusalReason.NOT_RECONCILED, "not reconciled yet: no new trade before reconciliation"
            )
        elif not self._may_trade():
            refusal = Refusal(RefusalReason.STANDBY, "another worker holds the trading lease")
        else:
            refusal = await self.risk.admit(candidate)
        if isinstance(refusal, Refusal):
            self.refusals[refusal.reason.value] += 1
            key = candidate.opportunity.id
            if self._last_refusal.get(key) != refusal.reason.value:
                self._last_refusal[key] = refusal.reason.value
                self.publish(
                    "refusal",
                    {
                        "opportunity_id": key,
                        "event": candidate.opportunity.event_title,
                        "reason": refusal.reason.value,
                        "detail": refusal.detail,
                        "timestamp": self.clock().isoformat(),
                    },
                )
            return refusal
        attempt = refusal
        self._last_refusal.pop(candidate.opportunity.id, None)
        self._spawn(attempt)
        return attempt

    def _may_trade(self) -> bool:
        if self.gate is None:
            return True
        try:
            self.gate()
        except LeaseLost:
            return False
        return True

    def _spawn(self, attempt: AttemptRecord) -> asyncio.Task[None]:
        task = asyncio.create_task(self._run(attempt), name=f"attempt {attempt.id}")
        self._tasks[attempt.id] = task
        return task

    async def _run(self, attempt: AttemptRecord) -> None:
        try:
            async with self.game_lock(attempt.game_key):
                try:
                    await self.runner.drive(attempt)
                except LegUnresolved as exc:
                    log.warning("attempt %s waits in %s: %s", attempt.id, attempt.state.value, exc)
                except LeaseLost as exc:
                    # Persisted as it stands; the lease holder's reconciliation resumes it.
                    log.error("attempt %s left in %s: %s", attempt.id, attempt.state.value, exc)
                except VenueError as exc:
                    log.warning("attempt %s paused in %s by %s", attempt.id, attempt.state.value, exc)
                if attempt.state.terminal:
                    self.outcomes[attempt.state.value] += 1
                    self.pnl_total += attempt.pnl or ZERO
        except Exception:
            log.exception("attempt %s failed unexpectedly in %s", attempt.id, attempt.state.value)
        finally:
            self.risk.release(attempt.id)
        try:
            await self.refresher.refresh()
        except Exception:  # pragma: no cover - refresher logs venue errors itself
            log.exception("balance refresh after attempt %s failed", attempt.id)

    def running(self, attempt_id: str) -> bool:
        task = self._tasks.get(attempt_id)
        return task is not None and not task.done()

    # -- reconciliation ------------------------------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Resolve every non-terminal attempt against the venues; report unknown orders loudly."""
        resumed = 0
        own = self.epoch() if self.epoch is not None else None
        for attempt in await self.store.list_active():
            if self.running(attempt.id):
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
                if self.ready:
                    # Admitted by this process a moment ago and about to be spawned.
                    continue
                await self.runner.abandon_planned(attempt, "not sent before the worker stopped")
                self.outcomes[attempt.state.value] += 1
                continue
            self._spawn(attempt)
        pending = [t for t in self._tasks.values() if not t.done()]
        if pending and not self.ready:
            # At start: trading begins only once every attempt found is settled (or waits).
            await asyncio.wait(pending)
        # Close orders of open positions that a crash left unanswered: look them up too.
        for position in await self.trades.list_positions("open"):
            if not position.attempt_id:
                continue
            lock = self.game_lock(position.game_key or position.event_key)
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
            if self.running(found.id):
                continue
            async with self.game_lock(found.game_key):
                current = await self.store.get(found.id)
                if current is None or current.state is not AttemptState.STRANDED:
                    continue
                await self._look_up(current, current.legs, f"stranded attempt {current.id}")
                stranded_checked += 1
        recorded = await self._record_late_fills()
        unknown = await self._unknown_orders()
        return {"resumed": resumed, "stranded": stranded_checked, "unknown_orders": unknown, "recorded": recorded}

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
            if self.running(found.id):
                continue
            async with self.game_lock(found.game_key):
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
                    timestamp=self.clock(),
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
                # The last two days: older fills were checked by earlier passes.
                fills = await port.fills(self.clock() - timedelta(days=2))
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

    # -- positions -----------------------------------------------------------------------
    async def _position_legs(self, position: StoredPosition) -> tuple[AttemptRecord, list[tuple[LegRecord, Decimal]]]:
        """The attempt behind a position and, per venue leg, the contracts still held."""
        if position.attempt_id is None:
            raise OperatorError("position_id", f"position {position.id} has no attempt of ours to trade")
        attempt = await self.store.get(position.attempt_id)
        if attempt is None:
            raise OperatorError("position_id", f"position {position.id}: attempt {position.attempt_id} is missing")
        held: list[tuple[LegRecord, Decimal]] = []
        hedged = min(
            (g.filled for g in (attempt.leg(LegRole.LEG1), attempt.leg(LegRole.LEG2)) if g is not None),
            default=ZERO,
        )
        for role in (LegRole.LEG1, LegRole.LEG2):
            leg = attempt.leg(role)
            if leg is None:
                continue
            sold = sum(
                (c.filled for c in attempt.legs_of(LegRole.CLOSE) if c.contract == leg.contract), ZERO
            )
            held.append((leg, max(hedged - sold, ZERO)))
        return attempt, held

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        """Sell both legs at the best bids; CLOSED row with realised P&L, or report what is left."""
        position = await self.trades.get_position(position_id)
        if position is None or position.status != "open":
            raise OperatorError("position_id", f"no open position {position_id}")
        if position.attempt_id and self.running(position.attempt_id):
            # The attempt is still in flight: wait for it rather than race it.
            await asyncio.wait([self._tasks[position.attempt_id]])
        async with self.game_lock(position.game_key or position.event_key):
            position = await self.trades.get_position(position_id)
            if position is None or position.status != "open":
                raise OperatorError("position_id", f"no open position {position_id}")
            attempt, held = await self._position_legs(position)
            if attempt.state.in_flight:
                raise OperatorError(
                    "position_id",
                    f"position {position_id}: its attempt is still {attempt.state.value}; close it once that ends",
                )
            problems: list[str] = []
            for leg, quantity in held:
                if quantity <= 0:
                    continue
                problem = await self._sell(attempt, leg, quantity)
                if problem:
                    problems.append(problem)
            attempt, held = await self._position_legs(position)
            left = {leg.venue.value: str(q) for leg, q in held if q > 0}
            if left:
                log.warning("position %s not fully closed: %s", position_id, "; ".join(problems))
                self.publish(
                    "trade_event",
                    {
                        "event": position.event_title,
                        "status": "CLOSE_INCOMPLETE",
                        "position_id": position_id,
                        "left": left,
                        "reason": "; ".join(problems),
                        "timestamp": self.clock().isoformat(),
                        "loud": True,
                    },
                )
                return {"position_id": position_id, "closed": False, "left": left, "problems": problems}
            complete = await self.runner.record_fills(attempt)
            await self.store.save(attempt)
            if not complete:
                # Sold, but realised only from the venues' own fills: the settlement pass
                # closes it once the venue reports them.
                return {"position_id": position_id, "closed": False, "left": {},
                        "problems": ["sold; the venue has not reported the fills yet: the books close it then"]}
            pnl = await self._realise_close(position, attempt)
        await self.refresher.refresh()
        return {"position_id": position_id, "closed": True, "pnl": pnl}

    async def _realise_close(self, position: StoredPosition, attempt: AttemptRecord) -> Decimal:
        """The CLOSED row of a position whose legs were all sold (figures from the fills)."""
        closes = attempt.legs_of(LegRole.CLOSE)
        proceeds = sum((c.notional - c.fees for c in closes), ZERO)
        cost = position_cost(attempt)
        pnl = proceeds - cost
        _, trade = await self.trade_logger.close_position(
            position.id,
            pnl=pnl,
            cost=cost,
            reason="closed by operator",
            details={"close_legs": [c.id for c in closes], "proceeds": str(proceeds)},
            poly_order_id=next((c.venue_order_id for c in closes if c.venue is not Venue.KALSHI), None),
            kalshi_order_id=next((c.venue_order_id for c in closes if c.venue is Venue.KALSHI), None),
        )
        self._position_closed(position, pnl, "CLOSED", trade)
        return pnl

    async def _sell(self, attempt: AttemptRecord, leg: LegRecord, quantity: Decimal) -> str | None:
        port = self.venues[leg.venue]
        try:
            book = await port.get_book(leg.contract)
        except VenueError as exc:
            return f"{leg.venue.value}: no book ({exc.message})"
        if book.best_bid is None:
            return f"{leg.venue.value}: no bid for {leg.label}"
        seq = 100 + len(attempt.legs_of(LegRole.CLOSE))
        close = LegRecord(
            id=f"{attempt.id}-c{seq}",
            attempt_id=attempt.id,
            role=LegRole.CLOSE,
            seq=seq,
            contract=leg.contract,
            label=leg.label,
            action=OrderAction.SELL,
            price=book.best_bid.price,
            quantity=quantity,
            tif=TimeInForce.IOC,
            client_order_id=_client_id(),
        )
        attempt.legs.append(close)
        try:
            prepared = await self.sender.prepare(close)
        except VenueError as exc:
            close.state = OrderState.REJECTED.value
            close.error = exc.message
            await self.store.save(attempt)
            return f"{leg.venue.value}: {exc.message}"
        await self.store.save(attempt)  # write-ahead
        await self.sender.send(close, prepared)
        await self.store.save(attempt)
        if not close.settled:
            try:
                await self.sender.resolve(close)
            except LegUnresolved as exc:
                await self.store.save(attempt)
                return f"{leg.venue.value}: {exc}"
            await self.store.save(attempt)
        if close.filled < quantity:
            return f"{leg.venue.value}: sold {close.filled} of {quantity} ({close.error or close.state})"
        return None

    def _position_closed(
        self, position: StoredPosition, pnl: Decimal, status: str, trade: StoredTrade | None
    ) -> None:
        if trade is not None:
            # The exit's own trade-log row (CLOSED / SETTLED), like every other row.
            self.publish(
                "trade_event",
                {
                    "event": trade.event_title,
                    "status": trade.status,
                    "bet_size": trade.bet_size,
                    "pnl": trade.pnl,
                    "roi": trade.roi,
                    "reason": trade.reason,
                    "attempt_id": trade.attempt_id,
                    "position_id": position.id,
                    "trade_id": trade.id,
                    "timestamp": trade.timestamp.isoformat(),
                    "loud": False,
                },
            )
        self.publish(
            "position_closed",
            {
                "id": position.id,
                "position_id": position.id,
                "event": position.event_title,
                "status": status,
                "pnl": pnl,
                "timestamp": self.clock().isoformat(),
            },
        )

    # -- settlement ----------------------------------------------------------------------
    async def settle(self) -> dict[str, int]:
        """Settle what we hold from each venue's own answer, market by market.

        For every open position and every STRANDED leg (or one the operator left to
        settle), the venue is asked for the market's result by the id it resolves by
        (:meth:`VenuePort.resolution`); a resolved one gets its SETTLED row and the payout
        as a cash entry. One whose game is overdue raises an alert and keeps being asked
        (postponed games resolve days later): nothing ends without its money.
        """
        now = self.clock()
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
        redeemable: dict[Venue, Mapping[str, Decimal] | None] = {}

        async def owed(venue: Venue) -> bool:
            """Does ``venue`` pay a resolved holding only once it is redeemed?"""
            if not await self._read_redeemable(venue, redeemable):
                return True  # owed until the venue shows otherwise
            return redeemable[venue] is not None

        settled = stranded = overdue = 0
        for position in await self.trades.list_positions("open"):
            if position.attempt_id and self.running(position.attempt_id):
                continue
            async with self.game_lock(position.game_key or position.event_key):
                current = await self.trades.get_position(position.id)
                if current is None or current.status != "open":
                    continue  # closed by the operator while this pass waited for the game
                position = current
                try:
                    attempt, held = await self._position_legs(position)
                except OperatorError:
                    continue
                if attempt.state.in_flight:
                    continue  # its unwind is not done: the position's cost is not final yet
                if held and all(q == 0 for _, q in held):
                    # Sold by a close whose fills the venue had not reported yet: realise
                    # it now from them, no result needed.
                    if await self.runner.record_fills(attempt):
                        await self.store.save(attempt)
                        await self._realise_close(position, attempt)
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
                closes = attempt.legs_of(LegRole.CLOSE)
                proceeds = sum((c.notional - c.fees for c in closes), ZERO)
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
                pnl = payout_total + proceeds - cost
                _, trade = await self.trade_logger.close_position(
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
                self._position_closed(position, pnl, "SETTLED", trade)
                settled += 1
        waiting = [
            *await self.store.list_state(AttemptState.STRANDED),
            *[a for a in await self.store.list_state(AttemptState.RESOLVED) if a.details.get("settle_at_resolution")],
        ]
        for attempt in waiting:
            leg1 = attempt.leg(LegRole.LEG1)
            if leg1 is None or self.running(attempt.id) or attempt.details.get("stranded_settled"):
                continue
            value = await payout(leg1.contract)
            if value is None:
                expires = _parse_time(attempt.details.get("expires_at"))
                if self._overdue(expires, now, f"stranded attempt {attempt.id}", attempt.event_title):
                    overdue += 1
                continue
            async with self.game_lock(attempt.game_key):
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

    async def _read_redeemable(self, venue: Venue, into: dict[Venue, Mapping[str, Decimal] | None]) -> bool:
        """``venue``'s redeemable holdings into ``into`` (once); False if not readable."""
        if venue not in into:
            try:
                into[venue] = await self.venues[venue].redeemable()
            except VenueError as exc:
                log.warning("redeemable holdings of %s not read: %s", venue.value, exc)
                return False
        return True

    async def _collect_redemptions(self, now: datetime, redeemable: dict[Venue, Mapping[str, Decimal] | None]) -> None:
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
                self.publish("trade_event", {"event": e.note or e.ref, "status": "TO_REDEEM", "reason": message,
                                             "attempt_id": e.attempt_id, "pnl": None,
                                             "timestamp": now.isoformat(), "loud": False})
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
            self.publish("trade_event", {"event": title, "status": "SETTLEMENT_OVERDUE", "reason": message,
                                         "what": what, "timestamp": now.isoformat(), "loud": True})
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
        pnl = unwind_pnl(attempt) + paid - cost
        if attempt.state is AttemptState.STRANDED:
            attempt.move(AttemptState.RESOLVED, now)
        attempt.worst_case_loss = ZERO
        attempt.details["stranded_settled"] = {"payout": str(paid), "value": str(value), "at": now.isoformat()}
        trade = _stranded_row(
            attempt, TradeStatus.SETTLED, cost, pnl, now, f"stranded {held} × {leg1.label} settled at {value}",
            {"payout": str(paid)}, "settled",
        )
        cash = [CashEntry(leg1.venue, CashKind.SETTLEMENT, f"settle:stranded:{leg1.id}", paid, now,
                          f"{held} × {leg1.label} at {value}", attempt.id, leg1.contract.contract_id,
                          received=paid == 0 or not owed)]
        trade_id, _ = await self.store.finish(attempt, trade, None, cash)
        if trade_id is not None:
            self.publish("trade_event", {"event": attempt.event_title, "status": "SETTLED", "pnl": pnl,
                                         "attempt_id": attempt.id, "trade_id": trade_id,
                                         "reason": trade.reason, "timestamp": now.isoformat(), "loud": False})

    # -- operator actions (ExecutionControl) ---------------------------------------------
    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        attempt = await self.store.get(attempt_id)
        if attempt is None or attempt.state is not AttemptState.STRANDED:
            raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
        if self.running(attempt_id):
            raise OperatorError("attempt_id", f"attempt {attempt_id} is already being worked on")
        async with self.game_lock(attempt.game_key):
            # Read again under the lock: a settlement may have resolved it meanwhile.
            current = await self.store.get(attempt_id)
            if current is None or current.state is not AttemptState.STRANDED or self.running(attempt_id):
                raise OperatorError("attempt_id", f"no STRANDED attempt {attempt_id}")
            attempt = current
            retries = int(attempt.details.get("unwind_retries", 0)) + 1
            attempt.details["unwind_retries"] = retries
            attempt.move(AttemptState.UNWINDING, self.clock())
            await self.store.save(attempt)
        task = self._spawn(attempt)
        await asyncio.wait([task])
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
        if self.running(attempt_id):
            raise OperatorError("attempt_id", f"attempt {attempt_id} is already being worked on")
        async with self.game_lock(attempt.game_key):
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
            now = self.clock()
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
                pnl = unwind_pnl(attempt) + proceeds - cost
                attempt.details["operator_proceeds"] = str(proceeds)
                trade = _stranded_row(
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
            "trade_event",
            {"event": attempt.event_title, "status": "RESOLVED", "attempt_id": attempt_id,
             "pnl": result.get("pnl"), "reason": note.strip(), "timestamp": now.isoformat()},
        )
        return result

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        """Stop admitting at once, pause (enabled off), cancel every resting order we know,
        flatten if asked.

        The stop comes first and in memory, so it holds even while the database is down:
        then ``enabled`` is not saved (``"saved": false``; the operator is told) and the
        resting orders are not known, but nothing new is opened by this worker."""
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
            return {"paused": True, "saved": saved, "cancelled": None, "flattened": [],
                    "note": "new trades stopped; the database is unavailable, so 'enabled' was "
                            + ("saved" if saved else "not saved")
                            + " and resting orders were not checked: check the venues"}
        for attempt in attempts:
            for leg in attempt.legs:
                if leg.state in (OrderState.OPEN.value, OrderState.PARTIALLY_FILLED.value) and leg.venue_order_id:
                    try:
                        order = await self.venues[leg.venue].cancel_order(leg.venue_order_id)
                    except VenueError as exc:
                        log.warning("kill switch: cancel of %s failed: %s", leg.id, exc)
                        continue
                    leg.state = order.state.value
                    cancelled += 1
                    await self.store.save(attempt)
        await self.wait_idle()
        results: list[Mapping[str, Any]] = []
        if flatten:
            for position in await self.trades.list_positions("open"):
                try:
                    results.append(await self.close_position(position.id))
                except OperatorError as exc:
                    results.append({"position_id": position.id, "closed": False, "problems": [exc.message]})
        return {"paused": True, "saved": saved, "cancelled": cancelled, "flattened": results}

    async def _books_after_refresh(self, cash: Mapping[Venue, Decimal]) -> Mapping[str, Any] | None:
        """The first balance read of a venue starts its books; every read re-computes them."""
        if self.books is None:
            return None
        now = self.clock()
        for venue, amount in cash.items():
            await self.books.record_opening(venue, amount, now)
        _, day_start, _ = trading_day_bounds(now, self.risk.config.day_tz)
        figures = await self.books.books(day_start, cash)
        self.last_books = schemas_books = figures.wire()
        return schemas_books

    def balances(self) -> Balances:
        known = self.balance_book.available
        poly = known.get(Venue.POLYMARKET_US, known.get(Venue.POLYMARKET))
        return Balances(poly=poly, kalshi=known.get(Venue.KALSHI))

    def venue_states(self) -> Sequence[VenueState]:
        out = []
        for venue in self.venues:
            err = self.venue_errors.get(venue)
            out.append(
                VenueState(
                    venue=venue.value,
                    state=VenueConnection.DOWN if err else VenueConnection.UP,
                    detail=err,
                    since=self.balance_book.updated_at.get(venue),
                )
            )
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "opportunities_seen": self.opportunities_seen,
            "attempts": dict(self.outcomes),
            "refusals": dict(self.refusals),
            "alerts": len(self.alerts),
        }



def _stranded_row(
    attempt: AttemptRecord,
    status: TradeStatus,
    cost: Decimal,
    pnl: Decimal,
    now: datetime,
    reason: str,
    details: Mapping[str, Any],
    how: str,
) -> TradeRecord:
    """The realised row of a stranded leg's end (SETTLED by its market, CLOSED by the
    operator's proceeds): the unwound and stranded contracts' P&L, once per attempt."""
    return TradeRecord(
        event_title=attempt.event_title,
        status=status,
        bet_size=cost,
        pnl=pnl,
        timestamp=now,
        roi=(pnl / cost * 100).quantize(Decimal("0.01")) if cost > 0 else None,
        reason=reason,
        attempt_id=attempt.id,
        details={**details, "unwind_pnl": str(unwind_pnl(attempt)), "stranded_cost": str(cost)},
        dedup_key=f"stranded:{attempt.id}:{how}",
    )


if TYPE_CHECKING:

    def _implements_execution_control(executor: Executor) -> ExecutionControl:
        return executor  # mypy checks the Executor against the operator port
