"""The books' tables: the venues' fills of our orders, cash moved outside fills, and the
cash each venue held when our records began.

Every insert here is idempotent (``ON CONFLICT DO NOTHING`` on the venue's own id or our
reference), so recording the same fill or payout twice counts it once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import Database
from db.tables import executor_meta, executor_trades, order_fills, venue_cash
from db.types import Money
from worker.domain.ledger import CashEntry, CashKind, LedgerFill, Opening
from worker.domain.markets import Venue
from worker.domain.orders import OrderAction
from worker.domain.tradelog import REALISED_STATUSES

_OPENING = "books.opening."


def insert_ignore(
    conn: AsyncConnection, table: sa.Table, keys: Sequence[str], values: Mapping[str, Any]
) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` for the connection's dialect."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=[table.c[k] for k in keys])


async def insert_cash(conn: AsyncConnection, entries: Iterable[CashEntry]) -> None:
    """Write cash entries in the caller's transaction, each once (by venue and ref)."""
    for e in entries:
        await conn.execute(
            insert_ignore(
                conn,
                venue_cash,
                ("venue", "ref"),
                {
                    "venue": e.venue.value,
                    "kind": e.kind.value,
                    "ref": e.ref,
                    "amount": e.amount,
                    "note": e.note,
                    "attempt_id": e.attempt_id,
                    "at": e.at,
                    "contract_id": e.contract_id,
                    "received_at": e.at if e.received else None,
                },
            )
        )


class LedgerRepository:
    """Reads and writes of the books (fills ledger, cash entries, opening balances)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fills(self) -> list[LedgerFill]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(order_fills).order_by(order_fills.c.id))).all()
        return [
            LedgerFill(
                venue=Venue(r.venue),
                action=OrderAction(r.action or "buy"),
                price=r.price,
                quantity=r.quantity,
                fee=r.fee,
                filled_at=r.filled_at,
                leg_id=r.leg_id,
            )
            for r in rows
        ]

    async def cash(self) -> list[CashEntry]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(venue_cash).order_by(venue_cash.c.id))).all()
        return [
            CashEntry(
                venue=Venue(r.venue),
                kind=CashKind(r.kind),
                ref=r.ref,
                amount=r.amount,
                at=r.at,
                note=r.note,
                attempt_id=r.attempt_id,
                contract_id=r.contract_id,
                received=r.received_at is not None,
            )
            for r in rows
        ]

    async def mark_received(self, venue: Venue, refs: Sequence[str], at: datetime) -> None:
        """Owed payouts that reached the account (redeemed)."""
        if not refs:
            return
        async with self.db.write() as conn:
            await conn.execute(
                venue_cash.update()
                .where(venue_cash.c.venue == venue.value, venue_cash.c.ref.in_(list(refs)), venue_cash.c.received_at.is_(None))
                .values(received_at=at)
            )

    async def record_cash(self, entries: Sequence[CashEntry]) -> None:
        async with self.db.write() as conn:
            await insert_cash(conn, entries)

    async def openings(self) -> dict[Venue, Opening]:
        async with self.db.read() as conn:
            rows = (
                await conn.execute(sa.select(executor_meta).where(executor_meta.c.key.like(_OPENING + "%")))
            ).all()
        out: dict[Venue, Opening] = {}
        for r in rows:
            data = json.loads(r.value)
            out[Venue(r.key[len(_OPENING) :])] = Opening(Decimal(data["amount"]), datetime.fromisoformat(data["at"]))
        return out

    async def set_opening(self, venue: Venue, amount: Decimal, at: datetime) -> bool:
        """Record the cash ``venue`` held when our records began; only the first call counts."""
        value = json.dumps({"amount": str(amount), "at": at.isoformat()})
        async with self.db.write() as conn:
            result = await conn.execute(
                insert_ignore(conn, executor_meta, ("key",), {"key": _OPENING + venue.value, "value": value, "updated_at": at})
            )
        return bool(result.rowcount)

    async def realised(self, since: datetime | None = None) -> Decimal:
        """Realised P&L in the trade log (our own rows: those of an attempt)."""
        t = executor_trades
        # Summed in SQL as day_figures does: Money is integer micro-dollars, so exact.
        query = sa.select(sa.type_coerce(sa.func.coalesce(sa.func.sum(t.c.pnl_micros), 0), Money)).where(
            t.c.status.in_([str(s) for s in REALISED_STATUSES]), t.c.attempt_id.is_not(None)
        )
        if since is not None:
            query = query.where(t.c.timestamp >= since)
        async with self.db.read() as conn:
            total: Decimal = (await conn.execute(query)).scalar_one()
        return total
