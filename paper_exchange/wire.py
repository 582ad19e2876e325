"""What the three venues' wire formats share (VENUES.md): decimal strings, Polymarket US
``{"value","currency"}`` amounts, the best quotes of a book, a market's traded volume.

Each venue's own renderers are in its package (``paper_exchange.kalshi.wire``,
``paper_exchange.polymarket.wire``, ``paper_exchange.polymarket_us.wire``); pure functions,
used by the HTTP server and by the snapshot command alike.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from paper_exchange.matching import PaperExchange
from paper_exchange.world import ListedMarket

ONE = Decimal(1)
#: Leagues whose games can end level: their texts say what a tie pays (the paper's games
#: always have a winner, so the sentence never applies, but it is there as on the venues).
TIE_LEAGUES = frozenset({"nfl"})


def d4(x: Decimal) -> str:
    return f"{x:.4f}"


def fp2(x: Decimal) -> str:
    return f"{x:.2f}"


def amount(x: Decimal) -> dict[str, str]:
    return {"value": d4(x), "currency": "USD"}


def best(ex: PaperExchange, market: ListedMarket, now: datetime) -> tuple[Decimal | None, Decimal | None]:
    bids, asks = ex.book(market, now)
    return (bids[0][0] if bids else None), (asks[0][0] if asks else None)


def traded_volume(ex: PaperExchange, market: ListedMarket, *instruments: str, day: bool = False) -> Decimal:
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
