"""The executor on the paper exchange through the live clients, one fault kind at a time.

The exchange runs in process (its own server on 127.0.0.1); its fault draws are replaced
by a script per order so each test says which order misbehaves: leg 1 is the Polymarket
order, leg 2 the Kalshi one, then the unwind orders.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from db.attempts import AttemptRepository
from db.repositories import TradeRepository
from paper_exchange.app import PaperServer
from paper_exchange.faults import FaultSpec
from tests.worker.engine.paper_desk import paper_desk
from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.domain.mapping import Confidence, CurvePoint, Direction, Leg, Opportunity, RulesCheck
from worker.domain.markets import Venue
from worker.domain.ports import VenuePort
from worker.engine.executor import Candidate, Executor, RiskConfig
from worker.engine.executor.pipeline import OpportunityPipeline

pytestmark = pytest.mark.timeout(120)


@dataclass
class PaperRig:
    server: PaperServer
    venues: dict[Venue, VenuePort]
    executor: Executor
    feed: OpportunityPipeline
    attempts: AttemptRepository
    trades: TradeRepository
    orders: list[str | None] = field(default_factory=list)  # scripted faults, one per order
    slips: list[int] = field(default_factory=list)  # scripted slips (ticks), one per order

    def script(self, *faults: str | None, slips: tuple[int, ...] = ()) -> None:
        self.orders[:] = list(faults)
        self.slips[:] = list(slips)


@pytest.fixture
async def paper(tmp_path: Path) -> AsyncIterator[PaperRig]:
    rig_orders: list[str | None] = []
    rig_slips: list[int] = []
    drawn: list[int] = [0]

    def slip() -> bool:
        drawn[0] = rig_slips.pop(0) if rig_slips else 0
        return drawn[0] > 0

    def scripted(faults: Any) -> None:
        faults.order_fault = lambda: rig_orders.pop(0) if rig_orders else None
        faults.slip = slip
        faults.slip_ticks = lambda: drawn[0]

    async with paper_desk(
        tmp_path, settings={"min_bet": D("0.50"), "max_bet": D("10000"), "max_daily_loss": D("10000")},
        risk=RiskConfig(max_book_age_ms=60_000, suspicious_roi=D(1000)), faults=scripted, fault_spec=FaultSpec(hang=0.3),
    ) as desk:
        yield PaperRig(desk.server, desk.venues, desk.executor, desk.feed, desk.attempts, desk.trades,
                       rig_orders, rig_slips)


def freeze_book(rig: PaperRig, instrument_id: str) -> None:
    """Pin an instrument's paper book at the levels it shows now."""
    exchange = rig.server.state.exchange
    instrument = exchange.world.instrument(instrument_id)
    assert instrument is not None, instrument_id
    exchange.pin_book(instrument, *exchange.instrument_book(instrument))


async def candidate(
    rig: PaperRig, size: int = 5, extra_depth: int = 0, k_headroom: str = "0.02", kalshi_first: bool = False
) -> Candidate:
    """A candidate on a live paper game at the books' current asks.

    The economics are made up (a 2 % ROI on a one-point curve): these tests are about
    what the executor does when a venue misbehaves, not about finding an edge. With
    ``extra_depth`` the Polymarket leg asks for that many contracts more than its best
    level holds (Kalshi's limit reaches that far), so a fill-and-kill fills only part.

    Both books are pinned at their current levels first: the simulated makers re-draw
    their sizes every few seconds, and a partial fill is only partial against the depth
    the candidate was priced on.
    """
    now = datetime.now(UTC)
    for mapping in rig.feed.mappings.values():
        if mapping.start_time is not None and mapping.start_time < now + timedelta(minutes=5):
            continue
        kref, pref = mapping.kalshi_yes, mapping.poly_other
        freeze_book(rig, pref.contract_id)
        pbook = await rig.venues[Venue.POLYMARKET].get_book(pref)
        if not pbook.asks:
            continue
        # The executor's leg 2 never pays more than breaks even: give the pair a real
        # edge by pinning Kalshi's YES asks 6 cents under 1 − Polymarket's best ask.
        kp = ((D(1) - pbook.asks[0].price - D("0.06")) / D("0.01")).to_integral_value(rounding="ROUND_FLOOR") * D("0.01")
        if kp < D("0.05"):
            continue
        exchange = rig.server.state.exchange
        kinst = exchange.world.instrument(kref.contract_id)
        assert kinst is not None
        exchange.pin_book(kinst, [(kp - D("0.02"), D(200))], [(kp, D(500))])
        if extra_depth:
            # Nothing more under leg 2's break-even limit than the best level: a
            # fill-and-kill for more fills only part.
            pinst = exchange.world.instrument(pref.contract_id)
            assert pinst is not None
            best = pbook.asks[0]
            exchange.pin_book(pinst, [(lv.price, lv.size) for lv in pbook.bids],
                              [(best.price, best.size), (D("0.99"), D(1000))])
            pbook = await rig.venues[Venue.POLYMARKET].get_book(pref)
        kbook = await rig.venues[Venue.KALSHI].get_book(kref)
        if not kbook.asks or not pbook.asks or not pbook.bids:
            continue
        want = D(size)
        if extra_depth:
            want = pbook.asks[0].size + extra_depth  # more than Polymarket's best level holds
        kprice = None
        reached = D(0)
        for lvl in kbook.asks:
            reached += lvl.size
            if reached >= want:
                kprice = lvl.price
                break
        pprice = pbook.asks[0].price
        if kprice is None or kprice >= D("0.95") or pprice >= D("0.95"):
            continue
        if not extra_depth and pbook.asks[0].size < want:
            continue
        # Headroom over the current asks: the simulated books drift between this quote
        # and the orders (a retried order arrives later still).
        kprice += D(k_headroom)
        if not extra_depth:
            pprice += D("0.01")
        cost = (kprice + pprice) * want
        curve = (CurvePoint(want, cost, cost * D("0.02"), D("2.0")),)
        opp = Opportunity(
            id=f"opp_{mapping.id}", mapping_id=mapping.id, direction=Direction.KALSHI_YES, league="nba",
            event_title=mapping.event_title, game_date=date.today(), confidence=Confidence.HIGH,
            kalshi_leg=Leg(kref, "YES", kprice, kprice, want, D(0)),
            poly_leg=Leg(pref, "other", pprice, pprice, want, D(0)),
            size=want, cost=cost, edge=cost * D("0.02"), roi_pct=D("2.0"), roi_per_day_pct=D("2.0"),
            curve=curve, volume=D(0), expires_at=mapping.start_time, expected_resolution=None,
            rules=RulesCheck("", ""), updated_at=now,
        )
        depth = {kref: D(1), pref: D(2)} if kalshi_first else {}
        return Candidate(
            opp, mapping.kalshi_event_ticker, Confidence.HIGH, start_time=mapping.start_time, depth=depth,
            min_sizes=dict(rig.feed.min_sizes),
        )
    raise AssertionError("no tradable paper game found")


async def run(rig: PaperRig, cand: Candidate) -> AttemptRecord:
    admitted = await rig.executor.submit(cand)
    assert isinstance(admitted, AttemptRecord), admitted
    await rig.executor.wait_idle()
    stored = await rig.attempts.get(admitted.id)
    assert stored is not None
    return stored


async def test_paper_both_legs_fill_hedged(paper: PaperRig) -> None:
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.HEDGED, a.reason
    assert a.leg(LegRole.LEG1).venue is Venue.POLYMARKET  # type: ignore[union-attr]
    assert len(await paper.trades.list_positions("open")) == 1


async def test_paper_leg2_reject_rolls_back(paper: PaperRig) -> None:
    # "invalid" is a definitive 400; a 503 "reject" on Kalshi is retried by the client
    # under the same client_order_id (idempotent), see the next test.
    paper.script(None, "invalid")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.ROLLED_BACK, a.reason
    (row,) = await paper.trades.recent_trades()
    assert row.status == "ROLLED_BACK" and row.reason.startswith("Kalshi fail")


async def test_paper_kalshi_503_is_retried_idempotently_and_fills_once(paper: PaperRig) -> None:
    paper.script(None, "reject")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.HEDGED, a.reason
    leg2 = a.leg(LegRole.LEG2)
    assert leg2 is not None
    store = paper.server.state.exchange.store
    assert store.order_by_client_id("kalshi", leg2.client_order_id) is not None
    assert len(store.orders("kalshi")) == 1  # the retry did not place a second order


async def test_paper_leg1_timeout_that_filled_is_found_by_its_order_hash(paper: PaperRig) -> None:
    paper.script("timeout_filled")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.HEDGED, a.reason
    assert paper.server.state.exchange.store is not None


async def test_paper_leg1_timeout_that_did_not_fill_fails(paper: PaperRig) -> None:
    paper.script("timeout_unfilled")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.FAILED, a.reason
    assert a.leg(LegRole.LEG1).state == "not_found"  # type: ignore[union-attr]


async def test_paper_leg2_timeout_that_filled_is_found_by_client_id(paper: PaperRig) -> None:
    paper.script(None, "timeout_filled")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.HEDGED, a.reason


async def test_paper_leg2_timeout_that_did_not_fill_rolls_back(paper: PaperRig) -> None:
    # The Kalshi client retries a timed-out order under its client_order_id; every try
    # times out unfilled here, then the look-ups prove it absent.
    retries = paper.venues[Venue.KALSHI].http.backoff.max_retries  # type: ignore[attr-defined]
    paper.script(None, *["timeout_unfilled"] * (retries + 1))
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.ROLLED_BACK, a.reason


async def test_paper_partial_fill_of_leg2_hedges_part_and_unwinds_the_rest(paper: PaperRig) -> None:
    a = await run(paper, await candidate(paper, extra_depth=3, kalshi_first=True))
    leg1, leg2 = a.leg(LegRole.LEG1), a.leg(LegRole.LEG2)
    assert leg1 is not None and leg2 is not None
    assert leg1.venue is Venue.KALSHI and leg2.tif.value == "ioc"
    assert D(0) < leg2.filled < leg1.filled, (leg1.filled, leg2.filled)
    assert a.state is AttemptState.HEDGED, a.reason
    assert a.unwound_quantity() == leg1.filled - leg2.filled


async def test_paper_polymarket_first_makes_kalshi_leg2_fill_or_kill(paper: PaperRig) -> None:
    # Polymarket refuses orders under 5 shares: a partial hedge could strand a remainder.
    a = await run(paper, await candidate(paper))
    assert a.leg(LegRole.LEG1).venue is Venue.POLYMARKET  # type: ignore[union-attr]
    assert a.leg(LegRole.LEG2).tif.value == "fok"  # type: ignore[union-attr]


async def test_paper_slip_on_leg2_within_the_quote_still_hedges(paper: PaperRig) -> None:
    cand = await candidate(paper, k_headroom="0.04")
    paper.script(slips=(0, 1))
    a = await run(paper, cand)
    assert a.state is AttemptState.HEDGED, a.reason
    leg2 = a.leg(LegRole.LEG2)
    assert leg2 is not None and leg2.avg_price is not None
    assert leg2.avg_price > cand.opportunity.kalshi_leg.price - D("0.04")  # paid the slipped price


async def test_paper_unwind_failure_ends_stranded(paper: PaperRig) -> None:
    paper.script(None, "invalid", "invalid", "invalid", "invalid", "invalid", "invalid")
    a = await run(paper, await candidate(paper))
    assert a.state is AttemptState.STRANDED, a.reason
    assert len(a.legs_of(LegRole.UNWIND)) == 5
    (row,) = await paper.trades.recent_trades()
    assert row.status == "STRANDED"
