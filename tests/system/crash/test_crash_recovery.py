"""Crash at every named point (in process, against the fake venue whose state outlives
the crash), then a fresh executor on the same database reconciles before trading.

After each restart: every venue order is known to the database, no leg was sent twice,
no position has an untracked leg, and every acknowledged trade row is still there.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.support.fake_venue import Fault, make_candidate, stock_books
from tests.worker.engine.conftest import Rig
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.engine.executor import CRASH_POINTS, CrashPoints


class SimulatedCrash(BaseException):
    """Stands for SIGKILL: a BaseException, so no ``except Exception`` handler swallows it."""


def crash_now() -> None:
    raise SimulatedCrash()


async def assert_books_agree(rig: Rig) -> None:
    venue_ids, client_ids = await rig.attempts.known_order_ids()
    for venue in (rig.kalshi, rig.poly):
        for order in venue.orders.values():
            assert order.client_order_id in client_ids or order.venue_order_id in venue_ids
        # no leg sent twice: one venue order per client id
        assert len(venue.client_ids()) == len(set(venue.client_ids()))
    for attempt in await rig.attempts.list_all():
        for leg in attempt.legs:
            sent = [o for v in (rig.kalshi, rig.poly) for o in v.orders.values() if o.client_order_id == leg.client_order_id]
            assert len(sent) <= 1
            if sent:
                assert leg.filled == sent[0].filled_size, (leg.id, leg.state)


async def crash_at(rig: Rig, point: str = "after_leg1_sent") -> AttemptRecord:
    """An attempt whose worker died at ``point`` (by default right after sending leg 1,
    which leaves it in LEG1_SENT)."""
    first = rig.executor(crash=CrashPoints(point, on_crash=crash_now))
    await first.start(background=False)
    stock_books(rig.kalshi, rig.poly, "G1")
    admitted = await first.submit(make_candidate("G1"))
    assert isinstance(admitted, AttemptRecord)
    await first.wait_idle()
    for task in first._tasks.values():
        assert isinstance(task.exception(), SimulatedCrash)
    return admitted


@pytest.mark.parametrize("point", CRASH_POINTS)
async def test_crash_at_each_point_is_recovered_without_lost_or_duplicated_orders(rig: Rig, point: str) -> None:
    if point == "during_unwind":
        rig.kalshi.script = [Fault("reject")]
    admitted = await crash_at(rig, point)
    crashed = await rig.attempts.get(admitted.id)
    assert crashed is not None and crashed.state.in_flight  # died half-way
    rows_before = await rig.trades.recent_trades(limit=100)

    second = rig.executor()
    await second.start(background=False)  # reconciles before anything new
    await second.wait_idle()
    after = await rig.attempts.get(admitted.id)
    assert after is not None and after.state.terminal, after.state
    expected = {
        "after_planned": AttemptState.FAILED,
        "after_leg1_sent": AttemptState.HEDGED,
        "after_leg1_fill": AttemptState.HEDGED,
        "after_leg2_sent": AttemptState.HEDGED,
        "during_unwind": AttemptState.ROLLED_BACK,
    }[point]
    assert after.state is expected
    await assert_books_agree(rig)
    rows_after = await rig.trades.recent_trades(limit=100)
    assert {r.id for r in rows_before} <= {r.id for r in rows_after}
    assert len([r for r in rows_after if r.attempt_id == admitted.id]) == 1
    if expected is AttemptState.HEDGED:
        (pos,) = await rig.trades.list_positions("open")
        leg1, leg2 = after.leg(LegRole.LEG1), after.leg(LegRole.LEG2)
        assert leg1 is not None and leg2 is not None
        assert pos.poly_contracts == int(leg1.filled) == int(leg2.filled) == 10
    if point == "after_planned":
        assert rig.poly.sends == 0 and rig.kalshi.sends == 0
    if point == "during_unwind":
        assert rig.poly.held[next(iter(rig.poly.held))] == D(0)


async def test_unreachable_venue_at_restart_keeps_the_attempt_in_flight_and_the_game_busy(rig: Rig) -> None:
    admitted = await crash_at(rig)
    rig.poly.down = True
    second = rig.executor()
    await second.start(background=False)
    await second.wait_idle()
    still = await rig.attempts.get(admitted.id)
    assert still is not None and still.state is AttemptState.LEG1_SENT  # never guessed
    assert rig.poly.sends == 1
    rig.poly.down = False
    await second.reconcile()
    await second.wait_idle()
    done = await rig.attempts.get(admitted.id)
    assert done is not None and done.state is AttemptState.HEDGED
    assert rig.poly.sends == 1


async def test_leg_found_by_look_up_without_an_average_price_takes_it_from_the_fills(rig: Rig) -> None:
    """Found by the SIGKILL test: an order record carries a fill count but no average
    price; the fills of that order give it, so leg 2 and the P&L are priced right."""
    rig.poly.records_without_price = True
    admitted = await crash_at(rig)
    second = rig.executor()
    await second.start(background=False)
    await second.wait_idle()
    after = await rig.attempts.get(admitted.id)
    assert after is not None and after.state is AttemptState.HEDGED
    leg1 = after.leg(LegRole.LEG1)
    assert leg1 is not None and leg1.avg_price == D("0.50") and leg1.fees > 0


async def test_reconciliation_never_adopts_a_later_grants_attempt_and_resumes_its_own(rig: Rig) -> None:
    """An attempt written under grant 7 is another, newer holder's: the holder of grant 6
    leaves it alone. The holder of grant 7 (its own, paused, not running) resumes it."""

    from db.tables import arbitrage_attempts

    admitted = await crash_at(rig)
    async with rig.db.write() as conn:
        await conn.execute(arbitrage_attempts.update().values(epoch=7))
    older = rig.executor()
    older.epoch = lambda: 6
    assert (await older.reconcile())["resumed"] == 0
    assert (await rig.attempts.get(admitted.id)).state is AttemptState.LEG1_SENT  # type: ignore[union-attr]
    same = rig.executor()
    same.epoch = lambda: 7
    await same.start(background=False)
    done = await rig.attempts.get(admitted.id)
    assert done is not None and not done.state.in_flight
    await assert_books_agree(rig)
