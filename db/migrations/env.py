"""Alembic environment: always driven programmatically by :func:`db.migrate.migrate`.

The caller hands us an open connection inside a transaction (``config.attributes``), so
migrations share its lock: on SQLite ``BEGIN IMMEDIATE``, on PostgreSQL an advisory lock.
"""

from alembic import context

from db.migrate import VERSION_TABLE
from db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
