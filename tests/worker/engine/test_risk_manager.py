"""Risk manager: each limit at its exact boundary, atomic reservation under bursts."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from db.attempts import AttemptRepository
from db.engine import Database
from tests.support.fake_venue import Fault, make_candidate, stock_books
from tests.support.waiting import wait_until
from tests.worker.engine.conftest import Rig
from worker.clock import FakeClock
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole, Refusal, RefusalReason
from worker.domain.mapping import Confidence, MappingStatus
from worker.engine.executor import RiskConfig


async def started(rig: Rig, config: RiskConfig | None = None):  # type: ignore[no-untyped-def]
    ex = rig.executor(config=config)
    await ex.start(background=False)
    return ex


def reason(result: object) -> RefusalReason | None:
    return result.reason if isinstance(result, Refusal) else None


async def test_disabled_executor_refuses_and_enabled_admits(rig: Rig) -> None:
    ex = await started(rig)
    await rig.settings.set_enabled(False)
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.DISABLED
    await rig.settings.set_enabled(True)
    stock_books(rig.kalshi, rig.poly, "G1")
    assert isinstance(await ex.submit(make_candidate("G1")), AttemptRecord)
    await ex.wait_idle()
    assert rig.events_of("refusal")[0]["reason"] == "disabled"


async def test_hundred_simultaneous_opportunities_with_max_daily_trades_five_make_exactly_five(rig: Rig) -> None:
    await rig.settings.update({"max_daily_trades": 5, "max_daily_loss": D("1000")})
    # Books stay fresh for the whole burst: only the trade limit is under test here.
    ex = await started(rig, RiskConfig(max_book_age_ms=600_000))
    games = [f"G{i:03d}" for i in range(100)]
    for g in games:
        stock_books(rig.kalshi, rig.poly, g)
    results = await asyncio.gather(*(ex.submit(make_candidate(g)) for g in games))
    await ex.wait_idle()
    admitted = [r for r in results if isinstance(r, AttemptRecord)]
    assert len(admitted) == 5
    assert {reason(r) for r in results if isinstance(r, Refusal)} == {RefusalReason.DAILY_TRADES}
    assert len(await rig.attempts.list_all()) == 5
    assert len(rig.poly.orders) + len(rig.kalshi.orders) == 10


async def test_trade_that_ended_failed_still_counts_toward_max_daily_trades(rig: Rig) -> None:
    await rig.settings.update({"max_daily_trades": 1})
    ex = await started(rig)
    # no liquidity: the FOK leg 1 fails, the attempt ends FAILED
    assert isinstance(await ex.submit(make_candidate("G1")), AttemptRecord)
    await ex.wait_idle()
    assert (await rig.attempts.list_all())[0].state is AttemptState.FAILED
    stock_books(rig.kalshi, rig.poly, "G2")
    assert reason(await ex.submit(make_candidate("G2"))) is RefusalReason.DAILY_TRADES


async def test_ten_opportunities_on_ten_games_are_in_flight_together(rig: Rig) -> None:
    ex = await started(rig)
    await rig.settings.update({"max_daily_loss": D("1000")})
    gate = asyncio.Event()
    rig.poly.script = [Fault("gate", event=gate) for _ in range(10)]
    for i in range(10):
        stock_books(rig.kalshi, rig.poly, f"T{i}")
    results = await asyncio.gather(*(ex.submit(make_candidate(f"T{i}")) for i in range(10)))
    assert all(isinstance(r, AttemptRecord) for r in results)
    # Every game's leg 1 is on the wire at once.
    await wait_until(lambda: rig.poly.in_flight == 10, 5, "ten leg 1 orders in flight together")
    gate.set()
    await ex.wait_idle()
    assert {a.state for a in await rig.attempts.list_all()} == {AttemptState.HEDGED}


async def test_second_opportunity_on_a_game_in_flight_is_refused(rig: Rig) -> None:
    ex = await started(rig)
    await rig.settings.update({"max_daily_loss": D("1000")})
    gate = asyncio.Event()
    rig.poly.script = [Fault("gate", event=gate)]
    stock_books(rig.kalshi, rig.poly, "G1")
    first = await ex.submit(make_candidate("G1"))
    assert isinstance(first, AttemptRecord)
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.GAME_BUSY
    gate.set()
    await ex.wait_idle()
    # and once hedged, the open position keeps the game busy
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.GAME_BUSY


async def test_the_daily_loss_budget_shrinks_the_size_to_fit_and_refuses_below_min_bet(rig: Rig) -> None:
    ex = await started(rig)
    gate = asyncio.Event()
    # The first two attempts stay in flight (their leg 1 waits at the venue).
    rig.poly.script = [Fault("gate", event=gate), Fault("gate", event=gate)]
    stock_books(rig.kalshi, rig.poly, "G1")
    first = await ex.submit(make_candidate("G1"))
    assert isinstance(first, AttemptRecord) and first.contracts == 10
    # Leg 1 (Polymarket at 0.50) can lose its whole cost: 10 x 0.50 + fee bound 0.185.
    assert first.worst_case_loss == D("5.185")
    # Room for 8 more contracts' worst case (8 x 0.50 + 0.07 x 8 x 0.25 + 0.01 = 4.15).
    await rig.settings.update({"max_daily_loss": D("9.34")})
    stock_books(rig.kalshi, rig.poly, "G2")
    second = await ex.submit(make_candidate("G2"))
    assert isinstance(second, AttemptRecord), second
    assert second.contracts == 8 and second.worst_case_loss == D("4.15")
    assert second.leg(LegRole.LEG1).quantity == 8  # type: ignore[union-attr]
    # 4 contracts' pairs would cost under min_bet ($5): nothing fits.
    await rig.settings.update({"max_daily_loss": D("11.50")})
    stock_books(rig.kalshi, rig.poly, "G3")
    refused = await ex.submit(make_candidate("G3"))
    assert reason(refused) is RefusalReason.DAILY_LOSS_BUDGET and "daily loss budget" in refused.detail  # type: ignore[union-attr]
    # Used up to the cent: the limit itself is reached.
    await rig.settings.update({"max_daily_loss": D("9.33")})
    assert reason(await ex.submit(make_candidate("G3"))) is RefusalReason.DAILY_LOSS
    gate.set()
    await ex.wait_idle()
    assert rig.settings.current.enabled  # the loss limit refuses, it never flips enabled


async def test_concurrent_attempts_that_all_strand_never_lose_more_than_the_daily_limit(rig: Rig) -> None:
    """N = 10 attempts at once, from two executors with their own database connections
    (as two workers would be), every one forced to strand: the realised plus stranded
    loss stays within max_daily_loss, and the rest are refused for the budget."""
    limit = D("12.00")
    await rig.settings.update({"max_daily_loss": limit})
    second_db = Database(rig.db.url)
    try:
        one = await started(rig)
        other = await started(rig)
        # A second engine: its own connections for the attempts (reservations included).
        other.store = other.risk.store = other.runner.store = AttemptRepository(second_db)
        rig.kalshi.script = [Fault("reject")] * 10  # every leg 2 refused
        rig.poly.sells_fail = True  # and no leg 1 can be sold back
        games = [f"G{i}" for i in range(10)]
        for g in games:
            stock_books(rig.kalshi, rig.poly, g)
        results = await asyncio.gather(
            *((one if i % 2 else other).submit(make_candidate(g)) for i, g in enumerate(games))
        )
        await one.wait_idle()
        await other.wait_idle()
        admitted = [r for r in results if isinstance(r, AttemptRecord)]
        refused = [r for r in results if isinstance(r, Refusal)]
        assert admitted and refused
        assert {r.reason for r in refused} <= {RefusalReason.DAILY_LOSS_BUDGET, RefusalReason.DAILY_LOSS}
        assert RefusalReason.DAILY_LOSS_BUDGET in {r.reason for r in refused}
        stranded = [await rig.attempts.get(a.id) for a in admitted]
        assert all(a is not None and a.state is AttemptState.STRANDED for a in stranded)
        day = await rig.attempts.exposure(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
        worst = day.projected_loss
        print(f"BUDGET N=10: {len(admitted)} admitted, {len(refused)} refused; worst realised + stranded "
              f"loss {worst} against max_daily_loss {limit}")
        assert worst <= limit
        # What the stranded legs really cost (the fake venue's own cash) is within it too.
        spent = D(1000) - rig.poly.cash
        assert spent <= limit
    finally:
        await second_db.dispose()


async def test_balance_short_on_either_venue_is_refused(rig: Rig) -> None:
    rig.kalshi.cash = D("4.00")  # leg costs about 4.5 + fee bound
    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.BALANCE
    rig.kalshi.cash = D("1000")
    rig.poly.cash = D("1.00")
    await ex.refresher.refresh()
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.BALANCE


async def test_confidence_below_minimum_is_refused_unless_confirmed(rig: Rig) -> None:
    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    assert reason(await ex.submit(make_candidate("G1", confidence=Confidence.MEDIUM))) is RefusalReason.CONFIDENCE
    ok = await ex.submit(make_candidate("G1", confidence=Confidence.MEDIUM, status=MappingStatus.CONFIRMED))
    assert isinstance(ok, AttemptRecord)
    await ex.wait_idle()


async def test_medium_allowed_when_min_confidence_is_medium(rig: Rig) -> None:
    ex = await started(rig, RiskConfig(min_confidence=Confidence.MEDIUM))
    stock_books(rig.kalshi, rig.poly, "G1")
    assert isinstance(await ex.submit(make_candidate("G1", confidence=Confidence.MEDIUM)), AttemptRecord)
    await ex.wait_idle()
    assert reason(await ex.submit(make_candidate("G2", confidence=Confidence.LOW))) is RefusalReason.CONFIDENCE


async def test_require_confirmation_refuses_an_unconfirmed_high_pair_and_admits_a_confirmed_one(rig: Rig) -> None:
    ex = await started(rig, RiskConfig(require_confirmation=True))
    stock_books(rig.kalshi, rig.poly, "G1")
    refused = await ex.submit(make_candidate("G1", confidence=Confidence.HIGH))
    assert reason(refused) is RefusalReason.NOT_CONFIRMED
    assert rig.events_of("refusal")[-1]["reason"] == "not_confirmed"
    assert rig.events_of("refusal")[-1]["detail"] == "awaiting confirmation"
    # A confirmation outranks the matcher: even a LOW pair trades once confirmed.
    ok = await ex.submit(make_candidate("G1", confidence=Confidence.LOW, status=MappingStatus.CONFIRMED))
    assert isinstance(ok, AttemptRecord)
    await ex.wait_idle()
    # Rejected stays rejected, required confirmation or not.
    assert reason(await ex.submit(make_candidate("G2", status=MappingStatus.REJECTED))) is RefusalReason.MAPPING_REJECTED


async def test_below_min_confidence_refusal_says_which(rig: Rig) -> None:
    ex = await started(rig, RiskConfig(min_confidence=Confidence.MEDIUM))
    stock_books(rig.kalshi, rig.poly, "G1")
    assert reason(await ex.submit(make_candidate("G1", confidence=Confidence.LOW))) is RefusalReason.CONFIDENCE
    assert rig.events_of("refusal")[-1]["detail"] == "confidence LOW is below the minimum MEDIUM"


async def test_rejected_mapping_is_never_traded(rig: Rig) -> None:
    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    assert reason(await ex.submit(make_candidate("G1", status=MappingStatus.REJECTED))) is RefusalReason.MAPPING_REJECTED


async def test_book_age_boundary(rig: Rig) -> None:
    now = datetime.now(UTC)
    ex = rig.executor(config=RiskConfig(max_book_age_ms=2000), clock=FakeClock(now))
    await ex.start(background=False)
    stock_books(rig.kalshi, rig.poly, "G1")
    stale = make_candidate("G1", now=now, book_age=timedelta(milliseconds=2001))
    assert reason(await ex.submit(stale)) is RefusalReason.STALE_BOOK
    fresh = make_candidate("G1", now=now, book_age=timedelta(milliseconds=2000))
    assert isinstance(await ex.submit(fresh), AttemptRecord)
    await ex.wait_idle()


async def test_game_starting_within_the_no_trade_window_is_refused(rig: Rig) -> None:
    now = datetime.now(UTC)
    ex = rig.executor(config=RiskConfig(no_trade_before_start_s=60), clock=FakeClock(now))
    await ex.start(background=False)
    stock_books(rig.kalshi, rig.poly, "G1")
    soon = make_candidate("G1", now=now, start_in=timedelta(seconds=59))
    assert reason(await ex.submit(soon)) is RefusalReason.GAME_STARTING
    ok = make_candidate("G1", now=now, start_in=timedelta(seconds=60))
    assert isinstance(await ex.submit(ok), AttemptRecord)
    await ex.wait_idle()


async def test_bet_size_and_roi_band_are_read_at_decision_time(rig: Rig) -> None:
    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    await rig.settings.update({"min_bet": D("20"), "max_bet": D("30")})
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.BET_SIZE
    await rig.settings.update({"min_bet": D("5"), "max_bet": D("10"), "min_roi": D("5")})
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.ROI_TOO_LOW
    await rig.settings.update({"min_roi": D("0.5"), "max_roi": D("1.5")})
    assert reason(await ex.submit(make_candidate("G1"))) is RefusalReason.ROI_TOO_HIGH


async def test_two_executors_on_one_database_cannot_pass_the_trade_limit_together(rig: Rig) -> None:
    """The reservation is atomic in the database, not only behind one process's lock."""
    from db.attempts import AttemptRepository
    from db.engine import Database

    await rig.settings.update({"max_daily_trades": 5, "max_daily_loss": D("1000")})
    other_db = Database(rig.db.url)
    try:
        a = await started(rig, RiskConfig(max_book_age_ms=600_000))
        b = await started(rig, RiskConfig(max_book_age_ms=600_000))
        b.store = b.risk.store = AttemptRepository(other_db)  # a second engine: its own connections
        games = [f"H{i:03d}" for i in range(40)]
        for g in games:
            stock_books(rig.kalshi, rig.poly, g)
        results = await asyncio.gather(
            *(ex.submit(make_candidate(g)) for g in games for ex in (a, b))
        )
        await a.wait_idle()
        await b.wait_idle()
        assert sum(isinstance(r, AttemptRecord) for r in results) == 5
        assert len(await rig.attempts.list_all()) == 5
    finally:
        await other_db.dispose()


ROOT = Path(__file__).resolve().parents[3]
RESERVER = """
import asyncio, sys, uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from db.attempts import AttemptRepository
from db.engine import Database
from worker.domain.attempt_money import worst_case_loss
from worker.domain.attempts import AttemptRecord, AttemptState, ReservationLimits

async def main(url, name, n):
    db = Database(url)
    store = AttemptRepository(db)
    now = datetime.now(UTC)
    limits = ReservationLimits(max_daily_trades=1000, max_daily_loss=Decimal(sys.argv[4]),
                               day_start=now - timedelta(hours=1), day_end=now + timedelta(hours=1))
    async def one(i):
        a = AttemptRecord(f"{name}-{i}", f"game-{name}-{i}", None, None, "t", AttemptState.PLANNED, now, now,
                          Decimal(10), Decimal("9.60"), Decimal("0.40"), worst_case_loss(Decimal(10), Decimal("0.50")),
                          path=["PLANNED"])
        got = await store.reserve(a, limits)
        print(name, i, "admitted" if isinstance(got, AttemptRecord) else got.reason.value, flush=True)
    await asyncio.gather(*(one(i) for i in range(n)))
    await db.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


async def test_reservations_from_two_processes_never_overrun_the_loss_budget(rig: Rig) -> None:
    """Two worker processes (two accounts, one database) reserving at once: the budget is
    decided inside the database's own lock, so their attempts' worst cases together stay
    within max_daily_loss (each here 10 × 0.50 + fee bound = 5.185 against 12.00)."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", RESERVER, rig.db.url, name, "5", "12.00",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for name in ("w1", "w2")
    ]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode()[-2000:] for o in outputs]
    lines = [line.split() for out, _ in outputs for line in out.decode().splitlines()]
    admitted = [line for line in lines if line[2] == "admitted"]
    assert len(lines) == 10 and len(admitted) == 2, lines  # 2 × 5.185 = 10.37 <= 12 < 3 × 5.185
    assert {line[2] for line in lines} - {"admitted"} <= {"daily_loss_budget"}
    day = await rig.attempts.exposure(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    assert day.in_flight_worst_case == D("10.370") and day.projected_loss <= D("12.00")


def with_rules(candidate, rules):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(candidate, opportunity=dataclasses.replace(candidate.opportunity, rules=rules))


# Real Kalshi texts (tests/fixtures/real/rules/): an NFL game's tie pays $0.50 each; a
# college game's cancellation pays "a fair price". Gamma's NBA text: 50-50, ties unsaid.
_K_NFL = (
    "If the game ends in a tie, the market will resolve to $0.50 for each team. If the game is not started "
    "within 48 hours, the market will resolve to a fair market price."
)
_K_CANCEL = (
    "If the cancelled game is not played or is rescheduled further than two weeks out, the market will resolve "
    "to a fair price for each team in accordance with the rules."
)
_GAMMA = "If the game is canceled entirely, with no make-up game, this market will resolve 50-50."


async def test_pair_whose_completed_game_may_not_pay_a_dollar_is_never_traded(rig: Rig) -> None:
    from worker.engine.scanner.rules import compare_rules

    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    rules = compare_rules(_K_NFL, _GAMMA, "nfl")  # a tie: Kalshi 50¢, Polymarket unsaid
    result = await ex.submit(with_rules(make_candidate("G1"), rules))
    assert reason(result) is RefusalReason.RULES_OUTCOME
    assert isinstance(result, Refusal) and result.detail.startswith("Tie:")
    await ex.wait_idle()
    assert rig.events_of("refusal")[-1]["reason"] == "rules_outcome_mismatch"
    assert rig.kalshi.client_ids() == [] and rig.poly.client_ids() == []
    # The card's verdict is the same one: not tradeable, for that reason, even when confirmed.
    for status in (MappingStatus.CANDIDATE, MappingStatus.CONFIRMED):
        verdict = ex.risk.opportunity_permission(status, Confidence.HIGH, rules)
        assert not verdict.tradeable and verdict.to_wire()["why_not"]["reason"] == "rules_outcome_mismatch"
    assert ex.risk.opportunity_permission(MappingStatus.REJECTED, Confidence.HIGH, rules).to_wire()["why_not"][
        "reason"] == "mapping_rejected"


async def test_cancellation_difference_is_refused_only_when_asked(rig: Rig) -> None:
    from worker.engine.scanner.rules import compare_rules

    rules = compare_rules(_K_CANCEL, _GAMMA, "nba")
    assert rules.differences and not rules.outcome_problem
    strict = await started(rig, RiskConfig(refuse_cancellation_mismatch=True))
    stock_books(rig.kalshi, rig.poly, "G1")
    assert reason(await strict.submit(with_rules(make_candidate("G1"), rules))) is RefusalReason.RULES_CANCELLATION
    verdict = strict.risk.opportunity_permission(MappingStatus.CANDIDATE, Confidence.HIGH, rules)
    assert verdict.to_wire()["why_not"]["reason"] == "rules_cancellation_mismatch"


async def test_cancellation_difference_trades_by_default(rig: Rig) -> None:
    from worker.engine.scanner.rules import compare_rules

    ex = await started(rig)
    stock_books(rig.kalshi, rig.poly, "G1")
    rules = compare_rules(_K_CANCEL, _GAMMA, "nba")
    assert isinstance(await ex.submit(with_rules(make_candidate("G1"), rules)), AttemptRecord)


async def test_above_the_suspicious_roi_only_a_confirmed_game_trades(rig: Rig) -> None:
    """``EXECUTOR_SUSPICIOUS_ROI`` (default 5 %): a pair whose ROI at the size the
    executor takes is above it trades only once the operator confirmed the game; the
    card's verdict says the same. The ROI is the curve's, computed here by hand."""
    await rig.settings.update({"max_daily_loss": D("1000")})
    ex = await started(rig)
    # 10 pairs at 0.40 + 0.50 with the fixture's fees: cost 9.245, edge 0.755, so
    # ROI 0.755 / 9.245 = 8.1666 % > 5 %.
    wide = make_candidate("G1", k_price="0.40", sizes=(10,))
    point = wide.opportunity.curve[-1]
    assert (point.cost, point.edge, point.roi_pct) == (D("9.245"), D("0.755"), D("8.1666"))
    refused = await ex.submit(wide)
    assert reason(refused) is RefusalReason.SUSPICIOUS_ROI
    assert isinstance(refused, Refusal) and "8.1666% is above 5%" in refused.detail
    await ex.wait_idle()
    assert rig.events_of("refusal")[-1]["reason"] == "suspicious_roi"
    assert rig.kalshi.client_ids() == [] and rig.poly.client_ids() == []
    verdict = ex.risk.sized_permission(MappingStatus.CANDIDATE, Confidence.HIGH, wide.opportunity.rules,
                                       wide.opportunity.curve)
    assert verdict.to_wire()["why_not"]["reason"] == "suspicious_roi"
    # The card's verdict does not hang on today's ROI band: with min_roi above the pair's
    # ROI the executor would refuse it for that, and the card still says why it never
    # trades unconfirmed.
    await rig.settings.update({"min_roi": D("20")})
    assert ex.risk.sized_permission(MappingStatus.CANDIDATE, Confidence.HIGH, wide.opportunity.rules,
                                    wide.opportunity.curve).reason is not None
    await rig.settings.update({"min_roi": D("1")})
    # Confirmed: the same pair trades, and its card says it may.
    stock_books(rig.kalshi, rig.poly, "G2")
    confirmed = await ex.submit(make_candidate("G2", k_price="0.40", sizes=(10,), status=MappingStatus.CONFIRMED))
    assert isinstance(confirmed, AttemptRecord), confirmed
    assert ex.risk.sized_permission(MappingStatus.CONFIRMED, Confidence.HIGH, wide.opportunity.rules,
                                    wide.opportunity.curve).tradeable
    # The default pair (0.45 + 0.50: ROI 3.4 %) is below it and trades unconfirmed.
    stock_books(rig.kalshi, rig.poly, "G3")
    usual = make_candidate("G3", sizes=(10,))
    assert usual.opportunity.curve[-1].roi_pct < 5
    assert isinstance(await ex.submit(usual), AttemptRecord)
    await ex.wait_idle()


async def test_a_higher_suspicious_roi_lets_the_unconfirmed_pair_trade(rig: Rig) -> None:
    await rig.settings.update({"max_daily_loss": D("1000")})
    ex = await started(rig, RiskConfig(suspicious_roi=D("8.17")))
    stock_books(rig.kalshi, rig.poly, "G1")
    assert isinstance(await ex.submit(make_candidate("G1", k_price="0.40", sizes=(10,))), AttemptRecord)
    await ex.wait_idle()
    strict = RiskConfig(suspicious_roi=D("8.16"))
    ex.risk.config = strict
    stock_books(rig.kalshi, rig.poly, "G2")
    assert reason(await ex.submit(make_candidate("G2", k_price="0.40", sizes=(10,)))) is RefusalReason.SUSPICIOUS_ROI
    await ex.wait_idle()
