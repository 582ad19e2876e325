"""The paper exchange's matching engine and ledger, independent of any wire format.

Every order is reduced to a buy or sell of a book's YES-like side (a Kalshi market's YES,
a Polymarket market's outcome-0 token, a Polymarket US market's long side); the
complementary Polymarket token trades against the same book mirrored (buying it at ``q``
is selling YES at ``1 - q``), as on a real CLOB. Takers fill against the simulated
market makers' levels best price first, and the liquidity they take stays gone at that
price until the makers refill it (``refill_s``), so a second order sees a thinner book.

Money rule: cash moves per fill — a long is paid at the price, a short (Kalshi NO,
Polymarket US short) at ``1 - price``, and closing either returns the complement; each
fill's fee comes from the paper's own fee arithmetic (:mod:`paper_exchange.fees`,
deliberately not the engine's ``worker.domain.fees``), and the balance, the position's
fees and the order's fees all move by exactly that fee.
Concurrency rule: the server runs on one asyncio loop and every ``place`` is synchronous
from validation to commit, so two orders never interleave inside the engine.
The world is any :class:`~paper_exchange.world_port.MarketWorld`: the seeded simulation
(the server's) or one rebuilt from recorded books (a replay's).
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from paper_exchange import fees as paper_fees
from paper_exchange.faults import Faults, FaultSpec
from paper_exchange.store import FillRow, OrderRow, PositionRow, Store
from paper_exchange.world import Instrument, ListedMarket
from paper_exchange.world_port import Levels, MarketWorld, WorldGame
from worker.clock import Clock

ZERO = Decimal(0)
ONE = Decimal(1)
SHORTABLE = frozenset({"kalshi", "polymarket_us"})
#: Venues whose resolved positions pay only when redeemed (Polymarket: ``redeemPositions``
#: on the conditional-tokens contract); the others pay cash at settlement.
REDEEMED_VENUES = frozenset({"polymarket"})
MIN_SIZE = {"kalshi": Decimal(1), "polymarket": Decimal(5), "polymarket_us": Decimal(1)}

W = TypeVar("W", bound=MarketWorld)


class PaperRejection(Exception):
    """The exchange refused an order; nothing happened. ``code`` is venue-neutral:
    ``insufficient_balance``, ``market_closed``, ``invalid_price``, ``invalid_size``,
    ``unknown_instrument``, ``duplicate_client_order_id``, ``insufficient_position``,
    ``injected``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class PlaceRequest:
    """An order on an instrument: ``side`` buy/sell and ``price`` on the instrument itself
    (a Kalshi YES price, a Polymarket token price, a Polymarket US long price)."""

    venue: str
    instrument_id: str
    side: str
    price: Decimal
    quantity: Decimal
    tif: str  # FOK | IOC | GTC
    client_order_id: str | None = None
    order_id: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class PlaceResult:
    order: OrderRow
    fills: list[FillRow]


@dataclass
class GameResult:
    game: WorldGame
    home_settlement: Decimal


class PaperExchange(Generic[W]):
    """Matching engine + ledger over a world (``W``: the seeded :class:`World` or a
    recorded one), persisted in a :class:`Store`."""

    def __init__(
        self,
        world: W,
        store: Store,
        clock: Clock,
        balances: Mapping[str, Decimal],
        faults: Faults | None = None,
        refill_s: float = 15.0,
    ) -> None:
        self.world = world
        self.store = store
        self.clock = clock
        self.faults = faults or Faults(FaultSpec())
        self.refill_s = refill_s
        for venue, amount in balances.items():
            store.ensure_account(venue, amount)
        # (market key, "bid"|"ask", yes price) -> (quantity taken, when last taken)
        self._taken: dict[tuple[str, str, Decimal], tuple[Decimal, datetime]] = {}
        # Books pinned by the control API (market key -> YES bids, YES asks, best first).
        self._pinned: dict[str, tuple[Levels, Levels]] = {}
        self._ids = itertools.count(1)
        #: The last step's time: the simulated makers' books stand still between steps.
        self.quoted_at: datetime | None = None
        world.ensure(clock.now())

    # -- books --------------------------------------------------------------------------
    def book(self, market: ListedMarket, now: datetime | None = None) -> tuple[Levels, Levels]:
        """YES-side bids and asks (best first) net of the liquidity paper orders took."""
        now = now or self.clock.now()
        pinned = self._pinned.get(market.key)
        if pinned is not None and self.world.game_of(market).tradable(now):
            bids, asks = pinned
        else:
            bids, asks = self.world.base_levels(market, self._quote_time(now))
        return self._net(market.key, "bid", bids, now), self._net(market.key, "ask", asks, now)

    def _quote_time(self, now: datetime) -> datetime:
        """When the simulated makers last quoted: the last step (the tick whose books the
        feeds published), so an order fills against the book the feeds show, as on a real
        venue, not against a quote up to a tick newer than anything published. Before the
        first step, and for a time before it, the makers quote continuously."""
        quoted = self.quoted_at
        return now if quoted is None or quoted > now else quoted

    def pin_book(self, instrument: Instrument, bids: Levels, asks: Levels) -> None:
        """Replace the simulated makers' levels of an instrument's book by fixed ones
        (given in the instrument's own prices, any order) and forget the liquidity taken
        from it. A scripted scenario for tests: paper orders still consume the pinned
        levels, which stay gone until ``refill_s`` passes, exactly like drifting ones."""
        market = self.world.market(instrument.market_key)
        assert market is not None
        if instrument.mirrored:
            bids, asks = [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]
        yes_bids = sorted(bids, key=lambda lv: lv[0], reverse=True)
        yes_asks = sorted(asks, key=lambda lv: lv[0])
        self._pinned[market.key] = (yes_bids, yes_asks)
        self._taken = {k: v for k, v in self._taken.items() if k[0] != market.key}

    def unpin_book(self, instrument: Instrument) -> None:
        self._pinned.pop(instrument.market_key, None)
        self._taken = {k: v for k, v in self._taken.items() if k[0] != instrument.market_key}

    def _net(self, key: str, side: str, levels: Levels, now: datetime) -> Levels:
        out: Levels = []
        for price, size in levels:
            taken = self._taken.get((key, side, price))
            if taken is not None:
                qty, when = taken
                if (now - when).total_seconds() >= self.refill_s:
                    del self._taken[(key, side, price)]
                else:
                    size -= qty
            if size > 0:
                out.append((price, size))
        return out

    def instrument_book(
        self, instrument: Instrument, now: datetime | None = None
    ) -> tuple[Levels, Levels]:
        """Bids and asks of an instrument in its own prices (mirrored for the
        complementary Polymarket token)."""
        market = self.world.market(instrument.market_key)
        assert market is not None
        bids, asks = self.book(market, now)
        if not instrument.mirrored:
            return bids, asks
        return [(ONE - p, s) for p, s in asks], [(ONE - p, s) for p, s in bids]

    # -- orders -------------------------------------------------------------------------
    def new_order_id(self, venue: str) -> str:
        return str(uuid.uuid4())

    def place(self, req: PlaceRequest, slip_ticks: int = 0) -> PlaceResult:
        """Validate, match and book one order atomically; raises :class:`PaperRejection`.

        A FOK that cannot fill completely is recorded as ``canceled`` with no fill (what
        the venues report); IOC keeps what filled and cancels the rest; GTC rests.
        ``slip_ticks`` moves the book against the taker before matching (the slip fault).
        """
        now = self.clock.now()
        instrument = self.world.instrument(req.instrument_id)
        if instrument is None or instrument.venue != req.venue:
            raise PaperRejection("unknown_instrument", f"unknown market {req.instrument_id}")
        market = self.world.market(instrument.market_key)
        assert market is not None
        game = self.world.game_of(market)
        if not game.tradable(now) or self.store.resolution(game.index) is not None:
            raise PaperRejection("market_closed", "market is not open for trading")
        if req.client_order_id is not None:
            existing = self.store.order_by_client_id(req.venue, req.client_order_id)
            if existing is not None:
                raise PaperRejection("duplicate_client_order_id", "client order id already used")
        if req.side not in ("buy", "sell") or req.tif not in ("FOK", "IOC", "GTC"):
            raise PaperRejection("invalid_order", "bad side or time in force")
        tick = market.tick
        if not (tick <= req.price <= ONE - tick) or req.price % tick != 0:
            raise PaperRejection("invalid_price", f"price must be on the {tick} grid inside (0, 1)")
        if req.quantity < MIN_SIZE[req.venue] or req.quantity != req.quantity.to_integral_value():
            raise PaperRejection(
                "invalid_size", f"size must be a whole number of at least {MIN_SIZE[req.venue]}"
            )
        position = self.store.position(req.venue, req.instrument_id)
        if req.venue not in SHORTABLE and req.side == "sell" and position.quantity < req.quantity:
            raise PaperRejection("insufficient_position", "not enough balance / allowance")

        yes_buy = (req.side == "buy") != instrument.mirrored
        yes_limit = req.price if not instrument.mirrored else ONE - req.price
        bids, asks = self.book(market, now)
        levels = asks if yes_buy else bids
        if slip_ticks:
            step = tick * slip_ticks
            levels = [((p + step) if yes_buy else (p - step), s) for p, s in levels]
            levels = [(p, s) for p, s in levels if tick <= p <= ONE - tick]
        matched: list[tuple[Decimal, Decimal, Decimal]] = []  # (yes price, qty, book price)
        want = req.quantity
        for price, size in levels:
            if want <= 0:
                break
            if (yes_buy and price > yes_limit) or (not yes_buy and price < yes_limit):
                break
            take = min(size, want)
            book_price = (price - tick * slip_ticks) if yes_buy else (price + tick * slip_ticks)
            matched.append((price, take, book_price))
            want -= take
        filled_qty = sum((q for _, q, _ in matched), ZERO)
        if req.tif == "FOK" and filled_qty < req.quantity:
            matched, filled_qty = [], ZERO

        # Cash check before anything is written: the whole taker part plus fees. The fees
        # are the order's (Kalshi rounds the order's total once), one per fill.
        qty_after = position.quantity
        cash = ZERO
        taken: list[tuple[Decimal, Decimal, Decimal]] = []  # (instrument price, qty, book price)
        for yes_price, qty, book_price in matched:
            inst_price = yes_price if not instrument.mirrored else ONE - yes_price
            delta, qty_after = _cash_delta(qty_after, req.side, inst_price, qty)
            cash += delta
            taken.append((inst_price, qty, book_price))
        fill_fees = paper_fees.taker_fees(
            req.venue, req.side, [(p, q) for p, q, _ in taken], market.fee_rate, market.fee_exponent
        )
        fees = sum(fill_fees, ZERO)
        fills_plan = [
            (p, q, fee, book_price) for (p, q, book_price), fee in zip(taken, fill_fees, strict=True)
        ]
        balance = self.store.balance(req.venue)
        if balance + cash - fees < 0:
            raise PaperRejection("insufficient_balance", "insufficient balance")
        if req.tif == "GTC" and filled_qty < req.quantity and req.side == "buy":
            rest_cost = (req.quantity - filled_qty) * req.price
            if balance + cash - fees - rest_cost < 0:
                raise PaperRejection("insufficient_balance", "insufficient balance")

        order_id = req.order_id or self.new_order_id(req.venue)
        if self.store.get_order(req.venue, order_id) is not None:
            raise PaperRejection("duplicate_order", "order already exists")
        status = "filled" if filled_qty == req.quantity else (
            "open" if req.tif == "GTC" else "canceled"
        )
        order = OrderRow(
            venue=req.venue, order_id=order_id, client_order_id=req.client_order_id,
            instrument_id=req.instrument_id, side=req.side, price=req.price,
            quantity=req.quantity, filled=ZERO, cost=ZERO, fees=ZERO, status=status,
            tif=req.tif, created=now, updated=now, extra=dict(req.extra),
        )
        fills: list[FillRow] = []
        with self.store.transaction():
            for inst_price, qty, fee, book_price in fills_plan:
                side_key = "ask" if yes_buy else "bid"
                k = (market.key, side_key, book_price)
                prev = self._taken.get(k, (ZERO, now))[0]
                self._taken[k] = (prev + qty, now)
                fill = self._book_fill(order, inst_price, qty, fee, True, now)
                fills.append(fill)
            self.store.save_order(order)
        return PlaceResult(order, fills)

    def _book_fill(
        self, order: OrderRow, price: Decimal, qty: Decimal, fee: Decimal, taker: bool,
        now: datetime,
    ) -> FillRow:
        """Apply one fill to the position, the balance and the order (inside a txn)."""
        pos = self.store.position(order.venue, order.instrument_id)
        delta, new_qty = _cash_delta(pos.quantity, order.side, price, qty)
        pos.cost -= delta
        pos.fees += fee
        pos.traded += qty * price
        pos.quantity = new_qty
        if new_qty == 0:
            pos.realized -= pos.cost
            pos.cost = ZERO
        self.store.save_position(pos, now)
        self.store.add_balance(order.venue, delta - fee)
        order.filled += qty
        order.cost += qty * price
        order.fees += fee
        order.updated = now
        fill = FillRow(
            venue=order.venue, fill_id=self._fill_id(order), order_id=order.order_id,
            instrument_id=order.instrument_id, side=order.side, price=price, quantity=qty,
            fee=fee, is_taker=taker, created=now,
        )
        self.store.add_fill(fill)
        return fill

    def _fill_id(self, order: OrderRow) -> str:
        n = len(self.store.fills(order.venue, order_id=order.order_id)) + 1
        digest = hashlib.sha256(f"{order.venue}:{order.order_id}:{n}".encode()).hexdigest()
        return str(uuid.UUID(digest[:32]))

    def cancel(self, venue: str, order_id: str) -> OrderRow | None:
        order = self.store.get_order(venue, order_id)
        if order is None:
            return None
        if order.status == "open":
            order.status = "canceled"
            order.updated = self.clock.now()
            with self.store.transaction():
                self.store.save_order(order)
        return order

    # -- the passage of time ------------------------------------------------------------
    def step(self) -> tuple[list[FillRow], list[GameResult]]:
        """Fill resting orders the market has crossed, then resolve finished games."""
        now = self.clock.now()
        self.world.ensure(now)
        self.quoted_at = now  # the makers re-quote now; the feeds publish these books
        fills: list[FillRow] = []
        for order in self.store.orders(status="open"):
            fills.extend(self._match_resting(order, now))
        return fills, self.resolve_due(now)

    def _match_resting(self, order: OrderRow, now: datetime) -> list[FillRow]:
        instrument = self.world.instrument(order.instrument_id)
        if instrument is None:
            return []
        market = self.world.market(instrument.market_key)
        assert market is not None
        if not self.world.game_of(market).tradable(now):
            return []
        bids, asks = self.instrument_book(instrument, now)
        levels = asks if order.side == "buy" else bids
        fills: list[FillRow] = []
        with self.store.transaction():
            for price, size in levels:
                remaining = order.quantity - order.filled
                if remaining <= 0:
                    break
                crosses = price <= order.price if order.side == "buy" else price >= order.price
                if not crosses:
                    break
                qty = min(size, remaining)
                # A resting order is the maker: it trades at its own limit, no taker fee.
                fee = paper_fees.maker_fee(order.venue, order.price, qty)
                delta, _ = _cash_delta(
                    self.store.position(order.venue, order.instrument_id).quantity,
                    order.side, order.price, qty,
                )
                if self.store.balance(order.venue) + delta - fee < 0:
                    order.status = "canceled"
                    break
                yes_price = price if not instrument.mirrored else ONE - price
                yes_side = "ask" if (order.side == "buy") != instrument.mirrored else "bid"
                k = (market.key, yes_side, yes_price)
                prev = self._taken.get(k, (ZERO, now))[0]
                self._taken[k] = (prev + qty, now)
                fills.append(self._book_fill(order, order.price, qty, fee, False, now))
            if order.filled >= order.quantity:
                order.status = "filled"
            if fills or order.status != "open":
                self.store.save_order(order)
        return fills

    def resolve_due(self, now: datetime) -> list[GameResult]:
        done = self.store.resolved_games()
        out: list[GameResult] = []
        for game in self.world.all_games():
            if game.index in done or now < game.resolve_at:
                continue
            out.append(self.resolve(game, game.home_settlement()))
        return out

    def resolve(self, game: WorldGame, home_settlement: Decimal) -> GameResult:
        """Settle every position on the game's markets and cancel their open orders."""
        now = self.clock.now()
        with self.store.transaction():
            if self.store.resolution(game.index) is not None:
                return GameResult(game, self.store.resolution(game.index) or home_settlement)
            self.store.add_resolution(game.index, home_settlement, now)
            for market in self.world.markets():
                if market.game_index != game.index:
                    continue
                yes_value = self.settlement_price(market, home_settlement)
                for inst in self._instruments_of(market):
                    value = yes_value if not inst.mirrored else ONE - yes_value
                    for order in self.store.orders(inst.venue, inst.id, "open"):
                        order.status = "canceled"
                        order.updated = now
                        self.store.save_order(order)
                    pos = self.store.position(inst.venue, inst.id)
                    if pos.quantity == 0:
                        continue
                    qty = pos.quantity
                    payout = qty * value if qty > 0 else -qty * (ONE - value)
                    if inst.venue in REDEEMED_VENUES:
                        # Polymarket pays a resolved position only when it is redeemed:
                        # the tokens stay held (redeemable) until then.
                        self.store.add_settlement(inst.venue, inst.id, qty, value, payout, now, redeemed=False)
                        continue
                    self.store.add_balance(inst.venue, payout)
                    self.store.add_settlement(inst.venue, inst.id, qty, value, payout, now)
                    pos.realized += payout - pos.cost
                    pos.cost = ZERO
                    pos.quantity = ZERO
                    self.store.save_position(pos, now)
        return GameResult(game, home_settlement)

    def redeem(self, venue: str, condition_id: str | None = None) -> list[dict[str, str]]:
        """Redeem the resolved positions of ``venue`` (of one condition, or all): each pays
        its payout into the account and leaves the holdings. What a Polymarket user does
        with "Claim" (``redeemPositions`` on the conditional-tokens contract)."""
        now = self.clock.now()
        done: list[dict[str, str]] = []
        with self.store.transaction():
            for row in self.store.unredeemed(venue):
                inst = self.world.instrument(row["instrument_id"])
                cond = inst.market_key.split(":", 1)[1] if inst is not None else ""
                if condition_id is not None and cond != condition_id:
                    continue
                payout = Decimal(row["payout"])
                self.store.add_balance(venue, payout)
                self.store.mark_redeemed(venue, row["instrument_id"], now)
                pos = self.store.position(venue, row["instrument_id"])
                pos.realized += payout - pos.cost
                pos.cost = ZERO
                pos.quantity = ZERO
                self.store.save_position(pos, now)
                done.append({**row, "condition_id": cond})
        return done

    def redeemable(self, venue: str) -> dict[str, Decimal]:
        """Settled positions of ``venue`` whose payout waits to be redeemed: token → value."""
        return {r["instrument_id"]: Decimal(r["price"]) for r in self.store.unredeemed(venue)}

    def settlement_price(self, market: ListedMarket, home_settlement: Decimal) -> Decimal:
        """What the YES side of a market pays when its game resolves."""
        if market.kind in ("spread", "total"):
            if home_settlement == Decimal("0.5"):
                return Decimal("0.5")
            coin = int(hashlib.sha256(market.key.encode()).hexdigest(), 16) % 2
            return Decimal(coin)
        return home_settlement if market.yes_is_home else ONE - home_settlement

    def _instruments_of(self, market: ListedMarket) -> list[Instrument]:
        g = self.world.game_of(market)
        if market.venue == "kalshi":
            ids = [market.key.split(":", 1)[1]]
        elif market.venue == "polymarket":
            ids = list(g.token_ids(market.kind))
        else:
            ids = [market.key.split(":", 1)[1]]
        return [i for i in (self.world.instrument(x) for x in ids) if i is not None]

    def positions(self, venue: str) -> list[PositionRow]:
        return self.store.positions(venue)


def _cash_delta(
    position: Decimal, side: str, price: Decimal, qty: Decimal
) -> tuple[Decimal, Decimal]:
    """Cash change and new signed position for trading ``qty`` at ``price``.

    Buying pays ``price`` per contract opened long and returns ``1 - price`` per short
    contract closed; selling returns ``price`` per long contract closed and pays
    ``1 - price`` per short contract opened (the collateral of a binary short)."""
    cash = ZERO
    if side == "buy":
        closing = min(qty, max(-position, ZERO))
        cash += closing * (ONE - price)
        cash -= (qty - closing) * price
        return cash, position + qty
    closing = min(qty, max(position, ZERO))
    cash += closing * price
    cash -= (qty - closing) * (ONE - price)
    return cash, position - qty
