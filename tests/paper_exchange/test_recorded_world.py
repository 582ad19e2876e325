"""The matching engine over a world of recorded books (``RecordedWorld``), without HTTP:
the levels it is given are what orders fill against, taken depth stays gone for the refill
time, closed markets refuse orders, a mirrored token trades the book mirrored, and a
recorded market settles only when told."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from paper_exchange.matching import PaperExchange, PaperRejection, PlaceRequest
from paper_exchange.recorded import RecordedWorld
from paper_exchange.store import Store
from worker.clock import FakeClock

D = Decimal
T0 = datetime(2026, 6, 13, 23, 0, tzinfo=UTC)
TICKER = "KXNBAGAME-26JUN13NYKSAS-SAS"
COND = "polymarket:555001"
T_ROCKETS, T_KINGS = "7132104567", "5211431950"


def lv(*pairs: tuple[str, str]) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(s)) for p, s in pairs]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def ex(clock: FakeClock) -> Iterator[PaperExchange[RecordedWorld]]:
    world = RecordedWorld()
    world.add_market(f"kalshi:{TICKER}", "kalshi", D("0.01"), [(TICKER, False, "San Antonio")])
    world.add_market(COND, "polymarket", D("0.01"), [(T_ROCKETS, False, "Rockets"), (T_KINGS, True, "Kings")])
    # Given in any order: kept best first.
    world.set_book(f"kalshi:{TICKER}", lv(("0.40", "50"), ("0.41", "30")), lv(("0.44", "40"), ("0.43", "20")))
    world.set_book(COND, lv(("0.55", "100")), lv(("0.57", "100")))
    store = Store(Path(":memory:"))
    e = PaperExchange(world, store, clock, {"kalshi": D(1000), "polymarket": D(1000)}, refill_s=15.0)
    yield e
    store.close()


def test_the_book_is_the_recorded_levels_best_first(ex: PaperExchange[RecordedWorld]) -> None:
    market = ex.world.market(f"kalshi:{TICKER}")
    assert market is not None
    assert ex.book(market) == (lv(("0.41", "30"), ("0.40", "50")), lv(("0.43", "20"), ("0.44", "40")))


def test_fok_walks_the_recorded_levels_and_a_too_big_fok_fills_nothing(ex: PaperExchange[RecordedWorld]) -> None:
    big = ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.44"), D(61), "FOK"))
    assert (big.order.status, big.order.filled, big.fills) == ("canceled", 0, [])
    assert ex.store.balance("kalshi") == D(1000)
    r = ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.44"), D(25), "FOK"))
    assert r.order.status == "filled"
    assert [(f.price, f.quantity) for f in r.fills] == [(D("0.43"), D(20)), (D("0.44"), D(5))]


def test_taken_depth_is_gone_until_the_refill_time(ex: PaperExchange[RecordedWorld], clock: FakeClock) -> None:
    market = ex.world.market(f"kalshi:{TICKER}")
    assert market is not None
    ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.43"), D(50), "IOC"))
    assert ex.book(market)[1] == lv(("0.44", "40"))
    # A new recording of the same levels does not bring it back before refill_s...
    ex.world.set_book(f"kalshi:{TICKER}", lv(("0.41", "30")), lv(("0.43", "20"), ("0.44", "40")))
    clock.set(datetime(2026, 6, 13, 23, 0, 14, tzinfo=UTC))
    assert ex.book(market)[1] == lv(("0.44", "40"))
    # ...after it, the makers are back.
    clock.set(datetime(2026, 6, 13, 23, 0, 15, tzinfo=UTC))
    assert ex.book(market)[1] == lv(("0.43", "20"), ("0.44", "40"))


def test_the_complementary_token_trades_the_book_mirrored(ex: PaperExchange[RecordedWorld]) -> None:
    # Buying Kings (outcome 1) at 0.45 is selling Rockets at 0.55: it takes the 0.55 bid.
    r = ex.place(PlaceRequest("polymarket", T_KINGS, "buy", D("0.45"), D(10), "FOK"))
    assert r.order.status == "filled" and [f.price for f in r.fills] == [D("0.45")]
    market = ex.world.market(COND)
    assert market is not None
    assert ex.book(market)[0] == lv(("0.55", "90"))


def test_a_closed_market_refuses_orders_and_quotes_nothing(ex: PaperExchange[RecordedWorld]) -> None:
    ex.world.close_market(f"kalshi:{TICKER}")
    with pytest.raises(PaperRejection) as err:
        ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.44"), D(1), "IOC"))
    assert err.value.code == "market_closed"
    market = ex.world.market(f"kalshi:{TICKER}")
    assert market is not None and ex.book(market) == ([], [])
    # Listed again: open again, with the book it had.
    ex.world.add_market(f"kalshi:{TICKER}", "kalshi", D("0.01"), [(TICKER, False, "San Antonio")])
    assert ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.43"), D(1), "IOC")).order.filled == 1


def test_a_market_without_a_book_fills_nothing(clock: FakeClock) -> None:
    world = RecordedWorld()
    world.add_market("polymarket_us:aec-x", "polymarket_us", D("0.005"), [("aec-x", False, "X")])
    store = Store(Path(":memory:"))
    ex = PaperExchange(world, store, clock, {"polymarket_us": D(100)})
    r = ex.place(PlaceRequest("polymarket_us", "aec-x", "buy", D("0.505"), D(1), "IOC"))
    assert (r.order.status, r.order.filled) == ("canceled", 0)
    store.close()


def test_bad_registrations_are_refused() -> None:
    world = RecordedWorld()
    with pytest.raises(ValueError, match="must start with"):
        world.add_market("K1", "kalshi", D("0.01"), [("K1", False, "a")])
    with pytest.raises(ValueError, match="unknown venue"):
        world.add_market("x:K1", "x", D("0.01"), [("K1", False, "a")])
    world.add_market("kalshi:K1", "kalshi", D("0.01"), [("K1", False, "a")])
    with pytest.raises(ValueError, match="already belongs"):
        world.add_market("kalshi:K2", "kalshi", D("0.01"), [("K1", False, "a")])
    with pytest.raises(KeyError):
        world.set_book("kalshi:K9", [], [])


def test_a_recorded_market_never_resolves_by_itself_but_settles_when_told(
    ex: PaperExchange[RecordedWorld], clock: FakeClock
) -> None:
    ex.place(PlaceRequest("kalshi", TICKER, "buy", D("0.43"), D(10), "FOK"))  # fee 0.18
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert ex.step() == ([], [])
    market = ex.world.market(f"kalshi:{TICKER}")
    assert market is not None
    ex.resolve(ex.world.game_of(market), D(1))
    # 1000 - 4.30 - ceil(0.07 * 10 * 0.43 * 0.57 = 0.17157) + 10 * 1
    assert ex.store.balance("kalshi") == D("1005.52")
    assert ex.store.position("kalshi", TICKER).quantity == 0
