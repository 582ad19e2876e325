"""Polymarket's wire formats on the paper exchange: Gamma (JSON-encoded string fields)
and the CLOB."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from paper_exchange import fees as paper_fees
from paper_exchange.matching import PaperExchange
from paper_exchange.store import FillRow, OrderRow, iso
from paper_exchange.wire import TIE_LEAGUES, best, fp2, traded_volume
from paper_exchange.world import Game, ListedMarket

ONE = Decimal(1)
_ET = ZoneInfo("America/New_York")


# Worded as Polymarket words it (tests/fixtures/real/rules/), settling as the paper does:
# a cancelled game resolves 50-50 and a postponed game stays open until it is resolved.
def poly_description(game: Game, first: str, second: str) -> str:
    """Polymarket's game text (Gamma's ``description``; Polymarket US the same wording)."""
    start = game.start.astimezone(_ET)
    hour = start.strftime("%I").lstrip("0")
    head = f"In the upcoming {game.league.upper()} game, scheduled for {start:%B} {start.day} at {hour}:{start:%M%p} ET:\n"
    postponed = "If the game is postponed, this market will remain open until the game has been completed.\n"
    if game.league in TIE_LEAGUES:  # Polymarket's NFL wording
        return (
            f'{head}If {first} wins, the market will resolve to "{first}".\n'
            f'If {second} wins, the market will resolve to "{second}".\n{postponed}'
            "If the game is canceled entirely or ends in a tie, with no make-up game, this market will resolve 50-50."
        )
    overtime = "including any overtime periods and shootouts" if game.league == "nhl" else "including any overtime periods"
    return (
        f'{head}If the {first} win, the market will resolve to "{first}".\n'
        f'If the {second} win, the market will resolve to "{second}".\n{postponed}'
        "If the game is canceled entirely, with no make-up game, this market will resolve 50-50.\n"
        f"The result will be determined based on the final score {overtime}."
    )


GAMMA_TYPES = {"moneyline": "moneyline", "spread": "spreads", "total": "totals"}


def listing_fields(
    ex: PaperExchange, market: ListedMarket, bid: Decimal | None, ask: Decimal | None, closed: bool,
    tokens: tuple[str, str], now: datetime,
) -> dict[str, Any]:
    """A market's state, order rules, fees, quote and volume fields, as Gamma lists them."""
    t0, t1 = tokens
    return {
        "active": True,
        "closed": closed,
        "archived": False,
        "restricted": False,
        "acceptingOrders": not closed,
        "enableOrderBook": True,
        # Real soccer three-way markets are negRisk; the paper's CLOB signs one exchange.
        "negRisk": False,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        # The schedule the paper charges (paper_exchange.fees); no maker rebate is paid.
        "feesEnabled": True,
        "feeSchedule": {
            "exponent": paper_fees.POLYMARKET_EXPONENT,
            "rate": str(paper_fees.POLYMARKET_RATE),
            "takerOnly": True,
            "rebateRate": "0",
        },
        "bestBid": float(bid) if bid is not None else None,
        "bestAsk": float(ask) if ask is not None else None,
        "volume": str(traded_volume(ex, market, t0, t1)),
        "volumeNum": float(traded_volume(ex, market, t0, t1)),
        "liquidity": "0",
        "createdAt": iso(ex.world.epoch),
        "updatedAt": iso(now),
    }


@dataclass(frozen=True, slots=True)
class GammaState:
    """What a Gamma market's listing is made of: the market, its resolution, quote,
    outcomes, tokens and outcome prices (the settlement once resolved, else the mid)."""

    market: ListedMarket
    resolved: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    outcomes: tuple[str, str]
    tokens: tuple[str, str]
    prices: list[str]


def gamma_state(ex: PaperExchange, game: Game, kind: str, now: datetime) -> GammaState:
    market = ex.world.market(f"polymarket:{game.condition_id(kind)}")
    assert market is not None
    resolved = ex.store.resolution(game.index)
    bid, ask = best(ex, market, now)
    if resolved is not None:
        v0 = ex.settlement_price(market, resolved)
        prices = [str(v0.normalize()), str((ONE - v0).normalize())]
    else:
        mid = ((bid or Decimal("0.5")) + (ask or Decimal("0.5"))) / 2
        prices = [str(mid.quantize(Decimal("0.001"))), str((ONE - mid).quantize(Decimal("0.001")))]
    return GammaState(market, resolved, bid, ask, game.gamma_outcomes(kind), game.token_ids(kind), prices)


def gamma_market(ex: PaperExchange, game: Game, kind: str, now: datetime) -> dict[str, Any]:
    cond = game.condition_id(kind)
    st = gamma_state(ex, game, kind, now)
    market, resolved, bid, ask, prices = st.market, st.resolved, st.bid, st.ask, st.prices
    (o0, o1), (t0, t1) = st.outcomes, st.tokens
    if kind == "moneyline":
        question = f"{game.away.poly_outcome} vs. {game.home.poly_outcome}"
    elif kind == "spread":
        question = f"Spread: {game.home.poly_outcome} (-{game.spread_line}.5)"
    else:
        question = f"{game.away.poly_outcome} vs. {game.home.poly_outcome}: O/U {game.total_line}.5"
    closed = resolved is not None or not game.tradable(now)
    out: dict[str, Any] = {
        "id": game.gamma_market_id(kind),
        "question": question,
        "conditionId": cond,
        "slug": game.gamma_market_slug(kind),
        "questionID": "0x" + cond[2:][::-1],
        "description": poly_description(game, game.away.poly_outcome, game.home.poly_outcome),
        "outcomes": json.dumps([o0, o1]),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([t0, t1]),
        "startDate": iso(ex.world.epoch),
        "endDate": iso(game.end),
        "endDateIso": game.end.date().isoformat(),
        "gameStartTime": game.start.strftime("%Y-%m-%d %H:%M:%S+00"),
        "sportsMarketType": GAMMA_TYPES[kind],
        # A spread's line is the named team's handicap, negative (real: "Spread: Miami (FL)
        # (-19.5)" has line -19.5, tests/fixtures/real/polymarket/gamma_event_cfb_mia_wake_…).
        "line": (float(f"-{game.spread_line}.5") if kind == "spread" else float(f"{game.total_line}.5") if kind == "total" else None),
        **listing_fields(ex, market, bid, ask, closed, (t0, t1), now),
    }
    if resolved is not None:
        # Gamma marks a settled market with the oracle's status and its closing time.
        out["umaResolutionStatus"] = "resolved"
        out["closedTime"] = ex.store.resolved_at(game.index).strftime("%Y-%m-%d %H:%M:%S+00")
    return out


def gamma_event(ex: PaperExchange, game: Game, now: datetime) -> dict[str, Any]:
    resolved = ex.store.resolution(game.index)
    closed = resolved is not None or not game.tradable(now)
    markets = [gamma_market(ex, game, k, now) for k in ("moneyline", "spread", "total")]
    return {
        "id": game.gamma_event_id,
        "ticker": game.gamma_slug,
        "slug": game.gamma_slug,
        "title": f"{game.away.poly_outcome} vs. {game.home.poly_outcome}",
        "description": f"{game.league.upper()} game: {game.away.full_name} at {game.home.full_name}.",
        "startDate": iso(ex.world.epoch),
        "creationDate": iso(ex.world.epoch),
        "endDate": iso(game.end),
        "startTime": iso(game.start),
        "gameStartTime": game.start.strftime("%Y-%m-%d %H:%M:%S+00"),
        "active": True,
        "closed": closed,
        "archived": False,
        "restricted": False,
        "negRisk": False,
        "enableOrderBook": True,
        "seriesSlug": game.league,
        "tags": [{"id": str(100 + ["nba", "nfl", "nhl"].index(game.league)), "label": game.league.upper(), "slug": game.league}],
        # The event's volume: its markets' (all dollars), never mixed with another unit.
        "volume": float(sum((Decimal(m["volume"]) for m in markets), Decimal(0))),
        "liquidity": 0,
        "createdAt": iso(ex.world.epoch),
        "updatedAt": iso(now),
        "markets": markets,
    }


def clob_book(
    ex: PaperExchange, token_id: str, now: datetime
) -> dict[str, Any]:
    """CLOB ``/book``: bids ascending and asks descending, so the best level is **last**."""
    inst = ex.world.instrument(token_id)
    assert inst is not None
    bids, asks = ex.instrument_book(inst, now)
    ts = str(int(now.timestamp() * 1000))
    body = {
        "market": inst.market_key.split(":", 1)[1],
        "asset_id": token_id,
        "timestamp": ts,
        "bids": [{"price": str(p), "size": fp2(s)} for p, s in reversed(bids)],
        "asks": [{"price": str(p), "size": fp2(s)} for p, s in reversed(asks)],
        "min_order_size": "5",
        "tick_size": "0.01",
        "neg_risk": False,
        "last_trade_price": str(bids[0][0]) if bids else "0.5",
    }
    body["hash"] = _hash(body)
    return body


def _hash(body: dict[str, Any]) -> str:
    import hashlib

    return hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()


POLY_STATUS = {"open": "LIVE", "filled": "MATCHED", "canceled": "CANCELED"}


def clob_order(o: OrderRow, outcome: str, condition_id: str, owner: str, address: str) -> dict[str, Any]:
    return {
        "id": o.order_id,
        "status": POLY_STATUS.get(o.status, o.status.upper()),
        "owner": owner,
        "maker_address": address,
        "market": condition_id,
        "asset_id": o.instrument_id,
        "side": o.side.upper(),
        "original_size": fp2(o.quantity),
        "size_matched": fp2(o.filled),
        "price": str(o.price),
        "outcome": outcome,
        "order_type": o.tif if o.tif != "IOC" else "FAK",
        "associate_trades": [],
        "expiration": "0",
        "created_at": int(o.created.timestamp()),
    }


def clob_trade(
    f: FillRow, outcome: str, condition_id: str, owner: str, address: str
) -> dict[str, Any]:
    # The rate that applied, as the market's schedule states it (never back-computed from
    # the fee, which is rounded): the taker rate in bps, 0 for a maker fill.
    fee_bps = str(paper_fees.polymarket_fee_rate_bps(f.is_taker))
    return {
        "id": f.fill_id,
        "taker_order_id": f.order_id,
        "market": condition_id,
        "asset_id": f.instrument_id,
        "side": f.side.upper(),
        "size": fp2(f.quantity),
        "fee_rate_bps": fee_bps,
        "price": str(f.price),
        "status": "CONFIRMED",
        "match_time": str(int(f.created.timestamp())),
        "last_update": str(int(f.created.timestamp())),
        "outcome": outcome,
        "bucket_index": 0,
        "owner": owner,
        "maker_address": address,
        "transaction_hash": "0x" + f.fill_id.replace("-", "") * 2,
        "trader_side": "TAKER" if f.is_taker else "MAKER",
        "maker_orders": [],
    }
