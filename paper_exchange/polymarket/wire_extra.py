"""Gamma's listing of any paper game: the NBA/NFL/NHL stream's event
(:mod:`paper_exchange.polymarket.wire`) or a second-stream game's
(:mod:`paper_exchange.world_extra`): an MLB moneyline as the NBA's, an EPL game's three
Yes/No markets (``epl-eve-ars-2025-12-20-eve`` "Will Everton FC win on 2025-12-20?",
``…-draw`` "Will Everton FC vs. Arsenal FC end in a draw?", ``…-ars``), spreads
(``…-spread-away-19pt5`` "Spread: Miami (FL) (-19.5)", ``line`` -19.5) and totals
(``…-total-50pt5`` "…: O/U 50.5", ``line`` 50.5)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from paper_exchange.matching import PaperExchange
from paper_exchange.polymarket.wire import (
    gamma_event,
    gamma_market,
    gamma_state,
    listing_fields,
    poly_description,
)
from paper_exchange.store import iso
from paper_exchange.world import Game
from paper_exchange.world_extra import ExtraGame

ONE = Decimal(1)
FIRST_STREAM_KINDS = ("moneyline", "spread", "total")
TAG_IDS = {"nba": "100", "nfl": "101", "nhl": "102", "mlb": "103", "epl": "104"}


def gamma_kinds(g: Game) -> tuple[str, ...]:
    return g.gamma_kinds() if isinstance(g, ExtraGame) else FIRST_STREAM_KINDS


def gamma_event_any(ex: PaperExchange, g: Game, now: datetime) -> dict[str, Any]:
    return extra_event(ex, g, now) if isinstance(g, ExtraGame) else gamma_event(ex, g, now)


def gamma_market_any(ex: PaperExchange, g: Game, kind: str, now: datetime) -> dict[str, Any]:
    return extra_market(ex, g, kind, now) if isinstance(g, ExtraGame) else gamma_market(ex, g, kind, now)


def _title(g: ExtraGame) -> str:
    if g.soccer:
        return f"{g.home.poly_outcome} vs. {g.away.poly_outcome}"
    return f"{g.away.poly_outcome} vs. {g.home.poly_outcome}"


def _question(g: ExtraGame, kind: str) -> tuple[str, str | None]:
    """(question, groupItemTitle) of a market kind."""
    what = g.proposition(kind)
    day = g.local_date.isoformat()
    if kind == "moneyline":
        return _title(g), None
    if what[0] == "win":
        team = g.home if what[1] else g.away
        return f"Will {team.full_name} win on {day}?", team.poly_outcome
    if what[0] == "draw":
        return (
            f"Will {g.home.full_name} vs. {g.away.full_name} end in a draw?",
            f"Draw ({g.home.poly_outcome} vs. {g.away.poly_outcome})",
        )
    line = g.line_of(kind)
    if what[0] == "spread":
        team = g.home if what[1] else g.away
        return f"Spread: {team.poly_outcome} (-{line})", f"Spread -{line}"
    return f"{_title(g)}: O/U {line}", f"O/U {line}"


def _description(g: ExtraGame, kind: str) -> str:
    what = g.proposition(kind)
    if kind == "moneyline":
        return poly_description(g, g.away.poly_outcome, g.home.poly_outcome)
    start = f"{g.local_date:%B} {g.local_date.day}"
    tail = (
        "\nIf the game is postponed, this market will remain open until the game has been completed.\n"
        "If the game is canceled entirely, with no make-up game, this market will resolve 50-50."
    )
    if what[0] in ("win", "draw"):
        if what[0] == "draw":
            cond = "the game ends in a draw"
        else:
            cond = f"{(g.home if what[1] else g.away).full_name} wins the game"
        return (
            f"This market refers to the {g.home.full_name} vs. {g.away.full_name} game scheduled for {start}.\n"
            f'If {cond}, this market will resolve to "Yes". Otherwise, it will resolve to "No".{tail}'
        )
    o0, o1 = g.gamma_outcomes(kind)
    line = g.line_of(kind)
    if what[0] == "spread":
        cond = f"{o0} win the game by more than {line}"
    else:
        cond = f"{g.away.poly_outcome} and {g.home.poly_outcome} combine to score more than {line}"
    return f'This market will resolve to "{o0}" if {cond}.\nOtherwise, this market will resolve to "{o1}".{tail}'


SMT = {"win": "moneyline", "draw": "moneyline", "spread": "spreads", "total": "totals"}


def extra_market(ex: PaperExchange, g: ExtraGame, kind: str, now: datetime) -> dict[str, Any]:
    cond = g.condition_id(kind)
    st = gamma_state(ex, g, kind, now)
    market, resolved, bid, ask, prices = st.market, st.resolved, st.bid, st.ask, st.prices
    (o0, o1), (t0, t1) = st.outcomes, st.tokens
    what = g.proposition(kind)
    question, group = _question(g, kind)
    line = None
    if what[0] == "spread":
        line = -float(g.line_of(kind))
    elif what[0] == "total":
        line = float(g.line_of(kind))
    closed = resolved is not None or not g.tradable(now)
    out: dict[str, Any] = {
        "id": g.gamma_market_id(kind),
        "question": question,
        "conditionId": cond,
        "slug": g.gamma_market_slug(kind),
        "questionID": "0x" + cond[2:][::-1],
        "description": _description(g, kind),
        "outcomes": json.dumps([o0, o1]),
        "outcomePrices": json.dumps(prices),
        "clobTokenIds": json.dumps([t0, t1]),
        "startDate": iso(ex.world.epoch),
        "endDate": iso(g.end),
        "endDateIso": g.end.date().isoformat(),
        "gameStartTime": g.start.strftime("%Y-%m-%d %H:%M:%S+00"),
        "sportsMarketType": SMT[what[0]],
        "line": line,
        **listing_fields(ex, market, bid, ask, closed, (t0, t1), now),
    }
    if group is not None:
        out["groupItemTitle"] = group
    if resolved is not None:
        out["umaResolutionStatus"] = "resolved"
        out["closedTime"] = ex.store.resolved_at(g.index).strftime("%Y-%m-%d %H:%M:%S+00")
    return out


def extra_event(ex: PaperExchange, g: ExtraGame, now: datetime) -> dict[str, Any]:
    resolved = ex.store.resolution(g.index)
    closed = resolved is not None or not g.tradable(now)
    markets = [extra_market(ex, g, k, now) for k in g.gamma_kinds()]
    first, second = (g.home, g.away) if g.soccer else (g.away, g.home)
    return {
        "id": g.gamma_event_id,
        "ticker": g.gamma_slug,
        "slug": g.gamma_slug,
        "title": _title(g),
        "description": f"{g.league.upper()} game: {first.full_name} vs. {second.full_name}.",
        "startDate": iso(ex.world.epoch),
        "creationDate": iso(ex.world.epoch),
        "endDate": iso(g.end),
        "startTime": iso(g.start),
        "gameStartTime": g.start.strftime("%Y-%m-%d %H:%M:%S+00"),
        "active": True,
        "closed": closed,
        "archived": False,
        "restricted": False,
        "negRisk": False,
        "enableOrderBook": True,
        "seriesSlug": g.league,
        "tags": [{"id": TAG_IDS[g.league], "label": g.league.upper(), "slug": g.league}],
        "volume": float(sum((Decimal(m["volume"]) for m in markets), Decimal(0))),
        "liquidity": 0,
        "createdAt": iso(ex.world.epoch),
        "updatedAt": iso(now),
        "markets": markets,
    }
