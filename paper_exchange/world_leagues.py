"""The world of ``EXECUTOR_PAPER_LEAGUES``: the seeded NBA/NFL/NHL :class:`World` plus the
second stream of :mod:`paper_exchange.world_extra` (MLB, EPL, spreads and totals), and the
matching engine that settles the second stream's markets by their propositions."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

from paper_exchange.matching import PaperExchange
from paper_exchange.world import (
    CENT,
    KEEP_RESOLVED,
    LEVELS,
    LISTING_HORIZON,
    ONE,
    SIZE_EPOCH_S,
    Game,
    Instrument,
    ListedMarket,
    World,
    _size,
)
from paper_exchange.world_extra import (
    EXTRA_BASE,
    EXTRA_FIRST,
    EXTRA_LEAGUES,
    EXTRA_SPACING,
    ExtraGame,
    make_extra,
    rotation,
)


class LeaguesWorld(World):
    """The seeded :class:`World` plus the second stream of ``leagues`` (MLB, EPL)."""

    def __init__(self, seed: int, epoch: datetime, leagues: frozenset[str]) -> None:
        super().__init__(seed, epoch)
        self.extra_leagues = rotation(leagues)
        self._extra: list[ExtraGame] = []
        self._extra_busy: set[tuple[str, date, str]] = set()
        #: (league, local date, the two team ids) of every game of both streams.
        self._pairs: set[tuple[str, date, frozenset[str]]] = set()
        self._paired_first = 0
        self._extra_slots = 0
        self._kalshi_extra_events: dict[str, ExtraGame] = {}

    def _extend_to(self, until: datetime) -> None:
        super()._extend_to(until)
        while self.extra_leagues and self.epoch + EXTRA_FIRST + EXTRA_SPACING * self._extra_slots <= until:
            self._add_slot()

    def _add_slot(self) -> None:
        # The first stream's games of the slot's dates exist first: their teams are taken.
        nominal = self.epoch + EXTRA_FIRST + EXTRA_SPACING * self._extra_slots
        super()._extend_to(nominal + timedelta(hours=60))
        for g in self._games[self._paired_first :]:
            self._pairs.add((g.league, g.local_date, frozenset({g.home.id, g.away.id})))
        self._paired_first = len(self._games)
        games = make_extra(
            self.seed, self._extra_slots, self.epoch, self.extra_leagues, self._extra_busy,
            EXTRA_BASE + len(self._extra), self._busy, self._pairs,
        )
        self._extra_slots += 1
        for g in games:
            self._pairs.add((g.league, g.local_date, frozenset({g.home.id, g.away.id})))
            self._extra.append(g)
            self._register_extra(g)

    def _register_extra(self, g: ExtraGame) -> None:
        if "kalshi" in g.venues:
            for kind in g.kalshi_kinds():
                ticker = g.kalshi_market_ticker(kind)
                self._kalshi_extra_events.setdefault(g.kalshi_event_of(kind), g)
                key = f"kalshi:{ticker}"
                what = g.proposition(kind)
                home = bool(what[1]) if what[0] in ("win", "spread") else True
                self._markets[key] = ListedMarket(key, "kalshi", g.index, kind, CENT, yes_is_home=home)
                self._instruments[ticker] = Instrument(ticker, "kalshi", key, False, ticker)
        if "polymarket" in g.venues:
            for kind in g.gamma_kinds():
                key = f"polymarket:{g.condition_id(kind)}"
                self._markets[key] = ListedMarket(key, "polymarket", g.index, kind, CENT, yes_is_home=False)
                t0, t1 = g.token_ids(kind)
                o0, o1 = g.gamma_outcomes(kind)
                self._instruments[t0] = Instrument(t0, "polymarket", key, False, o0)
                self._instruments[t1] = Instrument(t1, "polymarket", key, True, o1)
        if "polymarket_us" in g.venues:
            for slug, kind in ((g.pmus_winner_slug, "aec"), (g.pmus_total_slug, "total")):
                key = f"polymarket_us:{slug}"
                home = g.pmus_long_is_home if kind == "aec" else True
                self._markets[key] = ListedMarket(key, "polymarket_us", g.index, kind, g.pmus_tick, yes_is_home=home)
                self._instruments[slug] = Instrument(slug, "polymarket_us", key, False, slug)

    def extra_game(self, index: int) -> ExtraGame:
        while self.extra_leagues and index - EXTRA_BASE >= len(self._extra):
            self._add_slot()
        return self._extra[index - EXTRA_BASE]

    def game(self, index: int) -> Game:
        return self.extra_game(index) if index >= EXTRA_BASE else super().game(index)

    def games(self, now: datetime) -> list[Game]:
        listed = super().games(now)
        horizon = now + LISTING_HORIZON
        return listed + [g for g in self._extra if g.start <= horizon and g.resolve_at + KEEP_RESOLVED > now]

    def all_games(self) -> list[Game]:
        return super().all_games() + list(self._extra)

    def game_of(self, market: ListedMarket) -> Game:
        if market.game_index >= EXTRA_BASE:
            return self._extra[market.game_index - EXTRA_BASE]
        return super().game_of(market)

    def game_by_kalshi_event(self, event_ticker: str) -> Game | None:
        return super().game_by_kalshi_event(event_ticker) or self._kalshi_extra_events.get(event_ticker)

    def yes_mid(self, market: ListedMarket, now: datetime) -> float:
        g = self.game_of(market)
        if isinstance(g, ExtraGame):
            return g.yes_prob(market.kind, market.venue, now)
        return super().yes_mid(market, now)

    def base_levels(
        self, market: ListedMarket, now: datetime
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        if market.game_index < EXTRA_BASE:
            return super().base_levels(market, now)
        if not self.game_of(market).tradable(now):
            return [], []
        # The same makers as the first stream's (World.base_levels).
        tick = market.tick
        n_ticks = int(ONE / tick)
        bid_t = math.floor(self.yes_mid(market, now) * n_ticks - 0.5)
        size_epoch = int(now.timestamp() // SIZE_EPOCH_S)
        bids = [(tick * (bid_t - i), _size(market.key, "b", i, size_epoch)) for i in range(LEVELS) if 1 <= bid_t - i <= n_ticks - 1]
        asks = [(tick * (bid_t + 2 + i), _size(market.key, "a", i, size_epoch)) for i in range(LEVELS) if 1 <= bid_t + 2 + i <= n_ticks - 1]
        return bids, asks


class LeaguesExchange(PaperExchange[World]):
    """The matching engine over a :class:`LeaguesWorld`: the second stream's markets
    settle by their propositions."""

    def settlement_price(self, market: ListedMarket, home_settlement: Decimal) -> Decimal:
        g = self.world.game_of(market)
        if isinstance(g, ExtraGame):
            drawn = self.store.get_meta(f"draw:{g.index}") == "1"
            return g.yes_value(market.kind, home_settlement, drawn=drawn)
        return super().settlement_price(market, home_settlement)


def build_world(seed: int, epoch: datetime, leagues: frozenset[str]) -> World:
    """The plain :class:`World` unless ``leagues`` names a league of the second stream."""
    if not any(lg in leagues for lg in EXTRA_LEAGUES):
        return World(seed, epoch)
    return LeaguesWorld(seed, epoch, leagues)


def exchange_class(world: World) -> type[PaperExchange[World]]:
    return LeaguesExchange if isinstance(world, LeaguesWorld) else PaperExchange
