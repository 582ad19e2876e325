"""Matching benchmark: N Kalshi markets against N Polymarket markets from generated listings.

Generates a schedule over the NBA/NFL/NHL team tables: N/2 games on Kalshi (two markets
each) and, on Gamma, the N/2 moneyline markets plus N/2 spread markets (which must be
refused). Prints the wall time of ``match_markets`` (normalisation + blocking + pairing).

    .venv/bin/python bench/matching.py [N]        # default N = 5000
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.data.teams import LEAGUES, load_all
from worker.domain.fees import FeeSchedule
from worker.domain.markets import (
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.engine.scanner.matcher import match_markets
from worker.venues.normalize import NORMALISERS

MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def generate(n: int, seed: int = 7) -> tuple[list[Market], list[Market]]:
    rnd = random.Random(seed)
    tables = load_all()
    kalshi: list[Market] = []
    poly: list[Market] = []
    games = n // 2
    day0 = date(2026, 1, 1)
    used: set[tuple[str, date, str, str]] = set()
    g = 0
    while g < games:
        league = rnd.choice(LEAGUES)
        teams = tables[league].teams
        a, h = rnd.sample(teams, 2)
        d = day0 + timedelta(days=rnd.randrange(365))
        key = (league, d, a.id, h.id)
        if key in used:
            continue
        used.add(key)
        g += 1
        start = datetime(d.year, d.month, d.day, 23, 30, tzinfo=UTC)
        series = f"KX{league.upper()}GAME"
        event = f"{series}-{d:%y}{MON[d.month - 1]}{d:%d}{a.kalshi_code}{h.kalshi_code}"
        for t in (a, h):
            tk = f"{event}-{t.kalshi_code}"
            kalshi.append(
                Market(
                    Venue.KALSHI,
                    tk,
                    event,
                    f"{a.kalshi_name} at {h.kalshi_name}",
                    "",
                    League(league),
                    MarketKind.GAME_WINNER,
                    (
                        Outcome(
                            Venue.KALSHI, tk, tk, OutcomeSide.YES, t.kalshi_name, t.kalshi_code
                        ),
                        Outcome(Venue.KALSHI, tk, tk, OutcomeSide.NO, t.kalshi_name),
                    ),
                    Decimal("0.01"),
                    Decimal(1),
                    FeeSchedule.kalshi(),
                    MarketStatus.OPEN,
                    start_time=start,
                    series=series,
                )
            )
        slug = f"{league}-{a.polymarket_code}-{h.polymarket_code}-{d.isoformat()}"
        outs = [(a, f"{g}1"), (h, f"{g}2")]
        rnd.shuffle(outs)
        for suffix, kind, smt in (
            ("", MarketKind.GAME_WINNER, "moneyline"),
            ("-spread-home-3pt5", MarketKind.SPREAD, "spreads"),
        ):
            mid = f"{g}{suffix}"
            poly.append(
                Market(
                    Venue.POLYMARKET,
                    mid,
                    slug,
                    f"{a.nickname} vs. {h.nickname}",
                    "",
                    League(league),
                    kind,
                    tuple(
                        Outcome(
                            Venue.POLYMARKET,
                            mid,
                            tok + suffix,
                            OutcomeSide.TOKEN,
                            t.polymarket_outcome,
                        )
                        for t, tok in outs
                    ),
                    Decimal("0.01"),
                    Decimal(5),
                    FeeSchedule.polymarket(Decimal("0.03")),
                    MarketStatus.OPEN,
                    start_time=start,
                    event_slug=slug,
                    slug=slug + suffix,
                    sports_market_type=smt,
                )
            )
    return kalshi, poly


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    kalshi, poly = generate(n)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        result = match_markets(kalshi, poly, NORMALISERS)
        best = min(best, time.perf_counter() - t0)
    spreads_paired = sum(1 for m in result.mappings if "-spread" in m.poly_market)
    print(
        f"matching {len(kalshi)} kalshi x {len(poly)} polymarket markets: best of 3 = {best:.3f} s"
    )
    print(
        f"mappings={len(result.mappings)} refused={len(result.refused)} unmatched={len(result.unmatched)} spreads_paired={spreads_paired}"
    )


if __name__ == "__main__":
    main()
