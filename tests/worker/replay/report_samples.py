"""Constructed inputs of a replay's report: two hedges, a roll-back, a settlement, three
opportunities and three refusals, with every figure worked out by hand in
``ledger_inputs``'s docstring (the report's tests and the /charts page's use them)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

from tests.support.fake_venue import make_candidate
from worker.domain.attempts import AttemptRecord, AttemptState, LegRecord, LegRole, RefusalReason
from worker.domain.events import OpportunityRefused
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    MarketMapping,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.orders import OrderAction, OrderState, TimeInForce
from worker.domain.tradelog import StoredTrade, TradeStatus
from worker.replay.facts import ReplayFacts
from worker.replay.recording import SkippedPart

T0 = datetime(2026, 3, 1, 18, tzinfo=UTC)
END = T0 + timedelta(minutes=10)
KALSHI = ContractRef(Venue.KALSHI, "KXNBAGAME-G1-HOU", "KXNBAGAME-G1-HOU", OutcomeSide.YES)
POLY = ContractRef(Venue.POLYMARKET, "700001", "5002", OutcomeSide.TOKEN)
POLY_US = ContractRef(Venue.POLYMARKET_US, "nhl-bos-nyr", "nhl-bos-nyr", OutcomeSide.LONG)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def leg(aid: str, role: LegRole, seq: int, contract: ContractRef, filled: str, price: str, fees: str,
        action: OrderAction = OrderAction.BUY) -> LegRecord:
    return LegRecord(
        id=f"{aid}-{seq}", attempt_id=aid, role=role, seq=seq, contract=contract, label=contract.contract_id,
        action=action, price=D(price), quantity=D(filled), tif=TimeInForce.IOC, client_order_id=uuid.uuid4().hex,
        state=OrderState.FILLED.value, filled=D(filled), avg_price=D(price), fees=D(fees),
    )


def attempt(state: AttemptState, mapping: str, created: datetime, legs: list[LegRecord], aid: str,
            contracts: str = "10", title: str = "Houston at Sacramento") -> AttemptRecord:
    for g in legs:
        g.attempt_id = aid
    return AttemptRecord(
        id=aid, game_key=f"G-{mapping}", mapping_id=mapping, direction="kalshi_yes", event_title=title, state=state,
        created_at=created, updated_at=created, contracts=D(contracts), planned_cost=D("9"), expected_edge=D("0.3"),
        worst_case_loss=D(0), legs=legs,
    )


def row(n: int, t: datetime, status: TradeStatus, pnl: str, aid: str, position: str | None = None) -> StoredTrade:
    return StoredTrade(
        id=str(n), timestamp=t, event_title="x", status=status.value, bet_size=D(1), pnl=D(pnl), roi=None,
        poly_order_id=None, kalshi_order_id=None, reason=None, attempt_id=aid, position_id=position, details={},
    )


def mapping(league: str, poly_venue: Venue, market: str) -> MarketMapping:
    return MarketMapping(
        kalshi_ticker=f"K-{market}", kalshi_event_ticker="E", poly_venue=poly_venue, poly_market=market,
        poly_side="long" if poly_venue is Venue.POLYMARKET_US else "", poly_opposite="", league=league,
        game_date=date(2026, 3, 1), away_team="a", home_team="h", proposition_team="a", event_title="A at H",
        confidence=Confidence.HIGH, reasons=(),
    )


NBA = mapping("nba", Venue.POLYMARKET, "5002")
NHL = mapping("nhl", Venue.POLYMARKET_US, "nhl-bos-nyr")


def opportunity(edge: str, roi: str, mapping_id: str = NBA.id, league: str = "nba",
                poly: ContractRef = POLY) -> Opportunity:
    opp = make_candidate("G1", now=T0).opportunity
    return replace(opp, id=f"opp-{mapping_id}", mapping_id=mapping_id, league=league, edge=D(edge), roi_pct=D(roi),
                   poly_leg=replace(opp.poly_leg, contract=poly))


def ledger_inputs() -> tuple[list[AttemptRecord], list[StoredTrade]]:
    """Two hedges, one rolled back, one settled position; fresh ids every call.

    A (nba): 10 Kalshi at 0.45 + fee 0.17 = 4.67, 10 Poly at 0.50 + fee 0.05 = 5.05:
             locks 10 − 9.72 = 0.28; hedged at t=60, settled at t=400 for 0.28.
    B (nhl): 20 at 0.40 + 0.20 = 8.20, 20 at 0.55 + 0.10 = 11.10: locks 20 − 19.30 = 0.70 at t=120.
    C (nba): 10 at 0.50 + 0.10 = 5.10, sold back 10 at 0.40 − 0.05 = 3.95: −1.15 at t=200.
    """
    a, b, c = (uuid.uuid4().hex for _ in range(3))
    attempts = [
        attempt(AttemptState.HEDGED, NBA.id, at(59), [
            leg(a, LegRole.LEG1, 1, KALSHI, "10", "0.45", "0.17"), leg(a, LegRole.LEG2, 2, POLY, "10", "0.50", "0.05"),
        ], a),
        attempt(AttemptState.HEDGED, NHL.id, at(119), [
            leg(b, LegRole.LEG1, 1, KALSHI, "20", "0.40", "0.20"),
            leg(b, LegRole.LEG2, 2, POLY_US, "20", "0.55", "0.10"),
        ], b, contracts="20", title="Boston at New York"),
        attempt(AttemptState.ROLLED_BACK, NBA.id, at(199), [
            leg(c, LegRole.LEG1, 1, KALSHI, "10", "0.50", "0.10"),
            leg(c, LegRole.UNWIND, 10, KALSHI, "10", "0.40", "0.05", OrderAction.SELL),
        ], c),
    ]
    trades = [
        row(1, at(60), TradeStatus.SUCCESS, "0.28", a),
        row(2, at(120), TradeStatus.SUCCESS, "0.70", b),
        row(3, at(200), TradeStatus.ROLLED_BACK, "-1.15", c),
        row(4, at(400), TradeStatus.SETTLED, "0.28", a, position="1"),
    ]
    return attempts, trades


def facts_of(attempts: list[AttemptRecord], trades: list[StoredTrade] | None,
             extra_events: list[Any] = ()) -> ReplayFacts:  # type: ignore[assignment]
    facts = ReplayFacts(settings={"min_roi": D("0.5"), "max_bet": D("25.00")}, latency_ms={"kalshi": 60})
    nba, nhl = opportunity("0.10", "1.2"), opportunity("0.30", "2.5", NHL.id, "nhl", POLY_US)
    steps = [
        OpportunityEvent(OpportunityEventKind.OPENED, nba, at(0)),
        OpportunityEvent(OpportunityEventKind.UPDATED, replace(nba, edge=D("0.40"), roi_pct=D("4.1")), at(5)),
        OpportunityEvent(OpportunityEventKind.UPDATED, replace(nba, edge=D("0.20"), roi_pct=D("2")), at(8)),
        OpportunityEvent(OpportunityEventKind.CLOSED, nba, at(10), CloseReason.EDGE_GONE),
        OpportunityEvent(OpportunityEventKind.OPENED, nba, at(30)),
        OpportunityEvent(OpportunityEventKind.CLOSED, nba, at(50), CloseReason.EDGE_GONE),
        OpportunityEvent(OpportunityEventKind.OPENED, nhl, at(100)),  # still open at the end
    ]
    for s in steps:
        facts.on_opportunity(s)
    facts.publish(OpportunityRefused(nba.id, "x", RefusalReason.ROI_TOO_LOW, "", at(1)))
    facts.publish(OpportunityRefused(nba.id, "x", RefusalReason.STALE_BOOK, "", at(6)))
    facts.publish(OpportunityRefused(nhl.id, "x", RefusalReason.ROI_TOO_LOW, "", at(101)))
    for e in extra_events:
        facts.publish(e)
    facts.finish(attempts=attempts, trades=trades, mappings=[NBA, NHL], start=T0, end=END, book_updates=1234,
                 skipped=[SkippedPart("kalshi/part-7.parquet", "truncated")], refusal_checks={"roi_below_min": 9})
    return facts
