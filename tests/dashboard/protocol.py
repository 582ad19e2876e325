"""Protocol messages exactly as the worker sends them (plan section 3 + worker.api.schemas).

Opportunities and mappings are serialised from the real domain objects with
``schemas.to_wire`` so the dashboard is tested on the shapes the worker produces.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.api import schemas
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

T0 = datetime(2026, 11, 29, 18, 0, tzinfo=UTC)
D = Decimal


def wire(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """A server message as it comes off the wire (exact JSON round trip)."""
    text = schemas.dumps(schemas.message(type_, data))
    return schemas.decode_server_message(text)


def position(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> dict[str, Any]:
    """A stored position as ``init`` and ``/api/positions`` send it (``StoredPosition``)."""
    return {
        "id": pid,
        "event_key": f"nba:{pid}",
        "event_title": title,
        "opened_at": T0,
        "status": "open",
        "poly_venue": "polymarket",
        "poly_market": "7132",
        "poly_contract": "Rockets",
        "poly_side": "Rockets",
        "poly_price": D("0.51"),
        "poly_contracts": 10,
        "kalshi_ticker": "KXNBAGAME-26NOV29HOULAL-HOU",
        "kalshi_side": "NO",
        "kalshi_price": D("0.48"),
        "kalshi_contracts": 10,
        "cost": D("9.95"),
    }


def thin_position_opened(pid: str = "pos-1", title: str = "Rockets vs Lakers") -> dict[str, Any]:
    """``position_opened`` exactly as the executor publishes it (AttemptRunner): legs by
    side only, no Kalshi ticker and no Polymarket contract name."""
    return wire(schemas.POSITION_OPENED, {
        "id": pid, "position_id": pid, "event": title, "event_title": title, "attempt_id": "att-1",
        "poly_side": "Rockets", "poly_price": D("0.51"), "poly_contracts": 10,
        "kalshi_side": "NO", "kalshi_price": D("0.48"), "kalshi_contracts": 10, "cost": D("9.95"),
    })


def init(enabled: bool = True, mode: str = "paper", positions: list[dict[str, Any]] | None = None,
         poly_venue: str = "polymarket", trades: int = 3, pnl: str = "1.25", wins: int = 2) -> dict[str, Any]:
    settings = {"enabled": enabled, "min_bet": D("5.00"), "max_bet": D("10.00"), "min_roi": D("1.00"),
                "max_roi": D("50.00"), "max_daily_trades": 50, "max_daily_loss": D("5.00")}
    return wire(schemas.INIT, {
        "enabled": enabled,
        "settings": settings,
        "balances": {"poly": D("50.00"), "kalshi": D("45.00")},
        "stats": {"trades": trades, "pnl": D(pnl), "wins": wins},
        "positions": positions if positions is not None else [position()],
        "mode": mode,
        "poly_venue": poly_venue,
        "limits": {"max_daily_trades": 50},
    })


def trade(status: str = "SUCCESS", event: str = "LAL vs BOS", size: str = "5.00", pnl: str = "0.12",
          roi: str | None = "2.4", reason: str | None = None, attempt_id: str = "att-1",
          at: datetime = T0, trade_id: str = "t-1") -> dict[str, Any]:
    return wire(schemas.TRADE_EVENT, {
        "id": trade_id, "event": event, "event_title": event, "status": status, "bet_size": D(size),
        "pnl": D(pnl), "roi": D(roi) if roi is not None else None, "reason": reason,
        "attempt_id": attempt_id, "timestamp": at,
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
    m = domain_mapping(n, status, confidence)
    data = schemas.to_wire(m)
    data["id"] = m.id  # the id is a property of the domain object; the server sends it
    return data  # type: ignore[no-any-return]
