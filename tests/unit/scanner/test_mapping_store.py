"""The mapping repository keeps operator decisions across rediscovery and restarts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

from db.engine import Database
from db.mappings import SqlMappingStore
from db.tables import metadata
from worker.domain.mapping import Confidence, MappingStatus, MarketMapping
from worker.domain.markets import Venue

NOW = datetime(2026, 1, 11, 12, tzinfo=UTC)


def mapping(confidence: Confidence = Confidence.HIGH) -> MarketMapping:
    return MarketMapping(
        kalshi_ticker="KXNBAGAME-26JAN11HOUSAC-HOU",
        kalshi_event_ticker="KXNBAGAME-26JAN11HOUSAC",
        poly_venue=Venue.POLYMARKET_US,
        poly_market="aec-nba-hou-sac-2026-01-11",
        poly_side="short",
        poly_opposite="long",
        league="nba",
        game_date=date(2026, 1, 11),
        away_team="nba:HOU",
        home_team="nba:SAC",
        proposition_team="nba:HOU",
        event_title="Houston at Sacramento",
        confidence=confidence,
        reasons=("teams from codes",),
        start_time=NOW,
    )


async def test_rediscovery_never_overrides_a_rejection_and_survives_a_restart(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    db = Database(url)
    async with db.write() as conn:
        await conn.run_sync(metadata.create_all)
    store = SqlMappingStore(db)
    [saved] = await store.save_discovered([mapping()], NOW)
    assert saved.status is MappingStatus.CANDIDATE
    await store.decide(saved.id, MappingStatus.REJECTED, NOW, note="wrong game")
    [again] = await store.save_discovered([mapping(Confidence.MEDIUM)], NOW)
    assert again.status is MappingStatus.REJECTED
    assert again.confidence is Confidence.MEDIUM
    await db.dispose()
    db2 = Database(url)
    got = await SqlMappingStore(db2).get(saved.id)
    assert got is not None and got.status is MappingStatus.REJECTED and got.note == "wrong game"
    assert (
        dataclasses.replace(
            got,
            status=MappingStatus.CANDIDATE,
            note=None,
            created_at=None,
            updated_at=None,
            decided_at=None,
            confidence=Confidence.HIGH,
        )
        == mapping()
    )
    await db2.dispose()
