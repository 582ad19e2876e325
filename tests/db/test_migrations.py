from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from db.engine import Database
from db.migrate import VERSION_TABLE, ModeMismatchError, migrate, stored_mode
from db.tables import metadata

PLAN_COLUMNS = {
    "executor_settings": {
        "id", "enabled", "min_bet", "max_bet", "min_roi", "max_roi",
        "max_daily_trades", "max_daily_loss", "updated_at",
    },
    "executor_trades": {
        "id", "timestamp", "event_title", "status", "bet_size", "pnl", "roi",
        "poly_order_id", "kalshi_order_id", "details",
    },
    "executor_positions": {
        "id", "event_key", "event_title", "opened_at", "poly_side", "poly_price",
        "poly_contracts", "kalshi_side", "kalshi_price", "kalshi_contracts", "status",
        "closed_at", "realized_pnl", "close_reason",
    },
}


async def _inspect(db: Database, fn: Any) -> Any:
    async with db.read() as conn:
        return await conn.run_sync(lambda c: fn(sa.inspect(c)))


async def test_migrate_on_empty_database_creates_the_plans_tables(database_url: str) -> None:
    db = Database(database_url)
    try:
        revision = await migrate(db, "paper")
        assert revision == "0001" or revision.isdigit()
        tables = set(await _inspect(db, lambda i: i.get_table_names()))
        assert set(PLAN_COLUMNS) <= tables
        for table, columns in PLAN_COLUMNS.items():
            have = {c["name"] for c in await _inspect(db, lambda i, t=table: i.get_columns(t))}
            assert columns <= have, (table, columns - have)
        trade_indexes = {ix["name"] for ix in await _inspect(db, lambda i: i.get_indexes("executor_trades"))}
        position_indexes = {ix["name"] for ix in await _inspect(db, lambda i: i.get_indexes("executor_positions"))}
        assert "idx_trades_timestamp" in trade_indexes
        assert "idx_positions_status" in position_indexes
        async with db.read() as conn:
            row = (await conn.execute(sa.text("SELECT * FROM executor_settings"))).one()._mapping
        assert row["id"] == 1 and not row["enabled"]
        assert (row["min_bet"], row["max_bet"], row["min_roi"], row["max_roi"]) == (5.0, 10.0, 1.0, 50.0)
        assert (row["max_daily_trades"], row["max_daily_loss"]) == (50, 5.0)
    finally:
        await db.dispose()


async def test_settings_table_holds_a_single_row(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "paper")
        with pytest.raises(sa.exc.IntegrityError):
            async with db.write() as conn:
                await conn.execute(sa.text("INSERT INTO executor_settings (id) VALUES (2)"))
        with pytest.raises(sa.exc.IntegrityError):
            async with db.write() as conn:
                await conn.execute(
                    sa.text("INSERT INTO executor_positions (event_key, event_title) VALUES ('k', 'A vs B')")
                )
                await conn.execute(
                    sa.text("INSERT INTO executor_positions (event_key, event_title) VALUES ('k', 'A vs B')")
                )
        async with db.read() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM executor_positions"))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_plan_defaults_apply_to_a_bare_insert(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "paper")
        async with db.write() as conn:
            await conn.execute(
                sa.text("INSERT INTO executor_positions (event_key, event_title) VALUES ('k1', 'LAL vs BOS')")
            )
            row = (await conn.execute(sa.text("SELECT status, opened_at FROM executor_positions"))).one()
        assert row.status == "open"
        assert row.opened_at is not None
    finally:
        await db.dispose()


async def test_migrating_twice_changes_nothing(database_url: str) -> None:
    db = Database(database_url)
    try:
        first = await migrate(db, "paper")
        async with db.write() as conn:
            await conn.execute(sa.text("UPDATE executor_settings SET min_bet = 7.5, enabled = true"))
        second = await migrate(db, "paper")
        assert first == second
        async with db.read() as conn:
            row = (await conn.execute(sa.text("SELECT min_bet, enabled FROM executor_settings"))).one()
            count = (await conn.execute(sa.text("SELECT count(*) FROM executor_settings"))).scalar_one()
        assert (row.min_bet, bool(row.enabled), count) == (7.5, True, 1)
    finally:
        await db.dispose()


async def test_migration_leaves_an_older_bots_tables_and_rows_untouched(database_url: str) -> None:
    db = Database(database_url)
    try:
        async with db.write() as conn:
            await conn.execute(sa.text("CREATE TABLE markets (id INTEGER PRIMARY KEY, name TEXT)"))
            await conn.execute(sa.text("INSERT INTO markets VALUES (1, 'LAL vs BOS'), (2, 'MIA vs NYK')"))
            await conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
            await conn.execute(sa.text("INSERT INTO alembic_version VALUES ('their_head')"))
        await migrate(db, "paper")
        async with db.read() as conn:
            rows = (await conn.execute(sa.text("SELECT id, name FROM markets ORDER BY id"))).all()
            theirs = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
        assert [tuple(r) for r in rows] == [(1, "LAL vs BOS"), (2, "MIA vs NYK")]
        assert theirs == "their_head"
        tables = set(await _inspect(db, lambda i: i.get_table_names()))
        assert {"markets", "alembic_version", VERSION_TABLE} <= tables
    finally:
        await db.dispose()


async def test_an_older_copy_of_the_plans_tables_is_extended_not_replaced(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with db.write() as conn:
            await conn.exec_driver_sql(
                """CREATE TABLE executor_trades (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                    event_title TEXT NOT NULL, status TEXT NOT NULL, bet_size REAL NOT NULL,
                    pnl REAL DEFAULT 0, roi REAL, poly_order_id TEXT, kalshi_order_id TEXT, details JSON)"""
            )
            await conn.exec_driver_sql(
                "INSERT INTO executor_trades (event_title, status, bet_size, pnl) VALUES ('LAL vs BOS', 'SUCCESS', 5.0, 0.12)"
            )
        await migrate(db, "paper")
        async with db.read() as conn:
            row = (await conn.execute(sa.text("SELECT event_title, pnl, dedup_key FROM executor_trades"))).one()
        assert (row.event_title, row.pnl, row.dedup_key) == ("LAL vs BOS", 0.12, None)
        names = {c["name"] for c in await _inspect(db, lambda i: i.get_columns("executor_trades"))}
        assert {"pnl_micros", "dedup_key", "attempt_id"} <= names
    finally:
        await db.dispose()


async def test_database_refuses_the_other_mode(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "paper")
        assert await stored_mode(db) == "paper"
        with pytest.raises(ModeMismatchError, match="created for paper mode"):
            await migrate(db, "live")
        assert await stored_mode(db) == "paper"
    finally:
        await db.dispose()


async def test_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db, "live")

        def diff(conn: Connection) -> list[Any]:
            ctx = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return [d for d in compare_metadata(ctx, metadata) if d[0] not in ("add_table",)]

        async with db.read() as conn:
            differences = await conn.run_sync(diff)
        # Only type-rendering noise may differ; every table, column and index is present.
        structural = [d for d in differences if isinstance(d, tuple) and d[0] in ("add_column", "add_index", "remove_column")]
        assert structural == []
    finally:
        await db.dispose()
