"""The rows an attempt writes: its trade-log row, its position, a stranded leg's end.

Pure builders over :class:`~worker.domain.attempts.AttemptRecord` (no I/O): the runner,
the position keeper and the operator's actions persist what they return. The figures come
from :mod:`worker.domain.pnl`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.attempts import AttemptRecord, LegRecord, LegRole, label_side
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.orders import OrderAction, TimeInForce
from worker.domain.pnl import position_cost, roi_pct, spent, unwind_pnl
from worker.domain.tradelog import NewPosition, PositionLeg, TradeRecord, TradeStatus
from worker.engine.executor.legs import new_client_id

VENUE_SHORT = {Venue.KALSHI: "Kalshi", Venue.POLYMARKET: "Poly", Venue.POLYMARKET_US: "PolyUS"}


def parse_time(value: object) -> datetime | None:
    """A time kept in an attempt's details (ISO text), or None."""
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


def leg_detail(g: LegRecord) -> dict[str, Any]:
    """One leg as the trade-log row's details show it."""
    return {
        "role": g.role.value,
        "venue": g.venue.value,
        "contract": g.label,
        "contract_id": g.contract.contract_id,
        "side": g.contract.side.value,
        "action": g.action.value,
        "price": str(g.price),
        "quantity": str(g.quantity),
        "tif": g.tif.value,
        "client_order_id": g.client_order_id,
        "venue_order_id": g.venue_order_id,
        "state": g.state,
        "filled": str(g.filled),
        "avg_price": None if g.avg_price is None else str(g.avg_price),
        "fees": str(g.fees),
        "error": g.error,
        "sent_at": None if g.sent_at is None else g.sent_at.isoformat(),
    }


#: Where each kind of sale leg's sequence numbers start (its id says which it is).
_SALES = {LegRole.UNWIND: (10, "u"), LegRole.CLOSE: (100, "c")}


def sale_leg(attempt: AttemptRecord, of: LegRecord, role: LegRole, price: Decimal, quantity: Decimal) -> LegRecord:
    """A new IOC sale of ``quantity`` of ``of``'s contract (an unwind try or a close
    order), appended to the attempt's legs; the caller persists it before sending."""
    first, tag = _SALES[role]
    seq = first + len(attempt.legs_of(role))
    leg = LegRecord(
        id=f"{attempt.id}-{tag}{seq}",
        attempt_id=attempt.id,
        role=role,
        seq=seq,
        contract=of.contract,
        label=of.label,
        action=OrderAction.SELL,
        price=price,
        quantity=quantity,
        tif=TimeInForce.IOC,
        client_order_id=new_client_id(),
    )
    attempt.legs.append(leg)
    return leg


def new_position(attempt: AttemptRecord, now: datetime) -> NewPosition:
    """The position of a (partly) hedged attempt: the hedged pairs on both venues."""
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    hedged = min(leg1.filled, leg2.filled)
    kalshi, poly = (leg1, leg2) if leg1.venue is Venue.KALSHI else (leg2, leg1)

    def pleg(g: LegRecord) -> PositionLeg:
        contract = f"{label_side(g.contract)} {g.contract.contract_id}" if g.venue is Venue.KALSHI else g.label
        side = label_side(g.contract) if g.venue is not Venue.POLYMARKET else g.label
        return PositionLeg(
            venue=g.venue.value,
            market=g.contract.contract_id,
            contract=contract,
            side=side,
            price=g.avg_price or g.price,
            contracts=int(hedged),
        )

    return NewPosition(
        event_key=f"{attempt.game_key}:{attempt.id}",
        event_title=attempt.event_title,
        opened_at=now,
        poly=pleg(poly),
        kalshi=pleg(kalshi),
        cost=position_cost(attempt),
        attempt_id=attempt.id,
        game_key=attempt.game_key,
        expires_at=parse_time(attempt.details.get("expires_at")),
    )


def attempt_row(
    attempt: AttemptRecord, status: TradeStatus, pnl: Decimal, reason: str | None, now: datetime
) -> TradeRecord:
    """The attempt's one trade-log row: its bet (what both legs cost, else what was
    planned), P&L, ROI, orders and the path and legs that led there."""
    leg1 = attempt.leg(LegRole.LEG1)
    leg2 = attempt.leg(LegRole.LEG2)
    paid = spent(attempt)
    bet = paid if paid > 0 else attempt.planned_cost
    retries = int(attempt.details.get("unwind_retries", 0))
    poly_leg = next((g for g in (leg1, leg2) if g is not None and g.venue is not Venue.KALSHI), None)
    kalshi_leg = next((g for g in (leg1, leg2) if g is not None and g.venue is Venue.KALSHI), None)
    details = {
        "path": list(attempt.path),
        "legs": [leg_detail(g) for g in attempt.legs],
        "fees": str(sum((g.fees for g in attempt.legs), ZERO)),
        "timings": attempt.details.get("timings", {}),
        "game_key": attempt.game_key,
        "mapping_id": attempt.mapping_id,
        "direction": attempt.direction,
    }
    if "stranded" in attempt.details:
        details["stranded"] = attempt.details["stranded"]
    return TradeRecord(
        event_title=attempt.event_title,
        status=status,
        bet_size=bet,
        pnl=pnl,
        timestamp=now,
        roi=roi_pct(pnl, bet),
        poly_order_id=poly_leg.venue_order_id if poly_leg else None,
        kalshi_order_id=kalshi_leg.venue_order_id if kalshi_leg else None,
        reason=reason,
        attempt_id=attempt.id,
        details=details,
        # An operator's retry of a STRANDED attempt's unwind ends in a row of its own.
        dedup_key=f"attempt:{attempt.id}:retry{retries}" if retries else None,
    )


def stranded_row(
    attempt: AttemptRecord,
    status: TradeStatus,
    cost: Decimal,
    pnl: Decimal,
    now: datetime,
    reason: str,
    details: Mapping[str, Any],
    how: str,
) -> TradeRecord:
    """The realised row of a stranded leg's end (SETTLED by its market, CLOSED by the
    operator's proceeds): the unwound and stranded contracts' P&L, once per attempt."""
    return TradeRecord(
        event_title=attempt.event_title,
        status=status,
        bet_size=cost,
        pnl=pnl,
        timestamp=now,
        roi=roi_pct(pnl, cost),
        reason=reason,
        attempt_id=attempt.id,
        details={**details, "unwind_pnl": str(unwind_pnl(attempt)), "stranded_cost": str(cost)},
        dedup_key=f"stranded:{attempt.id}:{how}",
    )
