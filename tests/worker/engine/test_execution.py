"""Two-leg execution against the fake venue: each fault kind, positions, close, settlement, operator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from decimal import Decimal as D

import pytest

from db.ledger import LedgerRepository
from tests.support.fake_venue import Fault, kalshi_ref, make_candidate, poly_ref, stock_books
from tests.support.waiting import wait_until
from tests.worker.engine.conftest import Rig
from worker.clock import FakeClock
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole, Refusal, RefusalReason
from worker.domain.events import AlertKind
from worker.domain.markets import ContractRef, MarketResolution, OutcomeSide, Venue
from worker.domain.operator import OperatorError
from worker.domain.tradelog import StoredPosition
from worker.engine.executor import Executor, UnwindPolicy
from worker.engine.executor.positions import CLOSE_TRIES


async def run_one(rig: Rig, game: str = "G1", ex: Executor | None = None, **kw: object) -> AttemptRecord:
    ex = ex or rig.executor()
    if not ex.ready:
        await ex.start(background=False)
    stock_books(rig.kalshi, rig.poly, game)
    result = await ex.submit(make_candidate(game, **kw))  # type: ignore[arg-type]
    assert isinstance(result, AttemptRecord), result
    await ex.wait_idle()
    stored = await rig.attempts.get(result.id)
    assert stored is not None
    return stored


async def strand_one(rig: Rig, ex: Executor) -> AttemptRecord:
    """Leg 2 refused and leg 1 unsellable: the attempt ends STRANDED."""
    rig.kalshi.script = [Fault("reject")]
    rig.poly.sells_fail = True
    return await run_one(rig, ex=ex)


async def trade_rows(rig: Rig) -> list:  # type: ignore[type-arg]
    return await rig.trades.recent_trades(limit=1000)


async def test_both_legs_fill_hedged_with_position_and_success_row(rig: Rig) -> None:
    a = await run_one(rig)
    assert a.state is AttemptState.HEDGED
    assert a.path == ["PLANNED", "LEG1_SENT", "LEG1_FILLED", "LEG2_SENT", "HEDGED"]
    leg1, leg2 = a.leg(LegRole.LEG1), a.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    assert leg1.venue is Venue.POLYMARKET and leg2.venue is Venue.KALSHI  # less reliable venue first
    assert leg1.filled == leg2.filled == D(10)
    (row,) = await trade_rows(rig)
    assert row.status == "SUCCESS" and row.pnl > 0
    assert row.poly_order_id == leg1.venue_order_id and row.kalshi_order_id == leg2.venue_order_id
    assert row.details["path"] == a.path and len(row.details["legs"]) == 2
    (pos,) = await rig.trades.list_positions("open")
    assert pos.kalshi_contracts == 10 and pos.poly_contracts == 10
    assert pos.kalshi_side == "YES" and pos.poly_side == "Kings"
    assert rig.events_of("position_opened") and rig.events_of("trade_event")[0]["status"] == "SUCCESS"


async def test_leg2_reject_rolls_back_leg1_with_the_loss_as_pnl(rig: Rig) -> None:
    rig.kalshi.script = [Fault("reject")]
    a = await run_one(rig)
    assert a.state is AttemptState.ROLLED_BACK
    assert a.path[-2:] == ["UNWINDING", "ROLLED_BACK"]
    (row,) = await trade_rows(rig)
    assert row.status == "ROLLED_BACK" and row.pnl < 0
    assert row.reason.startswith("Kalshi fail")
    assert rig.poly.held[poly_ref("G1")] == 0
    assert not await rig.trades.list_positions("open")
    # loss bounded by the ladder: 20 % of leg 1's cost plus fees
    assert -row.pnl <= a.legs_of(LegRole.LEG1)[0].notional * D("0.2") + D("1")


async def test_leg1_timeout_that_filled_is_found_and_never_resent(rig: Rig) -> None:
    rig.poly.script = [Fault("timeout_filled")]
    a = await run_one(rig)
    assert a.state is AttemptState.HEDGED
    assert rig.poly.sends == 1


async def test_leg1_timeout_that_did_not_fill_fails_without_a_second_order(rig: Rig) -> None:
    rig.poly.script = [Fault("timeout_unfilled")]
    a = await run_one(rig)
    assert a.state is AttemptState.FAILED
    assert a.leg(LegRole.LEG1).state == "not_found"  # type: ignore[union-attr]
    assert rig.poly.sends == 1 and rig.kalshi.sends == 0
    (row,) = await trade_rows(rig)
    assert row.status == "FAILED" and row.pnl == 0


async def test_leg2_timeout_that_filled_is_hedged(rig: Rig) -> None:
    rig.kalshi.script = [Fault("timeout_filled")]
    a = await run_one(rig)
    assert a.state is AttemptState.HEDGED and rig.kalshi.sends == 1


async def test_leg2_timeout_that_did_not_fill_is_rolled_back(rig: Rig) -> None:
    rig.kalshi.script = [Fault("timeout_unfilled")]
    a = await run_one(rig)
    assert a.state is AttemptState.ROLLED_BACK and rig.kalshi.sends == 1


async def test_leg2_partial_fill_hedges_part_and_unwinds_the_rest(rig: Rig) -> None:
    # Kalshi first (it can sell back any remainder), Polymarket second as fill-and-kill.
    rig.poly.script = [Fault("partial", ratio=D("0.6"))]
    a = await run_one(rig, kalshi_first=True)
    assert a.leg(LegRole.LEG1).venue is Venue.KALSHI  # type: ignore[union-attr]
    assert a.leg(LegRole.LEG2).tif.value == "ioc"  # type: ignore[union-attr]
    assert a.state is AttemptState.HEDGED
    assert a.path[-2:] == ["UNWINDING", "HEDGED"]
    assert a.unwound_quantity() == D(4)
    (pos,) = await rig.trades.list_positions("open")
    assert pos.kalshi_contracts == 6 and pos.poly_contracts == 6
    (row,) = await trade_rows(rig)
    assert row.status == "SUCCESS" and "partial hedge" in row.reason
    assert rig.poly.held[poly_ref("G1")] == 6 and rig.kalshi.held[kalshi_ref("G1")] == 6


async def test_leg2_is_all_or_nothing_when_leg1_venue_cannot_sell_small_remainders(rig: Rig) -> None:
    # Polymarket first (minimum order 5 shares): a partial hedge could leave 1-4 shares
    # that no order can sell, so Kalshi's leg 2 goes fill-or-kill.
    rig.kalshi.script = [Fault("partial", ratio=D("0.6"))]
    a = await run_one(rig)
    assert a.leg(LegRole.LEG2).tif.value == "fok"  # type: ignore[union-attr]
    assert a.leg(LegRole.LEG2).filled == 0  # type: ignore[union-attr]
    assert a.state is AttemptState.ROLLED_BACK


async def test_leg2_slip_within_the_edge_still_hedges_at_the_worse_price(rig: Rig) -> None:
    rig.kalshi.script = [Fault("slip", ticks=1)]
    a = await run_one(rig)
    assert a.state is AttemptState.HEDGED
    assert a.leg(LegRole.LEG2).avg_price == D("0.46")  # type: ignore[union-attr]
    (row,) = await trade_rows(rig)
    assert row.pnl > 0  # 1 - 0.50 - 0.46 - fees


async def test_leg2_slip_beyond_the_edge_does_not_fill_and_rolls_back(rig: Rig) -> None:
    rig.kalshi.script = [Fault("slip", ticks=5)]
    a = await run_one(rig)
    assert a.state is AttemptState.ROLLED_BACK


async def test_unwind_that_cannot_sell_ends_stranded_loudly_after_five_tries(rig: Rig) -> None:
    rig.kalshi.script = [Fault("reject")]
    rig.poly.sells_fail = True
    a = await run_one(rig)
    assert a.state is AttemptState.STRANDED
    assert len(a.legs_of(LegRole.UNWIND)) == 5
    prices = [u.price for u in a.legs_of(LegRole.UNWIND)]
    assert prices == sorted(prices, reverse=True) and min(prices) >= D("0.40")
    (row,) = await trade_rows(rig)
    assert row.status == "STRANDED" and row.details["stranded"]["open_quantity"] == "10"
    loud = [e for e in rig.events_of("trade_event") if e["status"] == "STRANDED"]
    assert loud and loud[0]["loud"] is True
    assert not await rig.trades.list_positions("open")  # a stranded leg is not a position
    # nothing more on that game, and its full cost counts toward the daily loss
    ex = rig.executor()
    await ex.start(background=False)
    stock_books(rig.kalshi, rig.poly, "G1")
    refused = await ex.submit(make_candidate("G1"))
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.GAME_BUSY
    day = await rig.attempts.exposure(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    assert day.stranded_cost >= D("5.00")


async def test_operator_retry_unwind_of_stranded_attempt_rolls_it_back(rig: Rig) -> None:
    ex = rig.executor()
    a = await strand_one(rig, ex)
    assert a.state is AttemptState.STRANDED
    rig.poly.sells_fail = False
    result = await ex.retry_unwind(a.id)
    assert result["state"] == "ROLLED_BACK"
    statuses = sorted(r.status for r in await trade_rows(rig))
    assert statuses == ["ROLLED_BACK", "STRANDED"]
    with pytest.raises(OperatorError) as err:
        await ex.retry_unwind(a.id)
    assert err.value.field == "attempt_id"


async def test_operator_resolves_stranded_by_hand_and_the_game_is_free_again(rig: Rig) -> None:
    ex = rig.executor()
    a = await strand_one(rig, ex)
    with pytest.raises(OperatorError):
        await ex.resolve_stranded(a.id, "  ")
    await ex.resolve_stranded(a.id, "sold by hand on polymarket.com")
    stored = await rig.attempts.get(a.id)
    assert stored is not None and stored.state is AttemptState.RESOLVED
    assert stored.details["resolution_note"] == "sold by hand on polymarket.com"
    rig.poly.sells_fail = False
    b = await run_one(rig, ex=ex)
    assert b.state is AttemptState.HEDGED


async def test_toggle_off_while_a_trade_is_in_flight_lets_it_finish_and_starts_nothing_new(rig: Rig) -> None:
    ex = rig.executor()
    await ex.start(background=False)
    gate = asyncio.Event()
    rig.kalshi.script = [Fault("gate", event=gate)]
    stock_books(rig.kalshi, rig.poly, "G1")
    first = await ex.submit(make_candidate("G1"))
    assert isinstance(first, AttemptRecord)
    await rig.kalshi.arrived.wait()
    await rig.settings.set_enabled(False)
    stock_books(rig.kalshi, rig.poly, "G2")
    refused = await ex.submit(make_candidate("G2"))
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.DISABLED
    gate.set()
    await ex.wait_idle()
    stored = await rig.attempts.get(first.id)
    assert stored is not None and stored.state is AttemptState.HEDGED


async def test_settings_change_mid_execution_applies_from_the_next_decision(rig: Rig) -> None:
    ex = rig.executor()
    await ex.start(background=False)
    gate = asyncio.Event()
    rig.poly.script = [Fault("gate", event=gate)]
    stock_books(rig.kalshi, rig.poly, "G1")
    first = await ex.submit(make_candidate("G1"))
    assert isinstance(first, AttemptRecord) and first.contracts == D(10)
    await rig.poly.arrived.wait()
    await rig.settings.update({"min_bet": D("1"), "max_bet": D("5")})
    gate.set()
    await ex.wait_idle()
    stored = await rig.attempts.get(first.id)
    assert stored is not None and stored.state is AttemptState.HEDGED
    assert stored.leg(LegRole.LEG2).quantity == D(10)  # type: ignore[union-attr]
    stock_books(rig.kalshi, rig.poly, "G2")
    second = await ex.submit(make_candidate("G2"))
    assert isinstance(second, AttemptRecord) and second.contracts == D(5)
    await ex.wait_idle()


async def one_open_position(rig: Rig) -> tuple[Executor, StoredPosition]:
    """An executor and the one open position its hedged attempt on G1 left."""
    ex = rig.executor()
    await run_one(rig, ex=ex)
    (pos,) = await rig.trades.list_positions("open")
    return ex, pos


async def test_close_position_sells_both_legs_and_records_closed_pnl(rig: Rig) -> None:
    ex, pos = await one_open_position(rig)
    result = await ex.close_position(pos.id)
    assert result["closed"] is True
    assert rig.kalshi.held[kalshi_ref("G1")] == 0 and rig.poly.held[poly_ref("G1")] == 0
    closed = [r for r in await trade_rows(rig) if r.status == "CLOSED"]
    assert len(closed) == 1 and closed[0].pnl == D(result["pnl"])
    assert closed[0].pnl < 0  # sold a cent under the ask on both sides, with fees
    assert (await rig.trades.get_position(pos.id)).status == "closed"  # type: ignore[union-attr]
    assert rig.events_of("position_closed")[0]["status"] == "CLOSED"


async def test_close_position_with_an_unsellable_leg_keeps_what_is_left_open(rig: Rig) -> None:
    ex, pos = await one_open_position(rig)
    rig.kalshi.set_book(kalshi_ref("G1"), [], [("0.45", "100")])  # no bid
    result = await ex.close_position(pos.id)
    assert result["closed"] is False and result["left"] == {"kalshi": "10.000000"}
    assert rig.poly.held[poly_ref("G1")] == 0
    assert (await rig.trades.get_position(pos.id)).status == "open"  # type: ignore[union-attr]
    rig.kalshi.set_book(kalshi_ref("G1"), [("0.44", "100")], [("0.45", "100")])
    assert (await ex.close_position(pos.id))["closed"] is True


async def test_a_close_the_venue_answered_short_is_tried_again_for_the_rest_at_the_then_best_bid(rig: Rig) -> None:
    # The bid moved between the book read and the order (a sale filling a tick under the
    # bid: the IOC finds nothing), as under load on the paper exchange: tried again.
    ex, pos = await one_open_position(rig)
    before = rig.kalshi.sends
    rig.kalshi.script.append(Fault("slip"))
    result = await ex.close_position(pos.id)
    assert result["closed"] is True and rig.kalshi.held[kalshi_ref("G1")] == 0
    assert rig.kalshi.sends - before == 2
    stored = await rig.attempts.get(pos.attempt_id)  # type: ignore[arg-type]
    closes = [c for c in stored.legs_of(LegRole.CLOSE) if c.venue is Venue.KALSHI]  # type: ignore[union-attr]
    assert [c.filled for c in closes] == [D(0), D(10)]


async def test_a_close_stops_after_its_tries_and_resends_a_timed_out_sale_only_once_found_unsold(rig: Rig) -> None:
    ex, pos = await one_open_position(rig)
    before = rig.kalshi.sends
    rig.kalshi.script.extend([Fault("slip")] * CLOSE_TRIES)
    result = await ex.close_position(pos.id)
    assert result["closed"] is False and result["left"] == {"kalshi": "10.000000"}
    assert rig.kalshi.sends - before == CLOSE_TRIES
    assert result["problems"] == ["kalshi: sold 0 of 10.000000 (canceled)"]
    # A sale that timed out may have sold: it is looked up first, and sent again only once
    # the venue's record shows it sold nothing.
    before, lookups = rig.kalshi.sends, rig.kalshi.lookups
    rig.kalshi.script.append(Fault("timeout_unfilled"))
    again = await ex.close_position(pos.id)
    assert again["closed"] is True and rig.kalshi.sends - before == 2 and rig.kalshi.lookups > lookups


async def test_a_close_never_resends_a_sale_whose_outcome_stays_unknown(rig: Rig) -> None:
    ex, pos = await one_open_position(rig)
    before = rig.kalshi.sends
    rig.kalshi.script.append(Fault("timeout_unfilled"))
    rig.kalshi.lookups_down = True  # the sale timed out and cannot be looked up: it may have sold
    result = await ex.close_position(pos.id)
    assert result["closed"] is False and rig.kalshi.sends - before == 1
    assert result["problems"][0].startswith("kalshi: leg ")


async def test_the_unwind_ladder_pauses_between_tries_on_its_clock_and_stops_once_its_window_has_passed(
    rig: Rig,
) -> None:
    clock = FakeClock(datetime.now(UTC))
    ex = rig.executor(clock=clock, unwind=UnwindPolicy(max_tries=10, window_s=2.5, pause_s=1.0))
    await ex.start(background=False)
    rig.kalshi.script = [Fault("reject")]  # leg 2 refused
    rig.poly.sells_fail = True  # and no try of the ladder sells anything
    stock_books(rig.kalshi, rig.poly, "G1")
    a = await ex.submit(make_candidate("G1"))
    assert isinstance(a, AttemptRecord)
    pauses = 0
    while ex.running(a.id):
        if clock.sleepers:  # the ladder waits for its next try: nothing happens until the clock moves
            await clock.advance(1.0)
            pauses += 1
        else:
            await asyncio.sleep(0.001)  # the attempt is writing to the database
    stored = await rig.attempts.get(a.id)
    assert stored is not None and stored.state is AttemptState.STRANDED
    tries = stored.legs_of(LegRole.UNWIND)
    sent = [g.sent_at for g in tries]
    assert all(t is not None for t in sent)
    # One try, then one a pause (1 s on the clock) later each; the window is looked at
    # before each pause, so the try after the pause that crosses 2.5 s is the last one.
    assert [(t - sent[0]).total_seconds() for t in sent] == [0.0, 1.0, 2.0, 3.0]  # type: ignore[operator]
    assert pauses == 3 < len(tries) < 10
    assert stored.details["stranded"]["why"] == "unwind ladder exhausted after 4 tries"


async def _shutting_down_with_leg1_at_the_venue(rig: Rig) -> tuple[Executor, FakeClock, asyncio.Event, asyncio.Task[bool]]:
    """An executor on a fake clock whose one attempt's leg 1 hangs at the venue, and its
    shutdown (30 s bound) waiting on the clock."""
    clock = FakeClock(datetime.now(UTC))
    ex = rig.executor(clock=clock)
    await ex.start(background=False)
    gate = asyncio.Event()
    hang = Fault("gate", event=gate)
    rig.poly.script = [hang]
    stock_books(rig.kalshi, rig.poly, "G1")
    assert isinstance(await ex.submit(make_candidate("G1")), AttemptRecord)
    await hang.reached.wait()
    stopping = asyncio.create_task(ex.shutdown(timeout_s=30))
    for _ in range(100):  # a few turns of the loop: no I/O before the bound's wait
        if clock.sleepers:
            break
        await asyncio.sleep(0)
    assert clock.sleepers == 1
    return ex, clock, gate, stopping


async def test_shutdown_refuses_new_trades_and_gives_an_attempt_in_flight_its_bound_then_leaves_it(rig: Rig) -> None:
    ex, clock, gate, stopping = await _shutting_down_with_leg1_at_the_venue(rig)
    stock_books(rig.kalshi, rig.poly, "G2")
    refused = await ex.submit(make_candidate("G2"))
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.SHUTTING_DOWN
    await clock.advance(29.9)
    assert not stopping.done()  # still within the bound
    await clock.advance(0.1)
    assert await stopping is False  # left in flight: the next start's reconciliation resumes it
    gate.set()
    await ex.wait_idle()


async def test_shutdown_returns_as_soon_as_the_attempts_in_flight_have_ended(rig: Rig) -> None:
    ex, clock, gate, stopping = await _shutting_down_with_leg1_at_the_venue(rig)
    await clock.advance(5)
    gate.set()
    assert await stopping is True
    assert clock.sleepers == 0  # the bound's wait was called off
    (attempt,) = await rig.attempts.list_all()
    assert attempt.state is AttemptState.HEDGED


async def test_close_during_an_active_trade_waits_for_it_instead_of_racing(rig: Rig) -> None:
    ex = rig.executor()
    await ex.start(background=False)
    gate = asyncio.Event()
    rig.poly.script = [Fault("partial", ratio=D("0.6"))]
    unwind_gate = Fault("gate", event=gate)
    rig.kalshi.script = [None, unwind_gate]  # leg 1 (Kalshi) fills, the unwind waits
    stock_books(rig.kalshi, rig.poly, "G1")
    a = await ex.submit(make_candidate("G1", kalshi_first=True))
    assert isinstance(a, AttemptRecord)
    await unwind_gate.reached.wait()
    (pos,) = await rig.trades.list_positions("open")  # the partial hedge is a position already
    closing = asyncio.create_task(ex.close_position(pos.id))
    # Seen waiting for the attempt, not assumed after some time.
    await wait_until(lambda: ex.tasks.waiting(a.id) == 1, 5, "the close waiting for the attempt")
    assert not closing.done() and ex.tasks.running(a.id)
    gate.set()
    result = await closing
    assert result["closed"] is True
    stored = await rig.attempts.get(a.id)
    assert stored is not None and stored.state is AttemptState.HEDGED
    roles = [g.role for g in stored.legs]
    assert roles.index(LegRole.UNWIND) < roles.index(LegRole.CLOSE)
    assert rig.poly.held[poly_ref("G1")] == 0 and rig.kalshi.held[kalshi_ref("G1")] == 0


@pytest.mark.parametrize(("kalshi_pays", "poly_pays", "outcome"), [("1", "0", "win"), ("0", "0.5", "fifty")])
async def test_settlement_closes_positions_with_their_payout(
    rig: Rig, kalshi_pays: str, poly_pays: str, outcome: str
) -> None:
    ex, pos = await one_open_position(rig)
    now = datetime.now(UTC)
    rig.kalshi.resolved = [MarketResolution(Venue.KALSHI, "k", {kalshi_ref("G1"): D(kalshi_pays)}, now)]
    # Keyed by another id of the same market (Polymarket's condition id, not the Gamma id
    # the leg keeps): matched by the outcome token.
    other_id = ContractRef(Venue.POLYMARKET, "0xcondition", poly_ref("G1").contract_id, OutcomeSide.TOKEN)
    rig.poly.resolved = [MarketResolution(Venue.POLYMARKET, "p", {other_id: D(poly_pays)}, now)]
    assert await ex.settle() == {"settled": 1, "stranded": 0, "overdue": 0}
    (row,) = [r for r in await trade_rows(rig) if r.status == "SETTLED"]
    payout = 10 * (D(kalshi_pays) + D(poly_pays))
    assert row.pnl == payout - pos.cost
    assert (row.pnl > 0) is (outcome == "win")
    assert not await rig.trades.list_positions("open")
    cash = {(e.venue, e.amount) for e in await LedgerRepository(rig.db).cash()}
    assert cash == {(Venue.KALSHI, 10 * D(kalshi_pays)), (Venue.POLYMARKET, 10 * D(poly_pays))}


async def test_position_past_expiry_without_resolution_stays_open_and_alerts(rig: Rig) -> None:
    clock = FakeClock(datetime.now(UTC))
    ex = rig.executor(clock=clock)
    await run_one(rig, ex=ex, start_in=timedelta(minutes=5))
    (pos,) = await rig.trades.list_positions("open")
    assert await ex.settle() == {"settled": 0, "stranded": 0, "overdue": 0}
    await clock.advance(timedelta(days=2).total_seconds())
    assert await ex.settle() == {"settled": 0, "stranded": 0, "overdue": 1}
    assert (await rig.trades.get_position(pos.id)).status == "open"  # type: ignore[union-attr]
    (alert,) = [e for e in rig.events_of("trade_event") if e["status"] == "SETTLEMENT_OVERDUE"]
    assert alert["loud"] is True and f"position {pos.id}" in alert["reason"]
    # Postponed: it resolves days later and settles then.
    now = datetime.now(UTC)
    rig.kalshi.resolved = [MarketResolution(Venue.KALSHI, "k", {kalshi_ref("G1"): D(1)}, now)]
    rig.poly.resolved = [MarketResolution(Venue.POLYMARKET, "p", {poly_ref("G1"): D(0)}, now)]
    assert (await ex.settle())["settled"] == 1


async def test_venues_that_resolved_nothing_spare_the_pass_but_still_alert_overdue(rig: Rig) -> None:
    # A replay's venues say they have settled nothing: the pass reads no position's legs,
    # yet a position long past its expiry still raises its alert; once a venue resolves
    # something, the pass reads and settles as usual.
    settled_nothing = {"kalshi": True, "poly": True}
    rig.kalshi.resolved_nothing = lambda: settled_nothing["kalshi"]  # type: ignore[attr-defined]
    rig.poly.resolved_nothing = lambda: settled_nothing["poly"]  # type: ignore[attr-defined]
    clock = FakeClock(datetime.now(UTC))
    ex = rig.executor(clock=clock)
    await run_one(rig, ex=ex, start_in=timedelta(minutes=5))
    now = datetime.now(UTC)
    rig.kalshi.resolved = [MarketResolution(Venue.KALSHI, "k", {kalshi_ref("G1"): D(1)}, now)]
    rig.poly.resolved = [MarketResolution(Venue.POLYMARKET, "p", {poly_ref("G1"): D(0)}, now)]
    await clock.advance(timedelta(days=2).total_seconds())
    assert await ex.settle() == {"settled": 0, "stranded": 0, "overdue": 1}
    settled_nothing["kalshi"] = False
    assert (await ex.settle())["settled"] == 1


async def test_kill_switch_pauses_and_flattens(rig: Rig) -> None:
    ex = rig.executor()
    await run_one(rig, ex=ex)
    result = await ex.kill_switch(flatten=True)
    assert result["paused"] is True and not rig.settings.current.enabled
    assert result["orders_checked"] is True and result["cancelled"] == 0  # nothing was resting
    assert [r["closed"] for r in result["flattened"]] == [True]
    assert not await rig.trades.list_positions("open")


async def test_the_kill_switch_stops_new_trades_even_while_the_database_is_down(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    ex = rig.executor()
    await ex.start(background=False)

    async def down(*_a: object, **_k: object) -> None:
        raise OSError("connection refused")

    with monkeypatch.context() as m:
        m.setattr(rig.settings, "set_enabled", down)
        m.setattr(rig.attempts, "list_active", down)
        result = await ex.kill_switch(flatten=False)
    assert result["paused"] is True and result["saved"] is False
    assert result["cancelled"] == 0 and result["orders_checked"] is False  # not looked for, not zero found
    assert rig.settings.current.enabled  # not saved ...
    stock_books(rig.kalshi, rig.poly, "G1")
    refused = await ex.submit(make_candidate("G1"))  # ... yet nothing new is opened
    assert isinstance(refused, Refusal) and refused.reason is RefusalReason.KILL_SWITCH
    assert rig.kalshi.client_ids() == [] and rig.poly.client_ids() == []
    # Saved once the database is back (paused), then started again: the halt is lifted.
    await rig.settings.set_enabled(False)
    await rig.settings.set_enabled(True)
    assert ex.risk.halted is None
    assert not isinstance(await ex.submit(make_candidate("G1")), Refusal)


async def test_venue_fill_unknown_to_the_database_is_reported_loudly(rig: Rig) -> None:
    ex = rig.executor()
    await run_one(rig, ex=ex)
    stock_books(rig.kalshi, rig.poly, "G9")
    from worker.domain.orders import OrderAction, OrderIntent, TimeInForce

    await rig.kalshi.place_order(OrderIntent(kalshi_ref("G9"), OrderAction.BUY, D("0.45"), D(1), TimeInForce.FOK, "by-hand"))
    report = await ex.reconcile()
    assert report["unknown_orders"] == 1
    (alert,) = rig.alerts
    assert alert["kind"] is AlertKind.RECONCILIATION and alert["key"].startswith("kalshi:")
    assert "is not in our database" in alert["message"]


# --- every realised dollar: the fakes' cash is what moved --------------------------------


def _resolve(rig: Rig, kalshi_pays: str, poly_pays: str) -> Decimal:
    """Resolve game G1 at both fakes and credit what they hold there, as a venue does;
    returns what was credited."""
    now = datetime.now(UTC)
    rig.kalshi.resolved = [MarketResolution(Venue.KALSHI, "k", {kalshi_ref("G1"): D(kalshi_pays)}, now)]
    rig.poly.resolved = [MarketResolution(Venue.POLYMARKET, "p", {poly_ref("G1"): D(poly_pays)}, now)]
    credited = D(0)
    for fake, pays in ((rig.kalshi, kalshi_pays), (rig.poly, poly_pays)):
        for ref, held in fake.held.items():
            if held > 0:
                fake.cash += held * D(pays)
                credited += held * D(pays)
                fake.held[ref] = D(0)
    return credited


async def _realised(rig: Rig) -> Decimal:
    return await LedgerRepository(rig.db).realised()


async def test_a_partial_hedges_unwind_loss_is_realised_with_its_position(rig: Rig) -> None:
    start = rig.kalshi.cash + rig.poly.cash
    rig.poly.script = [Fault("partial", ratio=D("0.6"))]
    ex = rig.executor()
    a = await run_one(rig, ex=ex, kalshi_first=True)
    assert a.state is AttemptState.HEDGED and a.unwound_quantity() == D(4)
    (pos,) = await rig.trades.list_positions("open")
    leg1 = a.leg(LegRole.LEG1)
    assert leg1 is not None and all(g.fills_recorded for g in a.legs if g.filled > 0)
    unwind_loss = sum((u.notional - u.fees for u in a.legs_of(LegRole.UNWIND)), D(0)) - leg1.avg_price * 4 - leg1.fees * 4 / leg1.filled  # type: ignore[operator]
    assert unwind_loss < 0
    _resolve(rig, "1", "0")
    assert (await ex.settle())["settled"] == 1
    # Everything realised equals the cash that moved, unwind loss included.
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start
    assert pos.cost is not None and pos.cost > 6  # the unwound contracts' loss is in the cost


async def test_a_stranded_leg_settles_with_its_market_after_the_operator_leaves_it(rig: Rig) -> None:
    start = rig.kalshi.cash + rig.poly.cash
    ex = rig.executor()
    a = await strand_one(rig, ex)
    assert a.state is AttemptState.STRANDED
    ack = await ex.resolve_stranded(a.id, "let it settle")
    assert ack["settles_at_resolution"] is True
    assert await _realised(rig) == 0  # nothing realised yet: the contracts are still held
    credited = _resolve(rig, "0", "1")
    assert credited == D(10)
    assert await ex.settle() == {"settled": 0, "stranded": 1, "overdue": 0}
    (row,) = [r for r in await trade_rows(rig) if r.status == "SETTLED"]
    assert row.attempt_id == a.id and row.pnl > 0
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start
    assert (await ex.settle())["stranded"] == 0  # settled once


async def test_a_stranded_leg_resolved_with_the_operators_proceeds_realises_its_loss_now(rig: Rig) -> None:
    start = rig.kalshi.cash + rig.poly.cash
    ex = rig.executor()
    a = await strand_one(rig, ex)
    with pytest.raises(OperatorError) as err:
        await ex.resolve_stranded(a.id, "sold by hand", D(-1))
    assert err.value.field == "proceeds"
    # 10 contracts bring in at most $10: "1500" for "15.00" would book a profit that is not there.
    with pytest.raises(OperatorError, match="at most") as err:
        await ex.resolve_stranded(a.id, "sold by hand", D("1500"))
    assert err.value.field == "proceeds"
    assert (await rig.attempts.get(a.id)).state is AttemptState.STRANDED  # type: ignore[union-attr]
    # Still STRANDED at a restart: the operator is told again (an alert raised while the
    # database was down is not lost with the process).
    rig.alerts.clear()
    await rig.executor().start(background=False)
    assert [(x["kind"], x["key"]) for x in rig.alerts] == [(AlertKind.STRANDED, a.id)]
    # The operator sells the 10 contracts by hand at the venue for $3.10.
    rig.poly.held[poly_ref("G1")] = D(0)
    rig.poly.cash += D("3.10")
    ack = await ex.resolve_stranded(a.id, "sold by hand on polymarket.com", D("3.10"))
    (row,) = [r for r in await trade_rows(rig) if r.status == "CLOSED"]
    assert row.pnl == ack["pnl"] < 0
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start
    manual = [e for e in await LedgerRepository(rig.db).cash() if e.attempt_id == a.id]
    assert [(e.venue, e.amount) for e in manual] == [(Venue.POLYMARKET, D("3.10"))]
    day = await rig.attempts.exposure(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    assert day.stranded_cost == 0


async def test_a_stale_copy_of_an_attempt_never_puts_estimates_back_over_recorded_fills(rig: Rig) -> None:
    a = await run_one(rig)
    leg = a.leg(LegRole.LEG1)
    assert leg is not None and leg.fills_recorded
    stale = await rig.attempts.get(a.id)
    assert stale is not None
    stale_leg = stale.leg(LegRole.LEG1)
    assert stale_leg is not None
    # As a copy read before the fills were recorded would carry it: the order's answer.
    stale_leg.fills_recorded, stale_leg.fees, stale_leg.avg_price = False, D("9.99"), D("0.99")
    await rig.attempts.save(stale)
    again = await rig.attempts.get(a.id)
    assert again is not None
    kept = again.leg(LegRole.LEG1)
    assert kept is not None and (kept.fills_recorded, kept.fees, kept.avg_price) == (True, leg.fees, leg.avg_price)


async def test_a_payout_held_for_redemption_is_owed_until_the_venue_pays_it(rig: Rig) -> None:
    rig.poly.pays_on_redemption = True
    start = rig.kalshi.cash + rig.poly.cash
    ex, pos = await one_open_position(rig)
    now = datetime.now(UTC)
    rig.kalshi.resolved = [MarketResolution(Venue.KALSHI, "k", {kalshi_ref("G1"): D(0)}, now)]
    rig.poly.resolved = [MarketResolution(Venue.POLYMARKET, "p", {poly_ref("G1"): D(1)}, now)]
    rig.poly.to_redeem = {poly_ref("G1").contract_id: D(10)}  # resolved, not yet redeemed
    rig.kalshi.held[kalshi_ref("G1")] = D(0)
    assert (await ex.settle())["settled"] == 1
    assert (await rig.trades.get_position(pos.id)).status == "to_redeem"  # type: ignore[union-attr]
    books = await ex.books.books() if ex.books else None  # type: ignore[union-attr]
    assert books is not None and books.to_redeem == D(10)
    assert books.venues[Venue.POLYMARKET].agrees  # owed, so the missing cash is explained
    assert any(e["status"] == "TO_REDEEM" for e in rig.events_of("trade_event"))
    # The operator redeems: the venue pays and no longer lists it.
    rig.poly.to_redeem = {}
    rig.poly.cash += D(10)
    rig.poly.held[poly_ref("G1")] = D(0)
    await ex.settle()
    assert (await rig.trades.get_position(pos.id)).status == "closed"  # type: ignore[union-attr]
    books = await ex.books.books()  # type: ignore[union-attr]
    assert books.to_redeem == 0 and books.agrees
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start


async def test_fills_a_venue_reports_late_correct_the_realised_row_to_what_was_charged(rig: Rig) -> None:
    start = rig.kalshi.cash + rig.poly.cash
    rig.kalshi.script = [Fault("reject")]  # leg 2 refused: leg 1 (Polymarket) is sold back
    rig.poly.answer_fee_error = D("0.05")  # the order answers overstate the fee
    rig.poly.fills_lag = 100  # and the venue's fills are not there yet when it ends
    ex = rig.executor()
    a = await run_one(rig, ex=ex)
    assert a.state is AttemptState.ROLLED_BACK and a.details.get("fills_pending")
    assert await _realised(rig) != rig.kalshi.cash + rig.poly.cash - start  # the estimate
    rig.poly.fills_lag = 0
    report = await ex.reconcile()
    assert report["recorded"] == 1
    rows = [r for r in await trade_rows(rig) if r.attempt_id == a.id]
    assert sorted(r.status for r in rows) == ["ROLLED_BACK", "ROLLED_BACK"]
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start  # what was charged
    assert (await ex.reconcile())["recorded"] == 0  # once


async def test_a_partial_hedge_that_strands_settles_both_its_position_and_its_stranded_leg(rig: Rig) -> None:
    start = rig.kalshi.cash + rig.poly.cash
    rig.poly.script = [Fault("partial", ratio=D("0.6"))]  # leg 2 hedges 6 of 10
    rig.kalshi.sells_fail = True  # and leg 1's excess cannot be sold back
    ex = rig.executor()
    a = await run_one(rig, ex=ex, kalshi_first=True)
    assert a.state is AttemptState.STRANDED and a.leg1_open_quantity() == D(4)
    assert len(await rig.trades.list_positions("open")) == 1
    credited = _resolve(rig, "1", "0")  # Kalshi's leg 1 wins: 6 hedged + 4 stranded pay
    assert credited == D(10)
    report = await ex.settle()
    assert report["settled"] == 1 and report["stranded"] == 1
    # Two payouts on the same leg (its hedged and its stranded contracts): both recorded.
    kalshi_cash = [e for e in await LedgerRepository(rig.db).cash() if e.venue is Venue.KALSHI]
    assert sorted(e.amount for e in kalshi_cash) == [D(4), D(6)]
    assert await _realised(rig) == rig.kalshi.cash + rig.poly.cash - start


async def test_reconciliation_looks_up_a_close_sale_left_unknown_and_only_that_positions_attempt(rig: Rig) -> None:
    ex, pos = await one_open_position(rig)
    assert await rig.attempts.with_unknown_legs(LegRole.CLOSE) == set()  # never closed: not read
    rig.kalshi.script.append(Fault("timeout_unfilled"))
    rig.kalshi.lookups_down = True  # the sale timed out and cannot be looked up yet
    result = await ex.close_position(pos.id)
    assert result["closed"] is False
    assert await rig.attempts.with_unknown_legs(LegRole.CLOSE) == {pos.attempt_id}
    assert await rig.attempts.with_unknown_legs(LegRole.UNWIND) == set()
    rig.kalshi.lookups_down = False
    lookups = rig.kalshi.lookups
    await ex.reconcile()
    assert rig.kalshi.lookups > lookups  # the venue's record was read: the sale sold nothing
    assert await rig.attempts.with_unknown_legs(LegRole.CLOSE) == set()
    owner = await rig.attempts.get(pos.attempt_id)
    assert owner is not None and all(leg.settled for leg in owner.legs_of(LegRole.CLOSE))
