"""``discovery`` in ``init`` and ``/api/status``, and the ``discovery_refusals`` message."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from tests.worker.api.conftest import TOKEN, connect_ready
from worker.api import schemas
from worker.bootstrap import Worker
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.events import DiscoveryRefusalsChanged
from worker.domain.markets import Venue

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def test_init_status_and_the_published_message_carry_discovery(worker: Worker) -> None:
    client, init = await connect_ready(worker)
    empty = {"refused_count": 0, "refused": [], "discovered_at": None}
    assert init["data"]["discovery"] == empty  # no discovery runs without the engine
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        assert (await http.get("/api/status")).json(parse_float=Decimal)["discovery"] == empty
    c = DiscoveryRefusals()
    c.update([ListingRefusal(Venue.KALSHI, "KXNBASPREAD-X", "spread market, not a game winner")], T0)
    worker.bus.publish(DiscoveryRefusalsChanged.of(c, schemas.DISCOVERY_REFUSALS_LIMIT))
    msg = await client.recv_type(schemas.DISCOVERY_REFUSALS)
    assert msg["data"] == {
        "refused_count": 1,
        "refused": [{"venue": "kalshi", "id": "KXNBASPREAD-X", "reason": "spread market, not a game winner",
                     "at": "2026-12-06T12:00:00Z"}],
        "discovered_at": "2026-12-06T12:00:00Z",
    }
    await client.close()
