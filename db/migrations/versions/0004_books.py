"""Books: fills recorded per leg, the fills' own terms, and cash moved outside fills; the
lease's grant epoch, recorded by each attempt and sent leg; the settings row's version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from db.migrations.helpers import ensure_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables(
        ("executor_settings", "arbitrage_attempts", "attempt_legs", "order_fills", "venue_cash", "executor_lease")
    )
    # Legs filled before the books existed are not read back from the venues: their
    # figures stand as they were (the books start at the first balance read after this).
    op.execute(sa.text("UPDATE attempt_legs SET fills_recorded = TRUE WHERE filled_quantity > 0"))


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
