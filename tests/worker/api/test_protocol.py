"""/ws/executor against a running server: the plan's messages, operator actions, propagation."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import sqlalchemy as sa

from db.tables import market_mappings
from tests.dashboard.protocol import domain_opportunity
from tests.support.waiting import wait_until
from tests.worker.api.conftest import connect, connect_ready, make_config, start_worker
from worker.bootstrap import Worker
from worker.domain.events import OpportunityClosed, OpportunityOpened, TradeEvent
from worker.domain.mapping import CloseReason, mapping_id
from worker.domain.markets import Venue
from worker.domain.tradelog import NewPosition, PositionLeg, TradeStatus

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


async def test_init_carries_the_plans_fields_with_exact_numbers(worker: Worker) -> None:
    client, init = await connect_ready(worker)
    data = init["data"]
    assert data["enabled"] is False
    assert data["settings"] == {
        "enabled": False,
        "min_bet": Decimal("5.00"),
        "max_bet": Decimal("10.00"),
        "min_roi": Decimal("1.00"),
        "max_roi": Decimal("50.00"),
        "max_daily_trades": 50,
        "max_daily_loss": Decimal("5.00"),
    }
    assert set(data["balances"]) == {"poly", "kalshi"}
    assert set(data["stats"]) >= {"trades", "pnl", "wins"}
    assert data["positions"] == []
    assert data["mode"] == "paper" and data["poly_venue"] == "polymarket"
    # No paper exchange listens: both venues are reported, not as up.
    assert {v["state"] for v in data["venues"].values()} <= {"down", "connecting"}
    await client.close()


async def test_toggle_is_acked_with_the_id_and_seen_by_every_client(worker: Worker) -> None:
    a, _ = await connect_ready(worker)
    b, _ = await connect_ready(worker)
    await a.send({"action": "toggle_enabled", "value": True, "id": "req-1"})
    ack = await a.reply()
    assert ack == {"type": "ack", "action": "toggle_enabled", "id": "req-1", "data": {"enabled": True}}
    settings = await b.recv_type("settings_changed")
    assert settings["data"]["enabled"] is True
    status = await b.recv_type("status_changed")
    assert status["data"]["enabled"] is True
    assert worker.settings.current.enabled is True
    await a.close()
    await b.close()


async def test_update_settings_broadcasts_the_complete_settings(worker: Worker) -> None:
    a, _ = await connect_ready(worker)
    b, _ = await connect_ready(worker)
    await a.send('{"action": "update_settings", "settings": {"min_bet": 6.10, "max_bet": 15.0}}')
    ack = await a.reply()
    assert ack["type"] == "ack" and ack["id"] is None
    changed = await b.recv_type("settings_changed")
    assert changed["data"]["min_bet"] == Decimal("6.10")
    assert changed["data"]["max_bet"] == Decimal("15.00")
    assert set(changed["data"]) == {"enabled", "min_bet", "max_bet", "min_roi", "max_roi", "max_daily_trades", "max_daily_loss"}
    await a.close()
    await b.close()


async def test_inconsistent_settings_name_the_field_and_change_nothing(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    before = worker.settings.current
    await client.send({"action": "update_settings", "settings": {"min_roi": 60}, "id": "x"})
    err = await client.reply()
    assert err["type"] == "error" and err["field"] == "min_roi" and err["id"] == "x"
    assert worker.settings.current == before
    # The connection stays open and usable.
    await client.send({"action": "toggle_enabled", "value": True})
    assert (await client.reply())["type"] == "ack"
    await client.close()


async def test_update_settings_cannot_change_enabled(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "update_settings", "settings": {"enabled": True}})
    err = await client.reply()
    assert err["field"] == "enabled"
    assert worker.settings.current.enabled is False
    await client.close()


async def test_a_string_where_a_number_is_due_is_refused(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "update_settings", "settings": {"max_daily_trades": "7"}})
    err = await client.reply()
    assert err["field"] == "max_daily_trades"
    assert worker.settings.current.max_daily_trades == 50
    await client.close()


async def test_settings_survive_a_worker_restart(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    first = await start_worker(config)
    client, _ = await connect_ready(first)
    await client.send({"action": "update_settings", "settings": {"max_daily_loss": 7.25, "max_daily_trades": 12}})
    assert (await client.reply())["type"] == "ack"
    await client.send({"action": "toggle_enabled", "value": True})
    assert (await client.reply())["type"] == "ack"
    await client.close()
    await first.stop()

    second = await start_worker(config)
    try:
        client, init = await connect_ready(second)
        assert init["data"]["enabled"] is True
        assert init["data"]["settings"]["max_daily_loss"] == Decimal("7.25")
        assert init["data"]["settings"]["max_daily_trades"] == 12
        await client.close()
    finally:
        await second.stop()


async def test_a_client_that_reconnects_resyncs_from_init(worker: Worker) -> None:
    a, _ = await connect_ready(worker)
    await a.close()
    b, _ = await connect_ready(worker)
    await b.send({"action": "update_settings", "settings": {"min_bet": 2}})
    assert (await b.reply())["type"] == "ack"
    a2, init = await connect_ready(worker)
    assert init["data"]["settings"]["min_bet"] == Decimal("2.00")
    await a2.close()
    await b.close()


def _position(key: str) -> NewPosition:
    now = datetime.now(UTC)
    return NewPosition(
        event_key=key,
        event_title="Rockets vs Celtics",
        opened_at=now,
        poly=PositionLeg("polymarket", "tok1", "Rockets", "Rockets", Decimal("0.51"), 10),
        kalshi=PositionLeg("kalshi", "KXNBAGAME-X-BOS", "NO KXNBAGAME-X-BOS", "NO", Decimal("0.47"), 10),
        cost=Decimal("9.85"),
    )


async def test_init_lists_open_positions_with_string_ids(worker: Worker) -> None:
    stored = await worker.trades.open_position(_position("g1"))
    client, init = await connect_ready(worker)
    [pos] = init["data"]["positions"]
    assert pos["id"] == stored.id and isinstance(pos["id"], str)
    assert pos["poly_price"] == Decimal("0.51") and pos["kalshi_side"] == "NO"
    await client.close()


async def test_close_position_of_unknown_id_names_position_id(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "close_position", "position_id": "999", "id": "c1"})
    err = await client.reply()
    assert (err["type"], err["field"], err["id"]) == ("error", "position_id", "c1")
    await client.close()


async def test_close_position_without_executor_is_an_error_and_keeps_the_position(worker: Worker) -> None:
    stored = await worker.trades.open_position(_position("g2"))
    client, _ = await connect_ready(worker)
    await client.send({"action": "close_position", "position_id": stored.id})
    err = await client.reply()
    assert err["type"] == "error" and "executor" in err["message"]
    assert [p.id for p in await worker.trades.open_positions()] == [stored.id]
    await client.close()


async def test_stranded_actions_without_executor_are_errors(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    await client.send({"action": "retry_unwind", "attempt_id": "att-1"})
    assert (await client.reply())["type"] == "error"
    await client.send({"action": "resolve_stranded", "attempt_id": "att-1", "note": "sold by hand"})
    assert (await client.reply())["type"] == "error"
    await client.close()


async def test_kill_switch_without_flatten_pauses_trading_for_everyone(worker: Worker) -> None:
    await worker.settings.set_enabled(True)
    a, _ = await connect_ready(worker)
    b, _ = await connect_ready(worker)
    await a.send({"action": "kill_switch", "flatten": False, "id": "k"})
    ack = await a.reply()
    assert ack["type"] == "ack" and ack["data"]["paused"] is True
    # No executor runs here: nothing was looked for, and the answer says so in the one shape.
    assert ack["data"]["cancelled"] == 0 and ack["data"]["orders_checked"] is False
    assert ack["data"]["flattened"] == [] and ack["data"]["executor_running"] is False
    assert (await b.recv_type("status_changed"))["data"]["enabled"] is False
    await a.send({"action": "kill_switch", "flatten": True})
    err = await a.reply()
    assert err["field"] == "flatten"
    await a.close()
    await b.close()


def _mapping_id() -> str:
    return mapping_id("KXNBAGAME-26JAN01HOUBOS-HOU", Venue.POLYMARKET, "123", "")


async def _insert_mapping(worker: Worker, mapping_id: str) -> None:
    now = datetime.now(UTC)
    async with worker.db.write() as conn:
        await conn.execute(
            market_mappings.insert().values(
                id=mapping_id, kalshi_ticker="KXNBAGAME-26JAN01HOUBOS-HOU", poly_venue="polymarket",
                poly_market="123", poly_side="", league="nba", game_date="2026-01-01", confidence="MEDIUM",
                reasons=["teams fuzzy"], status="candidate", created_at=now, updated_at=now,
            )
        )


async def test_confirm_mapping_is_persisted_and_broadcast(worker: Worker) -> None:
    map_id = _mapping_id()
    await _insert_mapping(worker, map_id)
    a, _ = await connect_ready(worker)
    b, _ = await connect_ready(worker)
    await a.send({"action": "confirm_mapping", "mapping_id": map_id, "id": "m1"})
    ack = await a.reply()
    assert ack["type"] == "ack" and ack["data"]["status"] == "confirmed"
    changed = await b.recv_type("mapping_changed")
    assert changed["data"]["id"] == map_id and changed["data"]["status"] == "confirmed"
    async with worker.db.read() as conn:
        status = (await conn.execute(sa.select(market_mappings.c.status))).scalar_one()
    assert status == "confirmed"
    headers = {"Authorization": "Bearer test-token-0123456789abcdef"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        listed = (await http.get("/api/mappings", params={"status": "confirmed"})).json()["mappings"]
    assert [m["id"] for m in listed] == [map_id]
    await a.send({"action": "reject_mapping", "mapping_id": "map_nope"})
    assert (await a.reply())["field"] == "mapping_id"
    await a.close()
    await b.close()


async def test_bus_events_reach_every_client_in_order(worker: Worker) -> None:
    clients = [ (await connect_ready(worker))[0] for _ in range(5)]
    for i in range(20):
        worker.bus.publish(TradeEvent("LAL vs BOS", TradeStatus.SUCCESS, NOW, pnl=Decimal("0.12"), trade_id=str(i)))
    for client in clients:
        seen = [ (await client.recv_type("trade_event"))["data"] for _ in range(20)]
        assert [d["trade_id"] for d in seen] == [str(i) for i in range(20)]
        assert seen[0]["pnl"] == Decimal("0.12")
        await client.close()


async def test_opportunities_snapshot_follows_init_with_live_opportunities(worker: Worker) -> None:
    first, second = domain_opportunity(1, roi="2.50"), domain_opportunity(2, roi="1.10")
    worker.bus.publish(OpportunityOpened(first, NOW))
    worker.bus.publish(OpportunityOpened(second, NOW))
    worker.bus.publish(OpportunityClosed(second, NOW, CloseReason.EDGE_GONE))
    await wait_until(lambda: [o["id"] for o in worker.console.opportunities.all()] == [first.id], 5,
                     "the console's follower to read the events")
    client = await connect(worker)
    assert (await client.recv())["type"] == "init"
    snap = await client.recv()
    assert snap["type"] == "opportunities_snapshot"
    [opp] = snap["data"]["opportunities"]
    assert opp["id"] == first.id and opp["roi_pct"] == Decimal("2.50") and opp["event"] == "opened"
    await client.close()


async def test_malformed_messages_each_get_one_error_and_the_socket_stays_open(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    cases = [
        ("not json", "$"),
        ("[1, 2]", "$"),
        ("{}", "action"),
        ('{"action": "fly"}', "action"),
        ('{"action": "toggle_enabled", "value": 1}', "value"),
        ('{"action": "toggle_enabled", "value": true, "extra": 1}', "extra"),
        ('{"action": "update_settings", "settings": {"min_bet": NaN}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"min_bet": 1e999}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"min_bet": true}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"min_bet": null}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"min_bet": -1}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"min_bet": 5.001}}', "min_bet"),
        ('{"action": "update_settings", "settings": {"bogus": 1}}', "bogus"),
        ('{"action": "close_position", "position_id": 12}', "position_id"),
        ('{"action": "close_position"}', "position_id"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": ""}', "note"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": -1}', "proceeds"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": "3"}', "proceeds"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": 1e309}', "proceeds"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": true}', "proceeds"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": 0.0000001}', "proceeds"),
        ('{"action": "resolve_stranded", "attempt_id": "a", "note": "n", "proceeds": 99999999}', "proceeds"),
        ('{"action": "toggle_enabled", "value": true, "id": 5}', "id"),
    ]
    for raw, field in cases:
        await client.send(raw)
        reply = await client.reply()
        assert reply["type"] == "error", raw
        assert reply["field"] == field, (raw, reply)
    await client.send(json.dumps({"action": "toggle_enabled", "value": False}))
    assert (await client.reply())["type"] == "ack"
    assert worker.settings.current.min_bet == Decimal("5.00")
    await client.close()


async def test_status_and_history_routes_answer_with_exact_numbers(worker: Worker) -> None:
    stored = await worker.trades.open_position(_position("g3"))
    await worker.trades.close_position(stored.id, pnl=Decimal("-0.80"), reason="manual")
    await worker.trades.record_attempt(
        attempt_id="att-9", event_title="MIA vs NYK", status=TradeStatus.ROLLED_BACK,
        bet_size=Decimal("5.00"), pnl=Decimal("-0.35"), roi=None, reason="Poly fail",
    )
    headers = {"Authorization": "Bearer test-token-0123456789abcdef"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        status = (await http.get("/api/status")).json(parse_float=Decimal)
        assert status["enabled"] is False and status["open_positions"] == 0
        assert status["stats"]["pnl"] == Decimal("-1.15")
        trades = (await http.get("/api/trades", params={"limit": 10})).json(parse_float=Decimal)["trades"]
        assert [t["status"] for t in trades] == ["ROLLED_BACK", "CLOSED"]
        assert trades[0]["event"] == "MIA vs NYK" and isinstance(trades[0]["id"], str)
        positions = (await http.get("/api/positions", params={"status": "closed"})).json()["positions"]
        assert [p["id"] for p in positions] == [stored.id]
        pnl = (await http.get("/api/pnl")).json(parse_float=Decimal)["points"]
        assert [p["pnl"] for p in pnl] == [Decimal("-0.80"), Decimal("-1.15")]
        bad = await http.get("/api/trades", params={"limit": "0"})
        assert bad.status_code == 400 and bad.json()["field"] == "limit"
        assert (await http.get("/api/mappings")).json() == {"mappings": []}


async def test_a_standby_refuses_every_mutating_action_naming_the_leader_and_accepts_a_pause(worker: Worker) -> None:
    """A worker that does not hold the trading lease only stops things: every other action
    would act on stale state (and a whole-row settings write would undo the leader's)."""
    await worker.settings.set_enabled(True)
    stored = await worker.trades.open_position(_position("g-standby"))
    worker.console._standby_of = lambda: "worker-lead/1a2b"  # another process holds the lease
    client, _ = await connect_ready(worker)
    refused = [
        {"action": "update_settings", "settings": {"max_bet": 20}},
        {"action": "toggle_enabled", "value": True},
        {"action": "close_position", "position_id": stored.id},
        {"action": "retry_unwind", "attempt_id": "att-1"},
        {"action": "resolve_stranded", "attempt_id": "att-1", "note": "n"},
        {"action": "confirm_mapping", "mapping_id": "m-1"},
        {"action": "reject_mapping", "mapping_id": "m-1"},
        {"action": "kill_switch", "flatten": True},
    ]
    for message in refused:
        await client.send(message)
        reply = await client.reply()
        assert reply["type"] == "error" and "standby" in reply["message"], (message, reply)
        assert "worker-lead/1a2b" in reply["message"]
    assert worker.settings.current.max_bet == Decimal("10.00") and worker.settings.current.enabled
    assert [p.id for p in await worker.trades.open_positions()] == [stored.id]
    await client.send({"action": "kill_switch", "flatten": False})
    ack = await client.reply()
    assert ack["type"] == "ack" and ack["data"]["paused"] is True
    assert worker.settings.current.enabled is False
    await client.send({"action": "toggle_enabled", "value": False})
    assert (await client.reply())["type"] == "ack"
    await client.close()


async def test_an_event_that_cannot_be_written_is_dropped_and_the_next_still_goes_out(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    # A timestamp that is not a time: the encoder fails on it, in the broadcaster.
    worker.bus.publish(TradeEvent("broken", TradeStatus.SUCCESS, None, trade_id="bad"))  # type: ignore[arg-type]
    worker.bus.publish(TradeEvent("LAL vs BOS", TradeStatus.SUCCESS, NOW, trade_id="good"))
    received = await client.recv_type("trade_event")
    assert received["data"]["trade_id"] == "good"
    assert worker.server.broadcaster.events_dropped == 1
    await client.close()


async def test_a_burst_of_events_is_written_in_slices_so_other_tasks_run_between(worker: Worker) -> None:
    broadcaster = worker.server.broadcaster
    start = broadcaster.events_forwarded
    for i in range(1000):
        worker.bus.publish(TradeEvent("LAL vs BOS", TradeStatus.SUCCESS, NOW, trade_id=str(i)))
    seen_at: list[int] = []

    async def another_task() -> None:
        seen_at.append(broadcaster.events_forwarded - start)

    await asyncio.create_task(another_task())
    assert seen_at and seen_at[0] < 1000  # it ran while the burst was being written
    # and the whole burst still goes out
    await wait_until(lambda: broadcaster.events_forwarded - start >= 1000, 5, "the burst forwarded")
