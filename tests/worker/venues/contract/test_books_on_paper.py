"""The live clients' money reads against the paper exchange's own ledger.

For each venue: an order that walks two price levels, then a sale; the fills the client
reads back (``order_fills``), put in the leg's terms by the leg sender, must account for
exactly the cash the exchange moved (its balance, its arithmetic); the market's result is
read by the id the venue resolves by, and the payout reaches the account at settlement
(Kalshi, Polymarket US) or only once redeemed (Polymarket).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from paper_exchange.world import World
from tests.worker.venues.contract.conftest import (
    ADAPTERS,
    Harness,
    PaperExchangeProcess,
    build_paper,
)
from worker.domain.attempts import LegRecord, LegRole
from worker.domain.ledger import fill_cash
from worker.domain.markets import ContractRef, Venue, resolution_payout
from worker.domain.orders import OrderAction, TimeInForce
from worker.engine.executor.legs import LegSender

D = Decimal
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperExchangeProcess]:
    # Its own exchange: these tests resolve games, which the shared one must keep open.
    paper = PaperExchangeProcess(tmp_path_factory.mktemp("books-exchange"))
    yield paper
    paper.stop()


@pytest.fixture(params=ADAPTERS)
async def h(request: pytest.FixtureRequest, exchange: PaperExchangeProcess) -> AsyncIterator[Harness]:
    harness = await build_paper(str(request.param), exchange)
    try:
        yield harness
    finally:
        await harness.client.http.client.aclose()


def _game_index(paper: PaperExchangeProcess, contract: ContractRef) -> int:
    health = httpx.get(f"{paper.base}/paper/health", timeout=10).json()
    world = World(int(health["seed"]), datetime.fromisoformat(health["epoch"].replace("Z", "+00:00")))
    for g in world.games(datetime.now(UTC) + timedelta(hours=1)):
        ids = {g.kalshi_ticker(True), g.kalshi_ticker(False), *g.token_ids("moneyline"), g.pmus_winner_slug}
        if contract.contract_id in ids:
            return g.index
    raise AssertionError(f"no game for {contract}")


def _exchange_fees(paper: PaperExchangeProcess, venue: str, order_id: str) -> Decimal:
    """What the exchange's own store charged for one order."""
    (store,) = list((paper.data_dir / "paper").glob("exchange-seed*.db"))
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT fee FROM fills WHERE venue=? AND order_id=?", (venue, order_id)).fetchall()
    finally:
        con.close()
    return sum((D(r[0]) for r in rows), D(0))


def _leg(h: Harness, action: OrderAction, price: str, qty: int) -> LegRecord:
    return LegRecord(
        id=f"leg-{uuid.uuid4().hex[:8]}", attempt_id="att", role=LegRole.LEG1, seq=1, contract=h.contract,
        label="test", action=action, price=D(price), quantity=D(qty),
        tif=TimeInForce.FOK if action is OrderAction.BUY else TimeInForce.IOC, client_order_id=h.cid(action.value),
        sent_at=datetime.now(UTC),
    )


async def _trade(h: Harness, sender: LegSender, leg: LegRecord) -> Decimal:
    """Send ``leg`` through the leg sender as the engine does; the cash its fills moved."""
    before = (await h.client.balance()).available
    await sender.send(leg, await sender.prepare(leg))
    if not leg.settled:
        await sender.resolve(leg)
    fills = await sender.ledger(leg)
    assert fills is not None and leg.fills_recorded, leg
    assert sum((f.size for f in fills), D(0)) == leg.filled > 0
    moved = (await h.client.balance()).available - before
    assert sum((fill_cash(f) for f in fills), D(0)) == moved  # to the micro-dollar
    assert leg.venue_order_id is not None
    assert sum((f.fee for f in fills), D(0)) == _exchange_fees(h.paper, h.name, leg.venue_order_id)  # type: ignore[arg-type]
    return moved


async def test_fills_account_for_the_cash_and_the_result_pays_as_the_venue_pays(h: Harness) -> None:
    assert h.paper is not None
    sender = LegSender({h.contract.venue: h.client}, lookup_delays=(0.0, 0.0))
    bought = _leg(h, OrderAction.BUY, "0.46", 10)  # walks two levels of the ask ladder
    await _trade(h, sender, bought)
    assert bought.filled == 10 and bought.fees > 0
    sold = _leg(h, OrderAction.SELL, "0.30", 5)  # Polymarket's minimum order is 5 shares
    await _trade(h, sender, sold)
    assert sold.filled == 5
    held = bought.filled - sold.filled

    assert await h.client.resolution(h.contract) is None  # not resolved yet
    before = (await h.client.balance()).available
    await h.paper.admin("resolve", {"index": _game_index(h.paper, h.contract), "outcome": "home"})
    res = await h.client.resolution(h.contract)
    assert res is not None
    value = resolution_payout(res, h.contract)
    assert value in (D(0), D(1))
    waiting = await h.client.redeemable()
    if h.contract.venue is Venue.POLYMARKET:
        # Paid only once redeemed: held (redeemable) and not in the cash yet. Every share
        # bought is held: the buy's fee was taken in USDC on top, as on CLOB V2.
        assert waiting == {h.contract.contract_id: held}
        assert (await h.client.balance()).available == before
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(f"{h.paper.base}/paper/redeem", json={})
        assert r.status_code == 200 and r.json()["redeemed"]
        assert await h.client.redeemable() == {}
    else:
        assert waiting is None
    assert (await h.client.balance()).available == before + held * value
