"""Legging risk: counts per cell and source, and the estimates built from them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from db.migrations.helpers import ensure_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables(("legging_counts", "legging_estimates"))


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
