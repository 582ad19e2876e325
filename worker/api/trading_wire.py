"""The wire shapes of what the trading supervisor publishes.

The composition root hands :data:`TRADING_WIRE` to the supervisor
(``worker.engine.supervisor.WireFormat``): the engine decides what to say, this module how
the protocol writes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.api import schemas
from worker.domain.discovery import DiscoveryRefusals
from worker.domain.mapping import OpportunityEvent, TradePermission

OPPORTUNITY_TYPES = {
    "opened": schemas.OPPORTUNITY_OPENED,
    "updated": schemas.OPPORTUNITY_UPDATED,
    "closed": schemas.OPPORTUNITY_CLOSED,
}


def opportunity_message(
    event: OpportunityEvent, permission: TradePermission | None = None
) -> tuple[str, dict[str, Any]]:
    """The wire message for one scanner lifecycle step (the card grid's feed), with
    whether its pair may trade (``tradeable``, ``why_not``) when ``permission`` is known."""
    data: dict[str, Any] = schemas.to_wire(event.opportunity)
    if permission is not None:
        data.update(permission.to_wire())
    data["event"] = event.kind.value
    data["at"] = schemas.to_wire(event.at)
    if event.reason is not None:
        data["reason"] = event.reason.value
    return OPPORTUNITY_TYPES[event.kind.value], data


class TradingWire:
    """The supervisor's :class:`~worker.engine.supervisor.WireFormat`."""

    def opportunity(
        self, event: OpportunityEvent, permission: TradePermission | None
    ) -> tuple[str, dict[str, Any]]:
        return opportunity_message(event, permission)

    def refusals(self, refusals: DiscoveryRefusals) -> dict[str, Any]:
        return refusals.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT)

    def time(self, at: datetime) -> Any:
        return schemas.to_wire(at)


TRADING_WIRE = TradingWire()
