"""The venue clients' rate limit waits on the clock it is given, for as long as one token
takes to come back."""

from __future__ import annotations

import asyncio

from worker.clock import FakeClock
from worker.venues.common.http import TokenBucket


async def test_past_the_burst_a_request_waits_for_the_next_token_on_the_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, 2, clock=clock)  # two a second, bursts of two
    await bucket.acquire()
    await bucket.acquire()
    third = asyncio.create_task(bucket.acquire())
    await asyncio.sleep(0)
    assert not third.done() and clock.sleepers == 1
    await clock.advance(0.25)
    assert not third.done()
    await clock.advance(0.25)  # one token back after 1 / rate seconds
    assert third.done()
    await third
