"""Hostile input: thousands of mutated and random messages, each refused, state untouched.

The server runs in its own thread and event loop; hypothesis drives a synchronous
WebSocket client against it, so every case crosses the real socket.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect as sync_connect

from tests.worker.api.conftest import TOKEN, make_config, start_worker
from worker.api.schemas import decode_server_message

VALID: list[dict[str, Any]] = [
    {"action": "toggle_enabled", "value": True},
    {"action": "update_settings", "settings": {"min_bet": 6.5, "max_bet": 20}},
    {"action": "close_position", "position_id": "1"},
    {"action": "confirm_mapping", "mapping_id": "map_0"},
    {"action": "reject_mapping", "mapping_id": "map_0"},
    {"action": "retry_unwind", "attempt_id": "att_0"},
    {"action": "resolve_stranded", "attempt_id": "att_0", "note": "closed by hand"},
    {"action": "kill_switch", "flatten": True},
]
BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40).filter(lambda n: n < 0 or n > 10**6),
    # Bad for every setting ("0" is a valid min_roi or max_daily_loss, so it is not here;
    # min_bet/max_bet's exclusive zero is covered by BAD_BETS below).
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e-999", "-0.01", "5.001", "1000001"]).map(
        lambda s: _Raw(s)
    ),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
# A bet must be greater than zero: zero (and negative zero) is bad for bets only.
BAD_BETS = st.one_of(BAD_VALUES, st.sampled_from(["0", "-0.0", "0.00"]).map(lambda s: _Raw(s)))
counter = {"n": 0}


class _Raw:
    """A JSON token written as is (NaN, 1e999 …)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _encode(value: Any) -> str:
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid message with exactly one thing wrong with it."""
    base = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    kind = draw(st.sampled_from(["swap", "drop", "extra", "setting", "action", "id"]))
    fields = [k for k in base if k != "action"]
    if kind == "swap":
        field = draw(st.sampled_from(fields))
        value = draw(BAD_VALUES)
        if field in ("value", "flatten"):
            value = draw(BAD_VALUES.filter(lambda v: not isinstance(v, bool)))
        elif field == "note":
            value = draw(BAD_VALUES.filter(lambda v: not (isinstance(v, str) and v.strip())))
        if field == "settings":
            base["settings"] = {draw(st.sampled_from(["min_bet", "max_bet", "min_roi", "max_roi", "max_daily_trades", "max_daily_loss"])): value}
        else:
            base[field] = value
    elif kind == "drop":
        del base[draw(st.sampled_from(fields))]
    elif kind == "extra":
        base[draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in base and k != "id"))] = draw(BAD_VALUES)
    elif kind == "setting":
        key = draw(st.sampled_from(["enabled", "bogus", "min_bet"]))
        value = draw(BAD_BETS if key == "min_bet" else BAD_VALUES)
        base = {"action": "update_settings", "settings": {key: value}}
    elif kind == "action":
        base["action"] = draw(st.one_of(st.text(max_size=12).filter(lambda a: a not in {v["action"] for v in VALID}), BAD_VALUES))
    else:
        base["id"] = draw(st.one_of(st.integers(), st.none(), st.just(""), st.text(min_size=129, max_size=140), st.just("a b")))
    return _encode(base)


class ServerThread:
    def __init__(self, tmp_path: Path) -> None:
        self.config = make_config(tmp_path)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.stopping: asyncio.Event | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        # Rate limit raised so every fuzz case reaches validation.
        self.worker = await start_worker(self.config, actions_per_second=1e9, action_burst=10**9)
        self.stopping = asyncio.Event()
        self.ready.set()
        await self.stopping.wait()
        await self.worker.stop()

    def stop(self) -> None:
        assert self.stopping is not None
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    srv = ServerThread(tmp_path_factory.mktemp("fuzz"))
    srv.thread.start()
    assert srv.ready.wait(20)
    # An open position, a mapping, a trade: things a wrong id must not touch.
    db_path = srv.config.sqlite_path()
    assert db_path is not None
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO executor_positions (event_key, event_title, status, poly_price, cost_micros) VALUES ('k','A vs B','open',0.5,5000000)"
        )
        conn.execute(
            "INSERT INTO market_mappings (id,kalshi_ticker,poly_venue,poly_market,poly_side,league,game_date,confidence,reasons,status,created_at,updated_at)"
            " VALUES ('map_x','K','polymarket','1','','nba','2026-01-01','LOW','[]','candidate','2026-01-01 00:00:00','2026-01-01 00:00:00')"
        )
        conn.execute(
            "INSERT INTO executor_trades (event_title,status,bet_size,bet_size_micros,pnl_micros,dedup_key) VALUES ('A vs B','SUCCESS',5,5000000,0,'k1')"
        )
    yield srv
    srv.stop()
    print(f"\nfuzzed messages tried: {counter['n']}")


def _state(server: ServerThread) -> tuple[Any, ...]:
    db_path = server.config.sqlite_path()
    assert db_path is not None
    with sqlite3.connect(db_path) as conn:
        return tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall())
            for table in ("executor_settings", "executor_positions", "market_mappings", "executor_trades")
        ) + (server.worker.settings.current,)


@pytest.fixture(scope="module")
def ws(server: ServerThread) -> Iterator[Any]:
    conn = sync_connect(
        f"ws://127.0.0.1:{server.worker.port}/ws/executor", additional_headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert decode_server_message(conn.recv(5))["type"] == "init"
    assert decode_server_message(conn.recv(5))["type"] == "opportunities_snapshot"
    yield conn
    conn.close()


def _one_reply(ws: Any) -> dict[str, Any]:
    while True:
        msg = decode_server_message(ws.recv(5))
        if msg["type"] in ("ack", "error"):
            return msg


def _check_refused(server: ServerThread, ws: Any, payload: str | bytes) -> None:
    before = _state(server)
    ws.send(payload)
    counter["n"] += 1
    reply = _one_reply(ws)
    assert reply["type"] == "error", (payload, reply)
    assert isinstance(reply["field"], str) and reply["field"]
    assert _state(server) == before


FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(payload=mutated())
def test_every_mutated_message_is_refused_with_state_unchanged(server: ServerThread, ws: Any, payload: str) -> None:
    _check_refused(server, ws, payload)


@settings(max_examples=700, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(payload=st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_random_bytes_and_text_are_refused_with_state_unchanged(server: ServerThread, ws: Any, payload: bytes | str) -> None:
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("action") in {v["action"] for v in VALID}:
        return  # astronomically unlikely to be valid; skip rather than guess
    _check_refused(server, ws, payload)
