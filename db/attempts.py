"""Attempts repository: the write-ahead record of two-leg executions.

Implements :class:`worker.domain.attempts.AttemptStore` on SQLAlchemy Core. Every method
is one transaction committed before it returns.

Concurrency rule: :meth:`AttemptRepository.reserve` decides the daily-trades, daily-loss
and one-attempt-per-game limits and inserts the PLANNED row in the same write
transaction, which excludes every other reservation — on SQLite through ``BEGIN
IMMEDIATE`` (the database write lock), on PostgreSQL through a transaction-scoped
advisory lock — so two workers or two tasks can never both pass a limit only one fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.attempt_rows import attempt_from_row, attempt_values, leg_from_row, leg_values, stamp
from db.engine import Database
from db.lease import db_now
from db.ledger import insert_cash, insert_ignore
from db.repositories import day_trades_and_pnl, insert_trade, position_values
from db.tables import (
    arbitrage_attempts,
    attempt_legs,
    executor_lease,
    executor_positions,
    order_fills,
)
from db.types import Money
from worker.domain.attempts import (
    IN_FLIGHT,
    SETTLED_LEG_STATES,
    TERMINAL,
    AttemptRecord,
    AttemptState,
    DayExposure,
    LegRecord,
    LegRole,
    Refusal,
    RefusalReason,
    ReservationLimits,
)
from worker.domain.errors import LeaseLost
from worker.domain.ledger import CashEntry
from worker.domain.orders import Fill, OrderState
from worker.domain.storage import Fence
from worker.domain.tradelog import NewPosition, TradeRecord

#: Any fixed 64-bit number: the PostgreSQL advisory lock that serialises reservations.
_PG_RESERVATION_LOCK = 0x45584552

_BUSY_STATES = [s.value for s in IN_FLIGHT] + [AttemptState.STRANDED.value]


class AttemptRepository:
    """Attempts, their legs and fills; the atomic risk reservation."""

    def __init__(self, db: Database, fence: Callable[[], Fence] | None = None) -> None:
        self.db = db
        # The single-trader lease's fence: every write commits only under this grant.
        self._fence = fence

    async def _fenced(self, conn: AsyncConnection) -> int | None:
        """Check, in the write's own transaction, that the lease row still names this
        process's grant (holder and epoch) and has not expired by the database's clock;
        raise :class:`LeaseLost` otherwise. Returns the grant's epoch."""
        if self._fence is None:
            return None
        token = self._fence()
        query = sa.select(executor_lease).where(executor_lease.c.account == token.account)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        row = (await conn.execute(query)).first()
        now = await db_now(conn)
        if (
            row is None
            or row.holder != token.holder
            or int(row.epoch or 0) != token.epoch
            or row.expires_at is None
            or row.expires_at <= now
        ):
            held = "nobody" if row is None else f"{row.holder} (epoch {row.epoch})"
            raise LeaseLost(f"write refused: the lease is {held}, not {token.holder} epoch {token.epoch}")
        return token.epoch

    async def _lock(self, conn: AsyncConnection) -> None:
        if not self.db.is_sqlite:
            await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_RESERVATION_LOCK})"))

    async def _exposure(self, conn: AsyncConnection, start: datetime, end: datetime) -> DayExposure:
        a = arbitrage_attempts
        trades, pnl = await day_trades_and_pnl(conn, start, end)  # imported rows included

        async def worst(states: list[str]) -> Decimal:
            value = (
                await conn.execute(
                    sa.select(
                        sa.type_coerce(sa.func.coalesce(sa.func.sum(a.c.worst_case_loss), 0), Money)
                    ).where(a.c.state.in_(states))
                )
            ).scalar_one()
            return Decimal(value)

        return DayExposure(
            trades=trades,
            realised_pnl=pnl,
            in_flight_worst_case=await worst([s.value for s in IN_FLIGHT]),
            # A stranded leg counts until it is settled or the operator reported what it
            # brought (a RESOLVED attempt left to settle keeps its worst case until then).
            stranded_cost=await worst([AttemptState.STRANDED.value, AttemptState.RESOLVED.value]),
        )

    async def exposure(self, day_start: datetime, day_end: datetime) -> DayExposure:
        async with self.db.read() as conn:
            return await self._exposure(conn, day_start, day_end)

    async def reserve(
        self,
        attempt: AttemptRecord,
        limits: ReservationLimits,
        resize: Callable[[Decimal], AttemptRecord | Refusal] | None = None,
    ) -> AttemptRecord | Refusal:
        async with self.db.write() as conn:
            await self._lock(conn)
            epoch = await self._fenced(conn)
            a = arbitrage_attempts
            busy = (
                await conn.execute(
                    sa.select(a.c.id, a.c.state)
                    .where(a.c.game_key == attempt.game_key, a.c.state.in_(_BUSY_STATES))
                    .limit(1)
                )
            ).first()
            if busy is not None:
                return Refusal(
                    RefusalReason.GAME_BUSY,
                    f"attempt {busy._mapping['id']} on this game is {busy._mapping['state']}",
                )
            pos = (
                await conn.execute(
                    sa.select(executor_positions.c.id)
                    .where(
                        executor_positions.c.game_key == attempt.game_key,
                        executor_positions.c.status == "open",
                    )
                    .limit(1)
                )
            ).first()
            if pos is not None:
                return Refusal(RefusalReason.GAME_BUSY, f"position {pos._mapping['id']} is open on this game")
            exp = await self._exposure(conn, limits.day_start, limits.day_end)
            if exp.trades >= limits.max_daily_trades:
                return Refusal(
                    RefusalReason.DAILY_TRADES,
                    f"{exp.trades} trades today, limit {limits.max_daily_trades}",
                )
            remaining = limits.max_daily_loss - exp.projected_loss
            taken = (
                f"loss today {max(-exp.realised_pnl, Decimal(0))} + in flight {exp.in_flight_worst_case}"
                f" + stranded {exp.stranded_cost} of {limits.max_daily_loss}"
            )
            if remaining <= 0:
                return Refusal(RefusalReason.DAILY_LOSS, f"daily loss budget used up: {taken}")
            if attempt.worst_case_loss > remaining:
                resized = resize(remaining) if resize is not None else None
                if resized is None or isinstance(resized, Refusal) or resized.worst_case_loss > remaining:
                    why = resized.detail if isinstance(resized, Refusal) else "no smaller size"
                    return Refusal(
                        RefusalReason.DAILY_LOSS_BUDGET,
                        f"{remaining} left of the daily loss budget ({taken}) holds no size this "
                        f"opportunity can trade ({why})",
                    )
                attempt = resized
            await conn.execute(a.insert().values(**attempt_values(attempt), epoch=epoch))
            for leg in attempt.legs:
                await conn.execute(attempt_legs.insert().values(**leg_values(leg)))
        return attempt

    async def _save(self, conn: AsyncConnection, attempt: AttemptRecord) -> None:
        epoch = await self._fenced(conn)
        values = attempt_values(attempt)
        values.pop("id")
        values.pop("created_at")
        if epoch is not None:
            values["epoch"] = epoch
        await conn.execute(
            arbitrage_attempts.update().where(arbitrage_attempts.c.id == attempt.id).values(**values)
        )
        existing = {
            row.id: (bool(row.fills_recorded), row.sent_at is not None)
            for row in await conn.execute(
                sa.select(attempt_legs.c.id, attempt_legs.c.fills_recorded, attempt_legs.c.sent_at).where(
                    attempt_legs.c.attempt_id == attempt.id
                )
            )
        }
        for leg in attempt.legs:
            lv = leg_values(leg)
            if leg.id in existing:
                lv.pop("id")
                recorded, was_sent = existing[leg.id]
                if recorded and not leg.fills_recorded:
                    # A copy read before the venue's fills were recorded never puts the
                    # order answer's estimates back over them.
                    for column in ("average_price", "fees", "fills_recorded"):
                        lv.pop(column)
                if epoch is not None and leg.sent_at is not None and not was_sent:
                    lv["epoch"] = epoch  # the grant this leg is sent under (write-ahead)
                await conn.execute(attempt_legs.update().where(attempt_legs.c.id == leg.id).values(**lv))
            else:
                if epoch is not None and leg.sent_at is not None:
                    lv["epoch"] = epoch
                await conn.execute(attempt_legs.insert().values(**lv))

    async def save(self, attempt: AttemptRecord) -> None:
        async with self.db.write() as conn:
            await self._save(conn, attempt)

    async def finish(
        self,
        attempt: AttemptRecord,
        trade: TradeRecord | None,
        position: NewPosition | None,
        cash: Sequence[CashEntry] = (),
    ) -> tuple[str | None, str | None]:
        async with self.db.write() as conn:
            await self._save(conn, attempt)
            trade_id: str | None = None
            position_id: str | None = attempt.position_id
            if position is not None and position_id is not None:
                # What the position cost may have changed since it opened (the excess of
                # a partial hedge sold back): the open position carries it.
                await conn.execute(
                    executor_positions.update()
                    .where(executor_positions.c.id == int(position_id), executor_positions.c.status == "open")
                    .values(cost_micros=position.cost)
                )
            await insert_cash(conn, cash)
            if position is not None and position_id is None:
                existing = (
                    await conn.execute(
                        sa.select(executor_positions.c.id).where(
                            executor_positions.c.event_key == position.event_key
                        )
                    )
                ).scalar_one_or_none()
                if existing is None:
                    existing = (
                        await conn.execute(
                            executor_positions.insert()
                            .values(**position_values(position))
                            .returning(executor_positions.c.id)
                        )
                    ).scalar_one()
                position_id = str(existing)
            if trade is not None:
                if position_id is not None and trade.position_id is None:
                    trade = _with_position(trade, position_id)
                stored = await insert_trade(conn, trade)
                trade_id = None if stored is None else stored.id
            links: dict[str, Any] = {"position_id": None if position_id is None else int(position_id)}
            if trade_id is not None:
                links["trade_id"] = int(trade_id)
            await conn.execute(
                arbitrage_attempts.update().where(arbitrage_attempts.c.id == attempt.id).values(**links)
            )
        attempt.position_id = position_id
        if trade_id is not None:
            attempt.trade_id = trade_id
        return trade_id, position_id

    async def record_fills(self, leg: LegRecord, fills: Sequence[Fill]) -> None:
        async with self.db.write() as conn:
            await self._fenced(conn)
            for f in fills:
                await conn.execute(
                    insert_ignore(
                        conn,
                        order_fills,
                        ("venue", "venue_trade_id"),
                        {
                            "venue": f.venue.value,
                            "venue_trade_id": f.fill_id,
                            "leg_id": leg.id,
                            "venue_order_id": f.venue_order_id,
                            "price": f.price,
                            "quantity": f.size,
                            "fee": f.fee,
                            "filled_at": f.ts,
                            "action": f.action.value,
                            "contract_id": f.contract.contract_id,
                        },
                    )
                )
            await conn.execute(
                attempt_legs.update()
                .where(attempt_legs.c.id == leg.id)
                .values(average_price=leg.avg_price, fees=leg.fees, fills_recorded=True, updated_at=stamp())
            )

    async def _load(self, conn: AsyncConnection, where: Any) -> list[AttemptRecord]:
        rows = (
            await conn.execute(sa.select(arbitrage_attempts).where(where).order_by(arbitrage_attempts.c.created_at))
        ).all()
        if not rows:
            return []
        ids = [r._mapping["id"] for r in rows]
        legs: dict[str, list[LegRecord]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for lr in (
                await conn.execute(sa.select(attempt_legs).where(attempt_legs.c.attempt_id.in_(chunk)))
            ).all():
                legs[lr._mapping["attempt_id"]].append(leg_from_row(lr))
        return [attempt_from_row(r, legs[r._mapping["id"]]) for r in rows]

    async def get(self, attempt_id: str) -> AttemptRecord | None:
        async with self.db.read() as conn:
            found = await self._load(conn, arbitrage_attempts.c.id == attempt_id)
        return found[0] if found else None

    async def list_active(self) -> list[AttemptRecord]:
        async with self.db.read() as conn:
            return await self._load(conn, arbitrage_attempts.c.state.in_([s.value for s in IN_FLIGHT]))

    async def list_state(self, state: AttemptState) -> list[AttemptRecord]:
        async with self.db.read() as conn:
            return await self._load(conn, arbitrage_attempts.c.state == state.value)

    async def list_all(self) -> list[AttemptRecord]:
        async with self.db.read() as conn:
            return await self._load(conn, sa.true())

    async def list_unrecorded(self) -> list[AttemptRecord]:
        g = attempt_legs
        pending = sa.select(g.c.attempt_id).where(
            g.c.filled_quantity > Decimal(0),
            g.c.fills_recorded.is_(False),
            g.c.state.in_(sorted(SETTLED_LEG_STATES)),
        )
        async with self.db.read() as conn:
            return await self._load(
                conn,
                sa.and_(
                    arbitrage_attempts.c.id.in_(pending),
                    arbitrage_attempts.c.state.in_([s.value for s in TERMINAL]),
                ),
            )

    async def with_unknown_legs(self, role: LegRole) -> set[str]:
        g = attempt_legs
        unknown = sa.select(g.c.attempt_id).where(
            g.c.role == role.value,
            g.c.state.not_in([*sorted(SETTLED_LEG_STATES), OrderState.PENDING.value]),
        )
        async with self.db.read() as conn:
            return {row[0] for row in await conn.execute(unknown.distinct())}

    async def known_order_ids(self) -> tuple[set[str], set[str]]:
        async with self.db.read() as conn:
            rows = (
                await conn.execute(sa.select(attempt_legs.c.venue_order_id, attempt_legs.c.client_order_id))
            ).all()
        venue_ids = {r[0] for r in rows if r[0]}
        client_ids = {r[1] for r in rows if r[1]}
        return venue_ids, client_ids


def _with_position(trade: TradeRecord, position_id: str) -> TradeRecord:
    return replace(trade, position_id=position_id)
