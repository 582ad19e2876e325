"""The three venues' listing payloads at one instant, in their own wire formats (what
``python -m worker snapshot`` writes), rendered without a server."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paper_exchange.kalshi.wire_extra import kalshi_entries, kalshi_event_any
from paper_exchange.matching import PaperExchange
from paper_exchange.polymarket.wire_extra import gamma_event_any
from paper_exchange.polymarket_us.wire import pmus_event
from paper_exchange.world import World


def snapshot(world: World, ex: PaperExchange, now: datetime) -> dict[str, Any]:
    """The three venues' listing payloads at ``now`` (what ``snapshot`` writes)."""
    games = world.games(now)
    return {
        "kalshi_events.json": {
            "events": [
                kalshi_event_any(ex, g, e, now, True) for g in games if "kalshi" in g.venues for _, e in kalshi_entries(g)
            ],
            "cursor": "",
        },
        "polymarket_events.json": [gamma_event_any(ex, g, now) for g in games if "polymarket" in g.venues],
        "polymarket_us_events.json": {
            "events": [pmus_event(ex, g, now) for g in games if "polymarket_us" in g.venues],
        },
    }
