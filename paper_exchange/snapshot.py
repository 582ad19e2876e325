"""The three venues' listing payloads at one instant, in their own wire formats (what
``python -m worker snapshot`` writes), rendered without a server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paper_exchange.kalshi.wire import kalshi_event
from paper_exchange.matching import PaperExchange
from paper_exchange.polymarket.wire import gamma_event
from paper_exchange.polymarket_us.wire import pmus_event
from paper_exchange.world import World


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
