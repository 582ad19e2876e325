"""Detection: fees with their rounding, depth walking, directions, lifecycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.fees import FeeSchedule
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    Direction,
    MappingStatus,
    MarketMapping,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.engine.scanner.detect import build_pair, evaluate_pair, walk
from worker.engine.scanner.rules import compare_rules
from worker.engine.scanner.scanner import Scanner

NOW = datetime(2026, 1, 11, 18, 0, tzinfo=UTC)
START = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)
K = "KXNBAGAME-26JAN11HOUSAC-HOU"
#: A Polymarket sports market's feeSchedule in 2026: rate 0.03, exponent 1.
POLY = FeeSchedule.polymarket(D("0.03"))


def lv(*pairs: tuple[str, str]) -> tuple[PriceLevel, ...]:
    return tuple(PriceLevel(D(p), D(s)) for p, s in pairs)


def kalshi_market(rules: str = "If Houston wins, Yes.") -> Market:
    return Market(
        venue=Venue.KALSHI,
        market_id=K,
        event_id="KXNBAGAME-26JAN11HOUSAC",
        event_title="Houston at Sacramento",
        title="Houston at Sacramento",
        league=League.NBA,
        kind=MarketKind.GAME_WINNER,
        outcomes=(
            Outcome(Venue.KALSHI, K, K, OutcomeSide.YES, "Houston"),
            Outcome(Venue.KALSHI, K, K, OutcomeSide.NO, "Houston"),
        ),
        tick_size=D("0.01"),
        min_size=D(1),
        fees=FeeSchedule.kalshi(),
        status=MarketStatus.OPEN,
        start_time=START,
        close_time=START + timedelta(hours=3),
        rules=rules,
        volume=D(100),
    )


def gamma_market(rules: str = "Resolves to the winner.") -> Market:
    return Market(
        venue=Venue.POLYMARKET,
        market_id="700001",
        event_id="90001",
        event_title="Rockets vs. Kings",
        title="Rockets vs. Kings",
        league=League.NBA,
        kind=MarketKind.GAME_WINNER,
        outcomes=(
            Outcome(Venue.POLYMARKET, "700001", "5001", OutcomeSide.TOKEN, "Kings"),
            Outcome(Venue.POLYMARKET, "700001", "5002", OutcomeSide.TOKEN, "Rockets"),
        ),
        tick_size=D("0.01"),
        min_size=D(5),
        fees=POLY,
        status=MarketStatus.OPEN,
        start_time=START,
        rules=rules,
        volume=D(50),
    )


def mapping(status: MappingStatus = MappingStatus.CANDIDATE) -> MarketMapping:
    return MarketMapping(
        kalshi_ticker=K,
        kalshi_event_ticker="KXNBAGAME-26JAN11HOUSAC",
        poly_venue=Venue.POLYMARKET,
        poly_market="5002",
        poly_side="",
        poly_opposite="5001",
        league="nba",
        game_date=date(2026, 1, 11),
        away_team="nba:HOU",
        home_team="nba:SAC",
        proposition_team="nba:HOU",
        event_title="Houston at Sacramento",
        confidence=Confidence.HIGH,
        reasons=("test",),
        start_time=START,
        poly_market_id="700001",
        status=status,
    )


def kalshi_books(
    yes_bids: tuple[PriceLevel, ...], no_bids: tuple[PriceLevel, ...]
) -> tuple[OrderBook, OrderBook]:
    m = mapping()
    return two_sided_from_bids(m.kalshi_yes, m.kalshi_no, yes_bids, no_bids, NOW)


def token_book(token: str, asks: tuple[PriceLevel, ...]) -> OrderBook:
    ref = ContractRef(Venue.POLYMARKET, "700001", token, OutcomeSide.TOKEN)
    return OrderBook.build(ref, [], asks, NOW)


def test_walk_stops_where_the_marginal_pair_stops_paying_after_fees() -> None:
    a = lv(("0.40", "10"), ("0.45", "10"), ("0.50", "10"))
    b = lv(("0.50", "15"), ("0.56", "100"))
    out = walk(a, b, FeeSchedule.kalshi(), POLY, D(1))
    assert out is not None
    curve, size = out
    # 0.40+0.50 and 0.45+0.50 clear fees; 0.45+0.56 > 1 does not.
    assert size == D(15)
    assert [p.size for p in curve][-1] == D(15)


def test_walk_rejects_a_top_of_book_that_only_looks_profitable_before_fees() -> None:
    # 0.49 + 0.50 = 0.99 < 1, but Kalshi 0.07·p(1−p) + Polymarket 0.03·p(1−p) ≈ 0.025 > 0.01.
    assert (
        walk(
            lv(("0.49", "100")), lv(("0.50", "100")), FeeSchedule.kalshi(), POLY
        )
        is None
    )


def test_depth_below_polymarket_minimum_order_size_is_not_an_opportunity() -> None:
    a, b = lv(("0.47", "1")), lv(("0.50", "100"))
    assert walk(a, b, FeeSchedule.kalshi(), POLY, D(1)) is not None
    pair = build_pair(mapping(), kalshi_market(), gamma_market())
    yes, no = kalshi_books(lv(), lv(("0.53", "1")))  # YES ask 0.47 × 1
    books = {b.contract: b for b in (yes, no, token_book("5001", lv(("0.50", "100"))))}
    opp = evaluate_pair(pair, books, NOW)[Direction.KALSHI_YES]
    # 1 contract is below Polymarket's 5-share minimum: no tradable size at all.
    assert opp is None


def test_kalshi_yes_direction_buys_the_other_teams_token_and_reports_exact_costs() -> None:
    pair = build_pair(mapping(), kalshi_market(), gamma_market())
    yes, no = kalshi_books(
        lv(("0.30", "50")), lv(("0.60", "20"), ("0.58", "30"))
    )  # YES asks 0.40×20, 0.42×30
    kings = token_book("5001", lv(("0.50", "100")))
    books = {b.contract: b for b in (yes, no, kings)}
    opps = evaluate_pair(pair, books, NOW)
    opp = opps[Direction.KALSHI_YES]
    assert opp is not None
    assert opp.poly_leg.contract.contract_id == "5001"  # Kings: the other team
    assert opp.kalshi_leg.contract.side is OutcomeSide.YES
    assert opp.size == D(50)
    # Kalshi rounds the order's total once: 0.07·20·0.4·0.6 + 0.07·30·0.42·0.58
    # = 0.336 + 0.51156 = 0.84756 → 0.85 (per level it would be 0.34 + 0.52 = 0.86).
    # Polymarket per fill: 0.03·50·0.5·0.5 = 0.375.
    assert opp.kalshi_leg.fee == D("0.85")
    assert opp.poly_leg.fee == D("0.37500")
    assert opp.cost == D("8.00") + D("12.60") + D("25.00") + D("0.85") + D("0.375")
    assert opp.edge == D(50) - opp.cost
    assert opp.roi_pct == (opp.edge / opp.cost * 100).quantize(D("0.0001"))
    assert opp.kalshi_leg.price == D("0.42")
    assert opps[Direction.KALSHI_NO] is None  # no Rockets book


def test_kalshi_no_direction_buys_the_same_teams_token() -> None:
    pair = build_pair(mapping(), kalshi_market(), gamma_market())
    yes, no = kalshi_books(lv(("0.55", "40")), lv())  # NO ask = 0.45 × 40
    rockets = token_book("5002", lv(("0.45", "40")))
    books = {b.contract: b for b in (yes, no, rockets)}
    opp = evaluate_pair(pair, books, NOW)[Direction.KALSHI_NO]
    assert opp is not None
    assert opp.poly_leg.contract.contract_id == "5002"
    assert opp.kalshi_leg.contract.side is OutcomeSide.NO
    assert opp.roi_per_day_pct > opp.roi_pct  # resolves within a day


def test_rules_flag_fifty_fifty_against_a_rule_that_waits_for_the_rescheduled_game() -> None:
    r = compare_rules(
        "If the game is postponed, the market will remain open until the rescheduled game is played.",
        "If the game is postponed or cancelled, this market will resolve 50-50.",
    )
    assert r.differ
    # Kalshi waits for the game (0 or 1), Polymarket pays 50¢ at once: $0.50 to $1.50.
    assert any(d.startswith("Postponed:") and "worst case −$0.50 per pair" in d for d in r.differences)
    # Both texts silent on cancellation: unknown, shown as such (never read as agreement).
    silent = compare_rules("If Houston wins, Yes.", "Resolves to the winner.")
    assert any("unknown payout" in d for d in silent.differences) and silent.worst_loss is None
    agree = "If the game is canceled entirely, with no make-up game, this market will resolve 50-50. If the game is postponed, this market will remain open until the game has been completed."
    assert not compare_rules(agree, agree).differ


def test_scanner_lifecycle_opens_updates_and_closes_with_stable_ids() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.add_mapping(mapping(), kalshi_market(), gamma_market())
    yes, no = kalshi_books(lv(("0.55", "40")), lv())
    sc.on_books([yes, no], NOW)
    assert events == []
    sc.on_book(token_book("5002", lv(("0.45", "40"))), NOW)
    assert [e.kind for e in events] == [OpportunityEventKind.OPENED]
    oid = events[0].opportunity.id
    sc.on_book(token_book("5002", lv(("0.45", "40"))), NOW)  # same quote: nothing
    assert len(events) == 1
    sc.on_book(token_book("5002", lv(("0.44", "40"))), NOW)
    assert events[-1].kind is OpportunityEventKind.UPDATED and events[-1].opportunity.id == oid
    sc.on_book(token_book("5002", lv(("0.60", "40"))), NOW)
    assert (
        events[-1].kind is OpportunityEventKind.CLOSED
        and events[-1].reason is CloseReason.EDGE_GONE
    )
    sc.on_book(token_book("5002", lv(("0.44", "40"))), NOW)
    assert events[-1].kind is OpportunityEventKind.OPENED and events[-1].opportunity.id == oid
    sc.on_clock(START)
    assert (
        events[-1].kind is OpportunityEventKind.CLOSED
        and events[-1].reason is CloseReason.GAME_STARTED
    )


def test_book_update_re_evaluates_only_pairs_using_that_book() -> None:
    sc = Scanner(lambda e: None)
    sc.add_mapping(mapping(), kalshi_market(), gamma_market())
    sc.on_book(token_book("9999", lv(("0.45", "40"))), NOW)
    assert sc.evaluations == 0
    sc.on_book(token_book("5002", lv(("0.45", "40"))), NOW)
    assert sc.evaluations == 1


def test_rejected_mapping_is_never_traded_and_closes_open_opportunities() -> None:
    events: list[OpportunityEvent] = []
    sc = Scanner(events.append)
    sc.add_mapping(mapping(MappingStatus.REJECTED), kalshi_market(), gamma_market())
    assert sc.pair_count == 0
    sc.add_mapping(mapping(), kalshi_market(), gamma_market())
    yes, no = kalshi_books(lv(("0.55", "40")), lv())
    sc.on_books([yes, no, token_book("5002", lv(("0.45", "40")))], NOW)
    assert events[-1].kind is OpportunityEventKind.OPENED
    sc.decide(mapping().id, MappingStatus.REJECTED, NOW)
    assert events[-1].kind is OpportunityEventKind.CLOSED
    assert events[-1].reason is CloseReason.MAPPING_REJECTED
    assert sc.open_opportunities == []
