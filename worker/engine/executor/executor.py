"""The executor: admits opportunities, runs attempts concurrently, and serves the operator.

Lifecycle: :meth:`Executor.start` reads balances and reconciles every non-terminal
attempt against the venues **before** admitting anything new; :meth:`Executor.submit`
hands an opportunity to admission (the risk manager) and, when admitted, runs the attempt
in its own task (attempts on different games run concurrently); :meth:`Executor.shutdown`
(SIGTERM) stops admitting, lets attempts in flight finish or unwind within a bound, then
returns.

The executor is a facade over its parts, each in a module of its own and all on one
:class:`~worker.clock.Clock`:

* :class:`~worker.engine.executor.admission.Admission` — may this opportunity trade
  (reconciled, lease held, every risk limit) and its reservation;
* :class:`~worker.engine.executor.tasks.AttemptTasks` — one task per attempt, driven by
  the :class:`~worker.engine.executor.runner.AttemptRunner`, and one lock per game that
  serialises everything trading the game (an attempt, a close, a settlement), so a close
  that arrives while the game's attempt is in flight waits for it rather than racing it;
* :class:`~worker.engine.executor.reconciler.Reconciler` — attempts left in flight, late
  fills, orders the venues know and we do not;
* :class:`~worker.engine.executor.positions.Positions` and
  :class:`~worker.engine.executor.settlement.Settlement` — closing and settling positions;
* :class:`~worker.engine.executor.operator.OperatorActions` — STRANDED handling and the
  kill switch.

``enabled`` false (or the kill switch) stops new attempts only; an attempt in flight
always finishes or unwinds. Implements :class:`worker.domain.operator.ExecutionControl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from worker.clock import SYSTEM_CLOCK, Clock, within
from worker.domain.attempts import AttemptRecord, AttemptState, AttemptStore, Refusal
from worker.domain.events import BalanceUpdate, Publish
from worker.domain.ledger import BooksFigures
from worker.domain.markets import Venue
from worker.domain.marks import MarkSource
from worker.domain.operator import Balances, ExecutionControl, VenueConnection, VenueState
from worker.domain.ports import VenuePort
from worker.domain.storage import TradeStore
from worker.domain.tradelog import trading_day_bounds
from worker.engine.books import Books, BooksKeeper
from worker.engine.executor.admission import Admission
from worker.engine.executor.balances import BalanceBook, BalanceRefresher
from worker.engine.executor.crash import CrashPoints
from worker.engine.executor.legs import LOOKUP_DELAYS, LegSender
from worker.engine.executor.operator import OperatorActions
from worker.engine.executor.positions import Positions
from worker.engine.executor.reconciler import Reconciler
from worker.engine.executor.risk import (
    KILL_SWITCH_HALT,
    SHUTDOWN_HALT,
    Candidate,
    RiskConfig,
    RiskManager,
)
from worker.engine.executor.runner import AttemptRunner, UnwindPolicy
from worker.engine.executor.settlement import Settlement
from worker.engine.executor.tasks import AttemptTasks
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger

log = logging.getLogger(__name__)

RaiseAlert = Callable[..., object]

__all__ = ["KILL_SWITCH_HALT", "Executor"]


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
        lookup_delays: Sequence[float] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        balance_interval_s: float = 30.0,
        mark_interval_s: float = 2.0,
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
        self.last_books: Mapping[str, Any] | None = None
        # The books as last computed (cash just read, holdings from our records); every
        # ``mark_interval_s`` they are valued again at the scanner's marks, which the
        # pipeline sets (``marks``), and published when a value changed.
        self.marks: MarkSource | None = None
        self._books: Books | None = None
        self._mark_interval = mark_interval_s
        # Shown to the operator: what reconciliation and settlement found wrong, and why
        # a venue could not be read.
        self.alerts: list[str] = []
        self.venue_errors: dict[Venue, str] = {}
        self.refresher = BalanceRefresher(
            self.venues, self.balance_book, publish, balance_interval_s,
            on_refresh=self._books_after_refresh if books is not None else None, clock=clock,
        )
        self.risk = RiskManager(settings, store, self.balance_book, risk_config, clock=clock)
        self.sender = LegSender(self.venues, LOOKUP_DELAYS if lookup_delays is None else lookup_delays, clock=clock)
        # The single-trader lease: raises LeaseLost when this worker may not open exposure.
        self.gate = gate
        self.runner = AttemptRunner(store, self.sender, publish, crash, unwind, gate, worker_id, clock=clock)
        self.tasks = AttemptTasks(self.runner, self.risk.release, self.refresher.refresh)
        self.admission = Admission(self.risk, publish, gate, clock=clock)
        self.reconciler = Reconciler(
            store, trades, self.venues, self.sender, self.tasks, lambda: self.ready,
            epoch=epoch, alert=alert, alerts=self.alerts, venue_errors=self.venue_errors, clock=clock,
        )
        self.positions = Positions(
            store, trades, trade_logger, self.venues, self.sender, self.tasks, publish,
            self.refresher.refresh, clock=clock,
        )
        self.settlement = Settlement(
            store, trades, self.venues, self.positions, self.tasks, publish,
            books=books, alerts=self.alerts, clock=clock,
        )
        self.operator = OperatorActions(
            settings, store, trades, self.venues, self.risk, self.tasks, publish,
            self.positions.close_position, clock=clock,
        )
        self._reconcile_interval = reconcile_interval_s
        self._background: list[asyncio.Task[None]] = []

    # -- state the parts share -------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Reconciled: opportunities are admitted."""
        return self.admission.open

    @ready.setter
    def ready(self, value: bool) -> None:
        self.admission.open = value

    @property
    def epoch(self) -> Callable[[], int] | None:
        """This process's grant of the lease: reconciliation adopts only older grants' work."""
        return self.reconciler.epoch

    @epoch.setter
    def epoch(self, value: Callable[[], int] | None) -> None:
        self.reconciler.epoch = value

    @property
    def opportunities_seen(self) -> int:
        return self.admission.opportunities_seen

    @property
    def refusals(self) -> Counter[str]:
        return self.admission.refusals

    @property
    def outcomes(self) -> Counter[str]:
        return self.tasks.outcomes

    @property
    def pnl_total(self) -> Decimal:
        return self.tasks.pnl_total

    @property
    def _tasks(self) -> dict[str, asyncio.Task[None]]:
        return self.tasks.tasks

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self, *, background: bool = True) -> None:
        """Balances, then reconciliation, then (only then) admit opportunities."""
        await self.refresher.refresh()
        await self.reconcile()
        self.reconciler.remind_stranded(await self.store.list_state(AttemptState.STRANDED))
        self.ready = True
        if background:
            self._background = [
                asyncio.create_task(self.refresher.run(), name="balances"),
                asyncio.create_task(self._reconcile_loop(), name="reconcile"),
                asyncio.create_task(self._mark_loop(), name="marks"),
            ]

    async def _reconcile_loop(self) -> None:
        while True:
            await self.clock.sleep(self._reconcile_interval)
            if not self.admission.may_trade():
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
        self.risk.halted = SHUTDOWN_HALT
        still = await self._finish_within(timeout_s)
        if still:
            log.error("%d attempts still in flight at shutdown; reconciliation resumes them", still)
        for task in self._background:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        return not still

    async def _finish_within(self, timeout_s: float) -> int:
        """Wait (on the clock) up to ``timeout_s`` for the attempts in flight; how many are left."""
        pending = self.tasks.pending()
        if not pending:
            return 0
        await within(self.clock, asyncio.wait(pending), timeout_s)
        return sum(1 for t in pending if not t.done())

    async def wait_idle(self) -> None:
        """Wait for every attempt task started so far (tests, headless run)."""
        await self.tasks.wait_idle()

    def game_lock(self, game_key: str) -> asyncio.Lock:
        return self.tasks.game_lock(game_key)

    def running(self, attempt_id: str) -> bool:
        return self.tasks.running(attempt_id)

    def on_attempt_end(self, listener: Callable[[AttemptRecord], None]) -> None:
        """Call ``listener`` with each attempt this executor runs once it has ended (its
        reservation released, the balances read again): its game is free again."""
        self.tasks.ended.append(listener)

    def off_attempt_end(self, listener: Callable[[AttemptRecord], None]) -> None:
        if listener in self.tasks.ended:
            self.tasks.ended.remove(listener)

    # -- admission -----------------------------------------------------------------------
    async def submit(self, candidate: Candidate) -> AttemptRecord | Refusal:
        """Judge one opportunity; when admitted its attempt starts running at once."""
        admitted = await self.admission.admit(candidate)
        if isinstance(admitted, AttemptRecord):
            self.tasks.spawn(admitted)
        return admitted

    # -- reconciliation, positions, settlement -------------------------------------------
    async def reconcile(self) -> dict[str, int]:
        """Resolve every non-terminal attempt against the venues; report unknown orders loudly."""
        return await self.reconciler.reconcile()

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        """Sell both legs at the best bids; CLOSED row with realised P&L, or report what is left."""
        return await self.positions.close_position(position_id)

    async def settle(self) -> dict[str, int]:
        """Settle open positions and STRANDED legs whose markets resolved; collect redemptions."""
        return await self.settlement.settle()

    # -- operator actions (ExecutionControl) ---------------------------------------------
    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        return await self.operator.retry_unwind(attempt_id)

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        """Take a STRANDED attempt off the desk (see :meth:`OperatorActions.resolve_stranded`)."""
        return await self.operator.resolve_stranded(attempt_id, note, proceeds)

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        """Stop admitting, pause, cancel resting orders, flatten if asked (see
        :meth:`OperatorActions.kill_switch` for the answer's fields)."""
        return await self.operator.kill_switch(flatten)

    # -- balances, books, venues, summary ------------------------------------------------
    async def _books_after_refresh(self, cash: Mapping[Venue, Decimal]) -> BooksFigures | None:
        """The first balance read of a venue starts its books; every read re-computes them."""
        if self.books is None:
            return None
        now = self.clock.now()
        for venue, amount in cash.items():
            await self.books.record_opening(venue, amount, now)
        _, day_start, _ = trading_day_bounds(now, self.risk.config.day_tz)
        return self._value_books(await self.books.books(day_start, cash)).figures()

    def _value_books(self, books: Books) -> Books:
        """``books`` with their holdings at the marks now, kept (and for ``/api/status``)."""
        valued = books.at_marks(self.marks, self.clock.now(), self.risk.config.max_book_age_ms)
        self._books = valued
        self.last_books = valued.wire()
        return valued

    async def _mark_loop(self) -> None:
        """Value the holdings at the latest marks; publish the books when a value moved."""
        while True:
            await self.clock.sleep(self._mark_interval)
            books = self._books
            if books is None or not books.holdings:
                continue
            valued = self._value_books(books)
            if _values(valued) != _values(books):
                self.publish(BalanceUpdate(*self.refresher.sides(), books=valued.figures()))

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


def _values(books: Books) -> list[tuple[Decimal | None, ...]]:
    """What a revaluation can change: each holding's value and its legs' bids."""
    return [(h.value, *(g.bid for g in h.legs)) for h in books.at_mark]


if TYPE_CHECKING:

    def _implements_execution_control(executor: Executor) -> ExecutionControl:
        return executor  # mypy checks the Executor against the operator port
