"""Legging risk storage: each source's counts per cell (``legging_counts``) and the
estimates built from every source's (``legging_estimates``). See ``docs/legging.md``.

Figures are exact Decimals kept as their text (:class:`db.types.DecimalText`), so the
table read back equals the table saved, field for field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.tables import legging_counts as tc
from db.tables import legging_estimates as te
from db.tables import market_mappings
from worker.domain.legging import (
    POOLED,
    CellCount,
    CellKey,
    LeggingEstimate,
    LeggingTable,
    build_table,
)

#: The sources of counts.
BOOKS = "books"
FILLS = "fills"
SOURCES = (BOOKS, FILLS)


def _key_values(key: CellKey) -> dict[str, str]:
    return {"venue": key.venue, "league": key.league, "price_band": key.price_band, "depth_band": key.depth_band}


def _key(row: Any) -> CellKey:
    return CellKey(row.venue, row.league, row.price_band, row.depth_band)


def _estimate_values(e: LeggingEstimate, at: datetime | None) -> dict[str, Any]:
    return {
        **_key_values(e.key),
        "samples": e.samples, "failures": e.failures, "raw_p_fail": e.raw_p_fail, "raw_cost": e.raw_cost,
        "p_fail": e.p_fail, "cost": e.cost, "weight": e.weight, "ci_low": e.ci_low, "ci_high": e.ci_high,
        "updated_at": at,
    }


def _estimate(row: Any) -> LeggingEstimate:
    return LeggingEstimate(
        key=_key(row), samples=int(row.samples), failures=int(row.failures), raw_p_fail=row.raw_p_fail,
        raw_cost=row.raw_cost, p_fail=row.p_fail, cost=row.cost, weight=row.weight, ci_low=row.ci_low,
        ci_high=row.ci_high,
    )


class LeggingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def replace_counts(self, source: str, counts: Mapping[CellKey, CellCount], at: datetime) -> None:
        """``source``'s counts become ``counts`` (its previous rows go), in one transaction."""
        if source not in SOURCES:
            raise ValueError(f"unknown legging source {source!r} (one of {', '.join(SOURCES)})")
        rows = [
            {"source": source, **_key_values(k), "samples": c.samples, "failures": c.failures,
             "cost_sum": c.cost_sum, "updated_at": at}
            for k, c in sorted(counts.items())
            if c.samples > 0
        ]
        async with self.db.write() as conn:
            await conn.execute(sa.delete(tc).where(tc.c.source == source))
            if rows:
                await conn.execute(sa.insert(tc), rows)

    async def load_counts(self, source: str | None = None) -> dict[CellKey, CellCount]:
        """Every source's counts added cell by cell (or one ``source``'s)."""
        q = sa.select(tc)
        if source is not None:
            q = q.where(tc.c.source == source)
        async with self.db.read() as conn:
            rows = (await conn.execute(q)).all()
        out: dict[CellKey, CellCount] = {}
        for row in rows:
            key = _key(row)
            out[key] = out.get(key, CellCount()) + CellCount(int(row.samples), int(row.failures), row.cost_sum)
        return out

    async def save_estimates(self, table: LeggingTable) -> None:
        """The table's rows replace every stored estimate, in one transaction."""
        rows = [_estimate_values(e, table.updated_at) for e in table.rows()]
        async with self.db.write() as conn:
            await conn.execute(sa.delete(te))
            await conn.execute(sa.insert(te), rows)

    async def load_table(self) -> LeggingTable | None:
        """The stored estimates as the table they were saved from; None when none is."""
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(te))).all()
        if not rows:
            return None
        cells: dict[CellKey, LeggingEstimate] = {}
        pools: dict[str, LeggingEstimate] = {}
        overall: LeggingEstimate | None = None
        updated = [r.updated_at for r in rows if r.updated_at is not None]
        for row in rows:
            est = _estimate(row)
            if est.key.venue == POOLED:
                overall = est
            elif est.key.league == POOLED:
                pools[est.key.venue] = est
            else:
                cells[est.key] = est
        if overall is None:  # only pools and cells stored by hand: rebuild the overall from nothing
            overall = build_table({}).overall
        return LeggingTable(
            cells=dict(sorted(cells.items())), pools=dict(sorted(pools.items())), overall=overall,
            updated_at=max(updated) if updated else None,
        )

    async def mapping_leagues(self) -> dict[str, str]:
        """Every stored mapping's league, by mapping id."""
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(market_mappings.c.id, market_mappings.c.league))).all()
        return {row.id: row.league for row in rows}


async def refresh_estimates(repo: LeggingRepository, fills_counts: Mapping[CellKey, CellCount],
                            at: datetime) -> LeggingTable:
    """Store our fills' counts, build the table from every source's and store it."""
    await repo.replace_counts(FILLS, fills_counts, at)
    table = build_table(await repo.load_counts(), updated_at=at)
    await repo.save_estimates(table)
    return table
