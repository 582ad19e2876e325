"""Hand-written listings in the venues' real formats, for the proposition traps.

The shapes follow the real captures in ``tests/fixtures/real`` (Kalshi ``/events`` with
nested markets: ``yes_sub_title``, ``floor_strike``, ``-TIE``; Gamma ``/events``: JSON-
encoded ``outcomes``/``clobTokenIds``, ``sportsMarketType``, ``line``, soccer's Yes/No
markets) and the formats other projects quote where no capture exists (MLB
doubleheaders' ``G1``/``G2``, soccer's ``…-draw`` slug): see docs/matching.md. Every id
and price here is made up; the tests' expected pairs are written by hand from these
fixtures, never derived from the team tables.
"""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from worker.domain.markets import Market
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.polymarket.parse import parse_events as parse_gamma

_ids = count(900000)
_FEES = {"exponent": 1, "rate": 0.03, "takerOnly": True, "rebateRate": 0.25}


def kalshi_market(event: str, suffix: str, label: str, rules: str = "", line: float | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {
        "ticker": f"{event}-{suffix}",
        "event_ticker": event,
        "yes_sub_title": label,
        "no_sub_title": label,
        "status": "active",
        "close_time": "2026-12-30T03:00:00Z",
        "yes_bid_dollars": "0.4500",
        "yes_ask_dollars": "0.4700",
        "rules_primary": rules or f"If {label} wins, then the market resolves to Yes.",
    }
    if line is not None:
        m["floor_strike"] = line
        m["strike_type"] = "greater"
    return m


def kalshi_event(event: str, title: str, markets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"event_ticker": event, "series_ticker": event.partition("-")[0], "title": title, "markets": markets}


def gamma_market(
    slug: str,
    question: str,
    outcomes: list[str],
    smt: str = "moneyline",
    start: str = "",
    line: float | None = None,
    description: str = "",
) -> dict[str, Any]:
    mid = next(_ids)
    m: dict[str, Any] = {
        "id": str(mid),
        "slug": slug,
        "question": question,
        "conditionId": f"0x{mid:x}",
        "sportsMarketType": smt,
        "outcomes": json.dumps(outcomes),
        "outcomePrices": json.dumps(["0.5"] * len(outcomes)),
        "clobTokenIds": json.dumps([f"{mid}{i}" for i in range(len(outcomes))]),
        "feesEnabled": True,
        "feeSchedule": _FEES,
        "active": True,
        "closed": False,
        "enableOrderBook": True,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "description": description or "This market resolves by the game's official result.",
    }
    if start:
        m["gameStartTime"] = start
    if line is not None:
        m["line"] = line
    return m


def gamma_event(slug: str, title: str, markets: list[dict[str, Any]], start: str = "") -> dict[str, Any]:
    ev: dict[str, Any] = {"id": str(next(_ids)), "slug": slug, "title": title, "markets": markets}
    if start:
        ev["startTime"] = start
    return ev


def kalshi(*events: dict[str, Any]) -> list[Market]:
    markets, _ = parse_kalshi({"events": list(events)})
    return markets


def gamma(*events: dict[str, Any]) -> list[Market]:
    return parse_gamma(list(events))


def token(markets: list[Market], slug: str, outcome: str) -> str:
    """The token id of ``outcome`` of the Gamma market ``slug`` (read off the fixture)."""
    for m in markets:
        if m.slug == slug:
            for o in m.outcomes:
                if o.label == outcome:
                    return o.contract_id
    raise KeyError((slug, outcome))
