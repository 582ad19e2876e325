"""An old leader that loses the lease in the middle of an unwind, and the new leader.

The try already sent finishes; the old leader starts no further try (two workers selling
the same leg 1 would oversell it), and the new leader's reconciliation finishes the
unwind from what was persisted. Every leg records the worker that sent it.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from tests.support.fake_venue import Fault, make_candidate, poly_ref, stock_books
from tests.worker.engine.conftest import Rig
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.engine.executor import Executor, RiskConfig, UnwindPolicy
from worker.engine.lease import LeaseLost


class SwitchLease:
    """A lease this test takes away by hand (the real keeper is tested in test_lease)."""

    def __init__(self) -> None:
        self.held = True

    def check(self) -> None:
        if not self.held:
            raise LeaseLost("lease lost")


def executor(rig: Rig, lease: SwitchLease, worker_id: str) -> Executor:
    return Executor(
        settings=rig.settings,
        store=rig.attempts,
        trades=rig.trades,
        trade_logger=rig.logger,
        venues={rig.kalshi.venue: rig.kalshi, rig.poly.venue: rig.poly},
        publish=rig.publish,
        risk_config=RiskConfig(),
        unwind=UnwindPolicy(pause_s=0.0),
        lookup_delays=(0.0, 0.0),
        gate=lease.check,
        worker_id=worker_id,
    )


async def test_a_leader_that_loses_the_lease_mid_unwind_stops_and_the_new_one_finishes_without_overselling(
    rig: Rig,
) -> None:
    game = "G7"
    stock_books(rig.kalshi, rig.poly, game)
    ref = poly_ref(game)
    # Leg 1 (Polymarket) fills 10; leg 2 (Kalshi) is rejected; the unwind's first try
    # waits at the venue, where only 4 contracts are bid.
    go = asyncio.Event()
    first_unwind = Fault("gate", event=go)
    rig.poly.script = [None, first_unwind]
    rig.kalshi.script = [Fault("reject")]
    old_lease, new_lease = SwitchLease(), SwitchLease()
    old = executor(rig, old_lease, "worker-old")
    await old.start(background=False)
    admitted = await old.submit(make_candidate(game))
    assert isinstance(admitted, AttemptRecord)
    await first_unwind.reached.wait()
    rig.poly.books[ref] = ([], [])
    rig.poly.set_book(ref, [("0.49", "4")], [("0.50", "100")])

    old_lease.held = False  # paused past its deadline while the try was on the wire
    go.set()
    await old.wait_idle()
    sends_by_old = rig.poly.sends
    stopped = await rig.attempts.get(admitted.id)
    assert stopped is not None and stopped.state is AttemptState.UNWINDING
    assert [g.filled for g in stopped.legs_of(LegRole.UNWIND)] == [D(4)]  # the try under way finished
    assert rig.poly.held[ref] == D(6)

    rig.poly.set_book(ref, [("0.49", "100")], [("0.50", "100")])
    new = executor(rig, new_lease, "worker-new")
    await new.start(background=False)  # reconciles before trading
    await new.wait_idle()
    done = await rig.attempts.get(admitted.id)
    assert done is not None and done.state is AttemptState.ROLLED_BACK
    assert rig.poly.held[ref] == 0  # sold exactly what leg 1 bought: never short
    assert rig.poly.sends == sends_by_old + 1
    unwinds = done.legs_of(LegRole.UNWIND)
    sent_by = done.details["sent_by"]
    assert sent_by[done.leg(LegRole.LEG1).id] == "worker-old"  # type: ignore[union-attr]
    assert sent_by[done.leg(LegRole.LEG2).id] == "worker-old"  # type: ignore[union-attr]
    assert [sent_by[g.id] for g in unwinds] == ["worker-old", "worker-new"]
    assert [g.filled for g in unwinds] == [D(4), D(6)]
