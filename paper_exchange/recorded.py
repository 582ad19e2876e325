"""A world rebuilt from recorded listings and books, for replaying a recording through the
paper exchange's matching engine.

Where the seeded :class:`~paper_exchange.world.World` invents games and quotes them, a
:class:`RecordedWorld` is told: which markets exist (``add_market``, with their tick and
instruments), what each market's book is now (``set_book``, the YES-like side's levels as
they were recorded) and when a market stops trading (``close_market``). The matching engine
then fills orders against those books exactly as it fills them against simulated makers:
takers walk the levels, the depth they take stays gone for the refill time, FOK/IOC as on
the venues, each venue's fees.

It takes plain data only (strings, Decimals, tuples), so that the paper exchange still
imports nothing of the worker but its clock. Market keys follow the seeded world's
convention ``"<venue>:<id>"``, where for Kalshi and Polymarket US the id is also the one
instrument's id (the ticker, the slug): the engine's settlement finds instruments that way.

A recorded market has no known result: its game never falls due (``resolve_at`` is the end
of time). A replay that wants a market settled says so with ``PaperExchange.resolve(
world.game_of(market), yes_value)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from paper_exchange.world import Instrument, ListedMarket
from paper_exchange.world_port import Levels

#: A recorded market never falls due by itself.
NEVER = datetime.max.replace(tzinfo=UTC)
#: The seeded world's kind for a market whose YES side is "home wins" when settled: the
#: engine's ``settlement_price`` then pays the YES-like side the value it is resolved with.
KIND = "recorded"
VENUES = ("kalshi", "polymarket", "polymarket_us")


@dataclass
class RecordedGame:
    """The one market a recorded "game" stands for: open until closed."""

    index: int
    key: str
    #: Instrument ids of the market, the YES-like one first.
    instruments: tuple[str, ...]
    closed: bool = False

    @property
    def resolve_at(self) -> datetime:
        return NEVER

    def tradable(self, now: datetime) -> bool:
        return not self.closed

    def home_settlement(self) -> Decimal:
        raise LookupError(f"recorded market {self.key} has no known result; resolve it explicitly")

    def token_ids(self, kind: str) -> tuple[str, str]:
        if len(self.instruments) != 2:
            raise LookupError(f"recorded market {self.key} has no pair of tokens")
        return self.instruments[0], self.instruments[1]


class RecordedWorld:
    """Markets, instruments and books from a recording (see the module's docstring)."""

    def __init__(self) -> None:
        self._markets: dict[str, ListedMarket] = {}
        self._games: dict[str, RecordedGame] = {}
        self._instruments: dict[str, Instrument] = {}
        self._books: dict[str, tuple[Levels, Levels]] = {}

    # -- what the recording tells -------------------------------------------------------
    def add_market(
        self,
        key: str,
        venue: str,
        tick: Decimal,
        instruments: Sequence[tuple[str, bool, str]],
        fee_rate: Decimal | None = None,
        fee_exponent: int | None = None,
    ) -> ListedMarket:
        """Register (or reopen, or update the tick or fees of) a market.

        ``instruments`` are ``(instrument_id, mirrored, label)``: what an order names (a
        Kalshi ticker, a Polymarket token id, a Polymarket US slug) and whether it trades
        on the market's book mirrored (the complementary Polymarket token). A market keeps
        its book across a re-registration. ``fee_rate``/``fee_exponent``: the taker rate the
        market lists (None: the venue's standard rate)."""
        if venue not in VENUES:
            raise ValueError(f"unknown venue {venue!r}")
        if not key.startswith(f"{venue}:"):
            raise ValueError(f"market key {key!r} must start with '{venue}:'")
        if not (Decimal(0) < tick < Decimal(1)):
            raise ValueError(f"tick {tick} must lie inside (0, 1)")
        if not instruments:
            raise ValueError(f"market {key} has no instrument")
        game = self._games.get(key)
        ids = tuple(i for i, _, _ in instruments)
        if game is None:
            game = RecordedGame(len(self._games), key, ids)
            self._games[key] = game
        else:
            game.instruments = ids
            game.closed = False
        market = ListedMarket(
            key, venue, game.index, KIND, tick, yes_is_home=True, fee_rate=fee_rate, fee_exponent=fee_exponent
        )
        self._markets[key] = market
        for instrument_id, mirrored, label in instruments:
            known = self._instruments.get(instrument_id)
            if known is not None and known.market_key != key:
                raise ValueError(f"instrument {instrument_id} already belongs to {known.market_key}")
            self._instruments[instrument_id] = Instrument(instrument_id, venue, key, mirrored, label)
        return market

    def set_book(self, key: str, yes_bids: Levels, yes_asks: Levels) -> None:
        """The market's book as recorded: YES-like bids and asks (any order; kept best
        first), exact Decimal prices and sizes; empty levels are dropped."""
        if key not in self._markets:
            raise KeyError(f"unknown market {key}")
        bids = sorted(((p, s) for p, s in yes_bids if s > 0), key=lambda lv: lv[0], reverse=True)
        asks = sorted(((p, s) for p, s in yes_asks if s > 0), key=lambda lv: lv[0])
        self._books[key] = (bids, asks)

    def close_market(self, key: str) -> None:
        """The market is not tradable any more (left the listing, closed, paused)."""
        game = self._games.get(key)
        if game is not None:
            game.closed = True

    def is_open(self, key: str) -> bool:
        game = self._games.get(key)
        return game is not None and not game.closed

    # -- the world port -----------------------------------------------------------------
    def ensure(self, now: datetime) -> None:
        """Nothing to list: the recording registers markets as they come."""

    def instrument(self, instrument_id: str) -> Instrument | None:
        return self._instruments.get(instrument_id)

    def market(self, key: str) -> ListedMarket | None:
        return self._markets.get(key)

    def markets(self) -> list[ListedMarket]:
        return list(self._markets.values())

    def game_of(self, market: ListedMarket) -> RecordedGame:
        return self._games[market.key]

    def all_games(self) -> list[RecordedGame]:
        return list(self._games.values())

    def base_levels(self, market: ListedMarket, now: datetime) -> tuple[Levels, Levels]:
        """The recorded levels (copies), or none while the market is closed or has no
        book yet."""
        game = self._games.get(market.key)
        book = self._books.get(market.key)
        if game is None or book is None or not game.tradable(now):
            return [], []
        return list(book[0]), list(book[1])
