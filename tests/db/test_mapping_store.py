"""The mapping repository keeps operator decisions across rediscovery and restarts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

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


def poly_direction(team: str, status: MappingStatus = MappingStatus.CANDIDATE) -> MarketMapping:
    """One direction of Houston at Sacramento on Polymarket: ``team``'s Kalshi market with
    that team's CLOB token (the other team's token is its opposite)."""
    tokens = {"HOU": "tok-hou", "SAC": "tok-sac"}
    other = "SAC" if team == "HOU" else "HOU"
    return dataclasses.replace(
        mapping(),
        kalshi_ticker=f"KXNBAGAME-26JAN11HOUSAC-{team}",
        poly_venue=Venue.POLYMARKET,
        poly_market=tokens[team],
        poly_side="",
        poly_opposite=tokens[other],
        poly_market_id="gamma-123",
        proposition_team=f"nba:{team}",
        status=status,
    )


async def fresh_store(tmp_path: Path) -> tuple[Database, SqlMappingStore]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    async with db.write() as conn:
        await conn.run_sync(metadata.create_all)
    return db, SqlMappingStore(db)


async def test_a_decision_on_one_direction_applies_to_the_whole_game(tmp_path: Path) -> None:
    db, store = await fresh_store(tmp_path)
    hou, sac = poly_direction("HOU"), poly_direction("SAC")
    # The same Kalshi game on Polymarket US is another pairing: nobody reviewed it.
    us = mapping()
    # Another game of the same day.
    other = dataclasses.replace(
        poly_direction("HOU"), kalshi_ticker="KXNBAGAME-26JAN11BOSNYK-BOS",
        kalshi_event_ticker="KXNBAGAME-26JAN11BOSNYK", poly_market="tok-bos", poly_opposite="tok-nyk",
    )
    await store.save_discovered([hou, sac, us, other], NOW)
    assert hou.review_key == sac.review_key == "KXNBAGAME-26JAN11HOUSAC|polymarket|tok-hou+tok-sac"
    assert us.review_key == "KXNBAGAME-26JAN11HOUSAC|polymarket_us|aec-nba-hou-sac-2026-01-11"

    decided = await store.decide(sac.id, MappingStatus.REJECTED, NOW, note="wrong game")
    assert decided.id == sac.id and decided.status is MappingStatus.REJECTED
    statuses = {m.id: (m.status, m.note, m.decided_at) for m in await store.list()}
    assert statuses[hou.id] == statuses[sac.id] == (MappingStatus.REJECTED, "wrong game", NOW)
    assert statuses[us.id] == statuses[other.id] == (MappingStatus.CANDIDATE, None, None)
    assert [m.id for m in await store.game(hou.id)] == [hou.id, sac.id]
    assert [m.id for m in await store.game(sac.id)] == [sac.id, hou.id]
    assert await store.game("map_nope") == []

    # Changing one's mind on the other row changes both again.
    later = datetime(2026, 1, 11, 13, tzinfo=UTC)
    await store.decide(hou.id, MappingStatus.CONFIRMED, later)
    assert {(m.status, m.decided_at) for m in await store.game(hou.id)} == {(MappingStatus.CONFIRMED, later)}
    await db.dispose()


async def test_a_polymarket_us_decision_covers_both_sides_of_the_slug(tmp_path: Path) -> None:
    db, store = await fresh_store(tmp_path)
    hou = mapping()  # HOU's Kalshi market with the slug's short side
    sac = dataclasses.replace(
        mapping(), kalshi_ticker="KXNBAGAME-26JAN11HOUSAC-SAC", poly_side="long", poly_opposite="short",
        proposition_team="nba:SAC",
    )
    await store.save_discovered([hou, sac], NOW)
    await store.decide(hou.id, MappingStatus.CONFIRMED, NOW)
    assert {m.status for m in await store.list()} == {MappingStatus.CONFIRMED}
    await db.dispose()


async def test_unknown_mapping_decides_nothing(tmp_path: Path) -> None:
    db, store = await fresh_store(tmp_path)
    await store.save_discovered([poly_direction("HOU"), poly_direction("SAC")], NOW)
    with pytest.raises(KeyError):
        await store.decide("map_nope", MappingStatus.REJECTED, NOW)
    assert {m.status for m in await store.list()} == {MappingStatus.CANDIDATE}
    await db.dispose()


async def test_a_direction_listed_after_the_decision_takes_it(tmp_path: Path) -> None:
    db, store = await fresh_store(tmp_path)
    [hou] = await store.save_discovered([poly_direction("HOU")], NOW)
    await store.decide(hou.id, MappingStatus.REJECTED, NOW, note="not the same game")
    # The game's other Kalshi market is listed later (or re-listed under a new ticker).
    later = datetime(2026, 1, 11, 14, tzinfo=UTC)
    again, sac = await store.save_discovered([poly_direction("HOU"), poly_direction("SAC")], later)
    assert (again.status, sac.status) == (MappingStatus.REJECTED, MappingStatus.REJECTED)
    assert (sac.note, sac.decided_at) == ("not the same game", NOW)
    # A game nobody decided stays a candidate.
    fresh = dataclasses.replace(
        poly_direction("HOU"), kalshi_ticker="KXNBAGAME-26JAN12HOUSAC-HOU",
        kalshi_event_ticker="KXNBAGAME-26JAN12HOUSAC", poly_market="tok-hou-2", poly_opposite="tok-sac-2",
    )
    [new] = await store.save_discovered([fresh], later)
    assert new.status is MappingStatus.CANDIDATE
    await db.dispose()
