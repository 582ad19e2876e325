"""Fees at edge prices, book ordering, and the order state machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.domain.books import OrderBook, PriceLevel
from worker.domain.fees import (
    FeeSchedule,
    kalshi_maker_fee,
    kalshi_taker_fee,
    polymarket_taker_fee,
    polymarket_us_taker_fee,
)
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.money import D, ceil_to_cent
from worker.domain.orders import (
    IllegalTransition,
    Order,
    OrderAction,
    OrderIntent,
    OrderState,
    TimeInForce,
)

REF = ContractRef(Venue.KALSHI, "T", "T", OutcomeSide.YES)


@pytest.mark.parametrize(
    ("count", "price", "fee"),
    [
        ("1", "0.01", "0.01"),
        ("1", "0.50", "0.02"),
        ("1", "0.99", "0.01"),
        ("100", "0.50", "1.75"),
        ("100", "0.01", "0.07"),
        ("100", "0.99", "0.07"),
        ("10", "0.43", "0.18"),
    ],
)
def test_kalshi_taker_fee_rounds_up_to_the_cent_per_order(count: str, price: str, fee: str) -> None:
    assert kalshi_taker_fee(D(count), D(price)) == D(fee)


def test_kalshi_per_order_rounding_charges_small_orders_more() -> None:
    one_order = kalshi_taker_fee(D("10"), D("0.50"))
    ten_orders = sum((kalshi_taker_fee(D("1"), D("0.50")) for _ in range(10)), D("0"))
    assert one_order == D("0.18") and ten_orders == D("0.20")


def test_kalshi_maker_fee() -> None:
    assert kalshi_maker_fee(D("100"), D("0.50")) == D("0.44")


@pytest.mark.parametrize(
    ("price", "fee"), [("0.01", "0.00495"), ("0.50", "0.12500"), ("0.99", "0.00495")]
)
def test_polymarket_fee_at_edge_prices(price: str, fee: str) -> None:
    assert polymarket_taker_fee(D("10"), D(price), D("0.05")) == D(fee)


def test_polymarket_fee_rounds_up_at_five_decimals() -> None:
    assert polymarket_taker_fee(D("1"), D("0.33"), D("0.05")) == D("0.01106")  # 0.011055 → up


@pytest.mark.parametrize(("price", "fee"), [("0.01", "0.00"), ("0.50", "0.02"), ("0.99", "0.03")])
def test_polymarket_us_fee_is_30_bps_of_the_buy_notional_with_bankers_rounding(
    price: str, fee: str
) -> None:
    # 10 × 0.01 × 0.003 = 0.0003 → 0.00; 10 × 0.50 × 0.003 = 0.015 → 0.02 (the even cent);
    # 10 × 0.99 × 0.003 = 0.0297 → 0.03.
    assert polymarket_us_taker_fee(D("10"), D(price)) == D(fee)
    assert polymarket_us_taker_fee(D("10"), D(price), rate=D("0")) == D("0.00")


def test_fee_schedule_disabled_fees_are_zero_and_makers_free_on_polymarket() -> None:
    assert FeeSchedule.polymarket(D("0")).taker_fee(D("10"), D("0.5")) == 0
    assert FeeSchedule.polymarket(D("0.03")).maker_fee(D("10"), D("0.5")) == 0


def test_money_refuses_floats_and_ceil_to_cent() -> None:
    with pytest.raises(TypeError):
        D(0.1)  # type: ignore[arg-type]
    assert ceil_to_cent(D("0.0101")) == D("0.02") and ceil_to_cent(D("0.02")) == D("0.02")


def test_book_sorts_best_first_merges_and_drops_empty_levels() -> None:
    now = datetime.now(UTC)
    book = OrderBook.build(
        REF,
        [
            PriceLevel(D("0.40"), D("5")),
            PriceLevel(D("0.42"), D("1")),
            PriceLevel(D("0.40"), D("2")),
        ],
        [
            PriceLevel(D("0.48"), D("3")),
            PriceLevel(D("0.45"), D("0")),
            PriceLevel(D("0.46"), D("7")),
        ],
        now,
    )
    assert [lvl.price for lvl in book.bids] == [D("0.42"), D("0.40")]
    assert book.bids[1].size == D("7")
    assert [lvl.price for lvl in book.asks] == [D("0.46"), D("0.48")]
    assert book.depth_to(D("0.47")) == D("7")
    no = book.complement(ContractRef(Venue.KALSHI, "T", "T", OutcomeSide.NO))
    assert no.best_ask is not None and no.best_ask.price == D("0.58")


def _order() -> Order:
    it = OrderIntent(REF, OrderAction.BUY, D("0.5"), D("10"), TimeInForce.FOK, "c1")
    return Order.from_intent(it)


def test_books_share_equal_prices_but_keep_each_price_as_the_venue_wrote_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal prices of the same exponent are one shared object across books; 0.56 and
    0.5600 stay distinct (a book reads exactly as sent); zero is never shared."""
    import worker.domain.books as books

    # A table of its own: the process-wide one may be full after other tests' books.
    monkeypatch.setattr(books, "_PRICES", {})
    ref = ContractRef(Venue.POLYMARKET, "m", "t", OutcomeSide.TOKEN)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    one = OrderBook.build(ref, [PriceLevel(D("0.56"), D(5))], [PriceLevel(D("0.58"), D(5))], now)
    two = OrderBook.build(ref, [PriceLevel(D("0.56"), D(7))], [], now)
    four = OrderBook.build(ref, [PriceLevel(D("0.5600"), D(7))], [], now)
    assert one.bids[0].price is two.bids[0].price
    assert str(four.bids[0].price) == "0.5600" and four.bids[0].price is not one.bids[0].price
    zero = OrderBook.build(ref, [PriceLevel(D("-0"), D(1))], [], now).bids[0].price
    assert str(zero) == "-0"
    again = OrderBook.build(ref, [PriceLevel(D("0"), D(1))], [], now).bids[0].price
    assert str(again) == "0"


def test_price_sharing_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the limit a new price is used as given (and books stay correct)."""
    import worker.domain.books as books

    monkeypatch.setattr(books, "_PRICES", {})
    monkeypatch.setattr(books, "_PRICES_LIMIT", 2)
    ref = ContractRef(Venue.POLYMARKET, "m", "t", OutcomeSide.TOKEN)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    levels = [PriceLevel(D(p), D(1)) for p in ("0.41", "0.42", "0.43")]
    first = OrderBook.build(ref, levels, [], now)
    again = OrderBook.build(
        ref, [PriceLevel(D(p), D(2)) for p in ("0.41", "0.42", "0.43")], [], now
    )
    assert len(books._PRICES) == 2
    assert [lvl.price for lvl in again.bids] == [D("0.43"), D("0.42"), D("0.41")]
    shared = [a.price is b.price for a, b in zip(first.bids, again.bids, strict=True)]
    assert shared == [True, True, False]  # bids best first: 0.41 came third, not kept


def test_order_state_machine_allows_the_happy_path_and_unknown_resolution() -> None:
    o = _order().transition(OrderState.SUBMITTED).transition(OrderState.UNKNOWN)
    o = o.transition(OrderState.FILLED, filled_size=D("10"))
    assert o.state is OrderState.FILLED and o.state.terminal


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ((OrderState.SUBMITTED, OrderState.FILLED), OrderState.OPEN),
        ((OrderState.REJECTED,), OrderState.SUBMITTED),
        ((), OrderState.FILLED),
    ],
)
def test_illegal_transitions_raise(path: tuple[OrderState, ...], bad: OrderState) -> None:
    o = _order()
    for s in path:
        o = o.transition(s)
    with pytest.raises(IllegalTransition):
        o.transition(bad)


def test_intent_validates_price_and_size() -> None:
    with pytest.raises(ValueError):
        OrderIntent(REF, OrderAction.BUY, D("1"), D("1"), TimeInForce.FOK, "c")
    with pytest.raises(ValueError):
        OrderIntent(REF, OrderAction.BUY, D("0.5"), D("0"), TimeInForce.FOK, "c")
