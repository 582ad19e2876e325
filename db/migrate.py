"""Run the Alembic migrations programmatically, then seed and guard the database.

Idempotent: a second run changes nothing. The settings row is created from the defaults
on the first migration and never overwritten. The database remembers the mode (paper or
live) it was created for, and refuses the other one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from db.engine import Database
from db.tables import executor_meta, executor_settings
from worker.domain.settings import DEFAULTS, FIELDS

VERSION_TABLE = "executor_alembic_version"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: serialises concurrent migrations on PostgreSQL.
_PG_MIGRATION_LOCK = 0x45584543


class ModeMismatchError(RuntimeError):
    """The database was created for the other mode (paper history never counts as live)."""

    def __init__(self, stored: str, wanted: str) -> None:
        super().__init__(
            f"this database was created for {stored} mode and the worker is in {wanted} mode; "
            f"use a separate EXECUTOR_DATABASE_URL for {wanted} (paper history never counts toward live limits)"
        )
        self.stored = stored
        self.wanted = wanted


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _current_revision(connection: Connection) -> str | None:
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision()


def _seed(connection: Connection, mode: str) -> None:
    now = datetime.now(UTC)
    stored = connection.execute(
        sa.select(executor_meta.c.value).where(executor_meta.c.key == "mode")
    ).scalar_one_or_none()
    if stored is None:
        connection.execute(executor_meta.insert().values(key="mode", value=mode, updated_at=now))
    elif stored != mode:
        raise ModeMismatchError(stored, mode)
    has_row = connection.execute(sa.select(executor_settings.c.id)).first()
    if has_row is None:
        defaults = {spec.name: getattr(DEFAULTS, spec.name) for spec in FIELDS}
        connection.execute(
            executor_settings.insert().values(
                id=1,
                enabled=DEFAULTS.enabled,
                updated_at=now,
                **{k: (v if isinstance(v, int) else float(v)) for k, v in defaults.items()},
            )
        )


async def migrate(db: Database, mode: str) -> str:
    """Bring the schema to head, seed the settings row, check the mode; return the revision."""

    def run(connection: Connection) -> str:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        _upgrade(connection)
        _seed(connection, mode)
        revision = _current_revision(connection)
        assert revision is not None
        return revision

    async with db.write() as conn:
        return await conn.run_sync(run)


async def stored_mode(db: Database) -> str | None:
    async with db.read() as conn:
        def run(connection: Connection) -> str | None:
            if not sa.inspect(connection).has_table(executor_meta.name):
                return None
            return connection.execute(
                sa.select(executor_meta.c.value).where(executor_meta.c.key == "mode")
            ).scalar_one_or_none()

        return await conn.run_sync(run)
