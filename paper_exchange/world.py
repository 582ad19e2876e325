"""The paper world: teams, a seeded schedule of games, each venue's listing of them, and
price paths that drift around a fair probability with occasional cross-venue mispricings.

Everything here is a pure function of ``(seed, epoch, time)``: two exchanges started with
the same seed and epoch list the same games under the same tickers, slugs and token ids
and quote the same books at the same instant. The epoch is persisted by the exchange's
store, so a restart keeps the world (and every open position's market) where it was.

The latent fair probability is simulation state, not money: float, turned into prices only
by rounding to whole ticks, so every price and size that leaves here is an exact Decimal.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from paper_exchange.teams import ListedTeam, league_timezone, load_teams

LEAGUES = ("nba", "nfl", "nhl")
VENUES = ("kalshi", "polymarket", "polymarket_us")
KALSHI_SERIES = {"nba": "KXNBAGAME", "nfl": "KXNFLGAME", "nhl": "KXNHLGAME"}
SPORT_NAME = {"nba": "basketball", "nfl": "football", "nhl": "hockey"}
GAME_DURATION = {
    "nba": timedelta(hours=2, minutes=30),
    "nfl": timedelta(hours=3, minutes=15),
    "nhl": timedelta(hours=2, minutes=30),
}
TOTAL_LINES = {"nba": (205, 240), "nfl": (37, 52), "nhl": (5, 7)}
SPREAD_LINES = {"nba": (1, 12), "nfl": (1, 10), "nhl": (1, 2)}

#: Spacing of the schedule: one game every 80 minutes keeps ~54 games inside the 3-day
#: listing horizon, 18 of each league.
GAME_SPACING = timedelta(minutes=80)
FIRST_GAME_AFTER = timedelta(minutes=20)
LISTING_HORIZON = timedelta(days=3)
#: Resolved games stay listed (closed, settled) for a day so a worker sees the outcome.
KEEP_RESOLVED = timedelta(days=1)
RESOLVE_DELAY = timedelta(minutes=5)
CANCELLED_RESOLVE_AFTER = timedelta(minutes=30)

#: Mispricing windows: each game gets one chance per slot.
WINDOW_SLOT_S = 90
WINDOW_PROBABILITY = 0.45
LEVELS = 5
SIZE_EPOCH_S = 5

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
ONE = Decimal("1")


def _hex(seed: int, *parts: object) -> str:
    return hashlib.sha256(":".join([str(seed), *map(str, parts)]).encode()).hexdigest()


def _token_id(seed: int, *parts: object) -> str:
    # A uint256 in decimal like Gamma's clobTokenIds; the top bits are set so that the
    # id is never mistaken for a protocol-v2 position id (which changes the EIP-712 domain).
    value = int(_hex(seed, "token", *parts), 16) | (1 << 255)
    return str(value)


def _pt5(x: int) -> str:
    return f"{x}pt5"


@dataclass(frozen=True, slots=True)
class ListedMarket:
    """One order book of the world, quoted in the price of its YES-like side.

    ``kind`` is ``kalshi_team`` (YES = ``team`` wins), ``moneyline`` (Polymarket, YES =
    outcome 0 token), ``aec`` (Polymarket US, YES = long side), or ``spread``/``total``
    (side markets that sit next to the moneyline and carry no arbitrage).
    """

    key: str
    venue: str
    game_index: int
    kind: str
    tick: Decimal
    #: For winner markets: the YES side is "home wins" (True) or "away wins" (False).
    yes_is_home: bool = True
    #: A recorded market's listed taker rate and exponent (None: the venue's standard).
    fee_rate: Decimal | None = None
    fee_exponent: int | None = None


@dataclass(frozen=True, slots=True)
class Instrument:
    """What an order names (a Kalshi ticker, a Polymarket token id, a Polymarket US slug):
    a book plus whether the instrument is that book's mirror (the complementary token)."""

    id: str
    venue: str
    market_key: str
    mirrored: bool
    label: str


@dataclass(frozen=True)
class Game:
    """A scheduled game and every identifier each venue lists it under."""

    index: int
    seed: int
    league: str
    home: ListedTeam
    away: ListedTeam
    start: datetime
    venues: frozenset[str]
    home_win_prob: float
    home_wins: bool
    cancelled: bool
    total_line: int
    spread_line: int
    pmus_long_is_home: bool
    pmus_tick: Decimal
    wobble: tuple[tuple[float, float, float], ...] = field(repr=False)
    venue_wobble: dict[str, tuple[float, float, float]] = field(repr=False)
    venue_bias: dict[str, float] = field(repr=False)

    @property
    def game_id(self) -> str:
        return f"{self.league}-{self.index:05d}"

    @property
    def local_date(self) -> date:
        return self.start.astimezone(league_timezone(self.league)).date()

    @property
    def end(self) -> datetime:
        return self.start + GAME_DURATION[self.league]

    @property
    def resolve_at(self) -> datetime:
        if self.cancelled:
            return self.start + CANCELLED_RESOLVE_AFTER
        return self.end + RESOLVE_DELAY

    # -- Kalshi -------------------------------------------------------------------------
    @property
    def kalshi_series(self) -> str:
        return KALSHI_SERIES[self.league]

    @property
    def kalshi_event_ticker(self) -> str:
        d = self.local_date
        stamp = f"{d:%y}{d.strftime('%b').upper()}{d:%d}"
        return f"{self.kalshi_series}-{stamp}{self.away.kalshi_code}{self.home.kalshi_code}"

    def kalshi_ticker(self, home: bool) -> str:
        team = self.home if home else self.away
        return f"{self.kalshi_event_ticker}-{team.kalshi_code}"

    # -- Polymarket (Gamma / CLOB) ------------------------------------------------------
    @property
    def gamma_slug(self) -> str:
        return f"{self.league}-{self.away.poly_code}-{self.home.poly_code}-{self.local_date.isoformat()}"

    @property
    def gamma_event_id(self) -> str:
        return str(200000 + self.index * 10 + self.seed % 10)

    def gamma_market_id(self, kind: str) -> str:
        offset = {"moneyline": 0, "spread": 1, "total": 2}[kind]
        return str(800000 + self.index * 10 + offset * 3 + self.seed % 3)

    def condition_id(self, kind: str) -> str:
        return "0x" + _hex(self.seed, "condition", self.index, kind)

    def token_ids(self, kind: str) -> tuple[str, str]:
        """(outcome 0 token, outcome 1 token) of a Gamma market."""
        return (
            _token_id(self.seed, self.index, kind, 0),
            _token_id(self.seed, self.index, kind, 1),
        )

    def gamma_outcomes(self, kind: str) -> tuple[str, str]:
        if kind == "moneyline":
            return (self.away.poly_outcome, self.home.poly_outcome)
        if kind == "spread":
            return (self.home.poly_outcome, self.away.poly_outcome)
        return ("Over", "Under")

    def gamma_market_slug(self, kind: str) -> str:
        if kind == "moneyline":
            return self.gamma_slug
        if kind == "spread":
            return f"{self.gamma_slug}-spread-home-{_pt5(self.spread_line)}"
        return f"{self.gamma_slug}-total-{_pt5(self.total_line)}"

    # -- Polymarket US ------------------------------------------------------------------
    @property
    def pmus_event_slug(self) -> str:
        return f"{self.league}-{self.away.pmus_code}-{self.home.pmus_code}-{self.local_date.isoformat()}"

    @property
    def pmus_winner_slug(self) -> str:
        return f"aec-{self.pmus_event_slug}"

    @property
    def pmus_total_slug(self) -> str:
        return f"tsc-{self.pmus_event_slug}-{_pt5(self.total_line)}"

    @property
    def pmus_event_id(self) -> str:
        return str(500000 + self.index * 10 + self.seed % 7)

    # -- status -------------------------------------------------------------------------
    def phase(self, now: datetime) -> str:
        """``scheduled`` → ``live`` → ``final`` → ``resolved`` (or ``postponed`` for a
        cancelled game between its start and its 50-50 resolution)."""
        if now < self.start:
            return "scheduled"
        if self.cancelled:
            return "resolved" if now >= self.resolve_at else "postponed"
        if now < self.end:
            return "live"
        if now < self.resolve_at:
            return "final"
        return "resolved"

    def tradable(self, now: datetime) -> bool:
        return self.phase(now) in ("scheduled", "live")

    def home_settlement(self) -> Decimal:
        """What one "home wins" contract pays at resolution: 1, 0 or 0.5 (cancelled)."""
        if self.cancelled:
            return Decimal("0.5")
        return ONE if self.home_wins else Decimal(0)

    # -- the latent fair probability ----------------------------------------------------
    def fair_home(self, now: datetime) -> float:
        """Fair probability that home wins at ``now`` (simulation state, not money)."""
        t = (now - self.start).total_seconds()
        base = math.log(self.home_win_prob / (1 - self.home_win_prob))
        logit = base
        for amp, period, phase in self.wobble:
            logit += amp * math.sin(2 * math.pi * t / period + phase)
        if t > 0 and not self.cancelled:
            dur = GAME_DURATION[self.league].total_seconds()
            progress = min(1.0, t / dur)
            target = 5.0 if self.home_wins else -5.0
            # In play the price walks toward the known outcome, faster near the end.
            logit = logit * (1 - progress**2) + target * progress**2
        return 1 / (1 + math.exp(-logit))

    def window(self, slot: int) -> tuple[float, float, str, float] | None:
        """The mispricing window of a slot, if any: (start s, end s, venue, shift)."""
        return _window(self.seed, self.index, slot, tuple(sorted(self.venues)))

    def venue_home_prob(self, venue: str, now: datetime) -> float:
        """The probability a venue's quotes centre on: fair + venue noise + any window."""
        p = self.fair_home(now)
        t = (now - self.start).total_seconds()
        amp, period, phase = self.venue_wobble[venue]
        p += self.venue_bias[venue] + amp * math.sin(2 * math.pi * t / period + phase)
        epoch_s = now.timestamp()
        slot = int(epoch_s // WINDOW_SLOT_S)
        for s in (slot - 1, slot):
            w = self.window(s)
            if w is None:
                continue
            w_start, w_end, w_venue, shift = w
            if w_venue == venue and w_start <= epoch_s < w_end:
                p += shift
        return min(0.985, max(0.015, p))


@lru_cache(maxsize=4096)
def _window(
    seed: int, index: int, slot: int, venues: tuple[str, ...]
) -> tuple[float, float, str, float] | None:
    if "kalshi" not in venues or len(venues) < 2:
        return None
    rng = random.Random(f"{seed}:window:{index}:{slot}")
    if rng.random() >= WINDOW_PROBABILITY:
        return None
    venue = rng.choices(["kalshi", "polymarket", "polymarket_us"], [0.4, 0.3, 0.3])[0]
    if venue not in venues:
        venue = "kalshi"
    start = slot * WINDOW_SLOT_S + rng.uniform(0, WINDOW_SLOT_S - 10)
    duration = rng.uniform(2.0, 8.0)
    shift = rng.uniform(0.06, 0.11) * rng.choice((-1, 1))
    return (start, start + duration, venue, shift)


def _make_game(seed: int, index: int, epoch: datetime, busy: set[tuple[str, date, str]]) -> Game:
    rng = random.Random(f"{seed}:game:{index}")
    league = LEAGUES[index % 3]
    jitter = timedelta(minutes=5 * rng.randint(0, 3))
    start = epoch + FIRST_GAME_AFTER + GAME_SPACING * index + jitter
    teams = load_teams(league)
    day = start.astimezone(league_timezone(league)).date()
    free = [t for t in teams if (league, day, t.id) not in busy]
    if len(free) < 2:
        free = list(teams)
    home, away = rng.sample(free, 2)
    busy.add((league, day, home.id))
    busy.add((league, day, away.id))
    r = rng.random()
    if r < 0.80:
        venues = frozenset(VENUES)
    elif r < 0.86:
        venues = frozenset({"kalshi", "polymarket"})
    elif r < 0.90:
        venues = frozenset({"kalshi", "polymarket_us"})
    elif r < 0.94:
        venues = frozenset({"kalshi"})
    elif r < 0.97:
        venues = frozenset({"polymarket"})
    else:
        venues = frozenset({"polymarket_us"})
    p = min(0.85, max(0.15, rng.gauss(0.55, 0.15)))
    lo, hi = TOTAL_LINES[league]
    slo, shi = SPREAD_LINES[league]
    return Game(
        index=index,
        seed=seed,
        league=league,
        home=home,
        away=away,
        start=start,
        venues=venues,
        home_win_prob=p,
        home_wins=rng.random() < p,
        cancelled=rng.random() < 0.03,
        total_line=rng.randint(lo, hi),
        spread_line=rng.randint(slo, shi),
        pmus_long_is_home=rng.random() < 0.5,
        pmus_tick=HALF_CENT if index % 4 == 3 else CENT,
        wobble=tuple(
            (rng.uniform(0.04, 0.15), rng.uniform(40, 600), rng.uniform(0, 2 * math.pi))
            for _ in range(3)
        ),
        venue_wobble={
            v: (rng.uniform(0.003, 0.01), rng.uniform(15, 90), rng.uniform(0, 2 * math.pi))
            for v in VENUES
        },
        venue_bias={v: rng.uniform(-0.008, 0.008) for v in VENUES},
    )


def floor_epoch(when: datetime) -> datetime:
    """World epochs are whole minutes in UTC."""
    return when.astimezone(UTC).replace(second=0, microsecond=0)


class World:
    """The seeded schedule, the venue listings and the quote model of every book."""

    def __init__(self, seed: int, epoch: datetime) -> None:
        if epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")
        self.seed = seed
        self.epoch = floor_epoch(epoch)
        self._games: list[Game] = []
        self._busy: set[tuple[str, date, str]] = set()
        self._markets: dict[str, ListedMarket] = {}
        self._instruments: dict[str, Instrument] = {}
        self._by_kalshi_event: dict[str, Game] = {}
        self._by_slug: dict[str, Game] = {}

    # -- schedule -----------------------------------------------------------------------
    def _extend_to(self, until: datetime) -> None:
        while True:
            index = len(self._games)
            nominal = self.epoch + FIRST_GAME_AFTER + GAME_SPACING * index
            if nominal > until:
                return
            game = _make_game(self.seed, index, self.epoch, self._busy)
            self._games.append(game)
            self._register(game)

    def game(self, index: int) -> Game:
        while index >= len(self._games):
            self._extend_to(self.epoch + FIRST_GAME_AFTER + GAME_SPACING * (index + 1))
        return self._games[index]

    def games(self, now: datetime) -> list[Game]:
        """Games listed at ``now``: starting within the horizon, or resolved less than a
        day ago."""
        self._extend_to(now + LISTING_HORIZON)
        return [
            g
            for g in self._games
            if g.start <= now + LISTING_HORIZON and g.resolve_at + KEEP_RESOLVED > now
        ]

    def all_games(self) -> list[Game]:
        """Every game generated so far (listed or not)."""
        return list(self._games)

    def _register(self, g: Game) -> None:
        if "kalshi" in g.venues:
            self._by_kalshi_event[g.kalshi_event_ticker] = g
            for home in (True, False):
                ticker = g.kalshi_ticker(home)
                self._markets[f"kalshi:{ticker}"] = ListedMarket(
                    f"kalshi:{ticker}", "kalshi", g.index, "kalshi_team", CENT, yes_is_home=home
                )
                self._instruments[ticker] = Instrument(
                    ticker, "kalshi", f"kalshi:{ticker}", False, ticker
                )
        if "polymarket" in g.venues:
            self._by_slug[g.gamma_slug] = g
            for kind in ("moneyline", "spread", "total"):
                cond = g.condition_id(kind)
                key = f"polymarket:{cond}"
                # Outcome 0 of the moneyline is the away team.
                self._markets[key] = ListedMarket(key, "polymarket", g.index, kind, CENT, yes_is_home=False)
                t0, t1 = g.token_ids(kind)
                o0, o1 = g.gamma_outcomes(kind)
                self._instruments[t0] = Instrument(t0, "polymarket", key, False, o0)
                self._instruments[t1] = Instrument(t1, "polymarket", key, True, o1)
        if "polymarket_us" in g.venues:
            self._by_slug[g.pmus_event_slug] = g
            slug = g.pmus_winner_slug
            key = f"polymarket_us:{slug}"
            self._markets[key] = ListedMarket(
                key, "polymarket_us", g.index, "aec", g.pmus_tick, yes_is_home=g.pmus_long_is_home
            )
            self._instruments[slug] = Instrument(slug, "polymarket_us", key, False, slug)
            tslug = g.pmus_total_slug
            tkey = f"polymarket_us:{tslug}"
            self._markets[tkey] = ListedMarket(tkey, "polymarket_us", g.index, "total", g.pmus_tick)
            self._instruments[tslug] = Instrument(tslug, "polymarket_us", tkey, False, tslug)

    def ensure(self, now: datetime) -> None:
        self._extend_to(now + LISTING_HORIZON)

    def instrument(self, instrument_id: str) -> Instrument | None:
        return self._instruments.get(instrument_id)

    def market(self, key: str) -> ListedMarket | None:
        return self._markets.get(key)

    def markets(self) -> list[ListedMarket]:
        return list(self._markets.values())

    def game_of(self, market: ListedMarket) -> Game:
        return self._games[market.game_index]

    def game_by_kalshi_event(self, event_ticker: str) -> Game | None:
        return self._by_kalshi_event.get(event_ticker)

    def game_by_slug(self, slug: str) -> Game | None:
        return self._by_slug.get(slug)

    # -- quotes -------------------------------------------------------------------------
    def yes_mid(self, market: ListedMarket, now: datetime) -> float:
        g = self._games[market.game_index]
        if market.kind in ("spread", "total"):
            t = now.timestamp()
            return 0.5 + 0.03 * math.sin(t / 300 + g.index)
        p_home = g.venue_home_prob(market.venue, now)
        if market.venue == "kalshi" and not market.yes_is_home:
            # Kalshi's two team markets are separate books; the away one carries its own
            # small noise so YES(home) + YES(away) is not exactly 1.
            p_home += 0.004 * math.sin(now.timestamp() / 23 + g.index)
        return p_home if market.yes_is_home else 1 - p_home

    def base_levels(
        self, market: ListedMarket, now: datetime
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The simulated market makers' bids and asks (best first) before any liquidity
        taken by paper orders; empty when the market is not trading."""
        g = self._games[market.game_index]
        if not g.tradable(now):
            return [], []
        tick = market.tick
        n_ticks = int(ONE / tick)
        mid = self.yes_mid(market, now)
        # Integer ticks: the bid sits one tick under the mid, the ask one tick over.
        mid_ticks = mid * n_ticks
        bid_t = math.floor(mid_ticks - 0.5)
        ask_t = bid_t + 2
        size_epoch = int(now.timestamp() // SIZE_EPOCH_S)
        bids: list[tuple[Decimal, Decimal]] = []
        asks: list[tuple[Decimal, Decimal]] = []
        for i in range(LEVELS):
            bt = bid_t - i
            if 1 <= bt <= n_ticks - 1:
                bids.append((tick * bt, _size(market.key, "b", i, size_epoch)))
            at = ask_t + i
            if 1 <= at <= n_ticks - 1:
                asks.append((tick * at, _size(market.key, "a", i, size_epoch)))
        return bids, asks


def _size(key: str, side: str, level: int, size_epoch: int) -> Decimal:
    h = int(hashlib.blake2b(f"{key}:{side}:{level}:{size_epoch}".encode(), digest_size=4).hexdigest(), 16)
    # Deeper levels are thicker, as on a real book.
    return Decimal(20 + (level + 1) * 30 + h % 250)
