"""The paper world's second schedule: MLB and EPL games with spread and total markets
(``EXECUTOR_PAPER_LEAGUES``), beside the NBA/NFL/NHL stream of :mod:`paper_exchange.world`.

A separate seeded stream (``random.Random(f"{seed}:extra:{k}")``, game indices from
:data:`EXTRA_BASE`): turning it on leaves every game, ticker, slug, token and book of the
NBA/NFL/NHL stream as it was. With the default leagues the exchange runs the plain
:class:`~paper_exchange.world.World` and nothing here is used.

Each game has a final score (consistent with its winner; an EPL game can end level) and
every market resolves by its proposition: a team's win, the draw, a spread (the team's
margin over the line), a total (over the line). Gamma's lines are half points only (as
Polymarket's sports oracle creates them); the NBA and NFL games also list one Kalshi
total on a whole number (``…-total-N-whole``: over N, which a score can land on: Kalshi
settles that NO), half a point off Gamma's nearest line, which the worker refuses.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any
from zoneinfo import ZoneInfo

from paper_exchange.teams import league_timezone, load_teams
from paper_exchange.world import (
    CENT,
    HALF_CENT,
    ONE,
    VENUES,
    Game,
    _pt5,
)

DEFAULT_LEAGUES = ("nba", "nfl", "nhl")
EXTRA_LEAGUES = ("mlb", "epl")
ALL_LEAGUES = DEFAULT_LEAGUES + EXTRA_LEAGUES
#: Game indices of the second stream start here (the first stream's never reach it).
EXTRA_BASE = 100_000
EXTRA_FIRST = timedelta(minutes=35)
EXTRA_SPACING = timedelta(minutes=90)
#: First-stream leagues whose games the second stream also lists, with Kalshi's lines (on
#: dates their teams have no first-stream game), when they are named too.
LINE_LEAGUES = ("nba", "nfl")
DURATION = {
    "mlb": timedelta(hours=3),
    "epl": timedelta(hours=1, minutes=55),
    "nba": timedelta(hours=2, minutes=30),
    "nfl": timedelta(hours=3, minutes=15),
}
SPORT = {"mlb": "baseball", "epl": "soccer", "nba": "basketball", "nfl": "football"}
UNIT = {"mlb": "runs", "epl": "goals", "nba": "points", "nfl": "points"}
SD_MARGIN = {"mlb": 4.2, "epl": 1.6, "nba": 12.0, "nfl": 13.0}
SD_TOTAL = {"mlb": 4.4, "epl": 1.6, "nba": 15.0, "nfl": 13.0}
DOUBLEHEADER_P = 1 / 15
DOUBLEHEADER_GAP = timedelta(hours=3, minutes=30)
ET = ZoneInfo("America/New_York")
HALF = Decimal("0.5")
_N = NormalDist()


def paper_leagues(raw: str | None) -> frozenset[str]:
    """``EXECUTOR_PAPER_LEAGUES``: a comma list of leagues, or ``all``; default nba,nfl,nhl."""
    text = (raw or "").strip().lower()
    if not text:
        return frozenset(DEFAULT_LEAGUES)
    if text == "all":
        return frozenset(ALL_LEAGUES)
    names = {p.strip() for p in text.split(",") if p.strip()}
    unknown = sorted(names - set(ALL_LEAGUES))
    if unknown:
        raise ValueError(f"EXECUTOR_PAPER_LEAGUES: unknown league(s) {', '.join(unknown)} (known: {', '.join(ALL_LEAGUES)}, or all)")
    return frozenset(names)


@dataclass(frozen=True)
class ExtraGame(Game):
    """A game of the second stream. Market kinds (``ListedMarket.kind``) name propositions:
    Kalshi ``k-home``/``k-away``/``k-draw``/``k-spread-home-7``/``k-total-8`` (line n.5),
    Gamma ``moneyline`` (YES = outcome 0, the away team), ``home``/``draw``/``away`` (Yes),
    ``spread-away-1``, ``total-8``; Polymarket US ``aec`` (long side) and ``total``."""

    game_number: int | None = None
    home_score: int = 0
    away_score: int = 0
    draw_prob: float = 0.0
    mean_margin: float = 0.0
    mean_total: float = 0.0
    kalshi_lines: tuple[str, ...] = ()
    gamma_lines: tuple[str, ...] = ()

    @property
    def soccer(self) -> bool:
        return self.league == "epl"

    @property
    def seq(self) -> int:
        return self.index - EXTRA_BASE

    @property
    def end(self) -> datetime:
        return self.start + DURATION[self.league]

    def progress(self, now: datetime) -> float:
        t = (now - self.start).total_seconds()
        if t <= 0 or self.cancelled:
            return 0.0
        return min(1.0, t / DURATION[self.league].total_seconds())

    def fair_home(self, now: datetime) -> float:
        t = (now - self.start).total_seconds()
        logit = math.log(self.home_win_prob / (1 - self.home_win_prob))
        for amp, period, phase in self.wobble:
            logit += amp * math.sin(2 * math.pi * t / period + phase)
        p = self.progress(now)
        if p > 0:
            target = 5.0 if self.home_score > self.away_score else -5.0
            logit = logit * (1 - p**2) + target * p**2
        return 1 / (1 + math.exp(-logit))

    def fair_draw(self, now: datetime) -> float:
        if not self.soccer:
            return 0.0
        p = self.progress(now)
        end = 0.99 if self.home_score == self.away_score else 0.005
        return self.draw_prob * (1 - p**2) + end * p**2

    # -- Kalshi -------------------------------------------------------------------------
    @property
    def kalshi_series(self) -> str:
        return f"KX{self.league.upper()}GAME"

    @property
    def kalshi_middle(self) -> str:
        """``26SEP231940CWSKC`` (MLB: US Eastern date, start, away+home, ``G2``),
        ``26OCT10ARSLEE`` (EPL: date, home+away) or ``26NOV29MEMMIL`` (date, away+home)."""
        et = self.start.astimezone(ET)
        stamp = f"{et:%y}{et.strftime('%b').upper()}{et:%d}"
        if self.soccer:
            return f"{stamp}{self.home.kalshi_code}{self.away.kalshi_code}"
        start = f"{et:%H%M}" if self.league == "mlb" else ""
        number = f"G{self.game_number}" if self.game_number else ""
        return f"{stamp}{start}{self.away.kalshi_code}{self.home.kalshi_code}{number}"

    @property
    def kalshi_event_ticker(self) -> str:
        return f"{self.kalshi_series}-{self.kalshi_middle}"

    def kalshi_event_of(self, kind: str) -> str:
        """The event ticker of a Kalshi market kind (the GAME, SPREAD or TOTAL event)."""
        part = "GAME" if kind in ("k-home", "k-away", "k-draw") else kind.split("-")[1].upper()
        return f"KX{self.league.upper()}{part}-{self.kalshi_middle}"

    def kalshi_ticker(self, home: bool) -> str:
        return self.kalshi_market_ticker("k-home" if home else "k-away")

    def kalshi_market_ticker(self, kind: str) -> str:
        what = self.proposition(kind)
        if what[0] == "win":
            suffix = (self.home if what[1] else self.away).kalshi_code
        elif what[0] == "draw":
            suffix = "TIE"
        elif what[0] == "spread":
            suffix = f"{(self.home if what[1] else self.away).kalshi_code}{what[2] + 1}"
        else:  # the line rounded up: over 44.5 is -45, over 44 (a whole number) is -44
            suffix = str(what[1] + (0 if _whole(kind) else 1))
        return f"{self.kalshi_event_of(kind)}-{suffix}"

    def kalshi_kinds(self) -> tuple[str, ...]:
        winners = ("k-home", "k-away", "k-draw") if self.soccer else ("k-away", "k-home")
        return winners + tuple(f"k-{line}" for line in self.kalshi_lines)

    # -- Polymarket (Gamma) -------------------------------------------------------------
    @property
    def gamma_slug(self) -> str:
        first, second = (self.home, self.away) if self.soccer else (self.away, self.home)
        return f"{self.league}-{first.poly_code}-{second.poly_code}-{self.local_date.isoformat()}"

    @property
    def gamma_event_id(self) -> str:
        return str(3_000_000 + self.seq * 10 + self.seed % 10)

    def gamma_kinds(self) -> tuple[str, ...]:
        winners = ("home", "draw", "away") if self.soccer else ("moneyline",)
        return winners + self.gamma_lines

    def gamma_market_id(self, kind: str) -> str:
        return str(9_000_000 + self.seq * 20 + self.gamma_kinds().index(kind))

    def gamma_outcomes(self, kind: str) -> tuple[str, str]:
        what = self.proposition(kind)
        if kind == "moneyline":
            return (self.away.poly_outcome, self.home.poly_outcome)
        if what[0] in ("win", "draw"):
            return ("Yes", "No")
        if what[0] == "spread":
            named, other = (self.home, self.away) if what[1] else (self.away, self.home)
            return (named.poly_outcome, other.poly_outcome)
        return ("Over", "Under")

    def gamma_market_slug(self, kind: str) -> str:
        what = self.proposition(kind)
        if kind == "moneyline":
            return self.gamma_slug
        if what[0] == "win":
            return f"{self.gamma_slug}-{(self.home if what[1] else self.away).poly_code}"
        if what[0] == "draw":
            return f"{self.gamma_slug}-draw"
        if what[0] == "spread":
            return f"{self.gamma_slug}-spread-{'home' if what[1] else 'away'}-{_pt5(what[2])}"
        return f"{self.gamma_slug}-total-{_pt5(what[1])}"

    # -- Polymarket US ------------------------------------------------------------------
    @property
    def pmus_event_id(self) -> str:
        return str(600_000 + self.seq * 10 + self.seed % 7)

    # -- propositions and their settlement ----------------------------------------------
    def proposition(self, kind: str) -> tuple[Any, ...]:
        """``("win", home?)``, ``("draw",)``, ``("spread", home?, n)`` (wins by more than
        n.5) or ``("total", n)`` (over n.5) of a market kind. Scores are whole numbers, so
        Kalshi's whole-number ``total-n-whole`` (more than n) is ``("total", n)`` too: only
        its line and ticker differ."""
        k = kind.removeprefix("k-")
        if k in ("home", "away"):
            return ("win", k == "home")
        if k == "moneyline":
            return ("win", False)
        if k == "aec":
            return ("win", self.pmus_long_is_home)
        if k == "draw":
            return ("draw",)
        if k == "total":
            return ("total", self.total_line)
        parts = k.split("-")
        if parts[0] == "spread":
            return ("spread", parts[1] == "home", int(parts[2]))
        return ("total", int(parts[1]))

    def line_of(self, kind: str) -> Decimal:
        what = self.proposition(kind)
        return Decimal(what[-1]) + (0 if _whole(kind) else HALF)

    def home_settlement(self) -> Decimal:
        if self.cancelled:
            return HALF
        return ONE if self.home_score > self.away_score else Decimal(0)

    def final_score(self, home_settlement: Decimal, drawn: bool = False) -> tuple[int, int]:
        """The score a resolution stands for: the game's own, unless the control API
        resolved it the other way (then the winner's side gets the higher score, or both
        the lower one for a draw)."""
        h, a = self.home_score, self.away_score
        if drawn:
            return min(h, a), min(h, a)
        if home_settlement == ONE and h <= a:
            return max(h, a) + 1, min(h, a)
        if home_settlement == 0 and h > a:
            return a, h
        return h, a

    def yes_value(self, kind: str, home_settlement: Decimal, drawn: bool = False) -> Decimal:
        """What the YES side of the market ``kind`` pays at resolution (0.5 if cancelled)."""
        if home_settlement == HALF:
            return HALF
        h, a = self.final_score(home_settlement, drawn)
        what = self.proposition(kind)
        if what[0] == "win":
            won = h > a if what[1] else a > h
        elif what[0] == "draw":
            won = h == a
        elif what[0] == "spread":
            won = ((h - a) if what[1] else (a - h)) > what[2]
        else:
            won = h + a > what[1]
        return ONE if won else Decimal(0)

    # -- quotes -------------------------------------------------------------------------
    def yes_prob(self, kind: str, venue: str, now: datetime) -> float:
        """The probability a venue's YES quotes centre on (simulation state, not money)."""
        what = self.proposition(kind)
        p_home = self.venue_home_prob(venue, now)
        noise = p_home - self.fair_home(now)  # the venue's bias, wobble and any window
        if what[0] in ("win", "draw"):
            t = now.timestamp()
            p_draw = min(0.97, self.fair_draw(now) + (0.004 * math.sin(t / 31 + self.index) if self.soccer else 0))
            if p_home + p_draw > 0.985:
                p_home = max(0.005, 0.985 - p_draw)
            p_away = 1 - p_home - p_draw
            if venue == "kalshi" and not self.soccer:
                p_away += 0.004 * math.sin(t / 23 + self.index)
            value = p_draw if what[0] == "draw" else p_home if what[1] else p_away
        else:
            p = self.progress(now)
            if what[0] == "spread":
                mean = self.mean_margin * (1 - p) + (self.home_score - self.away_score) * p
                sd = self.sd("margin", p)
                line = what[2] + 0.5
                value = 1 - _N.cdf((line - mean) / sd) if what[1] else _N.cdf((-line - mean) / sd)
                noise = noise if what[1] else -noise
            else:
                mean = self.mean_total * (1 - p) + (self.home_score + self.away_score) * p
                value = 1 - _N.cdf((what[1] + 0.5 - mean) / self.sd("total", p))
            value += noise
        return min(0.985, max(0.015, value))

    def sd(self, which: str, progress: float) -> float:
        base = (SD_MARGIN if which == "margin" else SD_TOTAL)[self.league]
        return base * math.sqrt(max(1 - progress, 0.01))


def _venues(rng: random.Random, league: str) -> frozenset[str]:
    r = rng.random()
    if league == "epl":
        return frozenset({"kalshi", "polymarket"}) if r < 0.92 else frozenset({"kalshi"})
    if r < 0.80:
        return frozenset(VENUES)
    if r < 0.92:
        return frozenset({"kalshi", "polymarket"})
    return frozenset({"kalshi", "polymarket_us"})


def _score(rng: random.Random, league: str, outcome: str) -> tuple[int, int]:
    """(home, away) consistent with ``outcome`` (home, away or draw)."""
    if league == "epl":
        if outcome == "draw":
            k = rng.choice((0, 1, 1, 1, 2, 2, 3))
            return k, k
        loser, margin = rng.choice((0, 0, 0, 1, 1, 2)), rng.choice((1, 1, 1, 2, 2, 3))
    elif league == "nba":
        loser, margin = rng.randint(92, 122), 1 + min(int(rng.expovariate(0.11)), 35)
    elif league == "nfl":
        loser = rng.choice((3, 6, 7, 10, 13, 14, 16, 17, 20, 21, 23, 24, 27))
        margin = rng.choice((1, 2, 3, 3, 4, 6, 7, 7, 8, 10, 11, 14, 17, 21))
    else:
        loser, margin = rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6)), 1 + min(int(rng.expovariate(0.45)), 9)
    return (loser + margin, loser) if outcome == "home" else (loser, loser + margin)


def make_extra(
    seed: int, k: int, epoch: datetime, leagues: tuple[str, ...], busy: set[tuple[str, date, str]], first_index: int,
    taken: Collection[tuple[str, date, str]] = (), pairs: Collection[tuple[str, date, frozenset[str]]] = (),
) -> list[ExtraGame]:
    """Slot ``k`` of the second stream: one game, or an MLB doubleheader's two. ``busy``
    (updated) and ``taken`` (the first stream's) are the teams already playing on a date;
    ``pairs`` the games (both streams') by date and teams: the same two teams never meet
    on consecutive dates (a matcher's one-day date tolerance could pair them)."""
    rng = random.Random(f"{seed}:extra:{k}")
    league = leagues[k % len(leagues)]
    start = epoch + EXTRA_FIRST + EXTRA_SPACING * k + timedelta(minutes=5 * rng.randint(0, 3))
    tz = league_timezone(league)
    if league == "epl" and start.astimezone(tz).hour < 6:
        # A London kick-off after midnight would be on another US Eastern date (Kalshi's).
        start += timedelta(hours=6)
    day = start.astimezone(tz).date()
    teams = load_teams(league)
    free = [t for t in teams if (league, day, t.id) not in busy and (league, day, t.id) not in taken]
    for _ in range(50):
        home, away = rng.sample(free if len(free) >= 2 else list(teams), 2)
        both = frozenset({home.id, away.id})
        if not any((league, day + timedelta(days=d), both) in pairs for d in (-1, 0, 1)):
            break
    busy.update({(league, day, home.id), (league, day, away.id)})
    venues = _venues(rng, league)
    if league == "epl":
        p_home = rng.uniform(0.25, 0.6)
        p_draw = rng.uniform(0.22, 0.3)
        r = rng.random()
        outcome = "home" if r < p_home else "draw" if r < p_home + p_draw else "away"
        c = rng.randint(2, 3)
        k_lines, g_lines = _lines(p_home >= 1 - p_home - p_draw, (1, 2), 3, (c - 1, c, c + 1), (c, c + 2))
        mean_margin = (p_home - (1 - p_home - p_draw)) * 2.2
        mean_total = c + rng.uniform(-0.2, 0.8)
    elif league in LINE_LEAGUES:
        p_home = min(0.85, max(0.15, rng.gauss(0.55, 0.15)))
        p_draw = 0.0
        outcome = "home" if rng.random() < p_home else "away"
        c = rng.randint(*((212, 236) if league == "nba" else (38, 50)))
        mean_margin = _N.inv_cdf(p_home) * SD_MARGIN[league]
        n = max(1, min(int(abs(mean_margin)), 12))
        k_lines, g_lines = _lines(p_home >= 0.5, (n, n + 1), n + 3, (c - 2, c, c + 2), (c, c + 3))
        k_lines += (f"total-{c + 4}-whole",)  # over c + 4: half a point off Gamma's c + 3.5
        mean_total = c + rng.uniform(-1.0, 1.5)
    else:
        p_home = min(0.75, max(0.25, rng.gauss(0.54, 0.1)))
        p_draw = 0.0
        outcome = "home" if rng.random() < p_home else "away"
        c = rng.randint(7, 9)
        k_lines, g_lines = _lines(p_home >= 0.5, (1, 2), 3, (c - 1, c, c + 1), (c, c + 2))
        mean_margin = _N.inv_cdf(p_home) * SD_MARGIN["mlb"]
        mean_total = c + rng.uniform(-0.4, 0.9)
    numbers: tuple[int | None, ...] = (None,)
    same_day = (start + DOUBLEHEADER_GAP).astimezone(ET).date() == start.astimezone(ET).date()
    if league == "mlb" and rng.random() < DOUBLEHEADER_P and same_day:
        # Both games on one date; not on Polymarket US (one ``aec-`` slug per date).
        numbers = (1, 2)
        venues = venues - {"polymarket_us"} or frozenset({"kalshi", "polymarket"})
    out = []
    for i, number in enumerate(numbers):
        if i:
            outcome = "home" if rng.random() < p_home else "away"
        h, a = _score(rng, league, outcome)
        out.append(
            ExtraGame(
                index=first_index + i,
                seed=seed,
                league=league,
                home=home,
                away=away,
                start=start + DOUBLEHEADER_GAP * i,
                venues=venues,
                home_win_prob=p_home,
                home_wins=h > a,
                cancelled=rng.random() < 0.03,
                total_line=c,
                spread_line=1,
                pmus_long_is_home=rng.random() < 0.5,
                pmus_tick=HALF_CENT if k % 4 == 3 else CENT,
                wobble=tuple(
                    (rng.uniform(0.04, 0.15), rng.uniform(40, 600), rng.uniform(0, 2 * math.pi)) for _ in range(3)
                ),
                venue_wobble={
                    v: (rng.uniform(0.003, 0.01), rng.uniform(15, 90), rng.uniform(0, 2 * math.pi)) for v in VENUES
                },
                venue_bias={v: rng.uniform(-0.008, 0.008) for v in VENUES},
                game_number=number,
                home_score=h,
                away_score=a,
                draw_prob=p_draw,
                mean_margin=mean_margin,
                mean_total=mean_total,
                kalshi_lines=k_lines,
                gamma_lines=g_lines,
            )
        )
    return out


def _lines(
    home_fav: bool, fav: tuple[int, ...], off: int,
    k_totals: tuple[int, ...], g_totals: tuple[int, ...],
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Kalshi's and Gamma's line kinds: the favourite's spreads ``fav`` and the
    underdog's first, totals ``k_totals`` on Kalshi; on Gamma the favourite's first spread
    and the totals ``g_totals``: the first spread and total are Kalshi's lines too, the
    spread ``off`` and the other total lie past Kalshi's ladder (one venue only)."""
    f, d = ("home", "away") if home_fav else ("away", "home")
    kalshi = tuple(f"spread-{f}-{n}" for n in fav) + (f"spread-{d}-{fav[0]}",) + tuple(f"total-{n}" for n in k_totals)
    gamma = (f"spread-{f}-{fav[0]}", f"spread-{f}-{off}") + tuple(f"total-{n}" for n in g_totals)
    return kalshi, gamma


def _whole(kind: str) -> bool:
    """A Kalshi line on a whole number (``k-total-44-whole``: more than 44)."""
    return kind.endswith("-whole")


def rotation(leagues: frozenset[str]) -> tuple[str, ...]:
    """The second stream's leagues in turn: MLB and EPL twice as often as NBA and NFL
    (those only with MLB or EPL named too); empty when it lists nothing."""
    base = tuple(lg for lg in EXTRA_LEAGUES if lg in leagues)
    return base * 2 + tuple(lg for lg in LINE_LEAGUES if lg in leagues) if base else ()
