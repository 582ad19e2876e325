"""The paper's rules texts say how the paper settles: a cancelled game's payouts, as served
on each venue's wire after resolution, are what the texts (read by worker.domain.rules) say."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from paper_exchange.kalshi.wire import kalshi_market
from paper_exchange.matching import PaperExchange
from paper_exchange.polymarket.wire import gamma_market
from paper_exchange.polymarket_us.wire import pmus_market
from paper_exchange.state import build_exchange
from tests.paper_exchange.conftest import BALANCES, T0
from worker.clock import FakeClock
from worker.domain.rules import Settle, extract


@pytest.fixture
def ex(tmp_path: Path) -> Iterator[PaperExchange]:
    e = build_exchange(tmp_path, 1, BALANCES, clock=FakeClock(T0))
    yield e
    e.store.close()


def test_a_cancelled_game_settles_as_every_venue_text_says(ex: PaperExchange) -> None:
    game = next(g for g in (ex.world.game(i) for i in range(400)) if g.cancelled and len(g.venues) == 3)
    assert game.home_settlement() == Decimal("0.5")
    ex.resolve(game, game.home_settlement())
    now = game.resolve_at

    for home in (True, False):
        k = kalshi_market(ex, game, home, now)
        facts = extract(f"{k['rules_primary']}\n\n{k['rules_secondary']}")
        assert facts.cancelled.payout.settle is Settle.PAYS
        assert Decimal(k["settlement_value_dollars"]) == facts.cancelled.payout.value == Decimal("0.5")

    g = gamma_market(ex, game, "moneyline", now)
    facts = extract(g["description"])
    assert facts.cancelled.payout.settle is Settle.PAYS
    assert [Decimal(p) for p in json.loads(g["outcomePrices"])] == [facts.cancelled.payout.value] * 2

    p = pmus_market(ex, game, False, now)
    facts = extract(p["description"])
    assert facts.cancelled.payout.settle is Settle.PAYS
    assert Decimal(p["settlementPrice"]["value"]) == facts.cancelled.payout.value
