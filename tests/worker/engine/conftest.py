"""Engine fixtures: a migrated database (SQLite, and PostgreSQL when configured), fake venues, an executor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from db.attempts import AttemptRepository
from db.engine import Database
from db.ledger import LedgerRepository
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from tests.support.fake_venue import POLY_FEES, FakeVenue, bus_message
from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.fees import FeeSchedule
from worker.domain.markets import Venue
from worker.engine.books import BooksKeeper
from worker.engine.executor import CrashPoints, Executor, RiskConfig, UnwindPolicy
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger


@dataclass
class Rig:
    db: Database
    attempts: AttemptRepository
    trades: TradeRepository
    settings: ExecutorSettingsManager
    logger: TradeLogger
    kalshi: FakeVenue
    poly: FakeVenue
    events: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, event: Any, data: Mapping[str, Any] | None = None) -> None:
        self.events.append(bus_message(event, data))

    def alert(self, kind: Any, title: str, message: str, **extra: Any) -> None:
        self.alerts.append({"kind": kind, "title": title, "message": message, **extra})

    def events_of(self, type_: str) -> list[Mapping[str, Any]]:
        return [d for t, d in self.events if t == type_]

    def executor(
        self,
        crash: CrashPoints | None = None,
        config: RiskConfig | None = None,
        clock: Clock = SYSTEM_CLOCK,
        unwind: UnwindPolicy | None = None,
    ) -> Executor:
        return Executor(
            settings=self.settings,
            store=self.attempts,
            trades=self.trades,
            trade_logger=self.logger,
            venues={Venue.KALSHI: self.kalshi, Venue.POLYMARKET: self.poly},
            publish=self.publish,
            alert=self.alert,
            risk_config=config or RiskConfig(day_tz=ZoneInfo("America/New_York")),
            crash=crash,
            unwind=unwind or UnwindPolicy(pause_s=0.0),
            lookup_delays=(0.0, 0.0),
            clock=clock,
            books=BooksKeeper(
                LedgerRepository(self.db), self.attempts, self.trades, {Venue.KALSHI: self.kalshi, Venue.POLYMARKET: self.poly}
            ),
        )


@pytest.fixture
async def rig(database_url: str) -> AsyncIterator[Rig]:
    db = Database(database_url)
    await migrate(db, "paper")
    settings = ExecutorSettingsManager(SettingsRepository(db))
    await settings.load()
    await settings.set_enabled(True)
    # The engine tests trade 10-contract pairs; a $5 budget (the default) holds less than
    # one such leg 1's whole cost. The budget's own tests set theirs.
    await settings.update({"max_daily_loss": Decimal(100)})
    trades = TradeRepository(db)
    r = Rig(
        db=db,
        attempts=AttemptRepository(db),
        trades=trades,
        settings=settings,
        logger=TradeLogger(trades, ZoneInfo("America/New_York")),
        kalshi=FakeVenue(Venue.KALSHI, fees=FeeSchedule.kalshi()),
        poly=FakeVenue(Venue.POLYMARKET, fees=POLY_FEES),
    )
    try:
        yield r
    finally:
        await db.dispose()
