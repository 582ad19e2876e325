"""The trading desk on an in-process paper exchange: what the engine tests on the paper share.

The exchange runs in this process (its own server on 127.0.0.1, no latency); the live
venue clients talk to it; a migrated SQLite database holds the settings, attempts and
trade log; the executor and the opportunity feed run on them, discovered and started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from db.attempts import AttemptRepository
from db.engine import Database
from db.ledger import LedgerRepository
from db.migrate import migrate
from db.repositories import SettingsRepository, TradeRepository
from paper_exchange.app import PaperServer
from paper_exchange.faults import FaultSpec
from paper_exchange.state import build_state
from worker.bootstrap import build_venues
from worker.domain.mapping import MappingStore, OpportunityEvent
from worker.domain.markets import Venue
from worker.domain.ports import VenuePort
from worker.engine.books import BooksKeeper
from worker.engine.executor import Executor, RiskConfig, UnwindPolicy
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.trade_logger import TradeLogger
from worker.venues.normalize import NORMALISERS
from worker.venues.paper_connect import paper_urls

D = Decimal
BALANCES = {"kalshi": D(1000), "polymarket": D(1000), "polymarket_us": D(1000)}


@dataclass
class PaperDesk:
    server: PaperServer
    venues: dict[Venue, VenuePort]
    db: Database
    attempts: AttemptRepository
    trades: TradeRepository
    executor: Executor
    feed: OpportunityPipeline
    mappings: MappingStore | None = None


@asynccontextmanager
async def paper_desk(
    tmp_path: Path,
    *,
    settings: Mapping[str, Any],
    risk: RiskConfig,
    faults: Callable[[Any], None],
    fault_spec: FaultSpec | None = None,
    publish: Callable[..., object] = lambda *event: None,
    mapping_store: Callable[[Database], MappingStore] | None = None,
    on_event: Callable[[OpportunityEvent], None] | None = None,
) -> AsyncIterator[PaperDesk]:
    """A started desk (enabled, with ``settings`` applied) whose exchange's fault draws
    ``faults`` replaced; closed, exchange and database included, on exit. With
    ``mapping_store`` the feed keeps its mappings there (built on the desk's database)."""
    state = build_state(tmp_path / "paper", seed=5, balances=BALANCES, fault_spec=fault_spec, latency_ms=0)
    faults(state.faults)
    server = PaperServer(state, 0)
    port = await server.start()
    venues = build_venues({**paper_urls(port), **state.creds.as_env()}, "polymarket")
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'executor.db'}")
    try:
        await migrate(db, "paper")
        manager = ExecutorSettingsManager(SettingsRepository(db))
        await manager.load()
        await manager.set_enabled(True)
        await manager.update(settings)
        trades = TradeRepository(db)
        attempts = AttemptRepository(db)
        ex = Executor(
            settings=manager, store=attempts, trades=trades,
            trade_logger=TradeLogger(trades, ZoneInfo("America/New_York")), venues=venues,
            publish=publish, risk_config=risk,
            unwind=UnwindPolicy(pause_s=0.05), lookup_delays=(0.1, 0.3, 0.6),
            books=BooksKeeper(LedgerRepository(db), attempts, trades, venues),
        )
        mappings = mapping_store(db) if mapping_store is not None else None
        feed = OpportunityPipeline(
            ex, venues[Venue.KALSHI], venues[Venue.POLYMARKET], mappings, on_event=on_event, normalisers=NORMALISERS
        )
        await feed.discover()
        await ex.start(background=False)
        yield PaperDesk(server, venues, db, attempts, trades, ex, feed, mappings)
    finally:
        for v in venues.values():
            await v.aclose()
        await server.stop()
        state.exchange.store.close()
        await db.dispose()
