"""``market_mappings`` repository: the SQLAlchemy implementation of ``MappingStore``.

Operator decisions are authoritative: :meth:`SqlMappingStore.save_discovered` inserts new
pairs as candidates and refreshes the matcher's own fields (confidence, reasons, titles,
teams) of existing rows, but never writes ``status``, ``note`` or ``decided_at`` of a row
that exists, so re-running discovery cannot undo a confirmation or a rejection. Each call
runs in one write transaction (the database's single-writer rule).

A decision applies to the game (:attr:`~worker.domain.mapping.MarketMapping.review_key`):
:meth:`SqlMappingStore.decide` writes it on every row of the game in one transaction, and
:meth:`SqlMappingStore.save_discovered` inserts a new row of a decided game (a re-listed
market, or the game's other direction found later) with that decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.tables import market_mappings as t
from worker.domain.mapping import Confidence, MappingStatus, MarketMapping, game_status
from worker.domain.markets import Venue

# Columns the matcher owns; an operator's columns (status, note, decided_at) are absent.
_MATCHER_COLUMNS = (
    "kalshi_event_ticker",
    "league",
    "game_date",
    "away_team",
    "home_team",
    "proposition_team",
    "event_title",
    "confidence",
    "reasons",
)

# The pair's names and venue pages, and its proposition's key, kept in the ``reasons``
# object beside the matcher's reasons (a row without ``proposition`` is its team's win).
_NAMING = (
    "kalshi_url", "kalshi_outcome", "poly_url", "poly_title", "poly_outcome", "poly_other_outcome", "proposition",
)


def _row_values(m: MarketMapping, now: datetime) -> dict[str, Any]:
    return {
        "id": m.id,
        "kalshi_ticker": m.kalshi_ticker,
        "kalshi_event_ticker": m.kalshi_event_ticker,
        "poly_venue": m.poly_venue.value,
        "poly_market": m.poly_market,
        "poly_side": m.poly_side,
        "league": m.league,
        "game_date": m.game_date.isoformat(),
        "away_team": m.away_team,
        "home_team": m.home_team,
        "proposition_team": m.proposition_team,
        "event_title": m.event_title,
        "confidence": m.confidence.value,
        "reasons": {
            "reasons": list(m.reasons),
            "poly_opposite": m.poly_opposite,
            "poly_market_id": m.poly_market_id,
            "start_time": m.start_time.isoformat() if m.start_time else None,
            # What names the pair for a person (no column of its own: refreshed with the
            # matcher's fields at every discovery).
            **{k: getattr(m, k) for k in _NAMING if getattr(m, k)},
        },
        "status": MappingStatus.CANDIDATE.value,
        "created_at": now,
        "updated_at": now,
    }


def _mapping(row: Any) -> MarketMapping:
    extra = row.reasons if isinstance(row.reasons, dict) else {"reasons": list(row.reasons or [])}
    start_raw = extra.get("start_time")
    return MarketMapping(
        kalshi_ticker=row.kalshi_ticker,
        kalshi_event_ticker=row.kalshi_event_ticker or "",
        poly_venue=Venue(row.poly_venue),
        poly_market=row.poly_market,
        poly_side=row.poly_side or "",
        poly_opposite=str(extra.get("poly_opposite") or ""),
        league=row.league,
        game_date=date.fromisoformat(str(row.game_date)),
        away_team=row.away_team or "",
        home_team=row.home_team or "",
        proposition_team=row.proposition_team or "",
        event_title=row.event_title or "",
        confidence=Confidence(row.confidence),
        reasons=tuple(extra.get("reasons") or ()),
        start_time=datetime.fromisoformat(str(start_raw)) if start_raw else None,
        poly_market_id=str(extra.get("poly_market_id") or ""),
        status=MappingStatus(row.status),
        note=row.note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_at=row.decided_at,
        **{k: str(extra.get(k) or "") for k in _NAMING},
    )


class SqlMappingStore:
    """Mappings in the ``market_mappings`` table (SQLite or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @staticmethod
    async def _game_rows(conn: Any, m: MarketMapping) -> list[MarketMapping]:
        """Every stored mapping of ``m``'s game (its review key), ``m`` itself included."""
        q = sa.select(t).where(t.c.poly_venue == m.poly_venue.value)
        if m.kalshi_event_ticker:
            q = q.where(t.c.kalshi_event_ticker == m.kalshi_event_ticker)
        else:
            q = q.where(t.c.kalshi_ticker == m.kalshi_ticker)
        key = m.review_key
        return [g for g in map(_mapping, (await conn.execute(q)).all()) if g.review_key == key]

    async def save_discovered(
        self, mappings: Sequence[MarketMapping], now: datetime
    ) -> list[MarketMapping]:
        ids = [m.id for m in mappings]
        async with self._db.write() as conn:
            existing = (
                {r.id for r in (await conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids)))).all()}
                if ids
                else set()
            )
            # The operator's decisions on the games of the new pairs (one read).
            decided_games: dict[str, list[MarketMapping]] = {}
            events = {m.kalshi_event_ticker for m in mappings if m.id not in existing and m.kalshi_event_ticker}
            tickers = {m.kalshi_ticker for m in mappings if m.id not in existing and not m.kalshi_event_ticker}
            if events or tickers:
                q = sa.select(t).where(
                    t.c.status != MappingStatus.CANDIDATE.value,
                    sa.or_(t.c.kalshi_event_ticker.in_(events), t.c.kalshi_ticker.in_(tickers)),
                )
                for row in (await conn.execute(q)).all():
                    g = _mapping(row)
                    decided_games.setdefault(g.review_key, []).append(g)
            for m in mappings:
                values = _row_values(m, now)
                if m.id in existing:
                    update = {k: values[k] for k in _MATCHER_COLUMNS}
                    update["updated_at"] = now
                    await conn.execute(sa.update(t).where(t.c.id == m.id).values(**update))
                else:
                    # A new pair of a game the operator already decided takes that decision.
                    game = decided_games.get(m.review_key, [])
                    decided = game_status(g.status for g in game)
                    if decided is not MappingStatus.CANDIDATE:
                        source = max(
                            (g for g in game if g.status is decided),
                            key=lambda g: g.decided_at or now,
                        )
                        values.update(status=decided.value, note=source.note, decided_at=source.decided_at)
                    await conn.execute(sa.insert(t).values(**values))
                    existing.add(m.id)
            rows = (await conn.execute(sa.select(t).where(t.c.id.in_(ids)))).all() if ids else []
        by_id = {r.id: _mapping(r) for r in rows}
        return [by_id[i] for i in ids]

    async def get(self, mapping_id: str) -> MarketMapping | None:
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == mapping_id))).first()
        return _mapping(row) if row is not None else None

    async def list(self, status: MappingStatus | None = None) -> list[MarketMapping]:
        q = sa.select(t).order_by(t.c.game_date, t.c.kalshi_ticker)
        if status is not None:
            q = q.where(t.c.status == status.value)
        async with self._db.read() as conn:
            rows = (await conn.execute(q)).all()
        return [_mapping(r) for r in rows]

    async def decide(
        self, mapping_id: str, status: MappingStatus, now: datetime, note: str | None = None
    ) -> MarketMapping:
        """Record an operator decision on the mapping's whole game (every row with its
        review key, both directions) in one transaction; returns the mapping asked for.
        ``KeyError`` if the mapping does not exist (nothing is written then)."""
        async with self._db.write() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == mapping_id))).first()
            if row is None:
                raise KeyError(mapping_id)
            ids = [g.id for g in await self._game_rows(conn, _mapping(row))]
            await conn.execute(
                sa.update(t)
                .where(t.c.id.in_(ids))
                .values(status=status.value, note=note, decided_at=now, updated_at=now)
            )
            row = (await conn.execute(sa.select(t).where(t.c.id == mapping_id))).one()
        return _mapping(row)

    async def game(self, mapping_id: str) -> Sequence[MarketMapping]:
        """The mapping's game: that mapping first, then the game's others by ticker;
        empty when the mapping does not exist."""
        async with self._db.read() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == mapping_id))).first()
            if row is None:
                return []
            first = _mapping(row)
            others = [g for g in await self._game_rows(conn, first) if g.id != mapping_id]
        return [first, *sorted(others, key=lambda g: g.kalshi_ticker)]
