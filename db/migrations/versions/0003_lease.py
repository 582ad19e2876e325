"""Single-trader lease.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from db.migrations.helpers import ensure_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables(("executor_lease",))


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
