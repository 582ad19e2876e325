"""Repositories: the storage ports of ``worker.domain.storage`` on SQLAlchemy Core."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import Database, dumps
from db.ledger import insert_cash
from db.tables import (
    arbitrage_attempts,
    executor_positions,
    executor_settings,
    executor_trades,
    market_mappings,
)
from db.types import Money
from worker.domain.ledger import CashEntry
from worker.domain.settings import FIELDS, ExecutorSettings
from worker.domain.storage import SettingsConflict
from worker.domain.tradelog import (
    ATTEMPT_STATUSES,
    REALISED_STATUSES,
    NewPosition,
    StoredPosition,
    StoredTrade,
    TradeQuery,
    TradeRecord,
)


def _display(value: Decimal | None) -> float | None:
    # The plan's REAL columns are for display only; nothing is ever summed from them.
    return None if value is None else float(value)


class SettingsRepository:
    """The single ``executor_settings`` row."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> Mapping[str, Any] | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(executor_settings).where(executor_settings.c.id == 1))).first()
        return None if row is None else dict(row._mapping)

    async def save(self, settings: ExecutorSettings) -> None:
        values: dict[str, Any] = {"enabled": settings.enabled, "updated_at": datetime.now(UTC)}
        for spec in FIELDS:
            value = getattr(settings, spec.name)
            values[spec.name] = value if spec.kind == "count" else _display(value)
        async with self.db.write() as conn:
            if not self.db.is_sqlite:
                await conn.execute(
                    sa.select(executor_settings.c.id).where(executor_settings.c.id == 1).with_for_update()
                )
            result = await conn.execute(
                executor_settings.update()
                .where(executor_settings.c.id == 1)
                .values(**values, version=executor_settings.c.version + 1)
            )
            if result.rowcount == 0:
                await conn.execute(executor_settings.insert().values(id=1, **values))

    async def save_fields(self, fields: Mapping[str, Any], expected_version: int | None) -> int:
        """Only these columns, one transaction; refused if the version moved meanwhile."""
        kinds = {spec.name: spec.kind for spec in FIELDS}
        values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        for name, value in fields.items():
            if name == "enabled":
                values[name] = bool(value)
            elif name in kinds:
                values[name] = value if kinds[name] == "count" else _display(value)
            else:
                raise KeyError(f"unknown setting {name}")
        t = executor_settings
        async with self.db.write() as conn:
            query = sa.select(t.c.version).where(t.c.id == 1)
            if not self.db.is_sqlite:
                query = query.with_for_update()
            stored = (await conn.execute(query)).scalar_one_or_none()
            if stored is None:
                raise SettingsConflict("no settings row stored")
            if expected_version is not None and int(stored) != expected_version:
                raise SettingsConflict(f"settings version {stored}, expected {expected_version}")
            await conn.execute(t.update().where(t.c.id == 1).values(**values, version=int(stored) + 1))
        return int(stored) + 1


def _trade(row: Any) -> StoredTrade:
    m = row._mapping
    return StoredTrade(
        id=str(m["id"]),
        timestamp=m["timestamp"],
        event_title=m["event_title"],
        status=m["status"],
        bet_size=m["bet_size_micros"] if m["bet_size_micros"] is not None else Decimal(str(m["bet_size"])),
        pnl=m["pnl_micros"] if m["pnl_micros"] is not None else Decimal(str(m["pnl"] or 0)),
        roi=None if m["roi"] is None else Decimal(str(m["roi"])),
        poly_order_id=m["poly_order_id"],
        kalshi_order_id=m["kalshi_order_id"],
        reason=m["reason"],
        attempt_id=m["attempt_id"],
        position_id=None if m["position_id"] is None else str(m["position_id"]),
        details=m["details"] or {},
    )


def _position(row: Any) -> StoredPosition:
    m = row._mapping

    def dec(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return StoredPosition(
        id=str(m["id"]),
        event_key=m["event_key"],
        event_title=m["event_title"],
        opened_at=m["opened_at"],
        status=m["status"],
        poly_venue=m["poly_venue"],
        poly_market=m["poly_market"],
        poly_contract=m["poly_contract"],
        poly_side=m["poly_side"],
        poly_price=dec(m["poly_price"]),
        poly_contracts=m["poly_contracts"],
        kalshi_ticker=m["kalshi_ticker"],
        kalshi_side=m["kalshi_side"],
        kalshi_price=dec(m["kalshi_price"]),
        kalshi_contracts=m["kalshi_contracts"],
        cost=m["cost_micros"],
        attempt_id=m["attempt_id"],
        game_key=m["game_key"],
        expires_at=m["expires_at"],
        closed_at=m["closed_at"],
        realized_pnl=m["realized_pnl_micros"],
        close_reason=m["close_reason"],
    )


def trade_values(record: TradeRecord) -> dict[str, Any]:
    return {
        "timestamp": record.timestamp,
        "event_title": record.event_title,
        "status": str(record.status),
        "bet_size": _display(record.bet_size),
        "pnl": _display(record.pnl),
        "roi": _display(record.roi),
        "poly_order_id": record.poly_order_id,
        "kalshi_order_id": record.kalshi_order_id,
        "details": dict(record.details),
        "bet_size_micros": record.bet_size,
        "pnl_micros": record.pnl,
        "reason": record.reason,
        "attempt_id": record.attempt_id,
        "position_id": None if record.position_id is None else int(record.position_id),
        "source": record.source,
        "dedup_key": record.key(),
    }


def position_values(position: NewPosition) -> dict[str, Any]:
    """The row of a newly opened position."""
    return {
        "event_key": position.event_key,
        "event_title": position.event_title,
        "opened_at": position.opened_at,
        "poly_side": position.poly.side,
        "poly_price": _display(position.poly.price),
        "poly_contracts": position.poly.contracts,
        "kalshi_side": position.kalshi.side,
        "kalshi_price": _display(position.kalshi.price),
        "kalshi_contracts": position.kalshi.contracts,
        "status": "open",
        "cost_micros": position.cost,
        "attempt_id": position.attempt_id,
        "game_key": position.game_key,
        "poly_venue": position.poly.venue,
        "poly_market": position.poly.market,
        "poly_contract": position.poly.contract,
        "kalshi_ticker": position.kalshi.market,
        "expires_at": position.expires_at,
    }


async def day_trades_and_pnl(conn: AsyncConnection, start: datetime, end: datetime) -> tuple[int, Decimal]:
    """The trades of the day [start, end) — our attempts, and rows imported from an older
    bot (no attempt of ours behind them) — and its net realised P&L, in the caller's
    transaction."""
    t = executor_trades
    in_day = sa.and_(t.c.timestamp >= start, t.c.timestamp < end)
    attempts_q = sa.select(sa.func.count()).where(
        arbitrage_attempts.c.created_at >= start, arbitrage_attempts.c.created_at < end
    )
    imported_q = sa.select(sa.func.count()).where(
        in_day, t.c.attempt_id.is_(None), t.c.status.in_([str(s) for s in ATTEMPT_STATUSES])
    )
    pnl_q = sa.select(sa.type_coerce(sa.func.coalesce(sa.func.sum(t.c.pnl_micros), 0), Money)).where(
        in_day, t.c.status.in_([str(s) for s in REALISED_STATUSES])
    )
    attempts = (await conn.execute(attempts_q)).scalar_one()
    imported = (await conn.execute(imported_q)).scalar_one()
    pnl = (await conn.execute(pnl_q)).scalar_one()
    return int(attempts) + int(imported), Decimal(pnl)


async def insert_trade(conn: AsyncConnection, record: TradeRecord) -> StoredTrade | None:
    """Insert unless a row with the same key exists (then None). Runs in the caller's transaction.

    One statement (``INSERT … ON CONFLICT (dedup_key) DO NOTHING RETURNING id``) so that
    concurrent writers of the same row can't both pass a check-then-insert.
    """
    values = trade_values(record)
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    stmt = (
        insert(executor_trades)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[executor_trades.c.dedup_key])
        .returning(executor_trades.c.id)
    )
    new_id = (await conn.execute(stmt)).scalar_one_or_none()
    if new_id is None:
        return None
    return StoredTrade(
        id=str(new_id),
        timestamp=record.timestamp,
        event_title=record.event_title,
        status=str(record.status),
        bet_size=record.bet_size,
        pnl=record.pnl,
        roi=record.roi,
        poly_order_id=record.poly_order_id,
        kalshi_order_id=record.kalshi_order_id,
        reason=record.reason,
        attempt_id=record.attempt_id,
        position_id=record.position_id,
        details=json.loads(dumps(values["details"])),
    )


class TradeRepository:
    """The trade log and positions tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record_trade(self, record: TradeRecord) -> StoredTrade | None:
        async with self.db.write() as conn:
            return await insert_trade(conn, record)

    async def open_position(self, position: NewPosition) -> StoredPosition:
        values = position_values(position)
        async with self.db.write() as conn:
            new_id = (
                await conn.execute(
                    executor_positions.insert().values(**values).returning(executor_positions.c.id)
                )
            ).scalar_one()
            row = (
                await conn.execute(sa.select(executor_positions).where(executor_positions.c.id == new_id))
            ).one()
        return _position(row)

    async def close_position(
        self,
        position_id: str,
        *,
        status: str,
        closed_at: datetime,
        realized_pnl: Decimal | None,
        reason: str,
        trade: TradeRecord | None,
        cash: Sequence[CashEntry] = (),
    ) -> tuple[StoredPosition, StoredTrade | None]:
        pid = _int_id(position_id)
        async with self.db.write() as conn:
            query = sa.select(executor_positions).where(executor_positions.c.id == pid)
            if not self.db.is_sqlite:
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                raise KeyError(f"no position {position_id}")
            if row._mapping["status"] != "open":
                raise ValueError(f"position {position_id} is {row._mapping['status']}, not open")
            await conn.execute(
                executor_positions.update()
                .where(executor_positions.c.id == pid)
                .values(
                    status=status,
                    closed_at=closed_at,
                    realized_pnl=_display(realized_pnl),
                    realized_pnl_micros=realized_pnl,
                    close_reason=reason,
                )
            )
            stored_trade = await insert_trade(conn, trade) if trade is not None else None
            await insert_cash(conn, cash)
            row = (await conn.execute(sa.select(executor_positions).where(executor_positions.c.id == pid))).one()
        return _position(row), stored_trade

    async def set_position_status(self, position_id: str, status: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                executor_positions.update().where(executor_positions.c.id == _int_id(position_id)).values(status=status)
            )

    async def get_position(self, position_id: str) -> StoredPosition | None:
        try:
            pid = _int_id(position_id)
        except KeyError:
            return None
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(executor_positions).where(executor_positions.c.id == pid))).first()
        return None if row is None else _position(row)

    async def list_positions(self, status: str | None = None) -> list[StoredPosition]:
        query = sa.select(executor_positions).order_by(executor_positions.c.id)
        if status is not None:
            query = query.where(executor_positions.c.status == status)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_position(r) for r in rows]

    async def recent_trades(self, *, limit: int = 100, since: datetime | None = None) -> list[StoredTrade]:
        return await self.query_trades(TradeQuery(limit=limit, since=since))

    async def query_trades(self, query: TradeQuery) -> list[StoredTrade]:
        """Trade-log rows matching ``query``, newest first (time, then id)."""
        t = executor_trades
        select = sa.select(t).order_by(t.c.timestamp.desc(), t.c.id.desc())
        if query.since is not None:
            select = select.where(t.c.timestamp >= query.since)
        if query.until is not None:
            select = select.where(t.c.timestamp <= query.until)
        if query.before is not None:
            older = t.c.timestamp < query.before
            if query.before_id is not None:
                older = sa.or_(older, sa.and_(t.c.timestamp == query.before, t.c.id < query.before_id))
            select = select.where(older)
        if query.status is not None:
            select = select.where(t.c.status == str(query.status))
        if query.league is not None:
            a, m = arbitrage_attempts, market_mappings
            of_league = sa.select(a.c.id).join(m, m.c.id == a.c.mapping_id).where(m.c.league == query.league)
            select = select.where(t.c.attempt_id.in_(of_league))
        async with self.db.read() as conn:
            rows = (await conn.execute(select.limit(query.limit))).all()
        return [_trade(r) for r in rows]

    async def day_figures(self, start: datetime, end: datetime) -> tuple[int, Decimal, int]:
        t = executor_trades
        in_day = sa.and_(t.c.timestamp >= start, t.c.timestamp < end)
        # A win is an attempt whose realised P&L today is > 0 (its realised rows summed:
        # a position's settlement, an unwind, …); an imported row counts on its own.
        who = sa.func.coalesce(t.c.attempt_id, sa.cast(t.c.id, sa.Text))
        won = (
            sa.select(who.label("who"))
            .where(in_day, t.c.status.in_([str(s) for s in REALISED_STATUSES]))
            .group_by(who)
            .having(sa.func.sum(sa.type_coerce(t.c.pnl_micros, sa.BigInteger)) > 0)
            .subquery()
        )
        wins_q = sa.select(sa.func.count()).select_from(won)
        async with self.db.read() as conn:
            trades, pnl = await day_trades_and_pnl(conn, start, end)
            wins = (await conn.execute(wins_q)).scalar_one()
        return trades, pnl, int(wins)


def _int_id(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise KeyError(f"no position {value}") from None
