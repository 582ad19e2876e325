"""The clock port: the fake moves only when advanced, wakes sleepers in deadline order,
and the check script finds time read anywhere in worker/ but the clock module."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scripts.check_clock import offences
from worker.clock import SYSTEM_CLOCK, FakeClock, within

START = datetime(2026, 12, 6, 12, tzinfo=UTC)


async def test_fake_clock_stands_still_until_advanced() -> None:
    clock = FakeClock(START, monotonic=50.0)
    assert clock.now() == START and clock.monotonic() == 50.0
    await clock.advance(2.5)
    assert clock.now() == START + timedelta(seconds=2.5)
    assert clock.monotonic() == 52.5


async def test_sleepers_wake_in_deadline_order_and_only_when_due() -> None:
    clock = FakeClock(START)
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper("late", 10)), asyncio.create_task(sleeper("early", 3))]
    await asyncio.sleep(0)
    assert clock.sleepers == 2
    await clock.advance(2.9)
    assert woke == []
    await clock.advance(0.1)
    assert woke == [("early", START + timedelta(seconds=3))]
    await clock.advance(100)
    assert woke[1] == ("late", START + timedelta(seconds=10))
    assert clock.now() == START + timedelta(seconds=103)
    await asyncio.gather(*tasks)


async def test_sleep_zero_yields_without_advance() -> None:
    clock = FakeClock(START)
    await asyncio.wait_for(clock.sleep(0), timeout=1)
    assert clock.now() == START


async def test_a_clock_does_not_go_back_and_needs_aware_times() -> None:
    clock = FakeClock(START)
    with pytest.raises(ValueError):
        await clock.advance(-1)
    with pytest.raises(ValueError):
        FakeClock(datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        clock.set(datetime(2026, 1, 1))


async def test_system_clock_is_aware_utc_and_monotonic() -> None:
    a, b = SYSTEM_CLOCK.monotonic(), SYSTEM_CLOCK.monotonic()
    assert b >= a
    assert SYSTEM_CLOCK.now().tzinfo is UTC


def test_check_script_flags_time_outside_the_clock_module(tmp_path: Path) -> None:
    (tmp_path / "worker" / "engine").mkdir(parents=True)
    (tmp_path / "worker" / "clock.py").write_text("import time\nx = time.monotonic()\n")
    (tmp_path / "worker" / "engine" / "ok.py").write_text("def f(clock):\n    return clock.now()\n")
    (tmp_path / "worker" / "engine" / "bad.py").write_text(
        "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n"
    )
    assert offences(tmp_path) == ["worker/engine/bad.py:3: await asyncio.sleep(1)"]


async def test_within_says_whether_the_waiter_finished_before_the_clock_ran_out() -> None:
    clock = FakeClock(START)
    done = asyncio.Event()
    first = asyncio.create_task(within(clock, done.wait(), 5))
    await asyncio.sleep(0)
    done.set()
    assert await first is True
    late = asyncio.create_task(within(clock, asyncio.Event().wait(), 5))
    for _ in range(3):  # within starts its timer
        await asyncio.sleep(0)
    assert clock.sleepers == 1
    await clock.advance(4.5)
    assert not late.done()
    await clock.advance(0.5)
    assert await late is False


async def test_within_raises_what_the_waiter_raised() -> None:
    async def broken() -> None:
        raise RuntimeError("waiter failed")

    with pytest.raises(RuntimeError, match="waiter failed"):
        await within(FakeClock(START), broken(), 5)


async def test_run_until_wakes_each_sleeper_then_settles_and_lands_exactly_on_the_time() -> None:
    clock = FakeClock(START)
    log: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        log.append(f"{name}@{(clock.now() - START).total_seconds()}")

    async def settle() -> None:
        # What a replay does after each wake: let the woken task finish before time moves.
        await asyncio.sleep(0)
        log.append("settled")

    tasks = [asyncio.create_task(sleeper("b", 0.3)), asyncio.create_task(sleeper("a", 0.1))]
    cancelled = asyncio.create_task(sleeper("never", 0.2))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    target = START + timedelta(seconds=0.1) * 7  # 0.7 s, a sum of float steps elsewhere
    await clock.run_until(target, settle)
    await asyncio.gather(*tasks)
    assert log == ["a@0.1", "settled", "b@0.3", "settled"]
    assert clock.now() == target
    await clock.run_until(START, settle)  # the past moves nothing
    assert clock.now() == target


async def test_move_if_none_due_moves_as_run_until_would_only_when_nobody_wakes() -> None:
    clock, twin = FakeClock(START), FakeClock(START)
    base = clock.monotonic()
    woken: list[float] = []

    async def sleeper(c: FakeClock) -> None:
        await c.sleep(2.0)
        woken.append(c.monotonic())

    async def settle() -> None:
        await asyncio.sleep(0)

    tasks = [asyncio.create_task(sleeper(clock)), asyncio.create_task(sleeper(twin))]
    await asyncio.sleep(0)
    one = START + timedelta(seconds=1.5)
    # No deadline before 1.5 s: both move exactly alike, nobody wakes.
    assert clock.move_if_none_due(one) is True
    await twin.run_until(one, settle)
    assert (clock.now(), clock.monotonic()) == (twin.now(), twin.monotonic()) and woken == []
    # A deadline (2 s) on the way to 2.5 s: it moves nothing and says so; run_until wakes it.
    assert clock.move_if_none_due(START + timedelta(seconds=2.5)) is False
    assert clock.now() == one
    await clock.run_until(START + timedelta(seconds=2.5), settle)
    await twin.run_until(START + timedelta(seconds=2.5), settle)
    await asyncio.gather(*tasks)
    assert woken == [base + 2.0] * 2 and clock.now() == twin.now()
    assert clock.move_if_none_due(START) is True and clock.now() == twin.now()  # the past moves nothing
