"""What the paper exchange charges is what the engine estimates, from two arithmetics.

The paper's fees (``paper_exchange.fees``: fractions, integer rounding) are written
from the venues' documents independently of the engine's estimate (``worker.domain.fees``,
and the scanner's walk that uses it). These tests drive the exchange directly, read the
fee schedule each paper market *serves* through the venue's own parser, and check that
the estimate of an order equals what the paper charged, fill by fill and in total, and
that the ledger (balance, position, order, the wire records) moved by exactly that fee.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grimp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_exchange import fees as paper_fees
from paper_exchange.kalshi import wire as kalshi_wire
from paper_exchange.matching import PaperExchange, PlaceRequest
from paper_exchange.polymarket import wire as poly_wire
from paper_exchange.polymarket_us import wire as pmus_wire
from paper_exchange.state import build_exchange
from paper_exchange.world import Game
from tests.paper_exchange.conftest import BALANCES, T0
from worker.clock import FakeClock
from worker.domain.books import PriceLevel
from worker.domain.fees import FeeSchedule
from worker.domain.markets import Market, OutcomeSide
from worker.engine.scanner.depth import leg_fill
from worker.engine.scanner.units import fee_units
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.polymarket.parse import parse_events as parse_gamma
from worker.venues.polymarket_us.parse import parse_events as parse_pmus

D = Decimal
CENT, HALF_CENT = D("0.01"), D("0.005")


@pytest.fixture
def ex(tmp_path: Path) -> Iterator[PaperExchange]:
    e = build_exchange(tmp_path, 1, BALANCES, clock=FakeClock(T0))
    yield e
    e.store.close()


def game_on_all(ex: PaperExchange, pmus_tick: Decimal = CENT) -> Game:
    return next(g for g in ex.world.games(T0) if len(g.venues) == 3 and g.pmus_tick == pmus_tick)


def served(ex: PaperExchange, game: Game, venue: str, market_id: str) -> Market:
    """The market as the venue client would list it from the paper's own payload."""
    if venue == "kalshi":
        markets, _ = parse_kalshi({"events": [kalshi_wire.kalshi_event(ex, game, T0, True)]})
    elif venue == "polymarket":
        markets = parse_gamma([poly_wire.gamma_event(ex, game, T0)])
    else:
        markets = parse_pmus({"events": [pmus_wire.pmus_event(ex, game, T0)]})
    return next(m for m in markets if m.market_id == market_id)


def place(ex: PaperExchange, req: PlaceRequest) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Place a taker order; check the ledger moved by exactly the fees; return the fills
    as (price on the instrument, quantity, fee)."""
    balance = ex.store.balance(req.venue)
    before = ex.store.position(req.venue, req.instrument_id)
    fees_before = before.fees
    r = ex.place(req)
    assert r.order.filled == req.quantity
    fills = [(f.price, f.quantity, f.fee) for f in r.fills]
    total = sum((fee for _, _, fee in fills), D(0))
    assert r.order.fees == total
    assert ex.store.position(req.venue, req.instrument_id).fees == fees_before + total
    long_cost = sum((p * q for p, q, _ in fills), D(0))
    paid = long_cost if req.side == "buy" else sum(((1 - p) * q for p, q, _ in fills), D(0))
    assert ex.store.balance(req.venue) == balance - paid - total
    stored = ex.store.fills(req.venue, order_id=r.order.order_id)
    assert sorted(f.fee for f in stored) == sorted(fee for _, _, fee in fills)
    return fills


def test_kalshi_order_pays_the_order_fee_once_spread_over_its_fills(ex: PaperExchange) -> None:
    """docs.kalshi.com/getting_started/fee_rounding (read 2026-12-06): the fills' fees
    converge to "what a single equivalent fill would cost". Buying 5 at 0.40 and 5 at
    0.41: 0.07·5·0.4·0.6 + 0.07·5·0.41·0.59 = 0.084 + 0.084665 = 0.168665 → $0.17 for the
    order (rounding each fill would charge 0.09 + 0.09 = 0.18); the fills carry 0.09
    (⌈0.084⌉) and 0.08 (⌈0.168665⌉ − 0.09)."""
    g = game_on_all(ex)
    ticker = g.kalshi_ticker(True)
    inst = ex.world.instrument(ticker)
    assert inst is not None
    ex.pin_book(inst, [(D("0.30"), D(50))], [(D("0.40"), D(5)), (D("0.41"), D(5))])
    fills = place(ex, PlaceRequest("kalshi", ticker, "buy", D("0.41"), D(10), "FOK"))
    assert [fee for _, _, fee in fills] == [D("0.09"), D("0.08")]
    market = served(ex, g, "kalshi", ticker)
    estimate = market.fees.order_fee([(q, p) for p, q, _ in fills])
    assert estimate == D("0.17") == sum(fee for _, _, fee in fills)
    # The scanner's walk prices that leg the same way.
    levels = tuple(PriceLevel(p, q) for p, q, _ in fills)
    assert leg_fill(levels, D(10), fee_units(market.fees)).fee == estimate
    order = ex.store.orders("kalshi", ticker)[-1]
    assert kalshi_wire.kalshi_order(order)["taker_fees_dollars"] == "0.1700"
    records = [kalshi_wire.kalshi_fill(f, None)["fee_cost"] for f in ex.store.fills("kalshi", order_id=order.order_id)]
    assert sorted(records) == ["0.0800", "0.0900"]


def test_kalshi_no_order_is_charged_on_the_no_price(ex: PaperExchange) -> None:
    """Selling YES at 0.60 is buying NO at 0.40: 0.07 × 10 × 0.4 × 0.6 = 0.168 → 0.17."""
    g = game_on_all(ex)
    ticker = g.kalshi_ticker(False)
    inst = ex.world.instrument(ticker)
    assert inst is not None
    ex.pin_book(inst, [(D("0.60"), D(20))], [(D("0.70"), D(20))])
    fills = place(ex, PlaceRequest("kalshi", ticker, "sell", D("0.60"), D(10), "FOK"))
    estimate = served(ex, g, "kalshi", ticker).fees.order_fee([(q, 1 - p) for p, q, _ in fills])
    assert estimate == D("0.17") == sum(fee for _, _, fee in fills)


def test_polymarket_charges_each_fill_at_the_served_schedule(ex: PaperExchange) -> None:
    """The paper's Gamma market serves feeSchedule rate 0.03, exponent 1 (sports, 2026);
    each fill pays C × 0.03 × p(1 − p) rounded up at 5 decimals: 10 at 0.45 → 0.07425,
    10 at 0.46 → 0.07452."""
    g = game_on_all(ex)
    _, token = g.token_ids("moneyline")
    inst = ex.world.instrument(token)
    assert inst is not None
    ex.pin_book(inst, [(D("0.40"), D(50))], [(D("0.45"), D(10)), (D("0.46"), D(10))])
    fills = place(ex, PlaceRequest("polymarket", token, "buy", D("0.46"), D(20), "FOK"))
    assert [fee for _, _, fee in fills] == [D("0.07425"), D("0.07452")]
    market = served(ex, g, "polymarket", g.gamma_market_id("moneyline"))
    assert market.fees == FeeSchedule.polymarket(D("0.03"), 1)
    estimate = market.fees.order_fee([(q, p) for p, q, _ in fills])
    assert estimate == sum(fee for _, _, fee in fills) == D("0.14877")
    levels = tuple(PriceLevel(p, q) for p, q, _ in fills)
    assert leg_fill(levels, D(20), fee_units(market.fees)).fee == estimate
    # The trade record states the market's rate in basis points, not one derived from a fee.
    trades = ex.store.fills("polymarket", order_id=ex.store.orders("polymarket", token)[-1].order_id)
    assert {poly_wire.clob_trade(f, "x", "c", "o", "a")["fee_rate_bps"] for f in trades} == {"300"}


def test_polymarket_us_charges_each_execution_with_bankers_rounding(ex: PaperExchange) -> None:
    """docs.polymarket.us/faqs/fees: 30 bps of C × p for a buyer, each trade rounded to the
    cent, half to even. 10 at 0.50: 0.015 → 0.02; 10 at 0.55: 0.0165 → 0.02; the order
    pays 0.04 (rounding the order's 0.0315 once would give 0.03)."""
    g = game_on_all(ex, HALF_CENT)
    slug = g.pmus_winner_slug
    inst = ex.world.instrument(slug)
    assert inst is not None
    ex.pin_book(inst, [(D("0.40"), D(50))], [(D("0.50"), D(10)), (D("0.55"), D(10))])
    req = PlaceRequest("polymarket_us", slug, "buy", D("0.55"), D(20), "FOK",
                       extra={"intent": "ORDER_INTENT_BUY_LONG"})  # fmt: skip
    fills = place(ex, req)
    assert [fee for _, _, fee in fills] == [D("0.02"), D("0.02")]
    market = served(ex, g, "polymarket_us", slug)
    assert market.fees == FeeSchedule.polymarket_us()
    estimate = market.fees.order_fee([(q, p) for p, q, _ in fills])
    assert estimate == D("0.04") == sum(fee for _, _, fee in fills)
    levels = tuple(PriceLevel(p, q) for p, q, _ in fills)
    assert leg_fill(levels, D(20), fee_units(market.fees)).fee == estimate
    order = ex.store.orders("polymarket_us", slug)[-1]
    assert pmus_wire.pmus_order(order)["commissionNotionalTotalCollected"]["value"] == "0.0400"
    executions = [pmus_wire.pmus_execution(order, f) for f in ex.store.fills("polymarket_us", order_id=order.order_id)]
    assert sorted(e["commissionNotionalCollected"]["value"] for e in executions) == ["0.0200", "0.0200"]


def test_polymarket_us_buy_short_pays_on_the_short_notional(ex: PaperExchange) -> None:
    """A BUY_SHORT at long price q sells the long side: the FAQ's seller notional
    C × (1 − q) is what the short costs. Long bids 0.45 × 10 and 0.44 × 10: shorts at
    0.55 and 0.56 → 0.0165 and 0.0168 → 0.02 each."""
    g = game_on_all(ex)
    slug = g.pmus_winner_slug
    inst = ex.world.instrument(slug)
    assert inst is not None
    ex.pin_book(inst, [(D("0.45"), D(10)), (D("0.44"), D(10))], [(D("0.60"), D(50))])
    req = PlaceRequest("polymarket_us", slug, "sell", D("0.44"), D(20), "FOK",
                       extra={"intent": "ORDER_INTENT_BUY_SHORT"})  # fmt: skip
    fills = place(ex, req)
    market = served(ex, g, "polymarket_us", slug)
    short = next(o for o in market.outcomes if o.side is OutcomeSide.SHORT)
    assert short.contract_id == slug
    # The engine buys the SHORT contract at its own price (1 − long price).
    estimate = market.fees.order_fee([(q, 1 - p) for p, q, _ in fills])
    assert estimate == D("0.04") == sum(fee for _, _, fee in fills)


settings_ = settings(max_examples=300, deadline=None)
prices = st.integers(1, 199).map(lambda n: (D(n) / 200).quantize(D("0.005")))
fills_ = st.lists(st.tuples(prices, st.integers(1, 500).map(D)), min_size=1, max_size=6)


@settings_
@given(fills=fills_, side=st.sampled_from(["buy", "sell"]))
def test_the_paper_charges_what_the_domain_estimates_for_every_order(
    fills: list[tuple[Decimal, Decimal]], side: str
) -> None:
    """Two arithmetics, one answer: for any taker order on a paper market, the sum of the
    paper's fill fees is the domain's estimate of that order (prices on the instrument;
    a Polymarket US sell of the long side is priced on the side it buys)."""
    kalshi = sum(paper_fees.taker_fees("kalshi", side, fills), D(0))
    assert kalshi == FeeSchedule.kalshi().order_fee([(q, p) for p, q in fills])
    poly = sum(paper_fees.taker_fees("polymarket", side, fills), D(0))
    assert poly == FeeSchedule.polymarket(D("0.03")).order_fee([(q, p) for p, q in fills])
    pmus = sum(paper_fees.taker_fees("polymarket_us", side, fills), D(0))
    est = FeeSchedule.polymarket_us().order_fee(
        [(q, p) for p, q in fills], sell=side == "sell"
    )
    assert pmus == est
    if side == "sell":  # the same, as the engine sees it: buying the SHORT at 1 − p
        assert pmus == FeeSchedule.polymarket_us().order_fee([(q, 1 - p) for p, q in fills])


def test_no_paper_module_reaches_the_engines_fee_estimate() -> None:
    """The paper's arithmetic stays its own: no module of ``paper_exchange`` imports
    ``worker.domain.fees``, directly or through another module (e.g. the domain's
    markets). ``worker.venues.paper_connect`` is the client side — it builds the live
    venue clients, which know the domain — and no exchange module imports it. The
    import-linter contract in ``pyproject.toml`` says the same for CI."""
    graph = grimp.build_graph("paper_exchange", "worker")
    paper = set(graph.find_descendants("paper_exchange"))
    assert "paper_exchange.fees" in paper
    for module in sorted(paper):
        chain = graph.find_shortest_chain(importer=module, imported="worker.domain.fees")
        assert chain is None, f"{module} reaches worker.domain.fees via {chain}"
        assert not graph.chain_exists(module, "worker.venues.paper_connect"), module
