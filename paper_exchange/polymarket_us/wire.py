"""Polymarket US's wire formats on the paper exchange (``{"value","currency"}`` amounts,
long-side prices)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paper_exchange import fees as paper_fees
from paper_exchange.matching import PaperExchange
from paper_exchange.polymarket.wire import poly_description
from paper_exchange.store import FillRow, OrderRow, PositionRow, iso
from paper_exchange.wire import amount, best, fp2
from paper_exchange.world import Game

PMUS_WINNER_TYPE = {
    "nba": "basketball_team_full_game_winner",
    "nfl": "football_team_full_game_winner",
    "nhl": "hockey_team_full_game_winner",
    "mlb": "baseball_team_full_game_winner",
}
PMUS_TOTAL_TYPE = {
    "nba": "basketball_full_game_total",
    "nfl": "football_full_game_total",
    "nhl": "hockey_full_game_total",
    "mlb": "baseball_full_game_total",
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
    bid, ask = best(ex, market, now)
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
