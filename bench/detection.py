"""Detection benchmark: time per book update with 5,000 matched pairs.

Builds 5,000 mappings (Kalshi × Gamma) on generated markets, seeds every book, then
applies random book updates (Kalshi YES/NO pairs and Polymarket tokens, prices drifting
around a fair value so some updates open, update or close opportunities) and prints the
p50/p99/max time of ``Scanner.on_book``/``on_books`` per update.

    .venv/bin/python bench/detection.py [PAIRS] [UPDATES]   # defaults 5000, 50000
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import Confidence, MarketMapping, OpportunityEvent
from worker.domain.markets import (
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.engine.scanner.scanner import Scanner

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
CENT = Decimal("0.01")


def ladder(rnd: random.Random, best: int, up: bool) -> list[PriceLevel]:
    levels = []
    for i in range(5):
        p = best + i if up else best - i
        if 1 <= p <= 99:
            levels.append(PriceLevel(Decimal(p) * CENT, Decimal(rnd.randrange(5, 200))))
    return levels


def main() -> None:
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    updates = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    rnd = random.Random(11)
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    start = NOW + timedelta(days=1)
    fair: list[int] = []
    for i in range(pairs):
        tk = f"KXNBAGAME-26JAN01G{i:05d}-A"
        k = Market(
            Venue.KALSHI,
            tk,
            tk[:-2],
            "A at B",
            "",
            League.NBA,
            MarketKind.GAME_WINNER,
            (
                Outcome(Venue.KALSHI, tk, tk, OutcomeSide.YES, "A"),
                Outcome(Venue.KALSHI, tk, tk, OutcomeSide.NO, "A"),
            ),
            CENT,
            Decimal(1),
            FeeSchedule.kalshi(),
            MarketStatus.OPEN,
            start_time=start,
            rules="If A wins, Yes.",
        )
        mid = f"m{i}"
        p = Market(
            Venue.POLYMARKET,
            mid,
            mid,
            "A vs. B",
            "",
            League.NBA,
            MarketKind.GAME_WINNER,
            (
                Outcome(Venue.POLYMARKET, mid, f"t{i}a", OutcomeSide.TOKEN, "A"),
                Outcome(Venue.POLYMARKET, mid, f"t{i}b", OutcomeSide.TOKEN, "B"),
            ),
            CENT,
            Decimal(5),
            FeeSchedule.polymarket(),
            MarketStatus.OPEN,
            start_time=start,
            rules="Winner.",
        )
        m = MarketMapping(
            tk,
            tk[:-2],
            Venue.POLYMARKET,
            f"t{i}a",
            "",
            f"t{i}b",
            "nba",
            date(2026, 1, 1),
            "nba:A",
            "nba:B",
            "nba:A",
            "A at B",
            Confidence.HIGH,
            (),
            start,
            mid,
        )
        sc.add_mapping(m, k, p)
        fair.append(rnd.randrange(20, 80))

    def kalshi_books(i: int) -> tuple[OrderBook, OrderBook]:
        tk = f"KXNBAGAME-26JAN01G{i:05d}-A"
        from worker.domain.markets import ContractRef

        yes = ContractRef(Venue.KALSHI, tk, tk, OutcomeSide.YES)
        no = ContractRef(Venue.KALSHI, tk, tk, OutcomeSide.NO)
        f = fair[i] + rnd.randrange(-4, 4)
        return two_sided_from_bids(
            yes, no, ladder(rnd, f - 1, False), ladder(rnd, 100 - f - 1, False), NOW
        )

    def token_book(i: int, side: str) -> OrderBook:
        from worker.domain.markets import ContractRef

        ref = ContractRef(Venue.POLYMARKET, f"m{i}", f"t{i}{side}", OutcomeSide.TOKEN)
        f = fair[i] if side == "a" else 100 - fair[i]
        f += rnd.randrange(-4, 4)
        return OrderBook.build(ref, ladder(rnd, f - 1, False), ladder(rnd, f + 1, True), NOW)

    for i in range(pairs):
        sc.on_books(kalshi_books(i), NOW)
        sc.on_book(token_book(i, "a"), NOW)
        sc.on_book(token_book(i, "b"), NOW)
    # Pre-build the updates so the timing covers only the scanner.
    work: list[tuple[int, object]] = []
    for _ in range(updates):
        i = rnd.randrange(pairs)
        r = rnd.random()
        if r < 0.5:
            work.append((0, kalshi_books(i)))
        else:
            work.append((1, token_book(i, "a" if r < 0.75 else "b")))
    events.clear()
    times: list[float] = []
    for kind, payload in work:
        t0 = time.perf_counter_ns()
        if kind == 0:
            sc.on_books(payload, NOW)  # type: ignore[arg-type]
        else:
            sc.on_book(payload, NOW)  # type: ignore[arg-type]
        times.append((time.perf_counter_ns() - t0) / 1000)
    times.sort()
    p50 = times[len(times) // 2]
    p99 = times[int(len(times) * 0.99)]
    print(f"detection: {pairs} pairs, {updates} book updates")
    print(f"per update: p50={p50:.1f} us  p99={p99:.1f} us  max={times[-1]:.1f} us")
    print(f"events: {len(events)}  open opportunities now: {len(sc.open_opportunities)}")


if __name__ == "__main__":
    main()
