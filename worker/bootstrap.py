"""The composition root: builds the worker's parts from the configuration and wires them.

Database → repositories → settings manager, trade logger → event bus → operator console
→ Tornado server; with trading (``python -m worker``), the trading supervisor on top:
venue clients (:func:`build_venues`; pointed at the paper exchange in paper mode) →
executor and scanner feed → single-trader lease (:func:`build_trading`, which the headless
``python -m worker run`` uses too, so it trades exactly as the worker does).

The executor plugs in as one :class:`~worker.domain.operator.ExecutionControl` passed to
:func:`build_worker` (``execution=``), the scanner's mapping store as one
:class:`~worker.domain.operator.MappingDecisions` (``mappings=``); the server never sees
either directly. The worker starts and answers (``init``, settings, ``/api/status``) even
when no venue or paper exchange can be reached: it reports them as down and keeps checking.

Paper mode is not a different code path: the live clients are built from
:func:`worker.venues.paper_connect.paper_client_env`, which points them at the local paper
exchange with the credentials it issued. Live mode builds them from the environment and
refuses to start without the credentials its venues need.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from db.alerts import AlertRepository
from db.attempts import AttemptRepository
from db.engine import Database
from db.history import HistoryRepository
from db.lease import LeaseRepository
from db.ledger import LedgerRepository
from db.mappings import SqlMappingStore
from db.repositories import SettingsRepository, TradeRepository
from worker.api import schemas
from worker.api.console import Console
from worker.api.history import WireHistory
from worker.api.server import ExecutorServer, ServerSettings
from worker.clock import SYSTEM_CLOCK, Clock
from worker.config import Config, ensure_worker_id
from worker.domain.errors import VenueError
from worker.domain.mapping import (
    Confidence,
    JudgedMapping,
    MappingStatus,
    MarketMapping,
    game_status,
    trade_permission,
)
from worker.domain.markets import Venue
from worker.domain.operator import (
    ExecutionControl,
    MappingDecisions,
    OperatorError,
)
from worker.domain.ports import VenuePort
from worker.engine.alerts import AlertCenter
from worker.engine.books import BooksKeeper
from worker.engine.event_bus import EventBus
from worker.engine.executor import CrashPoints, Executor
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.engine.legging import LeggingPricer, LeggingRefresher
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.supervisor import Hooks, LeaseTerms, TradingSupervisor, VenueAccess
from worker.engine.supervisor_control import SupervisorControl
from worker.engine.trade_logger import TradeLogger
from worker.legging_refresh import legging_refresh
from worker.notify.forward import AlertNotifications
from worker.notify.sender import Notifier
from worker.paper_monitor import PaperExchangeMonitor
from worker.replay.recorder import record_venues
from worker.replay.writer import RecordWriter
from worker.risk_env import risk_config
from worker.venues.kalshi.client import KalshiClient
from worker.venues.normalize import NORMALISERS
from worker.venues.paper_connect import PaperCredentialsMissing, paper_client_env
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket_us.client import PolymarketUsClient

log = logging.getLogger(__name__)


# --- venue clients ----------------------------------------------------------------------

#: Failures meaning the venues (or the paper exchange) cannot be reached now: the trading
#: supervisor shows them as down and retries with backoff.
UNREACHABLE: tuple[type[BaseException], ...] = (
    VenueError, OSError, httpx.HTTPError, PaperCredentialsMissing, TimeoutError,
)


def venue_env(config: Config, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the clients' ``from_env`` read: the paper exchange's, or the process environment."""
    if config.mode == "paper":
        return paper_client_env(config.data_dir, config.paper_port)
    return dict(os.environ if env is None else env)


def build_venues(
    env: Mapping[str, str], poly_venue: str, *, clock: Clock = SYSTEM_CLOCK
) -> dict[Venue, VenuePort]:
    """Kalshi plus the chosen Polymarket venue's live clients (raises MissingCredentials),
    reading and waiting on ``clock`` (book times, signatures, backoff, rate limits)."""
    poly: VenuePort
    if poly_venue == Venue.POLYMARKET_US.value:
        poly = PolymarketUsClient.from_env(env, clock=clock)
    else:
        poly = PolymarketClient.from_env(env, clock=clock)
    return {Venue.KALSHI: KalshiClient.from_env(env, clock=clock), poly.venue: poly}


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


def unreachable_reason(exc: BaseException) -> str:
    """A short, secret-free reason for logs and the dashboard."""
    if isinstance(exc, VenueError):
        return exc.message
    if isinstance(exc, PaperCredentialsMissing):
        return "paper exchange has not issued credentials yet (is it running?)"
    if isinstance(exc, httpx.HTTPError | OSError):
        return f"{type(exc).__name__}: connection failed"
    return type(exc).__name__


# --- the trading side ---------------------------------------------------------------------


def build_trading(
    config: Config,
    db: Database,
    bus: EventBus,
    settings: ExecutorSettingsManager,
    trade_logger: TradeLogger,
    *,
    alerts: AlertCenter | None = None,
    env: Mapping[str, str] | None = None,
    shutdown_s: float = 30.0,
    clock: Clock = SYSTEM_CLOCK,
    legging: LeggingPricer | None = None,
) -> TradingSupervisor:
    """The trading supervisor, as ``python -m worker`` and ``python -m worker run`` trade.

    Each connection to the venues builds live clients (:func:`venue_env`), an executor
    whose every attempt write is fenced by this process's grant of the lease, and the
    scanner feed on them. Nothing connects until :meth:`TradingSupervisor.start`.
    """

    def assemble(venues: Mapping[Venue, VenuePort], hooks: Hooks) -> tuple[Executor, OpportunityPipeline]:
        lease = hooks.lease
        executor = Executor(
            settings=settings,
            store=AttemptRepository(db, fence=lease.fence),
            trades=TradeRepository(db),
            trade_logger=trade_logger,
            venues=venues,
            publish=bus.publish,
            risk_config=risk_config(config),
            crash=CrashPoints.from_env(),
            gate=lease.check,
            worker_id=lease.holder,
            reconcile_interval_s=config.reconcile_interval_s,
            epoch=lambda: lease.epoch,
            books=BooksKeeper(LedgerRepository(db), AttemptRepository(db), TradeRepository(db), venues),
            alert=alerts.raise_alert if alerts is not None else None,
            clock=clock,
        )
        feed = OpportunityPipeline(
            executor,
            venues[Venue.KALSHI],
            venues[Venue(config.poly_venue)],
            SqlMappingStore(db),
            on_event=hooks.on_opportunity,
            refusals=hooks.refusals,
            on_refusals=hooks.on_refusals,
            clock=clock,
            normalisers=NORMALISERS,
            legging=legging,
        )
        return executor, feed

    def open_venues() -> dict[Venue, VenuePort]:
        venues = build_venues(venue_env(config, env), config.poly_venue, clock=clock)
        # EXECUTOR_RECORD_DIR: one writer for the process; it closes with the last client.
        return venues if recorder is None else record_venues(venues, recorder)

    recorder = None if config.record_dir is None else RecordWriter(config.record_dir, config.record_max_bytes, clock=clock)
    return TradingSupervisor(
        access=VenueAccess(
            names=("kalshi", config.poly_venue),
            open=open_venues,
            unreachable=UNREACHABLE,
            describe=unreachable_reason,
        ),
        assemble=assemble,
        lease=LeaseTerms(
            LeaseRepository(db),
            account=config.trading_account(env),
            # One process, not one data directory: two workers started on the same data
            # directory are two holders, and only one of them trades.
            holder=f"{ensure_worker_id(config.data_dir)}/{secrets.token_hex(4)}",
            ttl_s=config.lease_ttl_s,
        ),
        bus=bus,
        settings=settings,
        mappings=SqlMappingStore(db),
        realised_total=HistoryRepository(db).realised_total,
        alerts=alerts,
        shutdown_s=shutdown_s,
        clock=clock,
    )


# --- the worker ---------------------------------------------------------------------------


class StoreMappingDecisions:
    """Adapts the scanner's ``MappingStore`` (domain objects, ``MappingStatus``) to the console.

    Each mapping on the wire carries its game (``review_key``) and whether its pair may
    trade (``tradeable``, ``why_not``), judged as the risk manager judges it: from the
    game's decision, its confidence and ``EXECUTOR_MIN_CONFIDENCE`` /
    ``EXECUTOR_REQUIRE_CONFIRMATION`` (``min_confidence`` / ``require_confirmation``).
    """

    def __init__(
        self,
        store: Any,
        status_type: Any,
        min_confidence: Confidence = Confidence.HIGH,
        require_confirmation: bool = False,
    ) -> None:
        self._store = store
        self._status = status_type
        self._min_confidence = min_confidence
        self._require_confirmation = require_confirmation

    async def get(self, mapping_id: str) -> Mapping[str, Any] | None:
        game = await self._store.game(mapping_id)
        return None if not game else self._wire(game[0], game)

    async def list(self, status: str | None = None) -> list[Mapping[str, Any]]:
        # Every row, so that each one is judged by its whole game's decision.
        mappings = await self._store.list(None)
        games: dict[str, list[MarketMapping]] = {}
        for m in mappings:
            games.setdefault(m.review_key, []).append(m)
        want = None if status is None else self._status(status)
        return [self._wire(m, games[m.review_key]) for m in mappings if want is None or m.status is want]

    async def decide(self, mapping_id: str, status: str, now: datetime, note: str | None = None) -> JudgedMapping:
        try:
            await self._store.decide(mapping_id, self._status(status), now, note)
        except KeyError:
            raise OperatorError("mapping_id", f"no mapping {mapping_id}") from None
        game = await self._store.game(mapping_id)
        return self._judge(game[0], game)

    async def game(self, mapping_id: str) -> Sequence[JudgedMapping]:
        game = await self._store.game(mapping_id)
        return [self._judge(m, game) for m in game]

    def _judge(self, mapping: MarketMapping, game: Sequence[MarketMapping]) -> JudgedMapping:
        decided = game_status(m.status for m in game)
        permission = trade_permission(decided, mapping.confidence, self._min_confidence, self._require_confirmation)
        return JudgedMapping(mapping, permission)

    def _wire(self, mapping: MarketMapping, game: Sequence[MarketMapping]) -> dict[str, Any]:
        judged = self._judge(mapping, game)
        return schemas.mapping_data(judged.mapping, judged.permission)


def mapping_decisions(db: Database, config: Config | None = None) -> MappingDecisions:
    """The operator's decisions through the scanner's mapping store (judged with
    ``config``'s ``EXECUTOR_MIN_CONFIDENCE`` / ``EXECUTOR_REQUIRE_CONFIRMATION``)."""
    if config is None:
        return StoreMappingDecisions(SqlMappingStore(db), MappingStatus)
    return StoreMappingDecisions(
        SqlMappingStore(db), MappingStatus, Confidence(config.min_confidence), config.require_confirmation
    )


@dataclass
class Worker:
    """Everything the running worker is made of; :meth:`start` / :meth:`stop` in order."""

    config: Config
    db: Database
    bus: EventBus
    settings: ExecutorSettingsManager
    trades: TradeLogger
    console: Console
    server: ExecutorServer
    monitor: PaperExchangeMonitor | None = None
    engine: TradingSupervisor | None = None
    alerts: AlertCenter | None = None
    #: ``EXECUTOR_NOTIFY_URLS``: alerts to the trader's phone (None when unset).
    notifications: AlertNotifications | None = None
    #: Refreshes the legging estimates every ``EXECUTOR_LEGGING_REFRESH_S`` (trading only).
    legging: LeggingRefresher | None = None
    port: int | None = None
    _stopped: bool = field(default=False, repr=False)

    async def start(self, *, port: int | None = None) -> int:
        await self.settings.load()
        if self.notifications is not None:
            await self.notifications.start()
        if self.alerts is not None:
            await self.alerts.start()
        await self.console.start()
        if self.monitor is not None:
            self.monitor.start()
        if self.legging is not None:
            self.legging.start()
        if self.engine is not None:
            self.engine.start()
        self.port = await self.server.start(self.config.host, self.config.port if port is None else port)
        log.info(
            "worker serving on %s:%s (%s mode, %s)", self.config.host, self.port, self.config.mode, self.config.poly_venue
        )
        return self.port

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.engine is not None:
            # Stops admitting, lets attempts in flight finish or unwind, releases the lease.
            await self.engine.stop()
        if self.legging is not None:
            await self.legging.stop()
        await self.server.stop()
        if self.monitor is not None:
            await self.monitor.stop()
        await self.console.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        if self.notifications is not None:
            await self.notifications.stop()
        await self.db.dispose()


def build_worker(
    config: Config,
    *,
    db: Database | None = None,
    bus: EventBus | None = None,
    execution: ExecutionControl | None = None,
    mappings: MappingDecisions | None = None,
    trading: bool = False,
    clock: Clock = SYSTEM_CLOCK,
) -> Worker:
    """Wire the worker. Nothing connects to anything until :meth:`Worker.start`.

    ``trading=True`` (``python -m worker``) adds the trading supervisor
    (:func:`build_trading`) as the console's execution control.
    ``clock``: the time the console, server, alerts, trade log, paper monitor and trading
    supervisor read and wait on.
    """
    db = db or Database(config.database_url)
    bus = bus or EventBus(clock=clock)
    settings = ExecutorSettingsManager(SettingsRepository(db))
    trades = TradeLogger(TradeRepository(db), config.day_tz, clock)
    alerts = AlertCenter(AlertRepository(db), bus, day=lambda at: at.astimezone(config.day_tz).date().isoformat(), clock=clock)
    engine = None
    lease_status: Callable[[], str] | None = None
    books_source: Callable[[], Mapping[str, Any] | None] | None = None
    discovery_source: Callable[[], Mapping[str, Any] | None] | None = None
    budget_source: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None
    standby_of: Callable[[], str | None] | None = None
    pricer = LeggingPricer()
    refresher = LeggingRefresher(
        # Counting the worker's own recording in a child process is not switched on: that
        # process writes the same database while the worker trades (see docs/legging.md).
        pricer, legging_refresh(db, clock, trading=trading and execution is None),
        config.legging_refresh_s, clock=clock,
    )
    if trading and execution is None:
        engine = build_trading(config, db, bus, settings, trades, alerts=alerts, clock=clock, legging=pricer)
        execution = SupervisorControl(engine)
        lease_status = engine.lease_status
        books_source = engine.books_figures
        discovery_source = engine.discovery_figures
        budget_source = engine.loss_budget
        standby_of = engine.standby_of
    monitor = None
    if execution is None and config.mode == "paper":
        monitor = PaperExchangeMonitor(config.paper_port, ("kalshi", config.poly_venue), bus, clock=clock)

    console = Console(
        settings=settings,
        trades=trades,
        bus=bus,
        mode=config.mode,
        poly_venue=config.poly_venue,
        execution=execution,
        mappings=mappings if mappings is not None else mapping_decisions(db, config),
        db_probe=db.probe_writable,
        venue_monitor=monitor.states if monitor is not None else None,
        lease_status=lease_status,
        books_source=books_source,
        discovery_source=discovery_source,
        budget_source=budget_source,
        standby_of=standby_of,
        alerts=alerts,
        suspicious_roi=config.suspicious_roi,
        clock=clock,
    )
    server = ExecutorServer(
        console,
        WireHistory(HistoryRepository(db)),
        bus,
        ServerSettings(
            token=config.token(),
            allowed_hosts=config.allowed_hosts,
            allowed_origins=tuple(o.rstrip("/") for o in config.allowed_origins),
        ),
        clock=clock,
        legging=lambda: {**pricer.figures(), "price_legging_risk": config.price_legging_risk},
    )
    return Worker(
        config=config, db=db, bus=bus, settings=settings, trades=trades, console=console,
        server=server, monitor=monitor, engine=engine, alerts=alerts, legging=refresher,
        notifications=AlertNotifications(bus, Notifier(config.notify_urls, clock=clock)) if config.notify_urls else None,
    )
