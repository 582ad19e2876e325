"""The replay driver end to end on a small recording: the worker's own matcher, scanner,
risk manager and executor trade a recorded arbitrage on the replay clock.

The markets are the scanner's matching fixtures (a Kalshi game-winner market and the Gamma
market of the same game, which the matcher pairs: Kalshi "Houston wins" YES with Gamma's
Kings token as the other side); the books are built here with a clear edge: Kalshi YES
at 0.40 plus the Kings token at 0.40 pays $1 for 0.80 and fees.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from worker.domain.attempts import AttemptState, LegRole
from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.mapping import Confidence
from worker.domain.markets import ContractRef, Market, OutcomeSide, Venue
from worker.domain.settings import DEFAULTS
from worker.engine.executor import RiskConfig
from worker.replay.driver import Replay, ReplayOptions
from worker.replay.facts import write_report
from worker.replay.reader import open_recording
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.polymarket.parse import parse_events as parse_gamma

D = Decimal
FIX = Path(__file__).parents[1] / "engine" / "scanner" / "fixtures"
#: Before the game (it starts 2026-01-12 03:00 UTC): nothing is refused for starting soon.
T0 = datetime(2026, 1, 11, 20, 0, tzinfo=UTC)
LATENCY_MS = 100
HOU = "KXNBAGAME-26JAN11HOUSAC-HOU"
KINGS, ROCKETS = "5001", "5002"


def _markets() -> tuple[Market, Market]:
    kalshi = next(m for m in parse_kalshi(json.loads((FIX / "kalshi_events.json").read_text()))[0] if m.market_id == HOU)
    gamma = next(
        m for m in parse_gamma(json.loads((FIX / "gamma_events.json").read_text()))
        if {o.contract_id for o in m.outcomes} == {KINGS, ROCKETS}
    )
    return kalshi, gamma


KALSHI, GAMMA = _markets()
HOU_YES = KALSHI.outcome(HOU, OutcomeSide.YES).ref
HOU_NO = KALSHI.outcome(HOU, OutcomeSide.NO).ref
KINGS_REF = next(o.ref for o in GAMMA.outcomes if o.contract_id == KINGS)
ROCKETS_REF = next(o.ref for o in GAMMA.outcomes if o.contract_id == ROCKETS)


def lv(*pairs: tuple[str, str]) -> list[PriceLevel]:
    return [PriceLevel(D(p), D(s)) for p, s in pairs]


def kalshi_books(at: datetime, yes_bid: str, yes_ask: str, size: str) -> list[RecordedBook]:
    """One Kalshi message: its YES and NO books (the NO bids are 1 - the YES asks)."""
    yes, no = two_sided_from_bids(HOU_YES, HOU_NO, lv((yes_bid, size)), lv((str(1 - D(yes_ask)), size)), at)
    return [RecordedBook(Venue.KALSHI, yes, snapshot=True), RecordedBook(Venue.KALSHI, no, snapshot=True)]


def token_book(ref: ContractRef, at: datetime, bid: str, ask: str, size: str) -> RecordedBook:
    return RecordedBook(Venue.POLYMARKET, OrderBook.build(ref, lv((bid, size)), lv((ask, size)), at), snapshot=True)


def record(directory: Path) -> None:
    """Listings at T0; at T0 + 1 s the edge (Kalshi thinner, so its leg goes first); 50 ms
    later, while the Kalshi order is on its way (100 ms), the Kalshi YES ask drops to 0.38."""
    t = T0 + timedelta(seconds=1)
    writer = RecordWriter(directory, 10**9, poll_s=0.01)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (KALSHI,)))
    writer.offer(ListingSnapshot(Venue.POLYMARKET, T0, (GAMMA,)))
    events: list[RecordedBook] = [
        token_book(KINGS_REF, t, "0.38", "0.40", "500"),
        token_book(ROCKETS_REF, t, "0.60", "0.62", "500"),
        *kalshi_books(t, "0.38", "0.40", "60"),
        *kalshi_books(t + timedelta(milliseconds=50), "0.36", "0.38", "60"),
    ]
    for event in events:
        writer.offer(event)
    writer.close()


def options() -> ReplayOptions:
    risk = RiskConfig(
        min_confidence=Confidence.HIGH, require_confirmation=False, max_book_age_ms=2000,
        no_trade_before_start_s=60, suspicious_roi=D(1000),
    )
    latency = {Venue.KALSHI: LATENCY_MS, Venue.POLYMARKET: LATENCY_MS, Venue.POLYMARKET_US: LATENCY_MS}
    return ReplayOptions(poly_venue=Venue.POLYMARKET, settings=DEFAULTS.values(), risk=risk, latency_ms=latency)


async def test_the_replay_trades_the_recorded_edge_and_fills_at_t_plus_latency(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record(rec)
    outcome = await Replay(open_recording(rec), options(), workdir=tmp_path).run()
    report = outcome.facts.report()
    assert report["summary"]["mappings"] >= 1
    # The attempts as the throwaway database held them at the end (the report's trade rows
    # do not carry the legs' fill prices).
    attempts = outcome.attempts
    hedged = [a for a in attempts if a.state is AttemptState.HEDGED]
    assert hedged, report["summary"]
    first = min(hedged, key=lambda a: a.created_at)
    assert first.created_at == T0 + timedelta(seconds=1)  # decided on the books of t
    kalshi_leg = next(leg for leg in first.legs if leg.venue is Venue.KALSHI and leg.role is not LegRole.UNWIND)
    # Sent at t with the decision's price, it reached the venue at t + 100 ms, where the
    # book recorded at t + 50 ms asked 0.38: that is the fill, not the 0.40 the decision saw.
    assert kalshi_leg.price >= D("0.40")
    assert kalshi_leg.avg_price == D("0.38") and kalshi_leg.filled == first.contracts
    assert kalshi_leg.updated_at == first.created_at + timedelta(milliseconds=LATENCY_MS)
    poly_leg = next(leg for leg in first.legs if leg.venue is Venue.POLYMARKET)
    assert poly_leg.contract == KINGS_REF and poly_leg.avg_price == D("0.40")


async def test_with_a_decision_lag_the_executor_takes_the_quote_as_it_then_stands(tmp_path: Path) -> None:
    """``--decision-ms 30``: the quote made at t (Kalshi YES at 0.40) is decided 30 ms
    later, at the quote as it then stands; the book of t + 50 ms is not yet in it. With
    80 ms it is: the plan asks 0.38 for Kalshi (and the report says the lag it ran with)."""
    rec = tmp_path / "rec"
    record(rec)
    t = T0 + timedelta(seconds=1)
    planned = {}
    for lag in (30, 80):
        opts = replace(options(), decision_ms=lag)
        outcome = await Replay(open_recording(rec), opts, workdir=tmp_path).run()
        first = min(outcome.attempts, key=lambda a: a.created_at)
        assert first.created_at == t + timedelta(milliseconds=lag)
        assert datetime.fromisoformat(first.details["quoted"]["at"]) <= first.created_at
        kalshi_leg = next(leg for leg in first.legs if leg.venue is Venue.KALSHI)
        planned[lag] = D(first.details["quoted"]["kalshi_price"]), kalshi_leg.price
        assert outcome.facts.report()["settings"]["decision_ms"] == lag
    assert planned[30][0] == D("0.40") and planned[80] == (D("0.38"), D("0.38"))


async def test_the_same_recording_replayed_twice_gives_byte_identical_reports(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    record(rec)
    written: list[bytes] = []
    for run in ("a", "b"):
        outcome = await Replay(open_recording(rec), options(), workdir=tmp_path).run()
        path = write_report(tmp_path / run, outcome.facts.report())
        written.append(path.read_bytes())
    assert written[0] == written[1]
    assert json.loads(written[0])["summary"]["hedged"] >= 1
