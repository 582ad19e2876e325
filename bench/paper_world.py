"""Run the paper world for N seconds of simulated time and print how often its books
change and how often / how long cross-venue arbitrage windows open (after fees).

    python bench/paper_world.py [--seconds 600] [--seed 1] [--step 0.5]

A window is open for a pair (Kalshi, Polymarket) or (Kalshi, Polymarket US) on a game when
buying YES of one team on Kalshi plus the other team on the Polymarket venue, at the best
asks plus both taker fees for one contract, costs less than $1. Only the NBA/NFL/NHL
winners are counted (with ``EXECUTOR_PAPER_LEAGUES=all`` the MLB/EPL games and lines are
listed but not measured here).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from paper_exchange.state import build_exchange
from paper_exchange.world_extra import ExtraGame
from worker.clock import FakeClock
from worker.domain.fees import FeeSchedule

ONE = Decimal(1)
# The schedules the paper's markets serve (Gamma feeSchedule rate 0.03, exponent 1).
K, P, U = FeeSchedule.kalshi(), FeeSchedule.polymarket(Decimal("0.03")), FeeSchedule.polymarket_us()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--step", type=float, default=0.5)
    a = ap.parse_args()
    clock = FakeClock(datetime.now(UTC))
    ex = build_exchange(Path(tempfile.mkdtemp()), a.seed, {}, clock=clock)
    # The NBA/NFL/NHL winners (a game's two team markets): EXECUTOR_PAPER_LEAGUES' second
    # stream (MLB, EPL, lines) is not counted here.
    games = [g for g in ex.world.games(clock.now()) if "kalshi" in g.venues and not isinstance(g, ExtraGame)]
    open_since: dict[tuple[str, int], float] = {}
    durations: dict[str, list[float]] = {"polymarket": [], "polymarket_us": []}
    last_books: dict[str, object] = {}
    changes = 0
    t = 0.0
    wall = time.perf_counter()
    while t < a.seconds:
        now = clock.now()
        for g in games:
            if not g.tradable(now):
                continue
            kh = ex.world.market(f"kalshi:{g.kalshi_ticker(True)}")
            ka = ex.world.market(f"kalshi:{g.kalshi_ticker(False)}")
            assert kh and ka
            kh_book, ka_book = ex.book(kh, now), ex.book(ka, now)
            for key, b in ((kh.key, kh_book), (ka.key, ka_book)):
                if last_books.get(key) != b:
                    changes += 1
                    last_books[key] = b
            k_home_ask = kh_book[1][0][0] if kh_book[1] else None
            k_away_ask = ka_book[1][0][0] if ka_book[1] else None
            for venue in ("polymarket", "polymarket_us"):
                if venue not in g.venues:
                    continue
                if venue == "polymarket":
                    m = ex.world.market(f"polymarket:{g.condition_id('moneyline')}")
                    assert m
                    bids, asks = ex.book(m, now)  # YES = away token
                    away_ask = asks[0][0] if asks else None
                    home_ask = ONE - bids[0][0] if bids else None
                    fee = P
                else:
                    m = ex.world.market(f"polymarket_us:{g.pmus_winner_slug}")
                    assert m
                    bids, asks = ex.book(m, now)  # YES = long
                    long_ask = asks[0][0] if asks else None
                    short_ask = ONE - bids[0][0] if bids else None
                    home_ask, away_ask = (long_ask, short_ask) if g.pmus_long_is_home else (short_ask, long_ask)
                    fee = U
                if last_books.get(m.key) != (bids, asks):
                    changes += 1
                    last_books[m.key] = (bids, asks)
                best = None
                for kp, pp in ((k_home_ask, away_ask), (k_away_ask, home_ask)):
                    if kp is None or pp is None:
                        continue
                    cost = kp + pp + K.taker_fee(ONE, kp) + fee.taker_fee(ONE, pp)
                    best = cost if best is None else min(best, cost)
                key = (venue, g.index)
                is_open = best is not None and best < ONE
                if is_open and key not in open_since:
                    open_since[key] = t
                elif not is_open and key in open_since:
                    durations[venue].append(t - open_since.pop(key))
        clock.set(clock.now() + timedelta(seconds=a.step))
        t += a.step
    elapsed = time.perf_counter() - wall
    print(f"simulated {a.seconds:.0f} s with {len(games)} Kalshi-listed games in {elapsed:.1f} s wall")
    print(f"book changes: {changes} ({changes / a.seconds:.1f} per simulated second, sampled every {a.step} s)")
    for venue, ds in durations.items():
        if ds:
            print(f"Kalshi x {venue}: {len(ds)} windows, one every {a.seconds / len(ds):.1f} s, "
                  f"mean {sum(ds) / len(ds):.1f} s, max {max(ds):.1f} s")
        else:
            print(f"Kalshi x {venue}: no window")


if __name__ == "__main__":
    main()
