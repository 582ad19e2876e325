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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import Database
from db.lease import db_now
from db.ledger import insert_cash, insert_ignore
from db.repositories import insert_trade
from db.tables import (
    arbitrage_attempts,
    attempt_legs,
    executor_lease,
    executor_positions,
    executor_trades,
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
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import Fill, OrderAction, TimeInForce
from worker.domain.storage import Fence
from worker.domain.tradelog import ATTEMPT_STATUSES, REALISED_STATUSES, NewPosition, TradeRecord

#: Any fixed 64-bit number: the PostgreSQL advisory lock that serialises reservations.
_PG_RESERVATION_LOCK = 0x45584552

_BUSY_STATES = [s.value for s in IN_FLIGHT] + [AttemptState.STRANDED.value]


def _now() -> datetime:
    return datetime.now(UTC)


def _attempt_values(a: AttemptRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "game_key": a.game_key,
        "mapping_id": a.mapping_id,
        "direction": a.direction,
        "event_title": a.event_title,
        "state": a.state.value,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "contracts": a.contracts,
        "planned_cost": a.planned_cost,
        "expected_edge": a.expected_edge,
        "worst_case_loss": a.worst_case_loss,
        "pnl": a.pnl,
        "reason": a.reason,
        "path": list(a.path),
        "details": dict(a.details),
    }


def _leg_values(g: LegRecord) -> dict[str, Any]:
    return {
        "id": g.id,
        "attempt_id": g.attempt_id,
        "role": g.role.value,
        "seq": g.seq,
        "venue": g.contract.venue.value,
        "market_id": g.contract.market_id,
        "contract_id": g.contract.contract_id,
        "contract_label": g.label,
        # side of the contract and the action, e.g. "yes/buy", kept in one column
        "side": f"{g.contract.side.value}/{g.action.value}",
        "price": g.price,
        "quantity": g.quantity,
        "time_in_force": g.tif.value,
        "client_order_id": g.client_order_id,
        "venue_order_id": g.venue_order_id,
        "state": g.state,
        "filled_quantity": g.filled,
        "average_price": g.avg_price,
        "fees": g.fees,
        "error": g.error,
        "sent_at": g.sent_at,
        "updated_at": g.updated_at or _now(),
        "fills_recorded": g.fills_recorded,
    }


def _leg(row: Any) -> LegRecord:
    m = row._mapping
    side, _, action = str(m["side"]).partition("/")
    return LegRecord(
        id=m["id"],
        attempt_id=m["attempt_id"],
        role=LegRole(m["role"]),
        seq=int(m["seq"]),
        contract=ContractRef(Venue(m["venue"]), m["market_id"], m["contract_id"], OutcomeSide(side)),
        label=m["contract_label"],
        action=OrderAction(action or "buy"),
        price=m["price"],
        quantity=m["quantity"],
        tif=TimeInForce(m["time_in_force"]),
        client_order_id=m["client_order_id"],
        state=m["state"],
        venue_order_id=m["venue_order_id"],
        filled=m["filled_quantity"],
        avg_price=m["average_price"],
        fees=m["fees"],
        error=m["error"],
        sent_at=m["sent_at"],
        updated_at=m["updated_at"],
        fills_recorded=bool(m["fills_recorded"]),
    )


def _attempt(row: Any, legs: list[LegRecord]) -> AttemptRecord:
    m = row._mapping
    return AttemptRecord(
        id=m["id"],
        game_key=m["game_key"],
        mapping_id=m["mapping_id"],
        direction=m["direction"],
        event_title=m["event_title"],
        state=AttemptState(m["state"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        contracts=m["contracts"],
        planned_cost=m["planned_cost"],
        expected_edge=m["expected_edge"],
        worst_case_loss=m["worst_case_loss"],
        path=list(m["path"] or []),
        details=dict(m["details"] or {}),
        pnl=m["pnl"],
        reason=m["reason"],
        legs=sorted(legs, key=lambda g: (g.seq, g.id)),
        trade_id=None if m["trade_id"] is None else str(m["trade_id"]),
        position_id=None if m["position_id"] is None else str(m["position_id"]),
        epoch=m["epoch"],
    )


def _position_values(p: NewPosition) -> dict[str, Any]:
    return {
        "event_key": p.event_key,
        "event_title": p.event_title,
        "opened_at": p.opened_at,
        "poly_side": p.poly.side,
        "poly_price": float(p.poly.price),  # display column only
        "poly_contracts": p.poly.contracts,
        "kalshi_side": p.kalshi.side,
        "kalshi_price": float(p.kalshi.price),  # display column only
        "kalshi_contracts": p.kalshi.contracts,
        "status": "open",
        "cost_micros": p.cost,
        "attempt_id": p.attempt_id,
        "game_key": p.game_key,
        "poly_venue": p.poly.venue,
        "poly_market": p.poly.market,
        "poly_contract": p.poly.contract,
        "kalshi_ticker": p.kalshi.market,
        "expires_at": p.expires_at,
    }


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
        a, t = arbitrage_attempts, executor_trades
        attempts = (
            await conn.execute(
                sa.select(sa.func.count()).where(a.c.created_at >= start, a.c.created_at < end)
            )
        ).scalar_one()
        # Rows imported from an older bot count too (no attempt of ours behind them).
        imported = (
            await conn.execute(
                sa.select(sa.func.count()).where(
                    t.c.timestamp >= start,
                    t.c.timestamp < end,
                    t.c.attempt_id.is_(None),
                    t.c.status.in_([str(s) for s in ATTEMPT_STATUSES]),
                )
            )
        ).scalar_one()
        pnl = (
            await conn.execute(
                sa.select(sa.type_coerce(sa.func.coalesce(sa.func.sum(t.c.pnl_micros), 0), Money)).where(
                    t.c.timestamp >= start,
                    t.c.timestamp < end,
                    t.c.status.in_([str(s) for s in REALISED_STATUSES]),
                )
            )
        ).scalar_one()

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
            trades=int(attempts) + int(imported),
            realised_pnl=Decimal(pnl),
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
            await conn.execute(a.insert().values(**_attempt_values(attempt), epoch=epoch))
            for leg in attempt.legs:
                await conn.execute(attempt_legs.insert().values(**_leg_values(leg)))
        return attempt

    async def _save(self, conn: AsyncConnection, attempt: AttemptRecord) -> None:
        epoch = await self._fenced(conn)
        values = _attempt_values(attempt)
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
            lv = _leg_values(leg)
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
                            .values(**_position_values(position))
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
                .values(average_price=leg.avg_price, fees=leg.fees, fills_recorded=True, updated_at=_now())
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
                legs[lr._mapping["attempt_id"]].append(_leg(lr))
        return [_attempt(r, legs[r._mapping["id"]]) for r in rows]

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
