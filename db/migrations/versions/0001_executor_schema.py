"""Executor schema: the plan's three tables and our exact-amount tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from db.migrations.helpers import ensure_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
