"""The kill switch with flatten: progress as positions close, the outcome with each failure."""

from __future__ import annotations

from tests.support.fake_venue import kalshi_ref
from tests.worker.engine.conftest import Rig
from tests.worker.engine.test_execution import run_one
from worker.domain.operator import kill_switch_report


async def test_flattening_publishes_progress_after_each_position_and_counts_the_failure(rig: Rig) -> None:
    ex = rig.executor()
    for game in ("G1", "G2", "G3"):
        await run_one(rig, game, ex=ex)
    assert len(await rig.trades.list_positions("open")) == 3
    rig.kalshi.set_book(kalshi_ref("G2"), [], [("0.45", "100")])  # G2's Kalshi leg has no bid: cannot close
    rig.events.clear()

    result = await ex.kill_switch(flatten=True)

    progress = rig.events_of("kill_switch_progress")
    steps = [(p["closed"] + p["failed"], p["total"], p["done"]) for p in progress]
    assert steps == [(0, 3, False), (1, 3, False), (2, 3, False), (3, 3, True)]
    assert len({p["started_at"] for p in progress}) == 1  # one pull
    assert (progress[-1]["closed"], progress[-1]["failed"]) == (2, 1)
    # The closes themselves went out as position_closed between the progress steps.
    kinds = [t for t, _ in rig.events if t in ("kill_switch_progress", "position_closed")]
    assert kinds[0] == "kill_switch_progress" and kinds.count("position_closed") == 2
    assert [r["closed"] for r in result["flattened"]].count(False) == 1
    (left,) = await rig.trades.list_positions("open")

    message, data = kill_switch_report(True, result)
    assert "2 of 3 open positions closed" in message and "1 NOT closed" in message
    assert f"1 NOT closed: position {left.id}: " in message and "no bid" in message
    assert (data["total"], data["closed"], data["failed"]) == (3, 2, 1)
    assert data["failures"][0]["position_id"] == left.id and "no bid" in data["failures"][0]["problems"][0]


async def test_flattening_nothing_says_so_at_once(rig: Rig) -> None:
    ex = rig.executor()
    await ex.start(background=False)
    result = await ex.kill_switch(flatten=True)
    assert result["flattened"] == []
    (only,) = rig.events_of("kill_switch_progress")
    assert (only["total"], only["closed"], only["failed"], only["done"]) == (0, 0, 0, True)
    message, data = kill_switch_report(True, result)
    assert "0 of 0 open positions closed" in message and data["failures"] == []


async def test_without_flatten_no_progress_is_published(rig: Rig) -> None:
    ex = rig.executor()
    await run_one(rig, ex=ex)
    rig.events.clear()
    await ex.kill_switch(flatten=False)
    assert rig.events_of("kill_switch_progress") == []
    assert len(await rig.trades.list_positions("open")) == 1


async def database_down(*_args: object) -> list[object]:
    """A store read while the database is down."""
    raise ConnectionError("database is down")


async def test_a_flatten_not_tried_because_the_database_is_down_says_so(rig: Rig) -> None:
    """The attempts cannot be read: nothing is cancelled or closed, and the outcome must
    not read "0 of 0 open positions closed" (as if there were none)."""
    ex = rig.executor()
    await run_one(rig, ex=ex)

    rig.attempts.list_active = database_down  # type: ignore[method-assign]
    result = await ex.kill_switch(flatten=True)
    assert result["flatten_skipped"] is True and result["flattened"] == [] and result["orders_checked"] is False
    assert len(await rig.trades.list_positions("open")) == 1  # untouched
    message, data = kill_switch_report(True, result)
    assert "open positions NOT flattened (not tried: the database is unavailable)" in message
    assert "0 of 0" not in message and data == {"flatten": True, "flatten_skipped": True}


async def test_a_failure_after_the_pause_is_an_answer_that_says_what_was_done(rig: Rig) -> None:
    """The open positions cannot be read once the orders were checked: the kill switch still
    answers (trading is paused; the worker's error would say nothing was changed), with the
    flatten not tried and no position touched."""
    ex = rig.executor()
    await run_one(rig, ex=ex)

    rig.trades.list_positions = database_down  # type: ignore[method-assign]
    result = await ex.kill_switch(flatten=True)
    assert result["paused"] is True and result["orders_checked"] is True
    assert result["flatten_skipped"] is True and result["flattened"] == []
    assert "could not be read (ConnectionError)" in result["note"]
    assert rig.events_of("kill_switch_progress") == []
    assert rig.settings.current.enabled is False
    message, _ = kill_switch_report(True, result)
    assert "open positions NOT flattened" in message
