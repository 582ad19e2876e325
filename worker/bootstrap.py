"""The composition root: builds the worker's parts from the configuration and wires them.

Database → repositories → settings manager, trade logger → event bus → operator console
→ Tornado server. The executor plugs in as one :class:`~worker.domain.operator.ExecutionControl`
passed to :func:`build_worker` (``execution=``), the scanner's mapping store as one
:class:`~worker.domain.operator.MappingDecisions` (``mappings=``); the server never sees
either directly. The worker starts and answers (``init``, settings, ``/api/status``) even
when no venue or paper exchange can be reached: it reports them as down and keeps checking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from db.alerts import AlertRepository
from db.engine import Database
from db.mappings import SqlMappingStore
from db.repositories import SettingsRepository, TradeRepository
from worker.api import schemas
from worker.api.console import Console
from worker.api.history import DbHistory
from worker.api.server import ExecutorServer, ServerSettings
from worker.config import Config
from worker.domain.events import VenueStatus, venue_feeds
from worker.domain.mapping import (
    Confidence,
    JudgedMapping,
    MappingStatus,
    MarketMapping,
    game_status,
    trade_permission,
)
from worker.domain.operator import (
    ExecutionControl,
    MappingDecisions,
    OperatorError,
    VenueConnection,
    VenueState,
)
from worker.engine.alerts import AlertCenter
from worker.engine.event_bus import EventBus
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.trading import EngineControl, TradingEngine

log = logging.getLogger(__name__)


class PaperExchangeMonitor:
    """Reachability of the local paper exchange, as each venue's state while no executor runs.

    Checks with a TCP connect to 127.0.0.1 only (never a real venue); publishes
    ``venue_status`` on every change so dashboards show "down" at once.
    """

    def __init__(self, port: int, venues: tuple[str, ...], bus: EventBus, interval_s: float = 2.0) -> None:
        self._port = port
        self._venues = venues
        self._bus = bus
        self._interval = interval_s
        self._state = VenueConnection.CONNECTING
        self._since = datetime.now(UTC)
        self._task: asyncio.Task[None] | None = None

    def states(self) -> list[VenueState]:
        detail = None if self._state == VenueConnection.UP else f"paper exchange at 127.0.0.1:{self._port} not reachable"
        return [VenueState(v, self._state, None, detail, self._since) for v in self._venues]

    async def check_once(self) -> str:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self._port), timeout=1.0)
        except (OSError, TimeoutError):
            state = VenueConnection.DOWN
        else:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            state = VenueConnection.UP
        if state != self._state:
            self._state = state
            self._since = datetime.now(UTC)
            self._bus.publish(VenueStatus(venue_feeds(self.states())))
        return state

    async def run(self) -> None:
        while True:
            await self.check_once()
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="paper-exchange-monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


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

    async def decide(self, mapping_id: str, status: str, now: datetime) -> JudgedMapping:
        try:
            await self._store.decide(mapping_id, self._status(status), now)
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
    engine: TradingEngine | None = None
    alerts: AlertCenter | None = None
    port: int | None = None
    _stopped: bool = field(default=False, repr=False)

    async def start(self, *, port: int | None = None) -> int:
        await self.settings.load()
        if self.alerts is not None:
            await self.alerts.start()
        await self.console.start()
        if self.monitor is not None:
            self.monitor.start()
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
        await self.server.stop()
        if self.monitor is not None:
            await self.monitor.stop()
        await self.console.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        await self.db.dispose()


def build_worker(
    config: Config,
    *,
    db: Database | None = None,
    bus: EventBus | None = None,
    execution: ExecutionControl | None = None,
    mappings: MappingDecisions | None = None,
    trading: bool = False,
) -> Worker:
    """Wire the worker. Nothing connects to anything until :meth:`Worker.start`.

    ``trading=True`` (``python -m worker``) adds the trading engine — venue clients,
    scanner, executor, single-trader lease — as the console's execution control.
    """
    db = db or Database(config.database_url)
    bus = bus or EventBus()
    settings = ExecutorSettingsManager(SettingsRepository(db))
    trades = TradeLogger(TradeRepository(db), config.day_tz)
    alerts = AlertCenter(AlertRepository(db), bus, day=lambda at: at.astimezone(config.day_tz).date().isoformat())
    engine = None
    lease_status: Callable[[], str] | None = None
    books_source: Callable[[], Mapping[str, Any] | None] | None = None
    discovery_source: Callable[[], Mapping[str, Any] | None] | None = None
    budget_source: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None
    standby_of: Callable[[], str | None] | None = None
    if trading and execution is None:
        engine = TradingEngine(config, db, bus, settings, trades, alerts=alerts)
        execution = EngineControl(engine)
        lease_status = engine.lease_status
        books_source = engine.books_figures
        discovery_source = engine.discovery_figures
        budget_source = engine.loss_budget
        standby_of = engine.standby_of
    monitor = None
    if execution is None and config.mode == "paper":
        monitor = PaperExchangeMonitor(config.paper_port, ("kalshi", config.poly_venue), bus)

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
    )
    server = ExecutorServer(
        console,
        DbHistory(db),
        bus,
        ServerSettings(
            token=config.token(),
            allowed_hosts=config.allowed_hosts,
            allowed_origins=tuple(o.rstrip("/") for o in config.allowed_origins),
        ),
    )
    return Worker(
        config=config, db=db, bus=bus, settings=settings, trades=trades, console=console,
        server=server, monitor=monitor, engine=engine, alerts=alerts,
    )
