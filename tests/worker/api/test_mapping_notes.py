"""A decision on a mapping's game carries the operator's note, and ``reopen_mapping``
returns a decided game to candidate (what the ``/mappings`` page's Undo sends), over a
real WebSocket to the worker."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from db.mappings import SqlMappingStore
from db.tables import market_mappings
from tests.worker.api.conftest import connect_ready
from worker.bootstrap import Worker
from worker.domain.mapping import Confidence, MarketMapping
from worker.domain.markets import Venue

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def _row(team: str, other: str) -> MarketMapping:
    return MarketMapping(
        kalshi_ticker=f"KXNBAGAME-26JAN11HOUSAC-{team}",
        kalshi_event_ticker="KXNBAGAME-26JAN11HOUSAC",
        poly_venue=Venue.POLYMARKET,
        poly_market=f"tok_{team.lower()}",
        poly_side="",
        poly_opposite=f"tok_{other.lower()}",
        league="nba",
        game_date=date(2026, 1, 11),
        away_team="nba:HOU",
        home_team="nba:SAC",
        proposition_team=f"nba:{team}",
        event_title="Houston at Sacramento",
        confidence=Confidence.HIGH,
        reasons=("teams from structured fields",),
        poly_market_id="55123",
        kalshi_url="https://kalshi.com/markets/kxnbagame/kxnbagame-26jan11housac",
        kalshi_outcome="Houston" if team == "HOU" else "Sacramento",
        poly_url="https://polymarket.com/event/nba-hou-sac-2026-01-11",
        poly_title="Rockets vs. Kings",
        poly_outcome="Rockets" if team == "HOU" else "Kings",
        poly_other_outcome="Kings" if team == "HOU" else "Rockets",
    )


async def _statuses(worker: Worker) -> dict[str, tuple[str, str | None]]:
    async with worker.db.read() as conn:
        rows = (await conn.execute(sa.select(market_mappings.c.id, market_mappings.c.status, market_mappings.c.note))).all()
    return {r.id: (r.status, r.note) for r in rows}


async def test_a_note_is_stored_with_the_game_s_decision_and_reopen_returns_it_to_candidate(worker: Worker) -> None:
    hou, sac = await SqlMappingStore(worker.db).save_discovered([_row("HOU", "SAC"), _row("SAC", "HOU")], NOW)
    client, _ = await connect_ready(worker)
    watcher, _ = await connect_ready(worker)

    await client.send({"action": "reject_mapping", "mapping_id": hou.id, "note": "  wrong game  ", "id": "r1"})
    ack = await client.reply()
    assert ack["type"] == "ack" and ack["id"] == "r1"
    assert (ack["data"]["status"], ack["data"]["note"]) == ("rejected", "wrong game")
    # What names the pair travels with it.
    assert ack["data"]["poly_title"] == "Rockets vs. Kings" and ack["data"]["poly_outcome"] == "Rockets"
    assert ack["data"]["poly_url"] == "https://polymarket.com/event/nba-hou-sac-2026-01-11"
    assert ack["data"]["kalshi_url"] == "https://kalshi.com/markets/kxnbagame/kxnbagame-26jan11housac"
    seen = {(await watcher.recv_type("mapping_changed"))["data"]["id"] for _ in range(2)}
    assert seen == {hou.id, sac.id}
    assert await _statuses(worker) == {hou.id: ("rejected", "wrong game"), sac.id: ("rejected", "wrong game")}

    # Undo of a decision on a new game: back to candidate, on both rows.
    await client.send({"action": "reopen_mapping", "mapping_id": sac.id, "id": "u1"})
    ack = await client.reply()
    assert ack["type"] == "ack" and ack["data"]["status"] == "candidate" and ack["data"]["note"] is None
    changed = [(await watcher.recv_type("mapping_changed"))["data"] for _ in range(2)]
    assert {(m["id"], m["status"]) for m in changed} == {(hou.id, "candidate"), (sac.id, "candidate")}
    assert await _statuses(worker) == {hou.id: ("candidate", None), sac.id: ("candidate", None)}

    # Without a note a decision is as before; an empty note is refused, naming the field.
    await client.send({"action": "confirm_mapping", "mapping_id": hou.id, "id": "c1"})
    assert (await client.reply())["data"]["status"] == "confirmed"
    await client.send({"action": "reject_mapping", "mapping_id": hou.id, "note": "  ", "id": "c2"})
    refused = await client.reply()
    assert refused["type"] == "error" and refused["field"] == "note" and refused["id"] == "c2"
    await client.send({"action": "reopen_mapping", "mapping_id": "map_nope", "id": "c3"})
    assert (await client.reply())["field"] == "mapping_id"
    assert (await _statuses(worker))[hou.id] == ("confirmed", None)
    await client.close()
    await watcher.close()
