"""Matching benchmark: N Kalshi markets against N Polymarket (Gamma) markets, every league
and every kind of proposition, from generated listings in the venues' formats.

Games are drawn over every league with a team table (NBA, NFL, NHL, MLB, WNBA, college
football and basketball, MLS, EPL, UCL) and over made-up tennis players (ATP, WTA). Each
game is listed as the venues list it: a two-team winner (Kalshi one market per team,
Gamma one market with both teams' tokens), a soccer game's three markets (Kalshi's
``-TIE``, Gamma's three Yes/No markets), a tennis match; plus, on both venues, a spread
and a total on the same line, and on Gamma one more total a half point off (it must stay
unpaired). Payloads are built as the venues send them and read by the worker's own
parsers; only ``match_markets`` (normalisation, blocking, pairing) is timed.

    .venv/bin/python bench/matching.py [N]        # default N = 5000

Prints the best of three wall times and what was paired against what was expected (the
generator knows every pair it listed on both venues).
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from worker.data.teams import LEAGUES, load_all
from worker.domain.leagues import League, info, three_way
from worker.engine.scanner.matcher import match_markets
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.normalize import NORMALISERS
from worker.venues.polymarket.parse import parse_events as parse_gamma

MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
FEES = {"exponent": 1, "rate": 0.03, "takerOnly": True, "rebateRate": 0.25}
GIVEN = ["Alex", "Boris", "Carla", "Dina", "Emil", "Fern", "Gael", "Hana", "Ivo", "Jana"]
SURNAMES = [f"{a}{b}ski" for a in ("Ko", "La", "Mo", "Ne", "Pa", "Ru", "Sa", "To") for b in ("bel", "dar", "vic", "nor")]


class Lister:
    """Builds both venues' payloads and counts the pairs it lists on both."""

    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.kalshi: list[dict[str, Any]] = []  # Kalshi events
        self.gamma: list[dict[str, Any]] = []  # Gamma events
        self.k_count = self.g_count = self.expected = 0
        self._id = 0

    def nid(self) -> int:
        self._id += 1
        return self._id

    def k_event(self, event: str, title: str, markets: list[tuple[str, str, float | None]]) -> None:
        self.kalshi.append({
            "event_ticker": event, "series_ticker": event.partition("-")[0], "title": title,
            "markets": [
                {"ticker": f"{event}-{sfx}", "event_ticker": event, "yes_sub_title": label, "no_sub_title": label,
                 "status": "active", "yes_bid_dollars": "0.45", "yes_ask_dollars": "0.47",
                 **({"floor_strike": line, "strike_type": "greater"} if line is not None else {})}
                for sfx, label, line in markets
            ],
        })
        self.k_count += len(markets)

    def g_market(self, slug: str, question: str, outcomes: list[str], smt: str, line: float | None = None) -> dict[str, Any]:
        i = self.nid()
        self.g_count += 1
        return {"id": str(i), "slug": slug, "question": question, "sportsMarketType": smt,
                "outcomes": json.dumps(outcomes), "outcomePrices": json.dumps(["0.5"] * len(outcomes)),
                "clobTokenIds": json.dumps([f"{i}0", f"{i}1"]), "feesEnabled": True, "feeSchedule": FEES,
                "active": True, "closed": False, "enableOrderBook": True, **({"line": line} if line is not None else {})}

    def g_event(self, slug: str, title: str, markets: list[dict[str, Any]]) -> None:
        self.gamma.append({"id": str(self.nid()), "slug": slug, "title": title, "markets": markets})


def _team_game(lister: Lister, league: str, a: Any, h: Any, d: date) -> None:
    """A two-team or soccer game, with a spread and a total on both venues."""
    kal = f"{d:%y}{MON[d.month - 1]}{d:%d}"
    code = info(League(league)).kalshi_code
    soccer = three_way(league)
    first, second = (h, a) if soccer else (a, h)  # soccer lists the home club first
    glued = f"{first.kalshi_code}{second.kalshi_code}"
    game = f"KX{code}GAME-{kal}{glued}"
    slug = f"{league if league not in ('ncaaf', 'ncaab') else {'ncaaf': 'cfb', 'ncaab': 'cbb'}[league]}-{first.polymarket_code}-{second.polymarket_code}-{d.isoformat()}"
    title = f"{first.full_name} vs. {second.full_name}"
    rnd = lister.rnd
    if soccer:
        lister.k_event(game, f"{first.kalshi_name} vs {second.kalshi_name}", [
            (a.kalshi_code, a.kalshi_name, None), (h.kalshi_code, h.kalshi_name, None), ("TIE", "Tie", None)])
        lister.g_event(slug, title, [
            lister.g_market(f"{slug}-{h.polymarket_code}", f"Will {h.full_name} win on {d.isoformat()}?", ["Yes", "No"], "moneyline"),
            lister.g_market(f"{slug}-draw", f"Will {title} end in a draw?", ["Yes", "No"], "moneyline"),
            lister.g_market(f"{slug}-{a.polymarket_code}", f"Will {a.full_name} win on {d.isoformat()}?", ["Yes", "No"], "moneyline"),
        ])
        lister.expected += 3
    else:
        lister.k_event(game, f"{a.kalshi_name} at {h.kalshi_name}", [
            (a.kalshi_code, a.kalshi_name, None), (h.kalshi_code, h.kalshi_name, None)])
        outs = [a.full_name, h.full_name]
        rnd.shuffle(outs)
        lister.g_event(slug, title, [lister.g_market(slug, title, outs, "moneyline")])
        lister.expected += 2
    spread = rnd.randint(1, 9) + 0.5
    total = rnd.randint(3, 200) + 0.5
    fav = rnd.choice((a, h))
    other = h if fav is a else a
    lister.k_event(f"KX{code}SPREAD-{kal}{glued}", f"{title}: Spread", [
        (f"{fav.kalshi_code}{int(spread + 0.5)}", f"{fav.kalshi_name} wins by over {spread} points", spread)])
    lister.k_event(f"KX{code}TOTAL-{kal}{glued}", f"{title}: Total", [(f"{int(total + 0.5)}", f"Over {total} points scored", total)])
    lister.g_event(slug, title, [
        lister.g_market(f"{slug}-spread-home-{int(spread)}pt5", f"Spread: {fav.full_name} (-{spread})", [fav.full_name, other.full_name], "spreads", -spread),
        lister.g_market(f"{slug}-total-{int(total)}pt5", f"{title}: O/U {total}", ["Over", "Under"], "totals", total),
        lister.g_market(f"{slug}-total-{int(total) + 1}pt0", f"{title}: O/U {total + 0.5}", ["Over", "Under"], "totals", total + 0.5),
    ])
    lister.expected += 2


def _match(lister: Lister, tour: str, d: date) -> None:
    rnd = lister.rnd
    p1, p2 = rnd.sample([(g, s) for g in GIVEN for s in SURNAMES], 2)
    names = [f"{g} {s}" for g, s in (p1, p2)]
    codes = [s[:3].upper() for _, s in (p1, p2)]
    if codes[0] == codes[1]:
        codes[1] = codes[1][:2] + "X"
    event = f"KX{tour.upper()}MATCH-{d:%y}{MON[d.month - 1]}{d:%d}{codes[0]}{codes[1]}"
    lister.k_event(event, f"{names[0]} vs {names[1]}", [(codes[0], names[0], None), (codes[1], names[1], None)])
    slug = f"{tour}-{p2[1][:7].lower()}-{p1[1][:7].lower()}-{d.isoformat()}"
    lister.g_event(slug, f"Open: {names[1]} vs {names[0]}", [
        lister.g_market(slug, f"Open: {names[1]} vs {names[0]}", [names[1], f"{p1[0][0]}. {p1[1]}"], "moneyline")])
    lister.expected += 2


def generate(n: int, seed: int = 7) -> tuple[list[Any], list[Any], int]:
    """About ``n`` markets on each venue; the markets and the number of pairs listed."""
    lister = Lister(seed)
    tables = load_all()
    day0 = date(2026, 1, 1)
    used: set[tuple[str, date, str]] = set()
    while lister.k_count < n:
        league = lister.rnd.choice((*LEAGUES, "atp", "wta"))
        d = day0 + timedelta(days=lister.rnd.randrange(365))
        if league in ("atp", "wta"):
            _match(lister, league, d)
            continue
        a, h = lister.rnd.sample(tables[league].teams, 2)
        if (league, d, a.id) in used or (league, d, h.id) in used:
            continue
        used |= {(league, d, a.id), (league, d, h.id)}
        _team_game(lister, league, a, h, d)
    kalshi, _ = parse_kalshi({"events": lister.kalshi})
    poly = parse_gamma(lister.gamma)
    return kalshi, poly, lister.expected


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    kalshi, poly, expected = generate(n)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        result = match_markets(kalshi, poly, NORMALISERS)
        best = min(best, time.perf_counter() - t0)
    kinds: dict[str, int] = {}
    for m in result.mappings:
        kind = m.proposition.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"matching {len(kalshi)} kalshi x {len(poly)} polymarket markets: best of 3 = {best:.3f} s")
    print(
        f"pairs listed on both venues={expected} mappings={len(result.mappings)} by kind={dict(sorted(kinds.items()))} "
        f"refused={len(result.refused)} unmatched={len(result.unmatched)}"
    )
    print(f"at {datetime.now(UTC).isoformat(timespec='seconds')}")


if __name__ == "__main__":
    main()
