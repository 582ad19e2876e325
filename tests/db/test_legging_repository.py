"""The legging repository on SQLite and PostgreSQL: counts replaced per source and merged
across sources; the estimates table read back equals the one saved."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from db.engine import Database
from db.legging import BOOKS, FILLS, LeggingRepository, refresh_estimates
from db.migrate import migrate
from worker.domain.legging import CellCount, CellKey, build_table

D = Decimal
AT = datetime(2026, 12, 7, 10, 30, 15, 123456, tzinfo=UTC)
A = CellKey("kalshi", "nba", "0.40-0.60", "le0.25")
B = CellKey("polymarket", "nfl", "0.20-0.40", "gt1")
C = CellKey("kalshi", "nhl", "0.80-1.00", "le1")


async def test_counts_and_estimates_round_trip(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "paper")
        repo = LeggingRepository(db)
        assert await repo.load_table() is None
        await repo.replace_counts(BOOKS, {A: CellCount(40, 7, D("0.0712345678901234567")), B: CellCount(3, 1, D("0.02"))}, AT)
        await repo.replace_counts(BOOKS, {A: CellCount(50, 9, D("0.0912345678901234567")), C: CellCount(31, 2, D("0.5"))}, AT)
        assert await repo.load_counts() == {A: CellCount(50, 9, D("0.0912345678901234567")), C: CellCount(31, 2, D("0.5"))}
        table = await refresh_estimates(repo, {A: CellCount(2, 1, D("0.013")), B: CellCount(1, 0, D(0))}, AT)
        merged = await repo.load_counts()
        assert merged[A] == CellCount(52, 10, D("0.1042345678901234567")) and merged[B] == CellCount(1, 0, D(0))
        assert await repo.load_counts(FILLS) == {A: CellCount(2, 1, D("0.013")), B: CellCount(1, 0, D(0))}
        assert table == build_table(merged, updated_at=AT)
        loaded = await repo.load_table()
        assert loaded == table
        assert loaded is not None and loaded.rows() == table.rows() and loaded.updated_at == AT
        # Saving again replaces every row (a cell gone from the counts is gone from the table).
        smaller = build_table({C: CellCount(31, 2, D("0.5"))}, updated_at=AT)
        await repo.save_estimates(smaller)
        assert await repo.load_table() == smaller
    finally:
        await db.dispose()
