"""The rate limit (the venue clients' requests, the server's client actions) waits on the
clock it is given, for as long as one token takes to come back."""

from __future__ import annotations

import asyncio

from worker.clock import FakeClock
from worker.rate_limit import TokenBucket


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


async def test_take_spends_a_token_without_waiting_and_refuses_when_none_is_left() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, 2, clock=clock)  # as the server limits a client's actions
    assert bucket.take() and bucket.take()
    assert not bucket.take() and clock.sleepers == 0
    await clock.advance(0.5)  # one token back after 1 / rate seconds
    assert bucket.take()
    assert not bucket.take()
