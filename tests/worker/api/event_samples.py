"""One sample of every engine event class, each with the server message the engine sent for
it before events were typed, written out by hand (never through the encoder under test).

Each expected message mirrors the dict its publish site built, after the server's JSON
encoding: ``Decimal`` amounts keep their exponent, times the engine took from a clock are
``…Z`` unless the site wrote ``isoformat()`` itself (``+00:00``), enums their value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

from worker.domain.attempts import RefusalReason
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.events import (
    Alert,
    AlertDismissed,
    AlertKind,
    AlertRaised,
    AlertSeverity,
    BalanceUpdate,
    DiscoveryRefusalsChanged,
    EngineEvent,
    Heartbeat,
    KillSwitchProgress,
    MappingChanged,
    OpportunityClosed,
    OpportunityOpened,
    OpportunityRefused,
    OpportunityUpdated,
    PnlPoint,
    PositionClosed,
    PositionOpened,
    SettingsChanged,
    StatusChanged,
    TradeEvent,
    TradeNotice,
    VenueFeed,
    VenueStatus,
)
from worker.domain.ledger import BooksFigures, BooksTotals, PayoutToRedeem, VenueBooksFigures
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    CurvePoint,
    Direction,
    Leg,
    LeggingQuote,
    MappingStatus,
    MarketMapping,
    NotTradeable,
    Opportunity,
    RulesCheck,
    TradePermission,
    mapping_id,
)
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.domain.marks import HoldingAtMark, LegAtMark
from worker.domain.operator import DatabaseState, DatabaseStatus, VenueConnection
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import NewPosition, PositionLeg, TradeStatus

T = datetime(2026, 1, 11, 19, 30, 5, tzinfo=UTC)
T_Z = "2026-01-11T19:30:05Z"  # the server's encoding of a datetime
T_OFFSET = "2026-01-11T19:30:05+00:00"  # a site's own isoformat()
LATER = datetime(2026, 1, 11, 21, 0, tzinfo=UTC)
LATER_Z = "2026-01-11T21:00:00Z"


@dataclass(frozen=True)
class Sample:
    name: str
    event: EngineEvent
    message: dict[str, Any]


# --- balance_update (executor/balances.py) --------------------------------------------

BOOKS = BooksFigures(
    venues={
        Venue.KALSHI: VenueBooksFigures(
            Venue.KALSHI, D("100.00"), D("101.25"), None, D("4.50"), D("1.25"), D("0.07"), D("0"), D("0"),
            D("0"), D("0.00"), at_mark=D("4.60"), unrealised=D("0.10"), equity=D("105.85"),
        ),
        Venue.POLYMARKET: VenueBooksFigures(
            Venue.POLYMARKET, None, None, "balance not read", D("5.00"), D("-0.50"), D("0"), D("1.00"),
            D("1.00"), D("0"), None, unmarked=1,
        ),
    },
    total=BooksTotals(None, None, D("9.50"), D("1.00"), D("0.75"), D("0.07"), D("0"), None, at_mark=D("10.00"),
                      unrealised=D("0.50")),
    locked_edge=D("0.40"),
    resolved_to_redeem=D("1.00"),
    to_redeem=(PayoutToRedeem(Venue.POLYMARKET, D("1.00"), "10 × Kings", "att_1", T),),
    realised_today=D("0.75"),
    realised_all_time=D("0.75"),
    in_flight=1,
    agrees=False,
    positions=(
        HoldingAtMark("att_2", "pos_2", D("9.50"), D("10"), D("10.00"), D("0.50"), (
            LegAtMark(Venue.KALSHI, "KXNBAGAME-26JAN11HOUSAC-HOU", "yes", "YES HOU", D("10"), D("0.46"), T),
            LegAtMark(Venue.POLYMARKET, "tok_kings", "token", "Kings", D("10"), None, None),
        )),
    ),
    mark_max_age_ms=2000,
)
BOOKS_WIRE = {
    "venues": {
        "kalshi": {
            "venue": "kalshi", "cash_at_start": D("100.00"), "cash": D("101.25"), "cash_error": None,
            "open_cost": D("4.50"), "realised": D("1.25"), "fees": D("0.07"), "settlements": D("0"),
            "to_redeem": D("0"), "other_movements": D("0"), "difference": D("0.00"),
            "at_mark": D("4.60"), "unmarked": 0, "unrealised": D("0.10"), "equity": D("105.85"),
        },
        "polymarket": {
            "venue": "polymarket", "cash_at_start": None, "cash": None, "cash_error": "balance not read",
            "open_cost": D("5.00"), "realised": D("-0.50"), "fees": D("0"), "settlements": D("1.00"),
            "to_redeem": D("1.00"), "other_movements": D("0"), "difference": None,
            "at_mark": None, "unmarked": 1, "unrealised": None, "equity": None,
        },
    },
    "total": {
        "cash_at_start": None, "cash": None, "open_cost": D("9.50"), "to_redeem": D("1.00"),
        "realised": D("0.75"), "fees": D("0.07"), "other_movements": D("0"), "difference": None,
        "at_mark": D("10.00"), "unrealised": D("0.50"), "equity": None,
    },
    "locked_edge": D("0.40"),
    "resolved_to_redeem": D("1.00"),
    "to_redeem": [
        {"venue": "polymarket", "amount": D("1.00"), "what": "10 × Kings", "attempt_id": "att_1", "since": T_Z},
    ],
    "realised_today": D("0.75"),
    "realised_all_time": D("0.75"),
    "in_flight": 1,
    "agrees": False,
    "positions": [{
        "attempt_id": "att_2", "position_id": "pos_2", "cost": D("9.50"), "hedged": D("10"), "value": D("10.00"),
        "unrealised": D("0.50"), "legs": [
            {"venue": "kalshi", "contract_id": "KXNBAGAME-26JAN11HOUSAC-HOU", "side": "yes", "label": "YES HOU",
             "quantity": D("10"), "bid": D("0.46"), "at": T_Z},
            {"venue": "polymarket", "contract_id": "tok_kings", "side": "token", "label": "Kings",
             "quantity": D("10"), "bid": None, "at": None},
        ],
    }],
    "mark_max_age_ms": 2000,
}

# --- the opportunity and the mapping ----------------------------------------------------

KALSHI_YES = ContractRef(Venue.KALSHI, "KXNBAGAME-26JAN11HOUSAC-HOU", "KXNBAGAME-26JAN11HOUSAC-HOU", OutcomeSide.YES)
KINGS = ContractRef(Venue.POLYMARKET, "55123", "tok_kings", OutcomeSide.TOKEN)
OPPORTUNITY = Opportunity(
    id="opp_abc_kalshi_yes",
    mapping_id="map_abc",
    direction=Direction.KALSHI_YES,
    league="nba",
    event_title="Houston at Sacramento",
    game_date=date(2026, 1, 11),
    confidence=Confidence.HIGH,
    kalshi_leg=Leg(KALSHI_YES, "YES KXNBAGAME-26JAN11HOUSAC-HOU", D("0.45"), D("0.45"), D("10"), D("0.18")),
    poly_leg=Leg(KINGS, "Kings", D("0.50"), D("0.495"), D("10"), D("0")),
    size=D("10"),
    cost=D("9.630"),
    edge=D("0.370"),
    roi_pct=D("3.8422"),
    roi_per_day_pct=D("12.5000"),
    curve=(CurvePoint(D("10"), D("9.630"), D("0.370"), D("3.8422"), D("0.45"), D("0.50")),),
    volume=D("1500.5"),
    expires_at=LATER,
    expected_resolution=None,
    rules=RulesCheck("Kalshi rules", "Polymarket rules", ("postponed: $0.50 short",), "", D("0.50"), ("Kalshi …",)),
    updated_at=T,
    kalshi_volume=None,
    kalshi_url="https://kalshi.com/markets/kxnbagame",
    poly_url="https://polymarket.com/event/nba-hou-sac-2026-01-11",
    # 0.370 locked − 0.1 × $0.05 × 10 contracts = 0.320 expected; 0.320 / 9.630 = 3.3229 %.
    legging=LeggingQuote("polymarket", "polymarket/nba/0.40-0.60/le1", 40, D("0.1"), D("0.05"), D("0.320"),
                         D("3.3229")),
)
OPPORTUNITY_WIRE = {
    "id": "opp_abc_kalshi_yes",
    "mapping_id": "map_abc",
    "direction": "kalshi_yes",
    "league": "nba",
    "event_title": "Houston at Sacramento",
    "game_date": "2026-01-11",
    "confidence": "HIGH",
    "kalshi_leg": {
        "contract": {"venue": "kalshi", "market_id": "KXNBAGAME-26JAN11HOUSAC-HOU",
                     "contract_id": "KXNBAGAME-26JAN11HOUSAC-HOU", "side": "yes"},
        "label": "YES KXNBAGAME-26JAN11HOUSAC-HOU", "price": D("0.45"), "avg_price": D("0.45"), "size": D("10"),
        "fee": D("0.18"),
    },
    "poly_leg": {
        "contract": {"venue": "polymarket", "market_id": "55123", "contract_id": "tok_kings", "side": "token"},
        "label": "Kings", "price": D("0.50"), "avg_price": D("0.495"), "size": D("10"), "fee": D("0"),
    },
    "size": D("10"),
    "cost": D("9.630"),
    "edge": D("0.370"),
    "roi_pct": D("3.8422"),
    "roi_per_day_pct": D("12.5000"),
    "curve": [{"size": D("10"), "cost": D("9.630"), "edge": D("0.370"), "roi_pct": D("3.8422"),
               "kalshi_price": D("0.45"), "poly_price": D("0.50")}],
    "volume": D("1500.5"),
    "expires_at": LATER_Z,
    "expected_resolution": None,
    "rules": {"kalshi": "Kalshi rules", "poly": "Polymarket rules", "differences": ["postponed: $0.50 short"],
              "outcome_problem": "", "worst_loss": D("0.50"), "facts": ["Kalshi …"]},
    "updated_at": T_Z,
    "kalshi_volume": None,
    "kalshi_url": "https://kalshi.com/markets/kxnbagame",
    "poly_url": "https://polymarket.com/event/nba-hou-sac-2026-01-11",
    "legging": {"second_venue": "polymarket", "cell": "polymarket/nba/0.40-0.60/le1", "samples": 40,
                "p_fail": D("0.1"), "cost": D("0.05"), "expected_edge": D("0.320"), "expected_roi_pct": D("3.3229")},
}
NOT_CONFIRMED = TradePermission(False, NotTradeable.NOT_CONFIRMED, "awaiting confirmation")
NOT_CONFIRMED_WIRE = {"tradeable": False, "why_not": {"reason": "not_confirmed", "text": "awaiting confirmation"}}

MAPPING = MarketMapping(
    kalshi_ticker="KXNBAGAME-26JAN11HOUSAC-HOU",
    kalshi_event_ticker="KXNBAGAME-26JAN11HOUSAC",
    poly_venue=Venue.POLYMARKET,
    poly_market="tok_hou",
    poly_side="",
    poly_opposite="tok_sac",
    league="nba",
    game_date=date(2026, 1, 11),
    away_team="nba:HOU",
    home_team="nba:SAC",
    proposition_team="nba:HOU",
    event_title="Houston at Sacramento",
    confidence=Confidence.MEDIUM,
    reasons=("teams fuzzy",),
    start_time=LATER,
    poly_market_id="55123",
    status=MappingStatus.REJECTED,
    note=None,
    created_at=T,
    updated_at=T,
    decided_at=T,
    kalshi_url="https://kalshi.com/markets/kxnbagame/kxnbagame-26jan11housac",
    kalshi_outcome="Houston",
    poly_url="https://polymarket.com/event/nba-hou-sac-2026-01-11",
    poly_title="Rockets vs. Kings",
    poly_outcome="Rockets",
    poly_other_outcome="Kings",
    proposition="win:nba:HOU",
)
MAPPING_WIRE = {
    "kalshi_ticker": "KXNBAGAME-26JAN11HOUSAC-HOU",
    "kalshi_event_ticker": "KXNBAGAME-26JAN11HOUSAC",
    "poly_venue": "polymarket",
    "poly_market": "tok_hou",
    "poly_side": "",
    "poly_opposite": "tok_sac",
    "league": "nba",
    "game_date": "2026-01-11",
    "away_team": "nba:HOU",
    "home_team": "nba:SAC",
    "proposition_team": "nba:HOU",
    "event_title": "Houston at Sacramento",
    "confidence": "MEDIUM",
    "reasons": ["teams fuzzy"],
    "start_time": LATER_Z,
    "poly_market_id": "55123",
    "status": "rejected",
    "note": None,
    "created_at": T_Z,
    "updated_at": T_Z,
    "decided_at": T_Z,
    "kalshi_url": "https://kalshi.com/markets/kxnbagame/kxnbagame-26jan11housac",
    "kalshi_outcome": "Houston",
    "poly_url": "https://polymarket.com/event/nba-hou-sac-2026-01-11",
    "poly_title": "Rockets vs. Kings",
    "poly_outcome": "Rockets",
    "poly_other_outcome": "Kings",
    "proposition": "win:nba:HOU",
    "id": mapping_id("KXNBAGAME-26JAN11HOUSAC-HOU", Venue.POLYMARKET, "tok_hou", ""),
    "review_key": "KXNBAGAME-26JAN11HOUSAC|polymarket|tok_hou+tok_sac",
    "tradeable": False,
    "why_not": {"reason": "mapping_rejected", "text": "rejected by the operator"},
}

ALERT = Alert(
    id="alert_0123456789abcdef", kind=AlertKind.STRANDED, key="att_1", severity=AlertSeverity.CRITICAL,
    title="STRANDED: Houston at Sacramento", message="leg 2 refused", raised_at=T, last_at=LATER, count=2,
    data={"attempt_id": "att_1", "event": "Houston at Sacramento"},
)
ALERT_WIRE = {
    "id": "alert_0123456789abcdef", "kind": "stranded", "key": "att_1", "severity": "critical",
    "title": "STRANDED: Houston at Sacramento", "message": "leg 2 refused", "raised_at": T_Z, "last_at": LATER_Z,
    "count": 2, "data": {"attempt_id": "att_1", "event": "Houston at Sacramento"}, "dismissed_at": None,
}


def _refusals() -> DiscoveryRefusals:
    kept = DiscoveryRefusals()
    kept.update([ListingRefusal(Venue.POLYMARKET, "1642124", "no clobTokenIds")], T)
    kept.update([ListingRefusal(Venue.POLYMARKET, "1642124", "no clobTokenIds"),
                 ListingRefusal(Venue.KALSHI, "KXNBASPREAD-1", "a spread")], LATER)
    return kept


def samples() -> list[Sample]:
    title = "Houston at Sacramento"
    return [
        Sample("balance_update", BalanceUpdate(D("40.00"), D("45.50")),
               {"type": "balance_update", "data": {"poly": D("40.00"), "kalshi": D("45.50")}}),
        Sample("balance_update with books", BalanceUpdate(D("40.00"), D("0"), BOOKS),
               {"type": "balance_update", "data": {"poly": D("40.00"), "kalshi": D("0"), "books": BOOKS_WIRE}}),
        # runner._end: an attempt's row
        Sample(
            "trade_event of an attempt",
            TradeEvent(title, TradeStatus.STRANDED, T, bet_size=D("4.7500"), pnl=D("-0.1200"), roi=None,
                       reason="K fail: rejected; no bid", attempt_id="att_1", trade_id="tr_1", loud=True),
            {"type": "trade_event", "data": {
                "event": title, "status": "STRANDED", "bet_size": D("4.7500"), "pnl": D("-0.1200"), "roi": None,
                "reason": "K fail: rejected; no bid", "attempt_id": "att_1", "trade_id": "tr_1",
                "timestamp": T_OFFSET, "loud": True}},
        ),
        # executor._position_closed: the exit's own row
        Sample(
            "trade_event of a closed position",
            TradeEvent(title, TradeStatus.CLOSED, T, bet_size=D("9.63"), pnl=D("0.37"), roi=D("3.84"),
                       reason="closed by operator", attempt_id=None, position_id="pos_1", trade_id="tr_2",
                       loud=False),
            {"type": "trade_event", "data": {
                "event": title, "status": "CLOSED", "bet_size": D("9.63"), "pnl": D("0.37"), "roi": D("3.84"),
                "reason": "closed by operator", "attempt_id": None, "position_id": "pos_1", "trade_id": "tr_2",
                "timestamp": T_OFFSET, "loud": False}},
        ),
        # executor.close_position: contracts left
        Sample(
            "trade_event CLOSE_INCOMPLETE",
            TradeEvent(title, TradeNotice.CLOSE_INCOMPLETE, T, position_id="pos_1",
                       left={Venue.KALSHI: D("4"), Venue.POLYMARKET: D("10.5")}, reason="kalshi: no bid", loud=True),
            {"type": "trade_event", "data": {
                "event": title, "status": "CLOSE_INCOMPLETE", "position_id": "pos_1",
                "left": {"kalshi": "4", "polymarket": "10.5"}, "reason": "kalshi: no bid",
                "timestamp": T_OFFSET, "loud": True}},
        ),
        # executor settlement: a payout to redeem
        Sample(
            "trade_event TO_REDEEM",
            TradeEvent("10 × Kings", TradeNotice.TO_REDEEM, T, reason="resolved, to redeem: 10", attempt_id=None,
                       pnl=None, loud=False),
            {"type": "trade_event", "data": {
                "event": "10 × Kings", "status": "TO_REDEEM", "reason": "resolved, to redeem: 10", "attempt_id": None,
                "pnl": None, "timestamp": T_OFFSET, "loud": False}},
        ),
        # executor._overdue
        Sample(
            "trade_event SETTLEMENT_OVERDUE",
            TradeEvent(title, TradeNotice.SETTLEMENT_OVERDUE, T, reason="no result 14 h after", what="position pos_1",
                       loud=True),
            {"type": "trade_event", "data": {
                "event": title, "status": "SETTLEMENT_OVERDUE", "reason": "no result 14 h after",
                "what": "position pos_1", "timestamp": T_OFFSET, "loud": True}},
        ),
        # executor._settle_stranded
        Sample(
            "trade_event SETTLED stranded",
            TradeEvent(title, TradeStatus.SETTLED, T, pnl=D("-4.75"), attempt_id="att_1", trade_id="tr_3",
                       reason="stranded 10 × Kings settled at 0", loud=False),
            {"type": "trade_event", "data": {
                "event": title, "status": "SETTLED", "pnl": D("-4.75"), "attempt_id": "att_1", "trade_id": "tr_3",
                "reason": "stranded 10 × Kings settled at 0", "timestamp": T_OFFSET, "loud": False}},
        ),
        # executor.resolve_stranded (no "loud")
        Sample(
            "trade_event RESOLVED",
            TradeEvent(title, TradeNotice.RESOLVED, T, attempt_id="att_1", pnl=None, reason="sold by hand"),
            {"type": "trade_event", "data": {
                "event": title, "status": "RESOLVED", "attempt_id": "att_1", "pnl": None, "reason": "sold by hand",
                "timestamp": T_OFFSET}},
        ),
        # runner._publish_position
        Sample(
            "position_opened",
            PositionOpened("pos_1", NewPosition(
                event_key="KXNBAGAME-26JAN11HOUSAC:att_1", event_title=title, opened_at=T,
                poly=PositionLeg("polymarket", "tok_kings", "Kings", "Kings", D("0.495"), 10),
                kalshi=PositionLeg("kalshi", "KXNBAGAME-26JAN11HOUSAC-HOU", "YES KXNBAGAME-26JAN11HOUSAC-HOU", "YES",
                                   D("0.45"), 10),
                cost=D("9.630"), attempt_id="att_1", game_key="KXNBAGAME-26JAN11HOUSAC", expires_at=LATER)),
            {"type": "position_opened", "data": {
                "id": "pos_1", "position_id": "pos_1", "event": title, "event_title": title, "attempt_id": "att_1",
                "poly_side": "Kings", "poly_price": D("0.495"), "poly_contracts": 10, "kalshi_side": "YES",
                "kalshi_price": D("0.45"), "kalshi_contracts": 10, "cost": D("9.630"), "poly_venue": "polymarket",
                "poly_market": "tok_kings", "poly_contract": "Kings", "kalshi_ticker": "KXNBAGAME-26JAN11HOUSAC-HOU",
                "game_key": "KXNBAGAME-26JAN11HOUSAC", "opened_at": T_Z}},
        ),
        # executor._position_closed
        Sample(
            "position_closed",
            PositionClosed("pos_1", title, TradeStatus.SETTLED, D("0.370"), T),
            {"type": "position_closed", "data": {
                "id": "pos_1", "position_id": "pos_1", "event": title, "status": "SETTLED", "pnl": D("0.370"),
                "timestamp": T_OFFSET}},
        ),
        # console._announce_settings
        Sample(
            "settings_changed",
            SettingsChanged(ExecutorSettings(enabled=True, max_bet=D("12.50"), max_daily_trades=7)),
            {"type": "settings_changed", "data": {
                "enabled": True, "min_bet": D("5.00"), "max_bet": D("12.50"), "min_roi": D("1.00"),
                "max_roi": D("50.00"), "max_daily_trades": 7, "max_daily_loss": D("5.00")}},
        ),
        Sample("status_changed", StatusChanged(False, T),
               {"type": "status_changed", "data": {"enabled": False, "at": T_Z}}),
        # operator._flatten
        Sample("kill_switch_progress", KillSwitchProgress(T, 34, 12, 1, done=False),
               {"type": "kill_switch_progress", "data": {"started_at": T_Z, "total": 34, "closed": 12, "failed": 1,
                                                         "done": False}}),
        # trading.opportunity_message
        Sample(
            "opportunity_opened",
            OpportunityOpened(OPPORTUNITY, T, NOT_CONFIRMED),
            {"type": "opportunity_opened", "data": {**OPPORTUNITY_WIRE, **NOT_CONFIRMED_WIRE, "event": "opened",
                                                    "at": T_Z}},
        ),
        Sample(
            "opportunity_updated without a verdict",
            OpportunityUpdated(OPPORTUNITY, LATER),
            {"type": "opportunity_updated", "data": {**OPPORTUNITY_WIRE, "event": "updated", "at": LATER_Z}},
        ),
        Sample(
            "opportunity_closed",
            OpportunityClosed(OPPORTUNITY, T, CloseReason.MAPPING_REJECTED, NOT_CONFIRMED),
            {"type": "opportunity_closed", "data": {**OPPORTUNITY_WIRE, **NOT_CONFIRMED_WIRE, "event": "closed",
                                                    "at": T_Z, "reason": "mapping_rejected"}},
        ),
        # trading._follow_trades: "t" is the trade_event's own timestamp
        Sample("pnl_point", PnlPoint(T, D("12.3400"), D("-0.1200"), "tr_1", "Houston at Sacramento"),
               {"type": "pnl_point", "data": {"t": T_OFFSET, "pnl": D("12.3400"), "delta": D("-0.1200"),
                                              "trade_id": "tr_1", "event": "Houston at Sacramento"}}),
        # executor.submit
        Sample(
            "refusal",
            OpportunityRefused("opp_abc_kalshi_yes", title, RefusalReason.DAILY_LOSS_BUDGET, "$0.40 left of $5.00", T),
            {"type": "refusal", "data": {
                "opportunity_id": "opp_abc_kalshi_yes", "event": title, "reason": "daily_loss_budget",
                "detail": "$0.40 left of $5.00", "timestamp": T_OFFSET}},
        ),
        # console._decide through bootstrap.StoreMappingDecisions
        Sample(
            "mapping_changed",
            MappingChanged(MAPPING, TradePermission(False, NotTradeable.REJECTED, "rejected by the operator")),
            {"type": "mapping_changed", "data": MAPPING_WIRE},
        ),
        # trading._venue_status_data (with the lease) and bootstrap.PaperExchangeMonitor (without)
        Sample(
            "venue_status of the trading engine",
            VenueStatus((VenueFeed(Venue.KALSHI, VenueConnection.UP, 120, None),
                         VenueFeed(Venue.POLYMARKET_US, VenueConnection.DOWN, None, "HTTP 503")), "leader"),
            {"type": "venue_status", "data": {
                "venues": {"kalshi": {"state": "up", "data_age_ms": 120, "detail": None},
                           "polymarket_us": {"state": "down", "data_age_ms": None, "detail": "HTTP 503"}},
                "lease": "leader"}},
        ),
        Sample(
            "venue_status of the paper exchange monitor",
            VenueStatus((VenueFeed(Venue.KALSHI, VenueConnection.DOWN, None, "paper exchange at 127.0.0.1:8766 not "
                                   "reachable"),)),
            {"type": "venue_status", "data": {
                "venues": {"kalshi": {"state": "down", "data_age_ms": None,
                                      "detail": "paper exchange at 127.0.0.1:8766 not reachable"}}}},
        ),
        # console.heartbeat
        Sample(
            "heartbeat",
            Heartbeat(T, D("12.345"), True, False, None,
                      (VenueFeed(Venue.KALSHI, VenueConnection.NOT_RUNNING, None, "executor not running"),
                       VenueFeed(Venue.POLYMARKET, VenueConnection.CONNECTING, 800)),
                      DatabaseStatus(DatabaseState.DOWN, "database file is missing", LATER)),
            {"type": "heartbeat", "data": {
                "server_time": T_Z, "uptime_s": D("12.345"), "enabled": True, "executor_running": False,
                "lease": None,
                "venues": {"kalshi": {"state": "not_running", "data_age_ms": None},
                           "polymarket": {"state": "connecting", "data_age_ms": 800}},
                "database": {"state": "down", "error": "database file is missing", "since": LATER_Z}}},
        ),
        # alerts.AlertCenter
        Sample("alert", AlertRaised(ALERT), {"type": "alert", "data": ALERT_WIRE}),
        Sample(
            "alert_dismissed",
            AlertDismissed(replace(ALERT, dismissed_at=LATER)),
            {"type": "alert_dismissed", "data": {**ALERT_WIRE, "dismissed_at": LATER_Z}},
        ),
        # trading._publish_refusals
        Sample(
            "discovery_refusals",
            DiscoveryRefusalsChanged.of(_refusals(), 200),
            {"type": "discovery_refusals", "data": {
                "refused_count": 2,
                "refused": [{"venue": "kalshi", "id": "KXNBASPREAD-1", "reason": "a spread", "at": LATER_Z},
                            {"venue": "polymarket", "id": "1642124", "reason": "no clobTokenIds", "at": T_Z}],
                "discovered_at": LATER_Z}},
        ),
    ]
