"""The trading supervisor while the venues cannot be reached, on a clock the test moves.

Its whole path with venues that answer (lease, takeover, trading, stop) runs in
``tests/worker/api/test_review_over_ws.py``, ``tests/system/crash`` and ``tests/system/scale``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from worker.clock import FakeClock
from worker.domain.errors import MissingCredentials
from worker.domain.events import EventKind, VenueStatus
from worker.domain.mapping import MappingStatus, MarketMapping
from worker.domain.markets import Venue
from worker.domain.operator import VenueConnection
from worker.domain.ports import VenuePort
from worker.domain.storage import LeaseGrant
from worker.engine.event_bus import EventBus
from worker.engine.settings_manager import ExecutorSettingsManager
from worker.engine.supervisor import Hooks, LeaseTerms, TradingSupervisor, VenueAccess


class NoStoredSettings:
    async def load(self) -> Mapping[str, Any] | None:
        return None

    async def save(self, settings: Any) -> None:
        return None

    async def save_fields(self, fields: Mapping[str, Any], expected_version: int | None) -> int:
        return 1


class UnaskedLease:
    """A lease store these tests never reach: nothing connects, so nothing asks for it."""

    async def acquire(self, account: str, holder: str, ttl_s: float) -> LeaseGrant:
        raise AssertionError("the lease is asked for only once the venues answer")

    async def release(self, account: str, holder: str) -> bool:
        raise AssertionError("a lease never held is not released")


class NoMappings:
    async def list(self, status: MappingStatus | None = None) -> list[MarketMapping]:
        return []


class Venues:
    """Opens the venue clients: every attempt fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.opened = 0

    def open(self) -> dict[Venue, VenuePort]:
        self.opened += 1
        raise self.error


def no_assembly(venues: Mapping[Venue, VenuePort], hooks: Hooks) -> Any:
    raise AssertionError("nothing is assembled without venues")


async def realised_nothing() -> Decimal:
    return Decimal(0)


def supervisor(venues: Venues, bus: EventBus, clock: FakeClock) -> TradingSupervisor:
    return TradingSupervisor(
        access=VenueAccess(
            names=("kalshi", "polymarket"),
            open=venues.open,
            unreachable=(OSError,),
            describe=lambda exc: f"{type(exc).__name__}: connection failed",
        ),
        assemble=no_assembly,
        lease=LeaseTerms(UnaskedLease(), account="paper", holder="worker-test/0001", ttl_s=10),
        bus=bus,
        settings=ExecutorSettingsManager(NoStoredSettings()),
        mappings=NoMappings(),
        realised_total=realised_nothing,
        retry_max_s=8.0,
        clock=clock,
    )


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_unreachable_venues_are_shown_down_and_retried_with_a_doubling_backoff_on_the_clock() -> None:
    clock, bus = FakeClock(), EventBus()
    statuses = bus.subscribe(types={EventKind.VENUE_STATUS})
    venues = Venues(ConnectionRefusedError("refused"))
    engine = supervisor(venues, bus, clock)
    engine.start()
    await settle()

    assert venues.opened == 1
    assert engine.detail == "ConnectionRefusedError: connection failed"
    states = engine.venue_states()
    assert [(s.venue, s.state, s.since) for s in states] == [
        ("kalshi", VenueConnection.DOWN, clock.now()),
        ("polymarket", VenueConnection.DOWN, clock.now()),
    ]
    status = statuses.get_nowait()
    assert status is not None and isinstance(status.payload, VenueStatus)
    assert status.payload.venues[0].venue is Venue.KALSHI and status.payload.venues[0].state is VenueConnection.DOWN
    assert status.payload.lease == "standby"

    for delay in (1.0, 2.0, 4.0, 8.0, 8.0, 8.0):  # doubling, up to retry_max_s
        opened = venues.opened
        await clock.advance(delay - 0.5)
        await settle()
        assert venues.opened == opened
        await clock.advance(0.5)
        await settle()
        assert venues.opened == opened + 1
    assert statuses.get_nowait() is None  # the same reason again is not news

    assert await engine.stop() is True
    await clock.advance(60)
    assert venues.opened == 7


async def test_missing_credentials_stop_the_retries_and_say_so() -> None:
    clock, bus = FakeClock(), EventBus()
    venues = Venues(MissingCredentials("kalshi", ["KALSHI_API_KEY_ID"]))
    engine = supervisor(venues, bus, clock)
    engine.start()
    await settle()
    await clock.advance(120)

    assert venues.opened == 1
    assert engine.detail == "missing credentials: kalshi: missing credentials: KALSHI_API_KEY_ID"
    assert {s.state for s in engine.venue_states()} == {VenueConnection.DOWN}
    assert await engine.stop() is True


async def test_stop_during_the_backoff_and_the_wait_for_trading_need_no_time_to_pass() -> None:
    clock, bus = FakeClock(), EventBus()
    venues = Venues(OSError("unreachable"))
    engine = supervisor(venues, bus, clock)
    engine.start()
    await settle()

    waiting = asyncio.ensure_future(engine.wait_trading(30))
    await settle()
    await clock.advance(29.5)
    assert not waiting.done()
    await clock.advance(0.5)
    assert waiting.done() and waiting.result() is False

    # The next retry is seconds of the clock away; stopping does not wait for them.
    assert await asyncio.wait_for(engine.stop(), timeout=5) is True
    assert engine.lease_status() == "released"
