"""Protocol messages exactly as the worker sends them (plan section 3 + worker.api.schemas).

Built with the worker's own encoders where it has them: ``init`` and ``/api/status`` with
the server's ``init_data`` / ``status_data`` from a console snapshot, positions, opportunities
and mappings from the real domain objects (``schemas.to_wire``, the mapping store's
adapter); the executor's hand-built messages (``trade_event``, ``position_opened`` …) as
its code writes them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.api import schemas
from worker.api.server import init_data, status_data
from worker.bootstrap import StoreMappingDecisions
from worker.domain.mapping import (
    Confidence,
    CurvePoint,
    Direction,
    Leg,
    MappingStatus,
    MarketMapping,
    Opportunity,
    RulesCheck,
)
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.operator import Balances, ConsoleSnapshot, VenueConnection, VenueState
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import DailyStats, StoredPosition

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
D = Decimal


def wire(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """A server message as it comes off the wire (exact JSON round trip)."""
    text = schemas.dumps(schemas.message(type_, data))
    return schemas.decode_server_message(text)


def stored_position(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> StoredPosition:
    return StoredPosition(
        id=pid, event_key=f"nba:{pid}", event_title=title, opened_at=T0, status="open",
        poly_venue="polymarket", poly_market="7132", poly_contract="Rockets", poly_side="Rockets",
        poly_price=D("0.51"), poly_contracts=10,
        kalshi_ticker="KXNBAGAME-26NOV29HOULAL-HOU", kalshi_side="NO", kalshi_price=D("0.48"), kalshi_contracts=10,
        cost=D("9.95"), attempt_id="att-1", game_key=f"nba:{pid}", expires_at=None, closed_at=None,
        realized_pnl=None, close_reason=None,
    )


def position(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> dict[str, Any]:
    """A stored position as ``init`` and ``/api/positions`` send it (``StoredPosition``)."""
    return schemas.to_wire(stored_position(pid, title))  # type: ignore[no-any-return]


def position_opened(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> dict[str, Any]:
    """``position_opened`` as the executor publishes it (``AttemptRunner._publish_position``)."""
    return wire(schemas.POSITION_OPENED, {
        "id": pid, "position_id": pid, "event": title, "event_title": title, "attempt_id": "att-1",
        "poly_side": "Rockets", "poly_price": D("0.51"), "poly_contracts": 10,
        "kalshi_side": "NO", "kalshi_price": D("0.48"), "kalshi_contracts": 10, "cost": D("9.95"),
        "poly_venue": "polymarket", "poly_market": "7132", "poly_contract": "Rockets",
        "kalshi_ticker": "KXNBAGAME-26NOV29HOULAL-HOU", "game_key": f"nba:{pid}", "opened_at": T0,
    })


def thin_position_opened(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> dict[str, Any]:
    """A ``position_opened`` that names the legs by side only: no Kalshi ticker, no
    Polymarket contract name (the executor's shape before it sent the names)."""
    data = dict(position_opened(pid, title)["data"])
    data.update({"poly_market": None, "poly_contract": None, "kalshi_ticker": None})
    return wire(schemas.POSITION_OPENED, data)


def position_closed(pid: str = "pos-1", title: str = "Rockets vs Lakers", status: str = "CLOSED") -> dict[str, Any]:
    """``position_closed`` as the executor publishes it (``Executor._position_closed``)."""
    return wire(schemas.POSITION_CLOSED, {
        "id": pid, "position_id": pid, "event": title, "status": status, "pnl": D("0.05"),
        "timestamp": T0 + timedelta(hours=1),
    })


SETTINGS = ExecutorSettings(enabled=True, min_bet=D("5.00"), max_bet=D("10.00"), min_roi=D("1.00"),
                            max_roi=D("50.00"), max_daily_trades=50, max_daily_loss=D("5.00"))


def console_snapshot(enabled: bool = True, mode: str = "paper", positions: list[StoredPosition] | None = None,
                     poly_venue: str = "polymarket", trades: int = 3, pnl: str = "1.25", wins: int = 2,
                     balances: Balances | None = None) -> ConsoleSnapshot:
    """What the worker's console would snapshot: the source of ``init`` and ``/api/status``."""
    settings = ExecutorSettings(**{**SETTINGS.values(), "enabled": enabled})
    return ConsoleSnapshot(
        settings=settings,
        balances=balances or Balances(D("50.00"), D("45.00")),
        stats=DailyStats(date(2026, 11, 29), trades, D(pnl), wins, max(-D(pnl), D(0))),
        positions=positions if positions is not None else [stored_position()],
        venues=[VenueState("kalshi", VenueConnection.UP, 120, None, T0),
                VenueState(poly_venue, VenueConnection.UP, 80, None, T0)],
        opportunities=[],
        limits={"max_daily_trades": 50},
        mode=mode,
        poly_venue=poly_venue,
        started_at=T0 - timedelta(hours=1),
        taken_at=T0,
        executor_running=True,
        extra={"database": {"state": "up", "error": None, "since": T0 - timedelta(hours=1)}},
    )


def init(enabled: bool = True, mode: str = "paper", positions: list[dict[str, Any]] | None = None,
         poly_venue: str = "polymarket", trades: int = 3, pnl: str = "1.25", wins: int = 2) -> dict[str, Any]:
    """``init`` as the server sends it (``init_data`` of a console snapshot); ``positions``
    as they are on the wire (:func:`position`)."""
    snap = console_snapshot(enabled, mode, [], poly_venue, trades, pnl, wins)
    data = init_data(snap)
    data["positions"] = positions if positions is not None else [position()]
    return wire(schemas.INIT, data)


def api_status(**kw: Any) -> dict[str, Any]:
    """``GET /api/status`` as the server answers it (``status_data``), parsed exactly."""
    return json.loads(schemas.dumps(status_data(console_snapshot(**kw))), parse_float=Decimal)  # type: ignore[no-any-return]


def trade(status: str = "SUCCESS", event: str = "LAL vs BOS", size: str = "5.00", pnl: str = "0.12",
          roi: str | None = "2.4", reason: str | None = None, attempt_id: str = "att-1",
          at: datetime = T0, trade_id: str = "t-1") -> dict[str, Any]:
    """A trade-log row's ``trade_event`` as the executor publishes it (``AttemptRunner``)."""
    return wire(schemas.TRADE_EVENT, {
        "event": event, "status": status, "bet_size": D(size),
        "pnl": D(pnl), "roi": D(roi) if roi is not None else None, "reason": reason,
        "attempt_id": attempt_id, "trade_id": trade_id, "timestamp": at.isoformat(),
        "loud": status == "STRANDED",
    })


def _leg(venue: Venue, contract_id: str, side: OutcomeSide, label: str, price: str) -> Leg:
    return Leg(ContractRef(venue, contract_id, contract_id, side), label, D(price), D(price), D(100), D("0.35"))


def domain_opportunity(n: int, roi: str = "2.5", confidence: str = "HIGH", league: str = "nba",
                       title: str | None = None, starts_in_h: int = 5, rules_differ: bool = False,
                       expires_at: datetime | None = None) -> Opportunity:
    roi_d = D(roi)
    return Opportunity(
        id=f"opp_{n:04d}_kalshi_no",
        mapping_id=f"map_{n:04d}",
        direction=Direction.KALSHI_NO,
        league=league,
        event_title=title or f"Rockets vs Lakers #{n}",
        game_date=date(2026, 11, 29),
        confidence=Confidence(confidence),
        # The scanner labels a Kalshi leg "SIDE TICKER" (worker.engine.scanner).
        kalshi_leg=_leg(Venue.KALSHI, f"KXNBAGAME-26NOV29HOULAL{n}-HOU", OutcomeSide.NO,
                        f"NO KXNBAGAME-26NOV29HOULAL{n}-HOU", "0.48"),
        poly_leg=_leg(Venue.POLYMARKET, f"71321{n:04d}", OutcomeSide.TOKEN, "Rockets", "0.51"),
        size=D(100),
        cost=D("99.00"),
        edge=D("1.00"),
        roi_pct=roi_d,
        roi_per_day_pct=roi_d * 2,
        curve=(CurvePoint(D(100), D("99.00"), D("1.00"), roi_d),),
        volume=D(1200 + n),
        kalshi_volume=D(15230) if n == 1 else None,
        expires_at=expires_at or (T0 + timedelta(hours=starts_in_h)),
        expected_resolution=T0 + timedelta(hours=starts_in_h + 3),
        rules=RulesCheck("Kalshi: resolves YES if Houston wins.", "Polymarket: resolves Rockets if Houston wins.",
                         ("postponement handling differs",) if rules_differ else ()),
        updated_at=T0,
    )


def opportunity(n: int, **kw: Any) -> dict[str, Any]:
    return schemas.to_wire(domain_opportunity(n, **kw))  # type: ignore[no-any-return]


def opportunity_message(kind: str, n: int, **kw: Any) -> dict[str, Any]:
    return wire(kind, opportunity(n, **kw))


def snapshot(opps: list[dict[str, Any]]) -> dict[str, Any]:
    return wire(schemas.OPPORTUNITIES_SNAPSHOT, {"opportunities": opps})


def domain_mapping(n: int, status: str = "candidate", confidence: str = "MEDIUM") -> MarketMapping:
    return MarketMapping(
        kalshi_ticker=f"KXNBAGAME-26NOV29HOULAL{n}-HOU",
        kalshi_event_ticker=f"KXNBAGAME-26NOV29HOULAL{n}",
        poly_venue=Venue.POLYMARKET,
        poly_market=f"71321{n:04d}",
        poly_side="",
        poly_opposite=f"99999{n:04d}",
        league="nba",
        game_date=date(2026, 11, 29),
        away_team="nba:HOU",
        home_team="nba:LAL",
        proposition_team="nba:HOU",
        event_title=f"Rockets at Lakers #{n}",
        confidence=Confidence(confidence),
        reasons=("teams from structured fields", "title fuzzy 0.93"),
        start_time=T0,
        status=MappingStatus(status),
    )


def mapping(n: int, status: str = "candidate", confidence: str = "MEDIUM") -> dict[str, Any]:
    """A mapping as ``mapping_changed`` and ``/api/mappings`` send it: the mapping store's
    adapter (id, review_key, and the verdict on its own game with the default limits)."""
    m = domain_mapping(n, status, confidence)
    return schemas.to_wire(StoreMappingDecisions(None, MappingStatus)._wire(m, [m]))  # type: ignore[no-any-return]
