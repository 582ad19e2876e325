"""Kalshi's wire formats on the paper exchange (2026 ``*_dollars`` / ``*_fp`` strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from paper_exchange.matching import PaperExchange
from paper_exchange.store import FillRow, OrderRow, PositionRow, iso
from paper_exchange.wire import TIE_LEAGUES, best, d4, fp2, traded_volume
from paper_exchange.world import SPORT_NAME, Game, ListedMarket

ONE = Decimal(1)


# Worded as the venues word them (tests/fixtures/real/rules/), settling as the paper does:
# a cancelled game resolves 50¢ per contract on every venue (Game.home_settlement) and a
# postponed game stays open until it is resolved. Kalshi's real texts settle a cancelled
# game "to a fair price"; the paper's fair price is 50¢, so its text says so.
def kalshi_rules_secondary(game: Game) -> str:
    d = game.local_date
    tie = " If the game ends in a tie, the market will resolve to $0.50 for each team." if game.league in TIE_LEAGUES else ""
    return (
        f"The following market refers to the team who wins the {game.away.kalshi_name} at {game.home.kalshi_name} "
        f"professional {SPORT_NAME[game.league]} game originally scheduled for {d:%b} {d.day}, {d.year}.{tie} "
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished. If the game is cancelled entirely, with no make-up game, the market will resolve to $0.50 "
        "for each team. Kalshi is not affiliated, associated, authorized, endorsed by, or in any way officially "
        "connected with the Governing League. All trademarks, logos, and brand names are the property of their "
        "respective owners."
    )


def kalshi_status(game: Game, now: datetime, resolved: bool) -> str:
    if resolved:
        return "finalized"
    return "active" if game.tradable(now) else "closed"


def quote_fields(
    ex: PaperExchange, market: ListedMarket, ticker: str, bid: Decimal | None, ask: Decimal | None
) -> dict[str, Any]:
    """A market's quote, volume and price structure fields, as Kalshi lists them."""
    return {
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
    }


def kalshi_market(ex: PaperExchange, game: Game, home: bool, now: datetime) -> dict[str, Any]:
    ticker = game.kalshi_ticker(home)
    market = ex.world.market(f"kalshi:{ticker}")
    assert market is not None
    team = game.home if home else game.away
    resolved = ex.store.resolution(game.index)
    bid, ask = best(ex, market, now)
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
        **quote_fields(ex, market, ticker, bid, ask),
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


def kalshi_orderbook(ex: PaperExchange, market: ListedMarket, now: datetime, depth: int = 0) -> dict[str, Any]:
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
