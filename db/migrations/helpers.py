"""Idempotent schema helpers for revisions.

Our migrations must be non-disruptive: on a database that already holds other tables
(an older bot's, possibly even an older copy of the plan's ``executor_*`` tables) they
only add what is missing — tables, then columns, then indexes — and never drop, rename
or rewrite anything that is there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.tables import metadata


def ensure_tables(names: tuple[str, ...] | None = None) -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if names is not None and table.name not in names:
            continue
        if table.name not in existing:
            table.create(bind)
            continue
        have = {col["name"] for col in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in have:
                # A copy: a Column belongs to one table; nullable so old rows stay valid.
                added = sa.Column(
                    column.name, column.type, nullable=True, server_default=column.server_default
                )
                op.add_column(table.name, added)
        have_indexes = {ix["name"] for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have_indexes:
                index.create(bind)
