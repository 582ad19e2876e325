"""Operator alerts, kept until dismissed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from db.migrations.helpers import ensure_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables(("executor_alerts",))


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
