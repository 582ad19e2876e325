"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from db.migrations.helpers import ensure_tables

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    ensure_tables()


def downgrade() -> None:
    raise NotImplementedError("Executor migrations are forward-only")
