"""Review governs trading, end to end: the worker with its trading engine on a paper
exchange (in process), driven over ``/ws/executor`` by a real WebSocket client.

The exchange's books are pinned (its test control) so that one pair of a game is an
arbitrage; the operator rejects the game's *other* row over the WebSocket.

The three books of a game reach the worker over two venues' sockets (and a Polymarket
market's two tokens in two messages), in no set order: between the first and the last,
the scanner prices the game from a mix of drifting and pinned books, which can show an
arbitrage on another pair (one the pinned books then refute). So a game is pinned while
trading is off, trading goes on once the worker holds every pinned book, and only then is
its arbitrage moved to a second pinned quote: both legs of the pair the test means get
cheaper (so each leg's book is fresh, and an order priced from either quote fills), and
no mix of the two quotes shows an arbitrage on another pair.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from db.engine import Database
from db.migrate import migrate
from db.tables import arbitrage_attempts, market_mappings
from paper_exchange.app import PaperServer
from paper_exchange.state import build_state
from tests.support.waiting import wait_until
from tests.worker.api.conftest import TOKEN, Client, connect_ready, make_config
from worker.bootstrap import Worker, build_worker

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def trading(tmp_path: Path) -> AsyncIterator[tuple[Worker, PaperServer]]:
    state = build_state(
        tmp_path, seed=5, balances={"kalshi": D(1000), "polymarket": D(1000), "polymarket_us": D(1000)},
        latency_ms=0, control=False,
    )
    paper = PaperServer(state, 0)
    port = await paper.start()
    # The pinned edge is far above the suspicious-ROI limit's default; the review
    # is under test here, so the limit is raised above it.
    config = make_config(tmp_path, EXECUTOR_PAPER_PORT=str(port), EXECUTOR_SUSPICIOUS_ROI="1000")
    db = Database(config.database_url)
    await migrate(db, config.mode)
    worker = build_worker(config, db=db, trading=True)
    await worker.start(port=0)
    try:
        assert worker.engine is not None
        assert await worker.engine.wait_trading(60), worker.engine.detail
        yield worker, paper
    finally:
        await worker.stop()
        await paper.stop()
        state.exchange.store.close()


async def api(worker: Worker, path: str) -> Any:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        return (await http.get(path)).json()


def games(mappings: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Games far from their start, as (mapping, the other team's mapping), soonest first."""
    now = datetime.now(UTC)
    by_event: dict[str, list[dict[str, Any]]] = {}
    for m in mappings:
        start = datetime.fromisoformat(m["start_time"].replace("Z", "+00:00"))
        if start > now + timedelta(hours=2):
            by_event.setdefault(m["kalshi_event_ticker"], []).append(m)
    pairs = [tuple(sorted(ms, key=lambda m: m["kalshi_ticker"])) for ms in by_event.values() if len(ms) == 2]
    return sorted(pairs, key=lambda p: p[0]["start_time"])  # type: ignore[arg-type,return-value]


def pin_arbitrage(paper: PaperServer, game: tuple[dict[str, Any], dict[str, Any]], poly_ask: D, yes_bid: D) -> None:
    """One pair of the game is an arbitrage: the first mapping's token at ``poly_ask`` with
    NO on its Kalshi market at 1 − ``yes_bid``; every other pair costs $1 or more."""
    exchange = paper.state.exchange

    def pin(instrument_id: str, bid: D, ask: D) -> None:
        instrument = exchange.world.instrument(instrument_id)
        assert instrument is not None, instrument_id
        exchange.pin_book(instrument, [(bid, D(500))], [(ask, D(500))])

    a, b = game
    pin(a["poly_market"], poly_ask - D("0.02"), poly_ask)
    pin(a["kalshi_ticker"], yes_bid, yes_bid + D("0.02"))
    pin(b["kalshi_ticker"], 1 - poly_ask - D("0.02"), 1 - poly_ask)


async def holding_pins(
    worker: Worker, game: tuple[dict[str, Any], dict[str, Any]], poly_ask: D, yes_bid: D
) -> None:
    """Until the worker's scanner prices every contract of the game from the books
    :func:`pin_arbitrage` pinned (each ask ladder exactly the pinned level)."""
    assert worker.engine is not None and worker.engine.feed is not None
    feed = worker.engine.feed
    a, b = (feed.mappings[m["id"]] for m in game)
    poly_bid, b_yes_bid = poly_ask - D("0.02"), 1 - poly_ask - D("0.02")
    pinned = {  # each contract's pinned ask: a NO and the other token ask 1 − the bid
        a.poly_same: poly_ask,
        a.poly_other: 1 - poly_bid,
        a.kalshi_yes: yes_bid + D("0.02"),
        a.kalshi_no: 1 - yes_bid,
        b.kalshi_yes: 1 - poly_ask,
        b.kalshi_no: 1 - b_yes_bid,
    }

    def held() -> bool:
        return all(
            [(lv.price, lv.size) for lv in feed.scanner.asks(ref) or ()] == [(ask, D(500))]
            for ref, ask in pinned.items()
        )

    await wait_until(held, 60, f"the worker to hold the pinned books of {a.kalshi_event_ticker}")


def quotes(msg: dict[str, Any], opp_id: str, kalshi: D, poly: D) -> bool:
    """``msg`` shows the opportunity ``opp_id`` at these two legs' prices."""
    return (
        msg["type"] in ("opportunity_opened", "opportunity_updated")
        and msg["data"]["id"] == opp_id
        and (msg["data"]["kalshi_leg"]["price"], msg["data"]["poly_leg"]["price"]) == (kalshi, poly)
    )


async def until(client: Client, match: Any, within_s: float = 60) -> dict[str, Any]:
    """The first message ``match`` accepts, within ``within_s`` seconds overall."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"no matching message within {within_s} s")
        msg = await client.recv(wait_s=left)
        if match(msg):
            return msg


async def test_rejecting_one_row_over_the_websocket_stops_the_game_trading(
    trading: tuple[Worker, PaperServer],
) -> None:
    worker, paper = trading
    client, _ = await connect_ready(worker)
    await client.send({"action": "update_settings", "settings": {"min_roi": 20}})  # only pinned edges
    assert (await client.reply())["type"] == "ack"
    listed = (await api(worker, "/api/mappings"))["mappings"]
    assert listed and all(m["tradeable"] is True and m["why_not"] is None for m in listed)  # paper: HIGH pairs
    game, control = games(listed)[:2]
    a, b = game
    assert a["review_key"] == b["review_key"]

    # The executor is off: the arbitrage is shown, marked as one that may trade.
    pin_arbitrage(paper, game, D("0.30"), D("0.56"))
    opp_id = f"opp_{a['id'].removeprefix('map_')}_kalshi_no"  # the scanner's id of that pair
    shown = await until(client, lambda m: quotes(m, opp_id, D("0.44"), D("0.30")))  # both pinned books
    assert shown["data"]["tradeable"] is True and shown["data"]["why_not"] is None

    # Reject the game's other row: both rows change, the open arbitrage closes.
    await client.send({"action": "reject_mapping", "mapping_id": b["id"], "id": "rj"})
    rejected = {"reason": "mapping_rejected", "text": "rejected by the operator"}
    changed: dict[str, dict[str, Any]] = {}
    ack: dict[str, Any] | None = None
    closed: dict[str, Any] | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while ack is None or len(changed) < 2 or closed is None:
        msg = await client.recv(wait_s=max(0.0, deadline - loop.time()))
        if msg["type"] == "ack":
            ack = msg
        elif msg["type"] == "mapping_changed":
            changed[msg["data"]["id"]] = msg["data"]
        elif msg["type"] == "opportunity_closed" and msg["data"]["id"] == opp_id:
            closed = msg["data"]
    assert ack["id"] == "rj" and ack["data"]["id"] == b["id"]
    assert (ack["data"]["status"], ack["data"]["tradeable"], ack["data"]["why_not"]) == ("rejected", False, rejected)
    assert set(changed) == {a["id"], b["id"]}
    assert {(m["status"], m["tradeable"]) for m in changed.values()} == {("rejected", False)}
    assert closed["reason"] == "mapping_rejected"
    async with worker.db.read() as conn:
        rows = dict((await conn.execute(
            sa.select(market_mappings.c.id, market_mappings.c.status)
            .where(market_mappings.c.id.in_([a["id"], b["id"], control[0]["id"]]))
        )).all())
    assert rows == {a["id"]: "rejected", b["id"]: "rejected", control[0]["id"]: "candidate"}
    listed = {m["id"]: m for m in (await api(worker, "/api/mappings"))["mappings"]}
    assert listed[a["id"]]["why_not"] == rejected and listed[control[0]["id"]]["tradeable"] is True

    # A control game's arbitrage, held by the worker before trading goes on. Trading on:
    # the rejected game's arbitrage moves, then the control game's does. The control game
    # trades; the rejected one never does.
    pin_arbitrage(paper, control, D("0.30"), D("0.56"))
    await holding_pins(worker, control, D("0.30"), D("0.56"))
    await client.send({"action": "toggle_enabled", "value": True})
    assert (await client.reply())["type"] == "ack"
    pin_arbitrage(paper, game, D("0.29"), D("0.56"))
    pin_arbitrage(paper, control, D("0.29"), D("0.57"))
    opened = await until(client, lambda m: m["type"] == "position_opened", within_s=90)
    await client.send({"action": "toggle_enabled", "value": False})
    assert (await client.reply())["type"] == "ack"
    async with worker.db.read() as conn:
        attempted = {r for (r,) in (await conn.execute(sa.select(arbitrage_attempts.c.game_key))).all()}
    assert control[0]["kalshi_event_ticker"] in attempted, opened
    assert a["kalshi_event_ticker"] not in attempted
    await client.close()
