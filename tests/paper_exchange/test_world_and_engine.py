"""The world's schedule and the matching engine, without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from paper_exchange.matching import PaperExchange, PaperRejection, PlaceRequest
from paper_exchange.state import build_exchange
from paper_exchange.world import World
from tests.paper_exchange.conftest import BALANCES, T0
from worker.clock import FakeClock
from worker.domain.fees import kalshi_taker_fee, polymarket_taker_fee


@pytest.fixture
def ex(tmp_path: Path) -> Iterator[PaperExchange]:
    e = build_exchange(tmp_path, 1, BALANCES, clock=FakeClock(T0))
    yield e
    e.store.close()


def first_game_on_all(ex: PaperExchange):  # type: ignore[no-untyped-def]
    return next(g for g in ex.world.games(T0) if len(g.venues) == 3)


def test_schedule_is_deterministic_from_the_seed() -> None:
    a = [(g.kalshi_event_ticker, g.gamma_slug, g.token_ids("moneyline")) for g in World(7, T0).games(T0)]
    b = [(g.kalshi_event_ticker, g.gamma_slug, g.token_ids("moneyline")) for g in World(7, T0).games(T0)]
    c = [(g.kalshi_event_ticker, g.gamma_slug) for g in World(8, T0).games(T0)]
    assert a == b
    assert [x[:2] for x in a] != c


def test_default_world_has_enough_games_on_every_venue() -> None:
    games = World(1, T0).games(T0)
    assert len(games) >= 40
    for league in ("nba", "nfl", "nhl"):
        assert sum(g.league == league for g in games) >= 8
    assert sum(len(g.venues) == 3 for g in games) >= 30
    assert any(len(g.venues) == 1 for g in games)
    tickers = [g.kalshi_event_ticker for g in games if "kalshi" in g.venues]
    assert len(tickers) == len(set(tickers))


def test_kalshi_ticker_names_date_away_home_and_team() -> None:
    g = World(1, T0).games(T0)[0]
    d = g.local_date
    assert g.kalshi_ticker(True) == (
        f"{g.kalshi_series}-{d:%y}{d.strftime('%b').upper()}{d:%d}"
        f"{g.away.kalshi_code}{g.home.kalshi_code}-{g.home.kalshi_code}"
    )
    assert g.gamma_slug == f"{g.league}-{g.away.poly_code}-{g.home.poly_code}-{d.isoformat()}"
    assert g.pmus_winner_slug.startswith("aec-")


def test_arbitrage_windows_open_regularly() -> None:
    world = World(1, T0)
    games = [g for g in world.games(T0) if "kalshi" in g.venues and "polymarket" in g.venues]
    starts = []
    for g in games:
        for slot in range(int(T0.timestamp()) // 90, int(T0.timestamp()) // 90 + 20):
            w = g.window(slot)
            if w and w[2] in ("kalshi", "polymarket"):
                starts.append(w[0])
    span = 20 * 90
    assert len(starts) / span > 1 / 10  # more than one window every 10 s


def test_fok_that_cannot_fill_completely_fills_nothing(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    assert inst is not None
    bids, asks = ex.instrument_book(inst)
    total = sum(s for _, s in asks if s)
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", asks[-1][0], total + 1, "FOK"))
    assert r.order.status == "canceled" and r.order.filled == 0 and r.fills == []
    assert ex.store.balance("kalshi") == Decimal(1000)


def test_ioc_fills_partially_and_consumes_the_liquidity(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    assert inst is not None
    _, asks = ex.instrument_book(inst)
    best, size = asks[0]
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", best, size + 10, "IOC"))
    assert r.order.filled == size
    assert r.order.status == "canceled"
    assert [f.price for f in r.fills] == [best]
    _, after = ex.instrument_book(inst)
    assert after[0][0] > best  # the level is gone
    expected_fee = kalshi_taker_fee(size, best)
    assert r.fills[0].fee == expected_fee
    assert ex.store.balance("kalshi") == Decimal(1000) - size * best - expected_fee
    assert ex.store.position("kalshi", inst.id).quantity == size


def test_fok_walks_several_levels(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(False))
    assert inst is not None
    _, asks = ex.instrument_book(inst)
    qty = asks[0][1] + 1
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", asks[1][0], qty, "FOK"))
    assert r.order.status == "filled" and r.order.filled == qty
    assert [f.price for f in r.fills] == [asks[0][0], asks[1][0]]


def test_buying_the_complementary_polymarket_token_hits_the_bids(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    t0, t1 = g.token_ids("moneyline")
    i0, i1 = ex.world.instrument(t0), ex.world.instrument(t1)
    assert i0 is not None and i1 is not None
    bids0, _ = ex.instrument_book(i0)
    _, asks1 = ex.instrument_book(i1)
    assert asks1[0][0] == 1 - bids0[0][0]
    r = ex.place(PlaceRequest("polymarket", t1, "buy", asks1[0][0], Decimal(10), "FOK"))
    # The paper's markets serve feeSchedule rate 0.03, exponent 1: the domain estimate of
    # that schedule is what the paper charged.
    assert r.fills[0].fee == polymarket_taker_fee(Decimal(10), asks1[0][0], Decimal("0.03"))
    bids0_after, _ = ex.instrument_book(i0)
    assert bids0_after[0][1] == bids0[0][1] - 10


def test_polymarket_sell_without_tokens_is_rejected(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    t0, _ = g.token_ids("moneyline")
    with pytest.raises(PaperRejection) as err:
        ex.place(PlaceRequest("polymarket", t0, "sell", Decimal("0.01"), Decimal(10), "IOC"))
    assert err.value.code == "insufficient_position"


def test_order_beyond_the_balance_is_rejected(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    assert inst is not None
    with pytest.raises(PaperRejection) as err:
        ex.place(PlaceRequest("kalshi", inst.id, "buy", Decimal("0.99"), Decimal(100000), "GTC"))
    assert err.value.code == "insufficient_balance"


async def test_resting_limit_order_fills_when_the_market_reaches_it(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    assert inst is not None
    clock = ex.clock
    assert isinstance(clock, FakeClock)
    bids, asks = ex.instrument_book(inst)
    limit = bids[0][0]
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", limit, Decimal(5), "GTC"))
    assert r.order.status == "open"
    for _ in range(600):
        await clock.advance(2)
        ex.step()
        o = ex.store.get_order("kalshi", r.order.order_id)
        assert o is not None
        if o.status == "filled":
            break
    assert o.status == "filled" and o.filled == 5
    assert all(f.price == limit and not f.is_taker for f in ex.store.fills("kalshi", o.order_id))


def test_slip_fills_at_a_worse_price(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    assert inst is not None
    _, asks = ex.instrument_book(inst)
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", asks[0][0] + Decimal("0.05"), Decimal(3), "IOC"),
                 slip_ticks=2)
    assert r.fills[0].price == asks[0][0] + Decimal("0.02")


def test_resolution_pays_out_positions_including_fifty_fifty(ex: PaperExchange) -> None:
    g = first_game_on_all(ex)
    home, away = ex.world.instrument(g.kalshi_ticker(True)), ex.world.instrument(g.kalshi_ticker(False))
    assert home is not None and away is not None
    _, asks = ex.instrument_book(home)
    bids, _ = ex.instrument_book(away)
    ex.place(PlaceRequest("kalshi", home.id, "buy", asks[0][0], Decimal(10), "FOK"))
    ex.place(PlaceRequest("kalshi", away.id, "sell", bids[0][0], Decimal(4), "FOK"))  # 4 NO away
    before = ex.store.balance("kalshi")
    ex.resolve(g, Decimal(1))  # home wins: YES home pays 1, NO away pays 1
    assert ex.store.balance("kalshi") == before + Decimal(10) + Decimal(4)
    assert ex.store.position("kalshi", home.id).quantity == 0
    t0, t1 = g.token_ids("moneyline")
    g2 = next(x for x in ex.world.games(T0) if "polymarket" in x.venues and x.index != g.index)
    a, b = g2.token_ids("moneyline")
    ib = ex.world.instrument(b)
    assert ib is not None
    _, asks_b = ex.instrument_book(ib)
    ex.place(PlaceRequest("polymarket", b, "buy", asks_b[0][0], Decimal(10), "FOK"))
    before = ex.store.balance("polymarket")
    ex.resolve(g2, Decimal("0.5"))
    # Polymarket pays a resolved position only when it is redeemed.
    assert ex.store.balance("polymarket") == before
    assert ex.redeemable("polymarket") == {b: Decimal("0.5")}
    assert ex.store.position("polymarket", b).quantity == 10
    other = next(x for x in ex.world.games(T0) if "polymarket" in x.venues and x.index not in (g.index, g2.index))
    assert ex.redeem("polymarket", other.condition_id("moneyline")) == []  # another condition: nothing
    (done,) = ex.redeem("polymarket")
    assert done["instrument_id"] == b and Decimal(done["payout"]) == Decimal(5)
    assert ex.store.balance("polymarket") == before + Decimal(5)
    assert ex.redeemable("polymarket") == {} and ex.store.position("polymarket", b).quantity == 0
    assert ex.redeem("polymarket") == []  # once


def test_games_resolve_on_schedule(ex: PaperExchange) -> None:
    g = ex.world.games(T0)[0]
    clock = ex.clock
    assert isinstance(clock, FakeClock)
    clock.set(g.resolve_at + timedelta(seconds=1))
    _, resolutions = ex.step()
    assert g.index in [r.game.index for r in resolutions]
    assert ex.store.resolution(g.index) == g.home_settlement()


async def test_state_survives_an_exchange_restart(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    ex = build_exchange(tmp_path, 1, BALANCES, clock=clock)
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.pmus_winner_slug)
    assert inst is not None
    _, asks = ex.instrument_book(inst)
    r = ex.place(PlaceRequest("polymarket_us", inst.id, "buy", asks[0][0], Decimal(7), "FOK", extra={"intent": "ORDER_INTENT_BUY_LONG"}))
    balance = ex.store.balance("polymarket_us")
    ex.store.close()
    await clock.advance(3600)  # restarted an hour later: same world epoch, same ids
    again = build_exchange(tmp_path, 1, {"polymarket_us": Decimal(5)}, clock=clock)
    assert again.world.epoch == ex.world.epoch
    assert again.store.balance("polymarket_us") == balance
    o = again.store.get_order("polymarket_us", r.order.order_id)
    assert o is not None and o.filled == 7
    assert again.store.position("polymarket_us", inst.id).quantity == 7
    assert again.world.instrument(g.pmus_winner_slug) is not None
    again.store.close()


async def test_orders_fill_against_the_books_the_last_step_published(ex: PaperExchange) -> None:
    # The makers re-quote at each step (the tick whose books the feeds push); between two
    # steps a taker meets those books, not a quote newer than anything published.
    g = first_game_on_all(ex)
    inst = ex.world.instrument(g.kalshi_ticker(True))
    market = ex.world.market(inst.market_key) if inst is not None else None
    assert inst is not None and market is not None
    clock = ex.clock
    assert isinstance(clock, FakeClock)
    ex.step()
    published = ex.instrument_book(inst)
    moved_at = None
    for seconds in range(1, 600):  # find a time at which the makers' quote differs
        if ex.world.base_levels(market, T0 + timedelta(seconds=seconds)) != ex.world.base_levels(market, T0):
            moved_at = seconds
            break
    assert moved_at is not None
    await clock.advance(moved_at)
    assert ex.instrument_book(inst) == published  # no step since: the published books stand
    best, size = published[1][0]
    r = ex.place(PlaceRequest("kalshi", inst.id, "buy", best, size, "FOK"))
    assert r.order.filled == size and [f.price for f in r.fills] == [best]
    ex.step()  # the next tick re-quotes at the new time
    assert ex.book(market)[0] == ex.world.base_levels(market, clock.now())[0]
