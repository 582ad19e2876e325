"""Composition of the trading side: venue clients, scanner feed, executor and the lease.

Used by the worker (``python -m worker``, through :mod:`worker.bootstrap`) and by the
headless run (``python -m worker run``), so both trade through exactly the same parts.

Paper mode is not a different code path: the live clients are built from
:func:`worker.venues.paper.connect.paper_client_env`, which points them at the local paper
exchange with the credentials it issued. Live mode builds them from the environment and
refuses to start without the credentials its venues need.

:class:`TradingEngine` starts in the background and never stops the worker's server from
answering: while a venue (or the paper exchange) cannot be reached it reports it as down
and retries with backoff. It takes the single-trader lease before it trades, reconciles
first, and gives the lease back on a clean stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from db.attempts import AttemptRepository
from db.engine import Database
from db.history import HistoryRepository
from db.lease import LeaseRepository
from db.ledger import LedgerRepository
from db.mappings import SqlMappingStore
from db.repositories import TradeRepository
from worker.api import schemas
from worker.config import Config, ensure_worker_id
from worker.domain.discovery import DiscoveryRefusals
from worker.domain.errors import MissingCredentials, VenueError
from worker.domain.events import AlertKind
from worker.domain.mapping import Confidence, MappingStatus, OpportunityEvent, TradePermission
from worker.domain.markets import Venue
from worker.domain.operator import (
    ActionUnavailable,
    Balances,
    VenueConnection,
    VenueState,
)
from worker.domain.ports import VenuePort
from worker.domain.tradelog import REALISED_STATUSES
from worker.engine.alerts import AlertCenter
from worker.engine.books import BooksKeeper
from worker.engine.event_bus import EventBus, Subscription
from worker.engine.executor import CrashPoints, Executor, RiskConfig
from worker.engine.executor.feed import OpportunityFeed
from worker.engine.lease import LeaseKeeper, LeaseRole
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.venues.kalshi.client import KalshiClient
from worker.venues.paper.connect import PaperCredentialsMissing, paper_client_env
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket_us.client import PolymarketUsClient

log = logging.getLogger(__name__)

OPPORTUNITY_TYPES = {
    "opened": schemas.OPPORTUNITY_OPENED,
    "updated": schemas.OPPORTUNITY_UPDATED,
    "closed": schemas.OPPORTUNITY_CLOSED,
}
REALISED = {str(s) for s in REALISED_STATUSES}
RETRYABLE = (VenueError, OSError, httpx.HTTPError, PaperCredentialsMissing, TimeoutError)


def venue_env(config: Config, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the clients' ``from_env`` read: the paper exchange's, or the process environment."""
    if config.mode == "paper":
        return paper_client_env(config.data_dir, config.paper_port)
    return dict(os.environ if env is None else env)


def build_venues(env: Mapping[str, str], poly_venue: str) -> dict[Venue, VenuePort]:
    """Kalshi plus the chosen Polymarket venue's live clients (raises MissingCredentials)."""
    poly: VenuePort
    if poly_venue == Venue.POLYMARKET_US.value:
        poly = PolymarketUsClient.from_env(env)
    else:
        poly = PolymarketClient.from_env(env)
    return {Venue.KALSHI: KalshiClient.from_env(env), poly.venue: poly}


async def check_live_credentials(config: Config, env: Mapping[str, str] | None = None) -> None:
    """Live mode refuses to start without the credentials its venues need.

    Raises :class:`MissingCredentials`, which names the missing variables (never values).
    Builds the clients only to read their configuration; nothing is sent.
    """
    if config.mode != "live":
        return
    venues = build_venues(dict(os.environ if env is None else env), config.poly_venue)
    for port in venues.values():
        await port.aclose()


def opportunity_message(
    event: OpportunityEvent, permission: TradePermission | None = None
) -> tuple[str, dict[str, Any]]:
    """The wire message for one scanner lifecycle step (the card grid's feed), with
    whether its pair may trade (``tradeable``, ``why_not``) when ``permission`` is known."""
    data: dict[str, Any] = schemas.to_wire(event.opportunity)
    if permission is not None:
        data.update(permission.to_wire())
    data["event"] = event.kind.value
    data["at"] = schemas.to_wire(event.at)
    if event.reason is not None:
        data["reason"] = event.reason.value
    return OPPORTUNITY_TYPES[event.kind.value], data


class TradingEngine:
    """Venues → scanner → executor, under the single-trader lease (see module docstring)."""

    def __init__(
        self,
        config: Config,
        db: Database,
        bus: EventBus,
        settings: ExecutorSettingsManager,
        trade_logger: TradeLogger,
        *,
        env: Mapping[str, str] | None = None,
        retry_max_s: float = 30.0,
        shutdown_s: float = 30.0,
        alerts: AlertCenter | None = None,
    ) -> None:
        self.config = config
        self.alerts = alerts
        self.db = db
        self.bus = bus
        self.settings = settings
        self.trade_logger = trade_logger
        self._env = env
        self._retry_max_s = retry_max_s
        self._shutdown_s = shutdown_s
        self.executor: Executor | None = None
        self.feed: OpportunityFeed | None = None
        self.keeper = LeaseKeeper(
            LeaseRepository(db),
            account=config.trading_account(env),
            # One process, not one data directory: two workers started on the same data
            # directory are two holders, and only one of them trades.
            holder=f"{ensure_worker_id(config.data_dir)}/{secrets.token_hex(4)}",
            ttl_s=config.lease_ttl_s,
            on_acquired=self._take_over,
            on_lost=self._lease_lost,
        )
        self.venues: dict[Venue, VenuePort] = {}
        self.detail: str | None = "starting"
        self._since = datetime.now(UTC)
        self._stop = asyncio.Event()
        self._lease_stop = asyncio.Event()  # set last on stop: attempts finish under the lease
        self._task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._decisions: asyncio.Task[None] | None = None
        self._started_executor = False
        self._pnl_task: asyncio.Task[None] | None = None
        self._settings_task: asyncio.Task[None] | None = None
        self._cumulative = Decimal(0)
        # Kept across reconnects, so a listing refused again keeps its first-seen time.
        self.refusals = DiscoveryRefusals()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trading-engine")
            self._settings_task = asyncio.create_task(self._follow_settings(), name="settings-follow")
            self._decisions = asyncio.create_task(self._follow_decisions(), name="mapping-decisions")

    async def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                await self._connect()
                self.detail = None
                self._since = datetime.now(UTC)
                self._lease_task = asyncio.create_task(self.keeper.run(self._lease_stop), name="lease")
                await self._lease_task
                return
            except MissingCredentials as exc:
                self._down(f"missing credentials: {exc}")
                log.error("trading engine cannot start: %s", exc)
                return
            except RETRYABLE as exc:
                self._down(_reason(exc))
                log.warning("venues not reachable (%s); retrying in %.0f s", _reason(exc), delay)
                await self._close_venues()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, self._retry_max_s)
            except Exception as exc:
                # A bug, not a venue problem: say so loudly and show the engine as down
                # rather than "starting" for ever; the server keeps answering.
                log.exception("trading engine failed")
                self._down(f"engine failed: {type(exc).__name__} (see the worker log)")
                await self._close_venues()
                return

    async def _connect(self) -> None:
        config = self.config
        self.venues = build_venues(venue_env(config, self._env), config.poly_venue)
        poly = self.venues[Venue(config.poly_venue)]
        executor = Executor(
            settings=self.settings,
            # Every attempt write is fenced by this process's grant of the lease.
            store=AttemptRepository(self.db, fence=self.keeper.fence),
            trades=TradeRepository(self.db),
            trade_logger=self.trade_logger,
            venues=self.venues,
            publish=self.bus.publish,
            risk_config=RiskConfig(
                min_confidence=Confidence(config.min_confidence),
                require_confirmation=config.require_confirmation,
                max_book_age_ms=config.max_book_age_ms,
                no_trade_before_start_s=config.no_trade_before_start_s,
                day_tz=config.day_tz,
                refuse_cancellation_mismatch=config.refuse_cancellation_mismatch,
            ),
            crash=CrashPoints.from_env(),
            gate=self.keeper.check,
            worker_id=self.keeper.holder,
            reconcile_interval_s=config.reconcile_interval_s,
            epoch=lambda: self.keeper.epoch,
            books=BooksKeeper(LedgerRepository(self.db), AttemptRepository(self.db), TradeRepository(self.db), self.venues),
            alert=self.alerts.raise_alert if self.alerts is not None else None,
        )
        feed = OpportunityFeed(
            executor,
            self.venues[Venue.KALSHI],
            poly,
            SqlMappingStore(self.db),
            on_event=self._publish_opportunity,
            refusals=self.refusals,
            on_refusals=self._publish_refusals,
        )
        count = await feed.discover()
        await self._start_pnl_points()
        self.executor, self.feed = executor, feed
        # A decision taken while the feed was being built went to no feed: read them again.
        await self._resync_decisions()
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
        self.bus.publish(schemas.VENUE_STATUS, self._venue_status_data())

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
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not self.keeper.trading():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stop.is_set():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.keeper.wait_changed(), timeout=remaining)
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
        deadline = asyncio.get_running_loop().time() + self._shutdown_s
        while self.keeper.role == LeaseRole.RECONCILING:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.keeper.wait_changed(), timeout=remaining)
        if self.executor is not None and self._started_executor:
            # The heartbeat still runs here, so legs 2 and unwinds may still be sent.
            clean = await self.executor.shutdown(self._shutdown_s)
        self._lease_stop.set()
        if self._lease_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._lease_task, timeout=5)
        for task in (self._lease_task, self._task, self._decisions, self._pnl_task, self._settings_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.keeper.release()
        await self._close_venues()
        return clean

    async def _close_venues(self) -> None:
        for port in self.venues.values():
            with contextlib.suppress(Exception):
                await port.aclose()
        self.venues = {}

    # -- events --------------------------------------------------------------------------
    def _publish_refusals(self, refusals: DiscoveryRefusals) -> None:
        self.bus.publish(schemas.DISCOVERY_REFUSALS, refusals.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT))

    def discovery_figures(self) -> Mapping[str, Any]:
        """Listings refused at the latest discovery (``schemas.DiscoveryData``)."""
        return self.refusals.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT)

    def _publish_opportunity(self, event: OpportunityEvent) -> None:
        feed = self.feed
        opp = event.opportunity
        permission = None if feed is None else feed.permission(opp.mapping_id, opp.rules)
        type_, data = opportunity_message(event, permission)
        self.bus.publish(type_, data)

    async def _start_pnl_points(self) -> None:
        """Publish ``pnl_point`` (cumulative realised P&L) for every realised trade row.

        The total so far is read once, before trading starts; every later realised row
        reaches us as a ``trade_event``, so the running total never double counts.
        """
        if self._pnl_task is not None:
            return
        self._cumulative = await HistoryRepository(self.db).realised_total()
        sub = self.bus.subscribe(maxsize=10_000, types={schemas.TRADE_EVENT})
        self._pnl_task = asyncio.create_task(self._follow_trades(sub), name="pnl-points")

    async def _follow_trades(self, sub: Subscription) -> None:
        try:
            async for event in sub:
                status, delta = event.data.get("status"), event.data.get("pnl")
                if status not in REALISED or not isinstance(delta, Decimal):
                    continue
                self._cumulative += delta
                self.bus.publish(
                    schemas.PNL_POINT,
                    {
                        "t": event.data.get("timestamp") or schemas.to_wire(event.at),
                        "pnl": self._cumulative,
                        "delta": delta,
                        "trade_id": event.data.get("trade_id"),
                    },
                )
        finally:
            sub.close()

    async def _follow_decisions(self) -> None:
        """An operator's confirm/reject reaches the running scanner at once. A failure to
        apply one is logged and the next still applies; after an overflow the feed's
        decisions are read again from the database (none is lost)."""
        while True:
            sub = self.bus.subscribe(maxsize=10_000, types={schemas.MAPPING_CHANGED})
            try:
                async for event in sub:
                    mapping_id, status = event.data.get("id"), event.data.get("status")
                    if self.feed is None or not isinstance(mapping_id, str) or not isinstance(status, str):
                        continue
                    try:
                        self.feed.decide(mapping_id, MappingStatus(status))
                    except ValueError:
                        continue
                    except Exception:
                        log.exception("decision on %s not applied to the running scanner", mapping_id)
            finally:
                sub.close()
            await self._resync_decisions()

    async def _resync_decisions(self) -> None:
        """Apply every stored decision the running feed does not have yet (one made while
        the feed was being built, or lost in an overflow)."""
        feed = self.feed
        if feed is None:
            return
        try:
            stored = await SqlMappingStore(self.db).list()
        except Exception as exc:
            log.warning("stored decisions not re-read (%s)", type(exc).__name__)
            return
        for mapping in stored:
            known = feed.mappings.get(mapping.id)
            if known is not None and known.status is not mapping.status:
                try:
                    feed.decide(mapping.id, mapping.status)
                except Exception:
                    log.exception("decision on %s not applied to the running scanner", mapping.id)

    def _down(self, detail: str) -> None:
        if self.detail != detail:
            self.detail = detail
            self._since = datetime.now(UTC)
            self.bus.publish(schemas.VENUE_STATUS, self._venue_status_data())

    def _venue_status_data(self) -> dict[str, Any]:
        return {
            "venues": {
                s.venue: {"state": s.state, "data_age_ms": s.data_age_ms, "detail": s.detail}
                for s in self.venue_states()
            },
            "lease": self.keeper.status,
        }

    # -- the operator's view -------------------------------------------------------------
    def standby_of(self) -> str | None:
        """The leading worker while this one stands by (another process holds the lease)."""
        # Only once the lease row named another holder: before its first heartbeat (or
        # while the venues are still being reached) this worker is not anyone's standby.
        if self.keeper.status == "standby" and self.keeper.other_holder is not None:
            return self.keeper.other_holder
        return None

    async def _follow_settings(self) -> None:
        """Every second, take up a change another process made to the stored settings (a
        pause from a standby's dashboard applies within a second)."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=1.0)
            try:
                await self.settings.refresh()
            except Exception as exc:  # the database is down: the next second tries again
                log.warning("settings not refreshed: %s", type(exc).__name__)

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
        names = ("kalshi", self.config.poly_venue)
        if self.executor is None or self.detail is not None:
            state = VenueConnection.DOWN if self.detail and self.detail != "starting" else VenueConnection.CONNECTING
            return [VenueState(v, state, None, self.detail, self._since) for v in names]
        now = datetime.now(UTC)
        ages: dict[str, int] = {}
        if self.feed is not None:
            for contract, at in self.feed.scanner.book_times():
                age = int((now - at).total_seconds() * 1000)
                venue = contract.venue.value
                ages[venue] = min(age, ages.get(venue, age))
        out = []
        for s in self.executor.venue_states():
            out.append(replace(s, data_age_ms=ages.get(s.venue)))
        return out


class EngineControl:
    """The operator port (``ExecutionControl``) over a :class:`TradingEngine` that may still
    be connecting: actions answer a clear ``ActionUnavailable`` until the executor runs."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine

    def _executor(self, field: str = "action") -> Executor:
        executor = self.engine.executor
        if executor is None or not self.engine.keeper.trading():
            why = self.engine.detail or f"this worker is {self.engine.keeper.status} for trading"
            raise ActionUnavailable(field, f"the executor is not trading here ({why})")
        return executor

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        return await self._executor("position_id").close_position(position_id)

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        return await self._executor("attempt_id").retry_unwind(attempt_id)

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        return await self._executor("attempt_id").resolve_stranded(attempt_id, note, proceeds)

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        executor = self.engine.executor
        if executor is None:
            if flatten:
                raise ActionUnavailable("flatten", "flattening needs the executor, which is not connected")
            await self.engine.settings.set_enabled(False)
            return {"paused": True, "cancelled": [], "flattened": [], "note": "executor not connected"}
        return await executor.kill_switch(flatten)

    def balances(self) -> Balances:
        return self.engine.executor.balances() if self.engine.executor is not None else Balances()

    def venue_states(self) -> Sequence[VenueState]:
        return self.engine.venue_states()


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for logs and the dashboard."""
    if isinstance(exc, VenueError):
        return exc.message
    if isinstance(exc, PaperCredentialsMissing):
        return "paper exchange has not issued credentials yet (is it running?)"
    if isinstance(exc, httpx.HTTPError | OSError):
        return f"{type(exc).__name__}: connection failed"
    return type(exc).__name__
