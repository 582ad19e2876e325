"""Venue wire formats of the paper world (VENUES.md; Kalshi 2026 ``*_dollars``/``*_fp``
strings, Gamma JSON-encoded string fields, Polymarket US ``{"value","currency"}`` amounts).

Pure renderers: used by the HTTP server and by the snapshot CLI alike.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from paper_exchange import fees as paper_fees
from paper_exchange.matching import PaperExchange
from paper_exchange.store import FillRow, OrderRow, PositionRow, iso
from paper_exchange.world import SPORT_NAME, Game, Market, World

ONE = Decimal(1)
_ET = ZoneInfo("America/New_York")
#: Leagues whose games can end level: their texts say what a tie pays (the paper's games
#: always have a winner, so the sentence never applies, but it is there as on the venues).
_TIE_LEAGUES = frozenset({"nfl"})


# -- rules texts ---------------------------------------------------------------------------
# Worded as the venues word them (tests/fixtures/real/rules/), settling as the paper does:
# a cancelled game resolves 50¢ per contract on every venue (Game.home_settlement) and a
# postponed game stays open until it is resolved. Kalshi's real texts settle a cancelled
# game "to a fair price"; the paper's fair price is 50¢, so its text says so.
def kalshi_rules_secondary(game: Game) -> str:
    d = game.local_date
    tie = " If the game ends in a tie, the market will resolve to $0.50 for each team." if game.league in _TIE_LEAGUES else ""
    return (
        f"The following market refers to the team who wins the {game.away.kalshi_name} at {game.home.kalshi_name} "
        f"professional {SPORT_NAME[game.league]} game originally scheduled for {d:%b} {d.day}, {d.year}.{tie} "
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished. If the game is cancelled entirely, with no make-up game, the market will resolve to $0.50 "
        "for each team. Kalshi is not affiliated, associated, authorized, endorsed by, or in any way officially "
        "connected with the Governing League. All trademarks, logos, and brand names are the property of their "
        "respective owners."
    )


def poly_description(game: Game, first: str, second: str) -> str:
    """Polymarket's game text (Gamma's ``description``; Polymarket US the same wording)."""
    start = game.start.astimezone(_ET)
    hour = start.strftime("%I").lstrip("0")
    head = f"In the upcoming {game.league.upper()} game, scheduled for {start:%B} {start.day} at {hour}:{start:%M%p} ET:\n"
    postponed = "If the game is postponed, this market will remain open until the game has been completed.\n"
    if game.league in _TIE_LEAGUES:  # Polymarket's NFL wording
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


def d4(x: Decimal) -> str:
    return f"{x:.4f}"


def fp2(x: Decimal) -> str:
    return f"{x:.2f}"


def amount(x: Decimal) -> dict[str, str]:
    return {"value": d4(x), "currency": "USD"}


def _best(ex: PaperExchange, market: Market, now: datetime) -> tuple[Decimal | None, Decimal | None]:
    bids, asks = ex.book(market, now)
    return (bids[0][0] if bids else None), (asks[0][0] if asks else None)


# -- Kalshi -------------------------------------------------------------------------------
def kalshi_status(game: Game, now: datetime, resolved: bool) -> str:
    if resolved:
        return "finalized"
    return "active" if game.tradable(now) else "closed"


def kalshi_market(ex: PaperExchange, game: Game, home: bool, now: datetime) -> dict[str, Any]:
    ticker = game.kalshi_ticker(home)
    market = ex.world.market(f"kalshi:{ticker}")
    assert market is not None
    team = game.home if home else game.away
    resolved = ex.store.resolution(game.index)
    bid, ask = _best(ex, market, now)
    sport = SPORT_NAME[game.league]
    title = f"{game.away.kalshi_name} at {game.home.kalshi_name} Winner?"
    out: dict[str, Any] = {
        "ticker": ticker,
        "event_ticker": game.kalshi_event_ticker,
        "market_type": "binary",
        "title": title,
        "yes_sub_title": team.kalshi_name,
        "no_sub_title": team.kalshi_name,
        "status": kalshi_status(game, now, resolved is not None),
        "open_time": iso(ex.world.epoch),
        "close_time": iso(game.end),
        "expected_expiration_time": iso(game.resolve_at),
        "expiration_time": iso(game.resolve_at + _days(7)),
        "yes_bid_dollars": d4(bid) if bid is not None else "0.0000",
        "yes_ask_dollars": d4(ask) if ask is not None else "1.0000",
        "no_bid_dollars": d4(ONE - ask) if ask is not None else "0.0000",
        "no_ask_dollars": d4(ONE - bid) if bid is not None else "1.0000",
        "last_price_dollars": d4(bid) if bid is not None else "0.0000",
        "volume_fp": fp2(traded_volume(ex, market, ticker)),
        "volume_24h_fp": fp2(traded_volume(ex, market, ticker, day=True)),
        "open_interest_fp": "0.00",
        "liquidity_dollars": "0.0000",
        "tick_size": 1,
        "price_level_structure": "linear_cent",
        "rules_primary": (
            f"If {team.kalshi_name} wins the {game.away.kalshi_name} at {game.home.kalshi_name} "
            f"professional {sport} game originally scheduled for "
            f"{game.local_date:%b %-d, %Y}, then the market resolves to Yes."
        ),
        "rules_secondary": kalshi_rules_secondary(game),
        "can_close_early": True,
    }
    if resolved is not None:
        value = resolved if home else ONE - resolved
        out["result"] = "yes" if value == ONE else ("no" if value == 0 else "")
        out["settlement_value_dollars"] = d4(value)
        out["settlement_ts"] = iso(ex.store.resolved_at(game.index))
    return out


def traded_volume(ex: PaperExchange, market: Market, *instruments: str, day: bool = False) -> Decimal:
    """What a market has traded, in the venue's own unit: contracts on Kalshi (its
    ``volume_fp``), dollars on Polymarket (Gamma's ``volume``). The rest of the world's
    trading is a fixed, plausible figure per market (a pure function of its key); our own
    fills on it are added to it, in the same unit."""
    digest = int(hashlib.sha256(market.key.encode()).hexdigest()[:12], 16)
    dollars = market.venue == "polymarket"
    lo, hi = (30_000, 2_500_000) if dollars else (20_000, 1_500_000)
    base = Decimal(lo + digest % (hi - lo))
    if day:
        base = (base / 10).quantize(Decimal(1))
    ours = Decimal(0)
    for inst in instruments:
        for f in ex.store.fills(market.venue, None, inst):
            ours += f.quantity * f.price if dollars else f.quantity
    return base + ours


def _days(n: int) -> Any:
    from datetime import timedelta

    return timedelta(days=n)


def kalshi_event(ex: PaperExchange, game: Game, now: datetime, nested: bool) -> dict[str, Any]:
    d = game.local_date
    ev: dict[str, Any] = {
        "event_ticker": game.kalshi_event_ticker,
        "series_ticker": game.kalshi_series,
        "title": f"{game.away.kalshi_name} at {game.home.kalshi_name}",
        "sub_title": f"{game.away.kalshi_code} at {game.home.kalshi_code} ({d:%b} {d.day})",
        "category": "Sports",
        "mutually_exclusive": True,
        "strike_date": iso(game.start),
    }
    if nested:
        ev["markets"] = [kalshi_market(ex, game, False, now), kalshi_market(ex, game, True, now)]
    return ev


def kalshi_orderbook(ex: PaperExchange, market: Market, now: datetime, depth: int = 0) -> dict[str, Any]:
    """``orderbook_fp``: YES bids and NO bids (= 1 - YES asks), each sorted best **last**."""
    bids, asks = ex.book(market, now)
    if depth:
        bids, asks = bids[:depth], asks[:depth]
    yes = [[d4(p), fp2(s)] for p, s in reversed(bids)]
    no = [[d4(ONE - p), fp2(s)] for p, s in reversed(asks)]
    return {"orderbook_fp": {"yes_dollars": yes, "no_dollars": no}}


KALSHI_STATUS = {"open": "resting", "filled": "executed", "canceled": "canceled"}


def kalshi_order(o: OrderRow) -> dict[str, Any]:
    avg = o.avg_price
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id or "",
        "ticker": o.instrument_id,
        "side": "yes" if o.side == "buy" else "no",
        "action": "buy",
        "book_side": "bid" if o.side == "buy" else "ask",
        "type": "limit",
        "status": KALSHI_STATUS.get(o.status, o.status),
        "time_in_force": {"FOK": "fill_or_kill", "IOC": "immediate_or_cancel", "GTC": "good_till_canceled"}[o.tif],
        "yes_price_dollars": d4(o.price),
        "no_price_dollars": d4(ONE - o.price),
        "price": d4(o.price),
        "initial_count_fp": fp2(o.quantity),
        "fill_count_fp": fp2(o.filled),
        "remaining_count_fp": fp2(o.remaining),
        "average_fill_price": d4(avg) if avg is not None else None,
        "taker_fees_dollars": d4(o.fees),
        "maker_fees_dollars": "0.0000",
        "created_time": iso(o.created),
        "last_update_time": iso(o.updated),
    }


def kalshi_fill(f: FillRow, client_order_id: str | None) -> dict[str, Any]:
    return {
        "fill_id": f.fill_id,
        "trade_id": f.fill_id,
        "order_id": f.order_id,
        "client_order_id": client_order_id or "",
        "ticker": f.instrument_id,
        "market_ticker": f.instrument_id,
        "side": "yes" if f.side == "buy" else "no",
        "action": "buy",
        "book_side": "bid" if f.side == "buy" else "ask",
        "count_fp": fp2(f.quantity),
        "yes_price_dollars": d4(f.price),
        "no_price_dollars": d4(ONE - f.price),
        "is_taker": f.is_taker,
        "fee_cost": d4(f.fee),
        "created_time": iso(f.created),
        "ts": int(f.created.timestamp()),
    }


def kalshi_position(p: PositionRow) -> dict[str, Any]:
    return {
        "ticker": p.instrument_id,
        "position_fp": fp2(p.quantity),
        "market_exposure_dollars": d4(p.cost),
        "realized_pnl_dollars": d4(p.realized),
        "fees_paid_dollars": d4(p.fees),
        "total_traded_dollars": d4(p.traded),
        "resting_orders_count": 0,
        "last_updated_ts": iso(p.updated) if p.updated else None,
    }


# -- Polymarket (Gamma + CLOB) ------------------------------------------------------------
GAMMA_TYPES = {"moneyline": "moneyline", "spread": "spreads", "total": "totals"}


def gamma_market(ex: PaperExchange, game: Game, kind: str, now: datetime) -> dict[str, Any]:
    cond = game.condition_id(kind)
    market = ex.world.market(f"polymarket:{cond}")
    assert market is not None
    resolved = ex.store.resolution(game.index)
    bid, ask = _best(ex, market, now)
    o0, o1 = game.gamma_outcomes(kind)
    t0, t1 = game.token_ids(kind)
    if resolved is not None:
        v0 = ex.settlement_price(market, resolved)
        prices = [str(v0.normalize()), str((ONE - v0).normalize())]
    else:
        mid = ((bid or Decimal("0.5")) + (ask or Decimal("0.5"))) / 2
        prices = [str(mid.quantize(Decimal("0.001"))), str((ONE - mid).quantize(Decimal("0.001")))]
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
        "line": (float(f"{game.spread_line}.5") if kind == "spread" else float(f"{game.total_line}.5") if kind == "total" else None),
        "active": True,
        "closed": closed,
        "archived": False,
        "restricted": False,
        "acceptingOrders": not closed,
        "enableOrderBook": True,
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


# -- Polymarket US ------------------------------------------------------------------------
PMUS_WINNER_TYPE = {
    "nba": "basketball_team_full_game_winner",
    "nfl": "football_team_full_game_winner",
    "nhl": "hockey_team_full_game_winner",
}
PMUS_TOTAL_TYPE = {
    "nba": "basketball_full_game_total",
    "nfl": "football_full_game_total",
    "nhl": "hockey_full_game_total",
}


def pmus_state(game: Game, now: datetime, resolved: bool) -> str:
    if resolved:
        return "MARKET_STATE_EXPIRED"
    if game.phase(now) == "postponed":
        return "MARKET_STATE_SUSPENDED"
    return "MARKET_STATE_OPEN" if game.tradable(now) else "MARKET_STATE_CLOSED"


def _pmus_team(team: Any, league: str) -> dict[str, Any]:
    return {
        "name": team.full_name,
        "abbreviation": team.pmus_code,
        "league": league,
        "alias": team.nickname,
    }


def pmus_market(ex: PaperExchange, game: Game, total: bool, now: datetime) -> dict[str, Any]:
    slug = game.pmus_total_slug if total else game.pmus_winner_slug
    market = ex.world.market(f"polymarket_us:{slug}")
    assert market is not None
    resolved = ex.store.resolution(game.index)
    bid, ask = _best(ex, market, now)
    if total:
        sides = [
            {"long": True, "description": f"Over {game.total_line}.5"},
            {"long": False, "description": f"Under {game.total_line}.5"},
        ]
        title = f"{game.away.pmus_short} vs. {game.home.pmus_short}: O/U {game.total_line}.5"
        smt = PMUS_TOTAL_TYPE[game.league]
    else:
        long_team = game.home if game.pmus_long_is_home else game.away
        short_team = game.away if game.pmus_long_is_home else game.home
        sides = [
            {"long": True, "description": long_team.pmus_description, "team": _pmus_team(long_team, game.league)},
            {"long": False, "description": short_team.pmus_description, "team": _pmus_team(short_team, game.league)},
        ]
        title = f"{game.away.pmus_short} vs. {game.home.pmus_short}"
        smt = PMUS_WINNER_TYPE[game.league]
    out: dict[str, Any] = {
        "id": str(int(game.pmus_event_id) * 10 + (1 if total else 0)),
        "slug": slug,
        "title": title,
        "eventSlug": game.pmus_event_slug,
        "sportsMarketType": smt,
        "marketSides": sides,
        "description": poly_description(game, game.away.pmus_short, game.home.pmus_short),
        "active": resolved is None and game.tradable(now),
        "closed": resolved is not None or not game.tradable(now),
        "state": pmus_state(game, now, resolved is not None),
        "orderPriceMinTickSize": str(market.tick),
        "minimumOrderSize": "1",
        "startTime": iso(game.start),
        "endTime": iso(game.end),
        "bestBidQuote": amount(bid) if bid is not None else None,
        "bestAskQuote": amount(ask) if ask is not None else None,
    }
    if resolved is not None:
        out["settlementPrice"] = amount(ex.settlement_price(market, resolved))
    return out


def pmus_event(ex: PaperExchange, game: Game, now: datetime) -> dict[str, Any]:
    return {
        "id": game.pmus_event_id,
        "slug": game.pmus_event_slug,
        "title": f"{game.away.pmus_short} vs. {game.home.pmus_short}",
        "league": game.league,
        "startTime": iso(game.start),
        "endTime": iso(game.end),
        "active": game.tradable(now),
        "closed": not game.tradable(now),
        "teams": [_pmus_team(game.away, game.league), _pmus_team(game.home, game.league)],
        "markets": [pmus_market(ex, game, False, now), pmus_market(ex, game, True, now)],
    }


def pmus_book(ex: PaperExchange, slug: str, now: datetime) -> dict[str, Any]:
    market = ex.world.market(f"polymarket_us:{slug}")
    assert market is not None
    game = ex.world.game_of(market)
    bids, asks = ex.book(market, now)
    return {
        "marketData": {
            "marketSlug": slug,
            "bids": [{"px": amount(p), "qty": fp2(s)} for p, s in bids],
            "offers": [{"px": amount(p), "qty": fp2(s)} for p, s in asks],
            "state": pmus_state(game, now, ex.store.resolution(game.index) is not None),
            "stats": {},
            "transactTime": iso(now),
        }
    }


PMUS_ORDER_STATE = {"open": "ORDER_STATE_NEW", "filled": "ORDER_STATE_FILLED", "canceled": "ORDER_STATE_CANCELED"}
PMUS_TIF = {"GTC": "TIME_IN_FORCE_GOOD_TILL_CANCEL", "IOC": "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL", "FOK": "TIME_IN_FORCE_FILL_OR_KILL"}


# Polymarket US prices are always the LONG side's, whatever the intent: "Only the long side
# (YES) is directly tradable ... The price.value field always represents the long side's
# price, regardless of which order intent you use" (docs.polymarket.us, Retail API, Orders
# overview, "Understanding Price with Order Intent"). The store keeps long prices, so
# orders, executions and trades are rendered as stored.
def pmus_order(o: OrderRow) -> dict[str, Any]:
    intent = str(o.extra.get("intent", "ORDER_INTENT_BUY_LONG"))
    price = o.price
    avg = o.avg_price
    state = PMUS_ORDER_STATE.get(o.status, o.status)
    if o.status == "open" and o.filled:
        state = "ORDER_STATE_PARTIALLY_FILLED"
    return {
        "id": o.order_id,
        "marketSlug": o.instrument_id,
        "side": "ORDER_SIDE_BUY" if intent.startswith("ORDER_INTENT_BUY") else "ORDER_SIDE_SELL",
        "type": "ORDER_TYPE_LIMIT",
        "price": amount(price),
        "quantity": int(o.quantity),
        "cumQuantity": int(o.filled),
        "leavesQuantity": int(o.remaining),
        "tif": PMUS_TIF[o.tif],
        "intent": intent,
        "state": state,
        "avgPx": amount(avg) if avg is not None else None,
        "insertTime": iso(o.created),
        "createTime": iso(o.created),
        # What the paper charged on the order's executions (their sum) and the taker rate.
        "commissionNotionalTotalCollected": amount(o.fees),
        "commissionsBasisPoints": str(paper_fees.POLYMARKET_US_TAKER_BPS),
        "makerCommissionsBasisPoints": "0",
    }


def pmus_execution(o: OrderRow, f: FillRow) -> dict[str, Any]:
    return {
        "id": f.fill_id,
        "order": pmus_order(o),
        "lastShares": fp2(f.quantity),
        "lastPx": amount(f.price),
        "type": "EXECUTION_TYPE_FILL" if o.status == "filled" else "EXECUTION_TYPE_PARTIAL_FILL",
        "transactTime": iso(f.created),
        "tradeId": f.fill_id,
        "aggressor": f.is_taker,
        "commissionNotionalCollected": amount(f.fee),
    }


def pmus_position(p: PositionRow) -> dict[str, Any]:
    return {
        "netPosition": str(int(p.quantity)),
        "netPositionDecimal": fp2(p.quantity),
        "cost": amount(p.cost),
        "realized": amount(p.realized),
        "fees": amount(p.fees),
        "expired": False,
        "updateTime": iso(p.updated) if p.updated else None,
        "marketMetadata": {"slug": p.instrument_id},
    }


def snapshot(world: World, ex: PaperExchange, now: datetime) -> dict[str, Any]:
    """The three venues' listing payloads at ``now`` (what ``snapshot`` writes)."""
    games = world.games(now)
    return {
        "kalshi_events.json": {
            "events": [kalshi_event(ex, g, now, True) for g in games if "kalshi" in g.venues],
            "cursor": "",
        },
        "polymarket_events.json": [gamma_event(ex, g, now) for g in games if "polymarket" in g.venues],
        "polymarket_us_events.json": {
            "events": [pmus_event(ex, g, now) for g in games if "polymarket_us" in g.venues],
        },
    }
