"""The single-trader lease: one row per trading account, judged by the database's clock.

A worker holds the lease while ``expires_at`` (set from the database's own clock at each
renewal) is in the future. Acquire and renew are one transaction each: on SQLite under the
write lock (``BEGIN IMMEDIATE``), on PostgreSQL with the row locked (``FOR UPDATE``) and a
conflict-safe insert, so two workers can never both come out holding it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import Database
from db.tables import executor_lease


@dataclass(frozen=True)
class LeaseState:
    account: str
    holder: str | None
    expires_at: datetime | None
    db_now: datetime
    held: bool  # by the caller, after this call
    epoch: int = 0  # the grant's: incremented by each new grant, never by a renewal


async def db_now(conn: AsyncConnection) -> datetime:
    if conn.dialect.name == "sqlite":
        raw = (await conn.execute(sa.text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))).scalar_one()
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    value = (await conn.execute(sa.text("SELECT clock_timestamp()"))).scalar_one()
    return value.astimezone(UTC)


class LeaseRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def acquire(self, account: str, holder: str, ttl_s: float) -> LeaseState:
        """Take or renew the lease if it is free, expired or already ours; else report who has it."""
        async with self.db.write() as conn:
            now = await db_now(conn)
            expires = now + timedelta(seconds=ttl_s)
            query = sa.select(executor_lease).where(executor_lease.c.account == account)
            if conn.dialect.name != "sqlite":
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
                inserted = (
                    await conn.execute(
                        insert(executor_lease)
                        .values(account=account, holder=holder, acquired_at=now, renewed_at=now, expires_at=expires,
                                epoch=1)
                        .on_conflict_do_nothing(index_elements=[executor_lease.c.account])
                        .returning(executor_lease.c.account)
                    )
                ).first()
                if inserted is not None:
                    return LeaseState(account, holder, expires, now, True, 1)
                row = (await conn.execute(query)).one()  # somebody else inserted first
            m = row._mapping
            lapsed = m["expires_at"] is None or m["expires_at"] <= now
            epoch = int(m["epoch"] or 0)
            if m["holder"] == holder or lapsed:
                values: dict[str, object] = {"holder": holder, "renewed_at": now, "expires_at": expires}
                if m["holder"] != holder or lapsed:
                    # A new grant (not a renewal): a new epoch.
                    values["acquired_at"] = now
                    epoch += 1
                    values["epoch"] = epoch
                await conn.execute(
                    executor_lease.update().where(executor_lease.c.account == account).values(**values)
                )
                return LeaseState(account, holder, expires, now, True, epoch)
            return LeaseState(account, m["holder"], m["expires_at"], now, False, epoch)

    async def release(self, account: str, holder: str) -> bool:
        """Give the lease up (clean exit): only the holder can, and only its own."""
        async with self.db.write() as conn:
            result = await conn.execute(
                executor_lease.update()
                .where(executor_lease.c.account == account, executor_lease.c.holder == holder)
                .values(expires_at=None)
            )
            return bool(result.rowcount)

    async def current(self, account: str) -> LeaseState:
        async with self.db.read() as conn:
            now = await db_now(conn)
            row = (await conn.execute(sa.select(executor_lease).where(executor_lease.c.account == account))).first()
        if row is None:
            return LeaseState(account, None, None, now, False)
        m = row._mapping
        return LeaseState(account, m["holder"], m["expires_at"], now, False, int(m["epoch"] or 0))
