"""Replay: the worker's own scanner, risk manager and executor driven from a recording.

:class:`Replay` builds what :func:`worker.bootstrap.build_trading` builds for one
connection — an :class:`~worker.engine.executor.Executor` and its
:class:`~worker.engine.executor.pipeline.OpportunityPipeline` — on a throwaway database
and on the replay venues of :class:`~worker.replay.venue.ReplayExchange` (no venue
client, no network), and moves a :class:`~worker.clock.FakeClock` along the recorded
receive times.

Time rule: the clock moves only when nothing else can. After each recorded event is
applied, and after each sleeper the clock wakes (an order's latency, a lookup's delay),
the replay waits until every task is blocked on the clock or on a stream, and no database
transaction is open (:meth:`Replay.settle`). A database call or a computation therefore
takes no replayed time, and the same recording with the same settings makes the same
decisions at the same replayed times, whatever the machine's speed. An order sent at t
sleeps its venue's latency on that clock, so it fills against the book as recorded at
t + latency, never the book the decision saw.

Discovery happens once, as the worker's does when it connects: when both traded venues'
first listing snapshots have been applied. Later snapshots still open and close markets on
the replay exchange (a game that left the listing no longer fills).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from db.attempts import AttemptRepository
from db.mappings import SqlMappingStore
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from worker.clock import SYSTEM_CLOCK, FakeClock
from worker.domain.attempts import AttemptRecord
from worker.domain.legging import LeggingTable
from worker.domain.markets import Venue
from worker.domain.tradelog import TradeQuery
from worker.engine.executor import Executor, RiskConfig
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.engine.legging import LeggingPricer
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.replay.facts import ReplayFacts
from worker.replay.recording import BookFilter, RecordedBook, Recording
from worker.replay.store import ReplayAttemptStore, ReplayDatabase
from worker.replay.venue import ReplayExchange
from worker.venues.normalize import NORMALISERS

log = logging.getLogger(__name__)

#: Each venue's order latency when ``--latency-ms`` does not say: a typical round trip from
#: a desk in the US East to the venue's order API (Polymarket's CLOB answers slowest).
DEFAULT_LATENCY_MS: Mapping[Venue, int] = {
    Venue.KALSHI: 60,
    Venue.POLYMARKET: 150,
    Venue.POLYMARKET_US: 60,
}
#: Each venue's opening cash when the options do not say (the paper exchange's default).
DEFAULT_BALANCE = Decimal(1000)
#: Replayed seconds after the last event for attempts in flight to finish (lookups,
#: unwinds), then the executor's own shutdown bound.
GRACE_S = 30.0
SHUTDOWN_S = 30.0


@dataclass(frozen=True)
class ReplayOptions:
    """What a replay is asked for (``python -m worker replay``'s arguments, parsed)."""

    poly_venue: Venue
    settings: Mapping[str, Any]
    risk: RiskConfig
    latency_ms: Mapping[Venue, int] = field(default_factory=lambda: dict(DEFAULT_LATENCY_MS))
    balances: Mapping[Venue, Decimal] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    #: Legging-risk estimates the scanner prices each quote with (its expected edge) and,
    #: with ``risk.price_legging_risk``, the risk manager applies ``min_roi`` to; None:
    #: the locked edge alone.
    legging: LeggingTable | None = None
    #: How long after a quote changes the executor decides, on the books as they then
    #: stand (``--decision-ms``; 0: at once, at the receive time of the book that changed
    #: it). A live worker decides a little later: its loop is busy with other updates.
    decision_ms: int = 0


@dataclass
class ReplayOutcome:
    """What a finished replay hands to the report: the collector and the run's figures."""

    facts: ReplayFacts
    book_updates: int = 0
    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    discovered: int = 0
    clean: bool = True
    ledger: Mapping[str, Any] = field(default_factory=dict)
    #: Every attempt the replay made, with its legs, as the throwaway database held them.
    attempts: list[AttemptRecord] = field(default_factory=list)


#: Turns a loop without a readable ready queue gets before it is taken as settled.
_BLIND_TURNS = 50
#: Wall seconds one settle may spin before the replay stops and says what is still running
#: (a task that never waits on the clock, a transaction held across a clock sleep).
SETTLE_LIMIT_S = 120.0


def _ready_queue(loop: asyncio.AbstractEventLoop) -> Sized | None:
    """The callbacks waiting to run on ``loop`` (tasks woken, futures resolved): empty when
    nothing waits; None when the loop does not show them (an implementation without
    asyncio's ready queue)."""
    ready: Sized | None = getattr(loop, "_ready", None)
    return ready


class ReplayStuck(RuntimeError):
    """The replay's tasks did not settle within :data:`SETTLE_LIMIT_S` wall seconds."""


class Replay:
    """One replay run of ``recording`` with ``options`` (use :meth:`run` once)."""

    def __init__(self, recording: Recording, options: ReplayOptions, workdir: Path | None = None) -> None:
        self.recording = recording
        self.options = options
        self._workdir = workdir
        self.clock = FakeClock()
        self.db: ReplayDatabase | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: Sized | None = None  # the loop's ready queue (:func:`_ready_queue`)

    async def settle(self) -> None:
        """Let every task run until all wait on the clock or a stream and no database
        transaction is open. Raises :class:`ReplayStuck`, naming the tasks still running,
        if that does not happen within :data:`SETTLE_LIMIT_S` wall seconds."""
        db = self.db
        assert self._loop is not None and db is not None
        turns = 0
        since: float | None = None  # wall time of the first check, once settling is slow
        while True:
            if db.in_flight:
                try:
                    await asyncio.wait_for(db.wait_idle(), SETTLE_LIMIT_S)
                except TimeoutError:
                    raise ReplayStuck(
                        f"a database transaction stayed open {SETTLE_LIMIT_S:.0f} s (held across a clock sleep?)"
                    ) from None
                continue  # others ran meanwhile: one may have opened a transaction since
            ready = self._ready
            if (ready is not None and not ready) or (ready is None and turns >= _BLIND_TURNS):
                return
            turns += 1
            if turns % 10_000 == 0:
                since = _check_stuck(since)
            await SYSTEM_CLOCK.sleep(0)

    async def run(self) -> ReplayOutcome:
        with tempfile.TemporaryDirectory(prefix="executor-replay-", dir=self._workdir or _memory_dir()) as tmp:
            # Writes one at a time, in the order tasks ask: two writers' BEGIN IMMEDIATE
            # would otherwise be ordered by the database threads, not by replayed time.
            self.db = ReplayDatabase(f"sqlite+aiosqlite:///{Path(tmp) / 'replay.db'}")
            try:
                with _rare_full_collections():
                    return await self._run()
            finally:
                await self.db.dispose()

    async def _run(self) -> ReplayOutcome:
        opts, db, clock = self.options, self.db, self.clock
        assert db is not None
        self._loop = asyncio.get_running_loop()
        self._ready = _ready_queue(self._loop)
        await migrate(db, "paper")
        settings = ExecutorSettingsManager(SettingsRepository(db))
        await settings.load()
        patch = {k: v for k, v in opts.settings.items() if k != "enabled"}
        if patch:
            await settings.update(patch)
        await settings.set_enabled(True)

        traded = (Venue.KALSHI, opts.poly_venue)
        latency_ms = {v: opts.latency_ms.get(v, DEFAULT_LATENCY_MS[v]) for v in Venue}
        balances = {v: opts.balances.get(v, DEFAULT_BALANCE) for v in Venue}
        exchange = ReplayExchange(clock, latency_s={v: ms / 1000 for v, ms in latency_ms.items()}, balances=balances)
        ports = {v: exchange.port(v) for v in traded}
        facts = ReplayFacts(
            settings=settings.current.values(),
            latency_ms={v.value: latency_ms[v] for v in traded},
            decision_ms=opts.decision_ms,
            balances={v.value: balances[v] for v in traded},
            venues=[v.value for v in traded],
            window={"from": _iso(opts.start), "to": _iso(opts.end)},
            risk=_risk_values(opts.risk),
        )
        executor = Executor(
            settings=settings,
            store=ReplayAttemptStore(db),
            trades=TradeRepository(db),
            trade_logger=TradeLogger(TradeRepository(db), opts.risk.day_tz, clock),
            venues=ports,
            publish=facts.publish,
            risk_config=opts.risk,
            worker_id="replay",
            clock=clock,
        )
        pipeline = OpportunityPipeline(
            executor, ports[Venue.KALSHI], ports[opts.poly_venue], SqlMappingStore(db),
            clock=clock, on_event=facts.on_opportunity, normalisers=NORMALISERS,
            legging=None if opts.legging is None else LeggingPricer(opts.legging),
            decision_delay_s=opts.decision_ms / 1000,
        )
        outcome = ReplayOutcome(facts)
        listed: set[Venue] = set()
        started = False
        wanted = BookFilter()
        moment: datetime | None = None
        # The loop runs once per recorded event (millions an hour): its counters are locals,
        # and a book (nearly every event) is read without the property of its receive time.
        events = book_updates = 0
        last: datetime | None = None
        apply_book = exchange.apply_book
        ready = self._ready  # None: a loop that does not show it, so always settled
        try:
            for event in self.recording.events(opts.start, opts.end, venues=traded, books=wanted):
                when = event.book.received_at if isinstance(event, RecordedBook) else event.received_at
                if outcome.first is None:
                    # With --from, the listings from before it are applied at its time.
                    outcome.first = when if opts.start is None else max(when, opts.start)
                    clock.set(outcome.first)
                if when != moment:
                    # Events of one instant (a Kalshi message's YES and NO books) are applied
                    # together, as the venue client hands them over: then time moves. When
                    # nothing runs or waits to run and no sleeper is due, settling would
                    # return at once and run_until only move the clock: it is moved here.
                    if db.in_flight or ready is None or ready or not clock.move_if_none_due(when):
                        await self.settle()
                        await clock.run_until(when, self.settle)
                    moment = when
                events += 1
                if isinstance(event, RecordedBook):
                    apply_book(event)
                    book_updates += 1
                    continue
                exchange.apply(event)
                listed.add(event.venue)
                if not started and listed.issuperset(traded):
                    outcome.discovered = await pipeline.discover()
                    await executor.start()
                    pipeline.start()
                    exchange.direct = pipeline.scanner.on_book
                    started = True
                    for venue, refs in zip(traded, pipeline.contracts(), strict=True):
                        wanted.keep_only(venue, frozenset(ref.contract_id for ref in refs))
            # Each event was applied at the clock's time then; nothing has moved it since.
            last = clock.now() if events else None
            outcome.events, outcome.last, outcome.book_updates = events, last, book_updates
            await self.settle()
            if started:
                outcome.clean = await self._finish(executor, pipeline)
                started = False
            attempts = outcome.attempts = await AttemptRepository(db).list_all()
            trades = await TradeRepository(db).query_trades(TradeQuery(limit=10**9))
        finally:
            if started:  # an error mid-replay: stop the tasks before the database goes
                await pipeline.stop()
                await executor.shutdown(0)
        outcome.ledger = exchange.ledger()
        exchange.close()
        facts.finish(
            attempts=attempts,
            mappings=list(pipeline.mappings.values()),
            start=outcome.first,
            end=outcome.last,
            book_updates=outcome.book_updates,
            skipped=list(self.recording.info.skipped),
            dropped=self.recording.info.dropped,
            ledger=outcome.ledger,
            trades=trades,
            refusal_checks=executor.refusals,
            discovered=outcome.discovered,
            clean=outcome.clean,
        )
        return outcome

    async def _finish(self, executor: Executor, pipeline: OpportunityPipeline) -> bool:
        """After the last event: attempts in flight get ``GRACE_S`` replayed seconds, then
        the executor shuts down as the worker's does (bounded on the same clock)."""
        clock = self.clock
        await clock.run_until(_after(clock.now(), GRACE_S), self.settle)
        await pipeline.stop()
        shutdown = asyncio.ensure_future(executor.shutdown(SHUTDOWN_S))
        await self.settle()
        if not shutdown.done():
            await clock.run_until(_after(clock.now(), SHUTDOWN_S + 1), self.settle)
        return await shutdown


def _check_stuck(since: float | None) -> float:
    """When settling began to be watched; raises :class:`ReplayStuck`, naming the tasks
    still running, once that is :data:`SETTLE_LIMIT_S` wall seconds ago."""
    now = SYSTEM_CLOCK.monotonic()
    if since is None:
        return now
    if now - since < SETTLE_LIMIT_S:
        return since
    names = sorted(t.get_name() for t in asyncio.all_tasks() if not t.done())
    raise ReplayStuck(f"the replay did not settle in {SETTLE_LIMIT_S:.0f} s; tasks running: {', '.join(names)}")


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def _risk_values(risk: RiskConfig) -> dict[str, object]:
    """The environment's risk settings the replay ran with, for the report."""
    return {
        "min_confidence": risk.min_confidence.value,
        "require_confirmation": risk.require_confirmation,
        "max_book_age_ms": risk.max_book_age_ms,
        "no_trade_before_start_s": risk.no_trade_before_start_s,
        "day_tz": str(risk.day_tz),
        "refuse_cancellation_mismatch": risk.refuse_cancellation_mismatch,
        "suspicious_roi": risk.suspicious_roi,
        "price_legging_risk": risk.price_legging_risk,
    }


#: The garbage collector's thresholds during a replay (Python's defaults: 700 and 10): the
#: youngest generation's, and the oldest's.
YOUNG_GC_THRESHOLD = 20_000
FULL_GC_THRESHOLD = 1000


@contextmanager
def _rare_full_collections() -> Iterator[None]:
    """Garbage collections made rarer while a replay runs (restored after).

    Reading a recording keeps hundreds of thousands of long-lived objects (the decoder's
    caches of levels, the scanner's books), and each full collection walks all of them:
    with Python's thresholds an hour's replay spent about a fifth of its time there. It
    also makes millions of short-lived ones (each row's book, its levels' tuples): with a
    young generation collected every 700 allocations, an hour's replay still ran about
    8,500 young and 780 middle collections (3.5 s, measured with ``gc.callbacks``); at
    20,000, about 90 and 8 (1 s), as most of those objects are gone before a collection
    sees them. Cyclic garbage (futures, exceptions) is still collected, so memory stays
    bounded; what a replay decides does not depend on when the collector runs."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_GC_THRESHOLD), before[1], max(before[2], FULL_GC_THRESHOLD))
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _memory_dir() -> Path | None:
    """A directory in memory (``/dev/shm``) for the throwaway database when the machine
    has one: the worker's database syncs every commit to disk, which a replay's need not
    (nothing of it outlives the run), and the attempts' writes are most of a replay's time."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def _after(when: datetime, seconds: float) -> datetime:
    return when + timedelta(seconds=seconds)
