"""Executor: attempts, legs and fills with the indexes reconciliation looks orders up by.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from db.migrations.helpers import ensure_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent: adds the tables, columns and indexes of db/tables.py that are missing.
    ensure_tables(("arbitrage_attempts", "attempt_legs", "order_fills"))


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
