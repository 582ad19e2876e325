"""The contract every venue client passes, on fixtures and on the paper exchange.

Ids name backend and client (``[mock-kalshi]``, ``[paper-polymarket_us]``); the harness
(``conftest.py``) scripts books and faults the same way on both backends.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.worker.venues.contract.conftest import Harness
from worker.domain.errors import (
    AuthFailed,
    OrderRejected,
    OrderUnknown,
    RateLimited,
    VenueUnavailable,
)
from worker.domain.markets import MarketKind, Venue
from worker.domain.orders import OrderAction, OrderIntent, OrderState, TimeInForce

D = Decimal


def intent(h: Harness, price: str, size: str, tif: TimeInForce, cid: str = "cid-1") -> OrderIntent:
    return OrderIntent(h.contract, OrderAction.BUY, D(price), D(size), tif, h.cid(cid))


def small_fok(h: Harness, cid: str = "cid-1") -> OrderIntent:
    """The smallest FOK the venue accepts that fills from the top of the book: 4 at 0.43,
    or 5 up to 0.44 on Polymarket, whose CLOB refuses orders under ``min_order_size`` 5."""
    if h.name == "polymarket":
        return intent(h, "0.44", "5", TimeInForce.FOK, cid)
    return intent(h, "0.43", "4", TimeInForce.FOK, cid)


async def test_book_is_best_first_with_asks(venue: Harness) -> None:
    book = await venue.client.get_book(venue.contract)
    bids = [lvl.price for lvl in book.bids]
    asks = [lvl.price for lvl in book.asks]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert book.best_ask is not None and book.best_ask.price == D("0.43")
    expected_bid = {"kalshi": "0.41", "polymarket": "0.42", "polymarket_us": "0.415"}[venue.name]
    assert book.best_bid is not None and book.best_bid.price == D(expected_bid)
    assert book.received_at.tzinfo is not None


async def test_listing_yields_the_game_winner_market(venue: Harness) -> None:
    markets = await venue.client.list_markets()
    winners = [m for m in markets if m.kind is MarketKind.GAME_WINNER]
    assert winners, "the fixture game has a winner market"
    assert any(venue.contract.contract_id in {o.contract_id for o in m.outcomes} for m in winners)
    assert all(m.start_time is None or m.start_time.tzinfo is not None for m in markets)


async def test_fee_amount_follows_the_venue_formula(venue: Harness) -> None:
    markets = await venue.client.list_markets()
    market = next(m for m in markets if m.market_id == venue.contract.market_id)
    fee = market.fees.taker_fee(D("10"), D("0.43"))
    # Kalshi: 0.07 × 10 × 0.43 × 0.57 = 0.17157 → up to 0.18. Polymarket: the market's
    # feeSchedule (rate 0.03, exponent 1): 0.03 × 2.451 = 0.07353. Polymarket US: 30 bps
    # of the buy notional 10 × 0.43 = 4.30 → 0.0129 → 0.01 (banker's rounding to the cent).
    expected = {"kalshi": D("0.18"), "polymarket": D("0.07353"), "polymarket_us": D("0.01")}
    assert fee == expected[venue.name]
    assert str(fee) == str(expected[venue.name])


async def test_fok_larger_than_depth_fills_nothing(venue: Harness) -> None:
    try:
        order = await venue.client.place_order(intent(venue, "0.44", "11", TimeInForce.FOK))
    except OrderRejected:
        pass  # Polymarket answers an unfillable FOK with an error: nothing happened either
    else:
        assert order.state is OrderState.CANCELED and order.filled_size == 0
    asks = await venue.asks()
    assert asks[0] == [D("0.43"), D("4")], "no liquidity consumed"


async def test_fok_within_depth_fills_everything(venue: Harness) -> None:
    order = await venue.client.place_order(intent(venue, "0.45", "10", TimeInForce.FOK))
    assert order.state is OrderState.FILLED and order.filled_size == D("10")
    next_ask = D("0.46") if venue.name == "polymarket_us" else D("0.45")
    assert (await venue.asks())[0] == [next_ask, D("40")], "the levels it took are gone"


async def test_ioc_fills_what_it_can_and_cancels_the_rest(venue: Harness) -> None:
    order = await venue.client.place_order(intent(venue, "0.43", "10", TimeInForce.IOC))
    assert order.state is OrderState.CANCELED
    assert order.filled_size == D("4")
    assert order.avg_fill_price == D("0.43")


async def test_timeout_whose_order_filled_is_resolved_by_lookup(venue: Harness) -> None:
    await venue.script_order_fault("timeout_filled")
    it = small_fok(venue)
    if venue.name == "kalshi":
        # Idempotent by client_order_id: the retry is refused as duplicate and resolved.
        order = await venue.client.place_order(it)
        assert order.state is OrderState.FILLED and order.filled_size == it.size
        assert await venue.order_count() == 1
        return
    prepared = await venue.client.prepare_order(it)
    with pytest.raises(OrderUnknown) as info:
        await venue.client.send_order(prepared)
    assert info.value.venue_order_id == prepared.venue_order_id
    assert await venue.order_count() == 1, "never re-sent"
    found = await venue.client.find_order(it)
    assert found is not None and found.state is OrderState.FILLED and found.filled_size == it.size


async def test_timeout_whose_order_did_not_land_finds_nothing(venue: Harness) -> None:
    await venue.script_order_fault("timeout_unfilled")
    it = small_fok(venue)
    if venue.name == "kalshi":
        order = await venue.client.place_order(it)  # safe retry places it exactly once
        assert order.state is OrderState.FILLED
        assert await venue.order_count() == 1
        return
    with pytest.raises(OrderUnknown):
        await venue.client.place_order(it)
    assert await venue.order_count() == 0
    assert await venue.client.find_order(it) is None


async def test_kalshi_style_idempotent_retry_or_single_send(venue: Harness) -> None:
    await venue.script_order_fault("503")
    it = small_fok(venue)
    if venue.name == "kalshi":
        order = await venue.client.place_order(it)
        assert order.state is OrderState.FILLED
        order_posts = [r for r in venue.requests if r.method == "POST"]
        assert len(order_posts) == 2
        assert {r.content for r in order_posts} == {order_posts[0].content}, "same client_order_id"
        assert await venue.order_count() == 1
    else:
        with pytest.raises(OrderUnknown):
            await venue.client.place_order(it)
        assert len([r for r in venue.requests if r.method == "POST"]) == 1
        assert await venue.order_count() == 0


async def test_reads_back_off_with_jitter_on_429(venue: Harness) -> None:
    await venue.script_read_faults([429, 429])
    book = await venue.client.get_book(venue.contract)
    assert book.best_ask is not None
    assert len(venue.sleep.delays) == 2
    assert all(0 <= d <= 4 for d in venue.sleep.delays)
    assert venue.client.http.retries == 2


async def test_reads_give_up_after_max_retries(venue: Harness) -> None:
    await venue.script_read_faults([429] * 10)
    with pytest.raises(RateLimited):
        await venue.client.get_book(venue.contract)
    assert len(venue.sleep.delays) == 3


async def test_error_mapping(venue: Harness) -> None:
    await venue.script_order_fault("401")
    with pytest.raises(AuthFailed):
        await venue.client.place_order(small_fok(venue))
    await venue.script_order_fault("400")
    with pytest.raises(OrderRejected):
        await venue.client.place_order(small_fok(venue, "cid-2"))
    assert await venue.order_count() == 0
    await venue.script_read_faults([500] * 5)
    with pytest.raises(VenueUnavailable):
        await venue.client.get_book(venue.contract)


async def test_errors_never_carry_secrets(venue: Harness) -> None:
    await venue.script_order_fault("401")
    with pytest.raises(AuthFailed) as info:
        await venue.client.place_order(small_fok(venue))
    sent = venue.requests[-1].headers
    for header in (
        "KALSHI-ACCESS-SIGNATURE",
        "POLY_SIGNATURE",
        "POLY_PASSPHRASE",
        "X-PM-Signature",
    ):
        if header in sent:
            assert sent[header] not in str(info.value)


async def test_balance_is_decimal_dollars(venue: Harness) -> None:
    # Kalshi answers integer cents, Polymarket integer micro-USDC, Polymarket US dollars.
    expected = {"kalshi": D("1234.56"), "polymarket": D("250.123456"), "polymarket_us": D("480.25")}
    await venue.set_balance(expected[venue.name])
    bal = await venue.client.balance()
    assert bal.available == expected[venue.name]
    assert bal.venue is Venue(venue.name)
