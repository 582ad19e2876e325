"""Attempt and leg records ↔ their rows in ``arbitrage_attempts`` and ``attempt_legs``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from worker.domain.attempts import AttemptRecord, AttemptState, LegRecord, LegRole
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import OrderAction, TimeInForce


def stamp() -> datetime:
    """The time a row is stamped with where the record carries none (the wall clock)."""
    return datetime.now(UTC)


def attempt_values(a: AttemptRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "game_key": a.game_key,
        "mapping_id": a.mapping_id,
        "direction": a.direction,
        "event_title": a.event_title,
        "state": a.state.value,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "contracts": a.contracts,
        "planned_cost": a.planned_cost,
        "expected_edge": a.expected_edge,
        "worst_case_loss": a.worst_case_loss,
        "pnl": a.pnl,
        "reason": a.reason,
        "path": list(a.path),
        "details": dict(a.details),
    }


def leg_values(g: LegRecord) -> dict[str, Any]:
    return {
        "id": g.id,
        "attempt_id": g.attempt_id,
        "role": g.role.value,
        "seq": g.seq,
        "venue": g.contract.venue.value,
        "market_id": g.contract.market_id,
        "contract_id": g.contract.contract_id,
        "contract_label": g.label,
        # side of the contract and the action, e.g. "yes/buy", kept in one column
        "side": f"{g.contract.side.value}/{g.action.value}",
        "price": g.price,
        "quantity": g.quantity,
        "time_in_force": g.tif.value,
        "client_order_id": g.client_order_id,
        "venue_order_id": g.venue_order_id,
        "state": g.state,
        "filled_quantity": g.filled,
        "average_price": g.avg_price,
        "fees": g.fees,
        "error": g.error,
        "sent_at": g.sent_at,
        "updated_at": g.updated_at or stamp(),
        "fills_recorded": g.fills_recorded,
    }


def leg_from_row(row: Any) -> LegRecord:
    m = row._mapping
    side, _, action = str(m["side"]).partition("/")
    return LegRecord(
        id=m["id"],
        attempt_id=m["attempt_id"],
        role=LegRole(m["role"]),
        seq=int(m["seq"]),
        contract=ContractRef(Venue(m["venue"]), m["market_id"], m["contract_id"], OutcomeSide(side)),
        label=m["contract_label"],
        action=OrderAction(action or "buy"),
        price=m["price"],
        quantity=m["quantity"],
        tif=TimeInForce(m["time_in_force"]),
        client_order_id=m["client_order_id"],
        state=m["state"],
        venue_order_id=m["venue_order_id"],
        filled=m["filled_quantity"],
        avg_price=m["average_price"],
        fees=m["fees"],
        error=m["error"],
        sent_at=m["sent_at"],
        updated_at=m["updated_at"],
        fills_recorded=bool(m["fills_recorded"]),
    )


def attempt_from_row(row: Any, legs: list[LegRecord]) -> AttemptRecord:
    m = row._mapping
    return AttemptRecord(
        id=m["id"],
        game_key=m["game_key"],
        mapping_id=m["mapping_id"],
        direction=m["direction"],
        event_title=m["event_title"],
        state=AttemptState(m["state"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        contracts=m["contracts"],
        planned_cost=m["planned_cost"],
        expected_edge=m["expected_edge"],
        worst_case_loss=m["worst_case_loss"],
        path=list(m["path"] or []),
        details=dict(m["details"] or {}),
        pnl=m["pnl"],
        reason=m["reason"],
        legs=sorted(legs, key=lambda g: (g.seq, g.id)),
        trade_id=None if m["trade_id"] is None else str(m["trade_id"]),
        position_id=None if m["position_id"] is None else str(m["position_id"]),
        epoch=m["epoch"],
    )
