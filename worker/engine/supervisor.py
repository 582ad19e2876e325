"""The trading side's lifecycle: venues → scanner → executor, under the single-trader lease.

:class:`TradingSupervisor` is what both ``python -m worker`` and ``python -m worker run``
trade with; the composition root (:mod:`worker.bootstrap`) builds it. It starts in the
background and never stops the worker's server from answering: while a venue (or the
paper exchange) cannot be reached it reports it as down and retries with backoff. Once
connected, books and opportunities flow at once; trading waits for the lease, and the
first thing the new holder does is reconcile every attempt left in flight. On stop it
admits nothing more, lets the attempts in flight finish (or unwind) while the lease is
still held, then gives the lease back.

It builds nothing concrete itself: the root gives it a way to open the venue clients
(:class:`VenueAccess`), a way to build the executor and the scanner feed on them
(:data:`Assemble`), the storage it reads and the clock. What it publishes are typed events
(:mod:`worker.domain.events`); the API writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from worker.clock import SYSTEM_CLOCK, Clock, within
from worker.domain.discovery import WIRE_LIMIT, DiscoveryRefusals
from worker.domain.errors import MissingCredentials
from worker.domain.events import (
    AlertKind,
    DiscoveryRefusalsChanged,
    VenueStatus,
    opportunity_change,
    venue_feeds,
)
from worker.domain.mapping import MappingStore, OpportunityEvent
from worker.domain.markets import Venue
from worker.domain.operator import VenueConnection, VenueState
from worker.domain.ports import VenuePort
from worker.domain.storage import LeaseStore
from worker.engine.alerts import AlertCenter
from worker.engine.event_bus import EventBus
from worker.engine.executor import Executor
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.engine.lease import LeaseKeeper, LeaseRole
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.supervisor_follow import DecisionFollower, PnlPoints

log = logging.getLogger(__name__)

LEASE_END_BOUND_S = 5.0  # the heartbeat's last beat and release, on stop
SETTINGS_REFRESH_S = 1.0


@dataclass(frozen=True)
class VenueAccess:
    """How the supervisor reaches the venues (the composition root's choice of clients)."""

    #: The venues' names, shown as connecting or down until the clients answer.
    names: tuple[str, ...]
    #: Builds the clients (raises ``MissingCredentials`` when the environment lacks some).
    open: Callable[[], dict[Venue, VenuePort]]
    #: Failures meaning "not reachable now": shown as down and retried with backoff.
    unreachable: tuple[type[BaseException], ...]
    #: A short, secret-free reason for one of them (logs and the dashboard).
    describe: Callable[[BaseException], str]


@dataclass(frozen=True)
class LeaseTerms:
    """The single-trader lease this process asks for: the account, who asks, how long a
    grant lasts without renewal."""

    store: LeaseStore
    account: str
    holder: str
    ttl_s: float


@dataclass(frozen=True)
class Hooks:
    """What the supervisor gives the parts built for one connection to the venues."""

    #: Gate (held before any venue call that opens exposure), fence of every attempt
    #: write, epoch and holder id of this process's grant.
    lease: LeaseKeeper
    #: Each scanner lifecycle step, for the wire.
    on_opportunity: Callable[[OpportunityEvent], None]
    #: Listings refused at discovery, kept across reconnects (first-seen times survive).
    refusals: DiscoveryRefusals
    on_refusals: Callable[[DiscoveryRefusals], None]


#: Builds the executor and its scanner feed on the venue clients just opened.
Assemble = Callable[[Mapping[Venue, VenuePort], Hooks], tuple[Executor, OpportunityPipeline]]


class TradingSupervisor:
    """Venues → scanner → executor, under the single-trader lease (see module docstring)."""

    def __init__(
        self,
        *,
        access: VenueAccess,
        assemble: Assemble,
        lease: LeaseTerms,
        bus: EventBus,
        settings: ExecutorSettingsManager,
        mappings: MappingStore,
        realised_total: Callable[[], Awaitable[Decimal]],
        alerts: AlertCenter | None = None,
        retry_max_s: float = 30.0,
        shutdown_s: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.access = access
        self._assemble = assemble
        self.bus = bus
        self.settings = settings
        self.alerts = alerts
        self._clock = clock
        self._retry_max_s = retry_max_s
        self._shutdown_s = shutdown_s
        self.executor: Executor | None = None
        self.feed: OpportunityPipeline | None = None
        self.keeper = LeaseKeeper(
            lease.store,
            account=lease.account,
            holder=lease.holder,
            ttl_s=lease.ttl_s,
            on_acquired=self._take_over,
            on_lost=self._lease_lost,
            clock=clock,
        )
        self.venues: dict[Venue, VenuePort] = {}
        self.detail: str | None = "starting"
        self._since = clock.now()
        self._stop = asyncio.Event()
        self._lease_stop = asyncio.Event()  # set last on stop: attempts finish under the lease
        self._task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._decisions_task: asyncio.Task[None] | None = None
        self._settings_task: asyncio.Task[None] | None = None
        self._started_executor = False
        self.pnl = PnlPoints(bus, realised_total)
        self.decisions = DecisionFollower(bus, mappings, lambda: self.feed)
        # Kept across reconnects, so a listing refused again keeps its first-seen time.
        self.refusals = DiscoveryRefusals()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trading-engine")
            self._settings_task = asyncio.create_task(self._follow_settings(), name="settings-follow")
            self._decisions_task = asyncio.create_task(self.decisions.follow(), name="mapping-decisions")

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                await self._connect()
                self.detail = None
                self._since = self._clock.now()
                self._lease_task = asyncio.create_task(self.keeper.run(self._lease_stop), name="lease")
                await self._lease_task
                return
            except MissingCredentials as exc:
                self._down(f"missing credentials: {exc}")
                log.error("trading engine cannot start: %s", exc)
                return
            except self.access.unreachable as exc:
                reason = self.access.describe(exc)
                self._down(reason)
                log.warning("venues not reachable (%s); retrying in %.0f s", reason, delay)
                await self._close_venues()
                await self._stopped_within(delay)
                delay = min(delay * 2, self._retry_max_s)
            except Exception as exc:
                # A bug, not a venue problem: say so loudly and show the engine as down
                # rather than "starting" for ever; the server keeps answering.
                log.exception("trading engine failed")
                self._down(f"engine failed: {type(exc).__name__} (see the worker log)")
                await self._close_venues()
                return

    async def _connect(self) -> None:
        self.venues = self.access.open()
        hooks = Hooks(self.keeper, self._publish_opportunity, self.refusals, self._publish_refusals)
        executor, feed = self._assemble(self.venues, hooks)
        count = await feed.discover()
        await self.pnl.start()
        self.executor, self.feed = executor, feed
        # A decision taken while the feed was being built went to no feed: read them again.
        await self.decisions.resync()
        feed.start()  # books and opportunities flow now; trading waits for the lease
        # The mappings, books and tables built so far live for the whole run: keep the
        # collector from re-scanning them on every pass (the scanner's latency goal).
        gc.collect()
        gc.freeze()
        log.info("trading engine connected: %d mappings; waiting for the lease", count)

    async def _take_over(self) -> None:
        """Lease acquired: reconcile every attempt left in flight before any new trade."""
        assert self.executor is not None
        # A standby's cached settings may be stale: the leader's operators changed them.
        await self.settings.load()
        if not self._started_executor:
            await self.executor.start()
            self._started_executor = True
        else:
            await self.executor.reconcile()
        self.bus.publish(self._venue_status())

    def _lease_lost(self, other: str | None) -> None:
        if self.alerts is not None:
            self.alerts.raise_alert(
                AlertKind.LEASE_LOST, "This worker lost the trading lease",
                f"{other or 'another worker'} now trades the account {self.keeper.account}; this worker stands by "
                "and opens nothing (attempts in flight are finished by the new leader)",
                key=self.keeper.account, data={"account": self.keeper.account, "holder": other},
            )

    async def wait_trading(self, within_s: float) -> bool:
        """Wait until this engine trades (lease held, reconciled); False on timeout."""
        deadline = self._clock.monotonic() + within_s
        while not self.keeper.trading():
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0 or self._stop.is_set():
                return False
            await within(self._clock, self.keeper.wait_changed(), remaining)
        return True

    async def stop(self) -> bool:
        """Stop admitting, let attempts in flight finish or unwind (bounded) while the lease
        is still held, then release the lease and close the clients.

        True when no attempt was left in flight.
        """
        self._stop.set()
        clean = True
        if self.feed is not None:
            await self.feed.stop()
        # A takeover in progress reconciles to the end: a half-done reconciliation would
        # leave attempts for the next start to find.
        deadline = self._clock.monotonic() + self._shutdown_s
        while self.keeper.role == LeaseRole.RECONCILING:
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                break
            await within(self._clock, self.keeper.wait_changed(), remaining)
        if self.executor is not None and self._started_executor:
            # The heartbeat still runs here, so legs 2 and unwinds may still be sent.
            clean = await self.executor.shutdown(self._shutdown_s)
        self._lease_stop.set()
        if self._lease_task is not None:
            # A guard against a hung last beat, in the event loop's own time.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._lease_task, timeout=LEASE_END_BOUND_S)
        for task in (self._lease_task, self._task, self._decisions_task):
            await _cancel(task)
        await self.pnl.stop()
        await _cancel(self._settings_task)
        await self.keeper.release()
        await self._close_venues()
        return clean

    async def _close_venues(self) -> None:
        for port in self.venues.values():
            with contextlib.suppress(Exception):
                await port.aclose()
        self.venues = {}

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds`` of the clock unless stopped first; True when stopped."""
        await within(self._clock, self._stop.wait(), seconds)
        return self._stop.is_set()

    async def _follow_settings(self) -> None:
        """Every second, take up a change another process made to the stored settings (a
        pause from a standby's dashboard applies within a second)."""
        while not self._stop.is_set():
            await self._stopped_within(SETTINGS_REFRESH_S)
            try:
                await self.settings.refresh()
            except Exception as exc:  # the database is down: the next second tries again
                log.warning("settings not refreshed: %s", type(exc).__name__)

    # -- events --------------------------------------------------------------------------
    def _publish_refusals(self, refusals: DiscoveryRefusals) -> None:
        self.bus.publish(DiscoveryRefusalsChanged.of(refusals, WIRE_LIMIT))

    def _publish_opportunity(self, event: OpportunityEvent) -> None:
        feed = self.feed
        opp = event.opportunity
        permission = None if feed is None else feed.permission(opp.mapping_id, opp.rules, opp.curve)
        self.bus.publish(opportunity_change(event, permission))

    def _down(self, detail: str) -> None:
        if self.detail != detail:
            self.detail = detail
            self._since = self._clock.now()
            self.bus.publish(self._venue_status())

    def _venue_status(self) -> VenueStatus:
        return VenueStatus(venue_feeds(self.venue_states()), self.keeper.status)

    # -- the operator's view -------------------------------------------------------------
    def discovery_figures(self) -> Mapping[str, Any]:
        """Listings refused at the latest discovery (``schemas.DiscoveryData``)."""
        return self.refusals.to_wire(WIRE_LIMIT)

    def standby_of(self) -> str | None:
        """The leading worker while this one stands by (another process holds the lease)."""
        # Only once the lease row named another holder: before its first heartbeat (or
        # while the venues are still being reached) this worker is not anyone's standby.
        if self.keeper.status == "standby" and self.keeper.other_holder is not None:
            return self.keeper.other_holder
        return None

    async def loss_budget(self) -> Mapping[str, Any] | None:
        """Today's loss budget (reserved, realised losses, remaining), or None before the
        executor runs."""
        return await self.executor.risk.budget() if self.executor is not None else None

    def books_figures(self) -> Mapping[str, Any] | None:
        """The books as last computed (after each balance read), or None before that."""
        return self.executor.last_books if self.executor is not None else None

    def lease_status(self) -> str:
        """``leader``, ``standby`` (another worker trades), ``expired`` or ``released``."""
        return self.keeper.status

    def venue_states(self) -> list[VenueState]:
        names = self.access.names
        if self.executor is None or self.detail is not None:
            state = VenueConnection.DOWN if self.detail and self.detail != "starting" else VenueConnection.CONNECTING
            return [VenueState(v, state, None, self.detail, self._since) for v in names]
        now = self._clock.now()
        ages: dict[str, int] = {}
        if self.feed is not None:
            for contract, at in self.feed.scanner.book_times():
                age = int((now - at).total_seconds() * 1000)
                venue = contract.venue.value
                ages[venue] = min(age, ages.get(venue, age))
        return [replace(s, data_age_ms=ages.get(s.venue)) for s in self.executor.venue_states()]


async def _cancel(task: asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` unless done, and wait for it to end."""
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
