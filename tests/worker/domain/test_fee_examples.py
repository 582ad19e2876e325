"""Fee estimates against the venues' published examples, worked out by hand.

Each test names its source and the date it was read; the arithmetic in the docstrings was
done by hand from the published formula, not by running our code.
"""

from __future__ import annotations

import pytest

from worker.domain.fees import (
    POLYMARKET_US_ROUNDING,
    FeeModel,
    FeeSchedule,
    kalshi_maker_fee,
    kalshi_taker_fee,
    polymarket_taker_fee,
    polymarket_us_taker_fee,
)
from worker.domain.money import D


@pytest.mark.parametrize(
    ("count", "price", "fee"),
    [
        ("100", "0.50", "1.75"),  # 0.07 × 100 × 0.25 = 1.75 exactly
        ("10", "0.50", "0.18"),  # 0.175 → up to the cent
        ("1", "0.50", "0.02"),  # 0.0175 → 0.02, the largest fee on one contract
        ("100", "0.25", "1.32"),  # 0.07 × 100 × 0.1875 = 1.3125 → 1.32
        ("100", "0.05", "0.34"),  # 0.07 × 100 × 0.0475 = 0.3325 → 0.34
    ],
)
def test_kalshi_taker_fee_matches_the_fee_schedule_examples(count: str, price: str, fee: str) -> None:
    """Kalshi fee schedule (kalshi.com/docs/kalshi-fee-schedule.pdf): taker fee =
    round up(0.07 × C × P × (1 − P)) to the next cent. The 10-at-50¢ example ($0.175 →
    $0.18) is Kalshi's own from the July 2025 fee change as reported by
    https://usigaminghub.com/?p=10734; the 100-contract figures are the schedule's table
    as reproduced by https://agentbets.ai/guides/kalshi-fees-guide (both read 2026-12-06;
    the PDF itself was not readable here)."""
    assert kalshi_taker_fee(D(count), D(price)) == D(fee)


def test_kalshi_maker_fee_on_series_that_charge_makers() -> None:
    """Same sources: maker 0.0175 × 100 × 0.25 = 0.4375 → $0.44."""
    assert kalshi_maker_fee(D("100"), D("0.50")) == D("0.44")
    assert FeeSchedule.kalshi().maker_fee(D("100"), D("0.50")) == 0  # series without


def test_kalshi_rounds_an_order_once_not_each_fill() -> None:
    """https://docs.kalshi.com/getting_started/fee_rounding (read 2026-12-06): the fee
    accumulator makes "the total fee across many small fills converge to what a single
    equivalent fill would cost". One order filling 5 at 0.40 and 5 at 0.41:
    0.07·5·0.24 + 0.07·5·0.2419 = 0.084 + 0.084665 = 0.168665 → $0.17, where rounding each
    fill would give 0.09 + 0.09 = $0.18. Ten separate 1-lot orders at 50¢ pay 10 × 0.02."""
    fills = [(D(5), D("0.40")), (D(5), D("0.41"))]
    assert FeeSchedule.kalshi().order_fee(fills) == D("0.17")
    assert sum(kalshi_taker_fee(q, p) for q, p in fills) == D("0.18")
    assert sum(kalshi_taker_fee(D(1), D("0.50")) for _ in range(10)) == D("0.20")


@pytest.mark.parametrize(
    ("price", "fee"), [("0.50", "1.75000"), ("0.10", "0.63000"), ("0.01", "0.06930")]
)
def test_polymarket_fee_table_for_100_shares(price: str, fee: str) -> None:
    """https://docs.polymarket.com/trading/fees (read 2026-12-06), 100-share table at rate
    0.07, exponent 1: 100 × 0.07 × 0.25 = $1.75 at 50¢; 100 × 0.07 × 0.09 = $0.63 at 10¢;
    100 × 0.07 × 0.0099 = $0.0693 at 1¢."""
    assert polymarket_taker_fee(D(100), D(price), D("0.07")) == D(fee)


def test_polymarket_sports_schedule_from_the_official_sdk_examples() -> None:
    """Polymarket's py-clob-client-v2 tests/test_fee_calculations.py
    (github.com/Polymarket/py-clob-client-v2, read 2026-12-06): sports rate 0.03,
    exponent 1, $100 at 0.50 is 200 shares: 200 × 0.03 × 0.25 = $1.50."""
    assert polymarket_taker_fee(D(200), D("0.50"), D("0.03")) == D("1.5")


@pytest.mark.parametrize(
    ("price", "fee"),
    [
        ("0.50", "1.56250"),  # 100 × 0.25 × 0.0625 = 1.5625
        ("0.30", "1.10250"),  # 100 × 0.25 × 0.0441 = 1.1025
        ("0.05", "0.05641"),  # 100 × 0.25 × 0.00225625 = 0.05640625 → up at 5 decimals
        ("0.01", "0.00246"),  # 100 × 0.25 × 0.00009801 = 0.00245025 → up
    ],
)
def test_polymarket_exponent_two_schedule(price: str, fee: str) -> None:
    """Same SDK test file, rate 0.25, exponent 2, 100 contracts: fee = C × rate ×
    (p(1 − p))²; rounded to 5 decimals ("Fees are rounded to 5 decimal places. The
    smallest fee charged is 0.00001 pUSD": docs.polymarket.com/programs/maker-rebates,
    read 2026-12-06), up, since the direction is not stated."""
    assert polymarket_taker_fee(D(100), D(price), D("0.25"), 2) == D(fee)


def test_polymarket_fees_disabled_charge_nothing() -> None:
    free = FeeSchedule.none(FeeModel.POLYMARKET)
    assert free.taker_fee(D(100), D("0.50")) == 0
    assert free.order_fee([(D(100), D("0.50")), (D(10), D("0.51"))]) == 0


def test_polymarket_us_faq_examples() -> None:
    """https://docs.polymarket.us/faqs/fees (read 2026-12-06).

    Example 1: buy 1,000 at $0.65 (taker): notional 650.00 × 0.0030 = $1.95.
    Example 3: sell 10 at $0.90 (taker): notional 10 × 0.10 = 1.00 × 0.0030 = $0.003 →
    $0.00 ("rounds to $0.00"; there is no minimum fee).
    """
    assert polymarket_us_taker_fee(D(1000), D("0.65")) == D("1.95")
    assert polymarket_us_taker_fee(D(10), D("0.90"), sell=True) == D("0.00")


def test_polymarket_us_bankers_rounding_of_half_cents() -> None:
    """Same FAQ: "$0.025 rounds to $0.02, while $0.035 rounds to $0.04". With the 30 bps
    rate: 10 at 0.50 → 0.015 → $0.02; 30 at 0.50 → 0.045 → $0.04."""
    assert POLYMARKET_US_ROUNDING.apply(D("0.025")) == D("0.02")
    assert POLYMARKET_US_ROUNDING.apply(D("0.035")) == D("0.04")
    assert polymarket_us_taker_fee(D(10), D("0.50")) == D("0.02")
    assert polymarket_us_taker_fee(D(30), D("0.50")) == D("0.04")


def test_polymarket_us_rounds_each_execution() -> None:
    """Each trade's fee is rounded on its own: 10 at 0.50 (0.015 → 0.02) and 10 at 0.55
    (0.0165 → 0.02) cost 0.04, not the 0.03 that rounding the order's 0.0315 would give;
    a buyer's notional is C × p, a seller's C × (1 − p) — buying 10 SHORT at 0.55 (selling
    the long side at 0.45) pays on 5.50 either way."""
    us = FeeSchedule.polymarket_us()
    assert us.order_fee([(D(10), D("0.50")), (D(10), D("0.55"))]) == D("0.04")
    assert us.taker_fee(D(10), D("0.55")) == us.taker_fee(D(10), D("0.45"), sell=True)
    assert us.maker_fee(D(10), D("0.50")) == 0  # makers earn a rebate, not modelled
