"""The wire's decoders (``worker.api.views``): every server message, as the worker's own
encoders and producers build it, reads into its typed view; the examples of
``docs/worker-api.md`` read too; a missing or mistyped field is an error that names it.
The last tests read what a real worker server sends over its WebSocket and its routes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import httpx
import pytest

from db.tables import market_mappings
from tests.dashboard.protocol import domain_mapping, domain_opportunity
from tests.worker.api.conftest import TOKEN, connect_ready
from worker.api import schemas, views
from worker.api.server import init_data, status_data
from worker.api.views import ViewError, decode_view
from worker.bootstrap import StoreMappingDecisions, Worker
from worker.domain.attempts import RefusalReason
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.events import Alert, AlertKind, AlertSeverity, opportunity_change
from worker.domain.ledger import CashEntry, CashKind
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    MappingStatus,
    NotTradeable,
    OpportunityEvent,
    OpportunityEventKind,
    TradePermission,
    trade_permission,
)
from worker.domain.markets import Venue
from worker.domain.operator import Balances, ConsoleSnapshot, VenueConnection, VenueState
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import (
    DailyStats,
    NewPosition,
    PositionLeg,
    PositionStatus,
    StoredPosition,
    StoredTrade,
    TradeStatus,
)
from worker.engine.books import Books, VenueBooks

T0 = datetime(2026, 12, 6, 13, 14, 49, tzinfo=UTC)



def opportunity_message(
    event: OpportunityEvent, permission: TradePermission | None = None
) -> tuple[str, dict[str, Any]]:
    """The message the worker sends for one scanner step: its type and data."""
    message = schemas.event_message(opportunity_change(event, permission))
    return message["type"], message["data"]

def sent(type_: str, data: Any) -> dict[str, Any]:
    """A message as it comes off the wire: the server's encoding, parsed exactly."""
    return schemas.decode_server_message(schemas.dumps(schemas.message(type_, data)))


def parsed(value: Any) -> Any:
    """An ``/api`` answer as it comes off the wire."""
    return schemas.decode_server_message(schemas.dumps({"type": "answer", "body": value}))["body"]


def stored_position(pid: str = "17") -> StoredPosition:
    return StoredPosition(
        id=pid, event_key="nba:g1", event_title="Rockets vs Celtics", opened_at=T0, status="open",
        poly_venue="polymarket", poly_market="tok1", poly_contract="Rockets", poly_side="Rockets",
        poly_price=D("0.51"), poly_contracts=10, kalshi_ticker="KXNBAGAME-X-BOS", kalshi_side="NO",
        kalshi_price=D("0.47"), kalshi_contracts=10, cost=D("9.85"), attempt_id="att_1", game_key="nba:g1",
        expires_at=None, closed_at=None, realized_pnl=None, close_reason=None,
    )


def alert(dismissed: datetime | None = None) -> Alert:
    return Alert(
        id="al_1", kind=AlertKind.STRANDED, key="att_1", severity=AlertSeverity.CRITICAL,
        title="STRANDED: Rockets vs Kings", message="leg 2 refused", raised_at=T0, last_at=T0 + timedelta(minutes=2),
        count=2, data={"attempt_id": "att_1"}, dismissed_at=dismissed,
    )


def books() -> dict[str, Any]:
    kalshi = VenueBooks("kalshi", cash_at_start=D("500.00"), started_at=T0, cash_now=D("495.20"), trading=D("-4.80"))
    poly = VenueBooks("polymarket", cash_at_start=D("500.00"), started_at=T0, cash_now=None, cash_error="timeout")
    owed = CashEntry(Venue.POLYMARKET, CashKind.SETTLEMENT, "settle:1", D("12.00"), T0, "12 × Rockets at 1", "att_1",
                     received=False)
    return Books({Venue.KALSHI: kalshi, Venue.POLYMARKET: poly}, D("-4.80"), D("-4.80"), D("0.20"), 1, [owed]).wire()


def snapshot(**extra: Any) -> ConsoleSnapshot:
    refusals = DiscoveryRefusals()
    refusals.update([ListingRefusal(Venue.POLYMARKET, "1642124", "no clobTokenIds")], T0)
    return ConsoleSnapshot(
        settings=ExecutorSettings(enabled=True),
        balances=Balances(D("512.40"), None),
        stats=DailyStats(date(2026, 12, 6), 3, D("1.25"), 2, D(0)),
        positions=[stored_position()],
        venues=[VenueState("kalshi", VenueConnection.UP, 120, None, T0),
                VenueState("polymarket", VenueConnection.DOWN, None, "HTTP 503", T0)],
        opportunities=[],
        limits={"max_daily_trades": 50},
        mode="paper",
        poly_venue="polymarket",
        started_at=T0 - timedelta(hours=1),
        taken_at=T0,
        executor_running=True,
        extra={
            "books": books(),
            "alerts": [alert().to_wire()],
            "discovery": refusals.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT),
            "database": {"state": "down", "error": "database file var/executor.db is missing", "since": T0,
                         "figures_as_of": T0 - timedelta(minutes=1)},
            **extra,
        },
    )


# -- the module -----------------------------------------------------------------------


def test_every_server_message_type_has_a_decoder() -> None:
    assert views.MESSAGE_TYPES == schemas.SERVER_TYPES


def test_schemas_re_exports_the_decoders() -> None:
    for name in views.__all__:
        assert getattr(schemas, name) is getattr(views, name), name


# -- every message, as the worker builds it -------------------------------------------


def test_init_as_the_server_encodes_a_snapshot() -> None:
    msg = decode_view(sent(schemas.INIT, init_data(snapshot())))
    init = msg.data
    assert msg.type == "init" and isinstance(init, views.InitView)
    assert init.enabled is True and init.settings == ExecutorSettings(enabled=True)
    assert init.balances == views.BalancesView(D("512.40"), None)
    assert init.stats == views.StatsView(3, D("1.25"), 2)
    assert init.mode == "paper" and init.poly_venue is Venue.POLYMARKET and init.executor_running is True
    assert init.server_time == T0 and init.server_time.tzinfo is not None
    [pos] = init.positions or ()
    assert pos.id == "17" and pos.status is PositionStatus.OPEN and pos.poly_price == D("0.51")
    assert pos.kalshi_contracts == 10 and pos.poly_venue is Venue.POLYMARKET and pos.opened_at == T0
    assert init.venues["kalshi"] == views.VenueView(views.VenueFeedState.UP, 120, None, T0)
    assert init.venues["polymarket"].state is views.VenueFeedState.DOWN
    assert init.venues["polymarket"].detail == "HTTP 503"
    assert init.books is not None and init.books.difference is None  # Polymarket's cash unknown
    assert init.books.in_flight == 1 and init.books.agrees is False
    assert init.books.resolved_to_redeem == D("12.00")
    assert init.books.to_redeem == (views.RedeemView(Venue.POLYMARKET, D("12.00"), "12 × Rockets at 1"),)
    [a] = init.alerts
    assert a.kind is AlertKind.STRANDED and a.severity is AlertSeverity.CRITICAL and a.count == 2
    assert a.data == {"attempt_id": "att_1"} and a.dismissed_at is None
    assert init.discovery.refused_count == 1 and init.discovery.refused[0].venue is Venue.POLYMARKET
    assert init.discovery.discovered_at == T0
    assert init.database == views.DatabaseView(views.DatabaseState.DOWN, "database file var/executor.db is missing",
                                               T0, T0 - timedelta(minutes=1))


def test_init_while_the_database_was_never_read() -> None:
    snap = snapshot(books=None)
    data = init_data(replace(snap, stats=None, positions=None))
    init = decode_view(sent(schemas.INIT, data)).data
    assert isinstance(init, views.InitView)
    assert init.stats is None and init.positions is None and init.books is None


def test_api_status_as_the_server_encodes_it() -> None:
    status = views.decode_api_status(parsed(status_data(snapshot())))
    assert status.stats == views.StatsView(3, D("1.25"), 2)
    assert status.balances == views.BalancesView(D("512.40"), None)
    assert status.books is not None and status.books.resolved_to_redeem == D("12.00")
    assert status.discovery.refused[0].id == "1642124"


def test_trade_events_as_the_executor_publishes_them() -> None:
    at = T0.isoformat()
    # A trade-log row (AttemptRunner): the row's id is ``trade_id``.
    row = decode_view(sent(schemas.TRADE_EVENT, {
        "event": "Rockets vs Kings", "status": "SUCCESS", "bet_size": D("5.00"), "pnl": D("0.12"), "roi": D("2.4"),
        "reason": None, "attempt_id": "att_1", "trade_id": "41", "timestamp": at, "loud": False})).data
    assert row == views.TradeView("41", T0, views.TradeEventStatus.SUCCESS, "Rockets vs Kings", D("5.00"),
                                  D("0.12"), D("2.4"), None, "att_1", None)
    # The executor's announcements that write no row: no id, fewer figures.
    announcements = [
        {"event": "Rockets vs Kings", "status": "CLOSE_INCOMPLETE", "position_id": "17", "left": {"kalshi": "3"},
         "reason": "kalshi: sold 7 of 10", "timestamp": at, "loud": True},
        {"event": "settle:1", "status": "TO_REDEEM", "reason": "resolved, to redeem", "attempt_id": "att_1",
         "pnl": None, "timestamp": at, "loud": False},
        {"event": "Rockets vs Kings", "status": "SETTLEMENT_OVERDUE", "reason": "no result", "what": "kalshi X",
         "timestamp": at, "loud": True},
        {"event": "Rockets vs Kings", "status": "RESOLVED", "attempt_id": "att_1", "pnl": None,
         "reason": "sold by hand", "timestamp": at},
    ]
    for data in announcements:
        view = decode_view(sent(schemas.TRADE_EVENT, data)).data
        assert isinstance(view, views.TradeView) and view.id is None and view.bet_size is None, data
        assert view.status.value == data["status"] and view.timestamp == T0
    closed = decode_view(sent(schemas.TRADE_EVENT, {
        "event": "Rockets vs Kings", "status": "CLOSED", "bet_size": D("9.85"), "pnl": D("0.05"), "roi": None,
        "reason": "closed by operator", "attempt_id": "att_1", "position_id": "17", "trade_id": "42",
        "timestamp": at, "loud": False})).data
    assert isinstance(closed, views.TradeView) and (closed.id, closed.position_id) == ("42", "17")


def test_api_trades_rows_carry_the_row_id_as_id() -> None:
    trade = StoredTrade("41", T0, "MIA vs NYK", "ROLLED_BACK", D("5.00"), D("-0.35"), None, "p1", None,
                        "Poly fail", "att_9", None, {"legs": []})
    [row] = views.decode_api_trades(parsed({"trades": [schemas.trade_event_data(trade)]}))
    assert row == views.TradeView("41", T0, views.TradeEventStatus.ROLLED_BACK, "MIA vs NYK", D("5.00"),
                                  D("-0.35"), None, "Poly fail", "att_9", None, "p1", None, {"legs": []})


def test_positions_as_init_the_executor_and_the_api_send_them() -> None:
    opened = decode_view(sent(schemas.POSITION_OPENED, {  # AttemptRunner._publish_position
        "id": "17", "position_id": "17", "event": "Rockets vs Celtics", "event_title": "Rockets vs Celtics",
        "attempt_id": "att_1", "poly_side": "Rockets", "poly_price": D("0.51"), "poly_contracts": 10,
        "kalshi_side": "NO", "kalshi_price": D("0.47"), "kalshi_contracts": 10, "cost": D("9.85"),
        "poly_venue": "polymarket", "poly_market": "tok1", "poly_contract": "Rockets",
        "kalshi_ticker": "KXNBAGAME-X-BOS", "game_key": "nba:g1", "opened_at": T0})).data
    [listed] = views.decode_api_positions(parsed({"positions": [schemas.to_wire(stored_position())]}))
    assert isinstance(opened, views.PositionView) and opened.status is None
    assert listed.status is PositionStatus.OPEN
    assert opened == replace(listed, status=None)  # the same columns, by the same keys
    closed = decode_view(sent(schemas.POSITION_CLOSED, {  # Executor._position_closed
        "id": "17", "position_id": "17", "event": "Rockets vs Celtics", "status": "SETTLED", "pnl": D("0.15"),
        "timestamp": T0.isoformat()})).data
    assert closed == views.PositionClosedView("17", "Rockets vs Celtics", TradeStatus.SETTLED, D("0.15"), T0)


def test_opportunity_messages_from_the_worker_encoder() -> None:
    opp = domain_opportunity(3, roi="2.5", rules_differ=True)
    judged = trade_permission(MappingStatus.CANDIDATE, Confidence.HIGH, Confidence.HIGH, True)
    type_, data = opportunity_message(OpportunityEvent(OpportunityEventKind.OPENED, opp, T0), judged)
    view = decode_view(sent(type_, data)).data
    assert type_ == "opportunity_opened" and isinstance(view, views.OpportunityView)
    assert view.id == opp.id and view.mapping_id == opp.mapping_id and view.confidence is Confidence.HIGH
    assert view.kalshi_leg == views.LegView(Venue.KALSHI, "KXNBAGAME-26NOV29HOULAL3-HOU",
                                            "NO KXNBAGAME-26NOV29HOULAL3-HOU", D("0.48"), D(100))
    assert view.poly_leg.venue is Venue.POLYMARKET and view.poly_leg.label == "Rockets"
    assert (view.size, view.cost, view.roi_pct, view.roi_per_day_pct) == (D(100), D("99.00"), D("2.5"), D("5.0"))
    assert view.curve == (views.CurvePointView(D(100), D("99.00"), D("2.5")),)
    assert view.volume == D(1203) and view.kalshi_volume is None and view.expires_at == opp.expires_at
    assert view.rules.differences == ("postponement handling differs",) and view.rules.worst_loss == D(0)
    assert view.tradeable is False and view.why_not == views.WhyNotView(NotTradeable.NOT_CONFIRMED, "awaiting confirmation")
    # Before the feed exists the worker publishes without a verdict.
    type_, data = opportunity_message(OpportunityEvent(OpportunityEventKind.UPDATED, opp, T0))
    unjudged = decode_view(sent(type_, data)).data
    assert type_ == "opportunity_updated" and isinstance(unjudged, views.OpportunityView)
    assert unjudged.tradeable is None and unjudged.why_not is None
    type_, data = opportunity_message(OpportunityEvent(OpportunityEventKind.CLOSED, opp, T0, CloseReason.EDGE_GONE))
    assert decode_view(sent(type_, data)).data == views.OpportunityClosedView(opp.id, CloseReason.EDGE_GONE)
    snap = decode_view(sent(schemas.OPPORTUNITIES_SNAPSHOT, {"opportunities": [data]})).data
    assert isinstance(snap, views.OpportunitiesView) and [o.id for o in snap.opportunities] == [opp.id]


def test_mappings_from_the_mapping_store_adapter() -> None:
    m = domain_mapping(4, status="confirmed", confidence="LOW")
    wire = StoreMappingDecisions(None, MappingStatus)._wire(m, [m])
    view = decode_view(sent(schemas.MAPPING_CHANGED, wire)).data
    assert view == views.MappingView(m.id, m.kalshi_ticker, Venue.POLYMARKET, m.poly_market, "", "nba",
                                     m.event_title, Confidence.LOW, m.reasons, m.start_time,
                                     MappingStatus.CONFIRMED, True, None, review_key=m.review_key,
                                     kalshi_event_ticker=m.kalshi_event_ticker, poly_opposite=m.poly_opposite,
                                     game_date="2026-11-29")
    # What names the pair travels too (the /mappings review shows it).
    named = replace(m, kalshi_url="https://kalshi.com/markets/kxnbagame/x", poly_title="Rockets vs. Lakers",
                    poly_outcome="Rockets", poly_other_outcome="Lakers", note="checked")
    view2 = decode_view(sent(schemas.MAPPING_CHANGED, StoreMappingDecisions(None, MappingStatus)._wire(named, [named]))).data
    assert isinstance(view2, views.MappingView)
    assert (view2.kalshi_url, view2.poly_title, view2.poly_outcome, view2.poly_other_outcome, view2.note) == (
        "https://kalshi.com/markets/kxnbagame/x", "Rockets vs. Lakers", "Rockets", "Lakers", "checked")
    [listed] = views.decode_api_mappings(parsed({"mappings": [wire]}))
    assert listed == view


def test_the_other_messages_as_their_producers_build_them() -> None:
    settings = decode_view(sent(schemas.SETTINGS_CHANGED, schemas.settings_to_wire(ExecutorSettings()))).data
    assert settings == ExecutorSettings() and isinstance(settings.max_daily_trades, int)  # type: ignore[union-attr]
    assert decode_view(sent(schemas.STATUS_CHANGED, {"enabled": False, "at": T0})).data == \
        views.StatusChangedView(False, T0)
    balance = decode_view(sent(schemas.BALANCE_UPDATE, {"poly": D("50.00"), "kalshi": D("45.00"), "books": books()}))
    assert isinstance(balance.data, views.BalanceUpdateView) and balance.data.books is not None
    assert balance.data.balances == views.BalancesView(D("50.00"), D("45.00"))
    no_books = decode_view(sent(schemas.BALANCE_UPDATE, {"poly": D(0), "kalshi": D(0)})).data
    assert isinstance(no_books, views.BalanceUpdateView) and no_books.books is None
    point = decode_view(sent(schemas.PNL_POINT, {"t": T0.isoformat(), "pnl": D("1.25"), "delta": D("0.12"),
                                                 "trade_id": "41"})).data
    assert point == views.PnlPointView(T0, D("1.25"), D("0.12"), "41")
    [bucketed] = views.decode_api_pnl(parsed({"bucket": "day", "points": [
        {"t": T0, "pnl": D("1.25"), "delta": D("0.12"), "trades": 3}]}))
    assert bucketed.trade_id is None
    refusal = decode_view(sent(schemas.REFUSAL, {"opportunity_id": "opp_1", "event": "Rockets vs Kings",
                                                 "reason": "max_daily_loss", "detail": "daily loss reached",
                                                 "timestamp": T0.isoformat()})).data
    assert refusal == views.RefusalView("opp_1", "Rockets vs Kings", RefusalReason.DAILY_LOSS, "daily loss reached", T0)
    status = decode_view(sent(schemas.VENUE_STATUS, {  # TradingEngine._venue_status_data
        "venues": {"kalshi": {"state": "down", "data_age_ms": None, "detail": "refused"}}, "lease": "leader"})).data
    assert status == views.VenueStatusView({"kalshi": views.VenueView(views.VenueFeedState.DOWN, None, "refused", None)})
    beat = decode_view(sent(schemas.HEARTBEAT, {  # Console.heartbeat
        "server_time": T0, "uptime_s": D("61.250"), "enabled": True, "executor_running": False, "lease": None,
        "venues": {"kalshi": {"state": "not_running", "data_age_ms": None}},
        "database": {"state": "up", "error": None, "since": T0}})).data
    assert isinstance(beat, views.HeartbeatView) and beat.uptime_s == D("61.250")
    assert beat.venues["kalshi"] == views.VenueView(views.VenueFeedState.NOT_RUNNING, None, None, None)
    assert beat.database == views.DatabaseView(views.DatabaseState.UP, None, T0)
    raised = decode_view(sent(schemas.ALERT, alert().to_wire())).data
    gone = decode_view(sent(schemas.ALERT_DISMISSED, alert(dismissed=T0).to_wire())).data
    assert isinstance(raised, views.AlertView) and isinstance(gone, views.AlertView)
    assert raised.last_at == T0 + timedelta(minutes=2) and gone.dismissed_at == T0
    refusals = DiscoveryRefusals()
    refusals.update([ListingRefusal(Venue.KALSHI, "KXNBASPREAD-X", "spread market")], T0)
    discovery = decode_view(sent(schemas.DISCOVERY_REFUSALS, refusals.to_wire())).data
    assert discovery == views.DiscoveryView(
        1, (views.DiscoveryRefusalView(Venue.KALSHI, "KXNBASPREAD-X", "spread market", T0),), T0)
    ack = decode_view(schemas.decode_server_message(schemas.dumps(schemas.ack("toggle_enabled", "t1", {"enabled": True}))))
    assert ack == views.MessageView("ack", views.AckView("toggle_enabled", "t1", {"enabled": True}))
    err = decode_view(schemas.decode_server_message(schemas.dumps(schemas.error("min_bet too low", "min_bet"))))
    assert err == views.MessageView("error", views.ErrorView("min_bet too low", "min_bet", None))


# -- the examples of docs/worker-api.md -----------------------------------------------


def test_the_documented_examples_read() -> None:
    # The "discovery" example (one of its refused listings).
    discovery = {
        "refused_count": 86,
        "refused": [{"venue": "polymarket", "id": "1642124",
                     "reason": "no clobTokenIds: the market has no CLOB tokens to trade",
                     "at": "2026-12-06T13:14:49Z"}],
        "discovered_at": "2026-12-06T13:14:49Z",
    }
    view = decode_view({"type": "discovery_refusals", "data": discovery}).data
    assert isinstance(view, views.DiscoveryView) and view.refused_count == 86 and view.discovered_at == T0
    assert decode_view({"type": "discovery_refusals", "data": {
        "refused_count": 0, "refused": [], "discovered_at": None}}).data == views.DiscoveryView(0, (), None)
    # "tradeable" / "why_not", added to a mapping.
    mapping = StoreMappingDecisions(None, MappingStatus)._wire(domain_mapping(1), [domain_mapping(1)])
    for why in ({"reason": "mapping_rejected", "text": "rejected by the operator"},
                {"reason": "not_confirmed", "text": "awaiting confirmation"},
                {"reason": "low_confidence", "text": "confidence MEDIUM is below the minimum HIGH"}):
        m = decode_view(sent(schemas.MAPPING_CHANGED, {**mapping, "tradeable": False, "why_not": why})).data
        assert isinstance(m, views.MappingView) and m.why_not is not None and m.why_not.text == why["text"]
    # ack and error, as the table gives them.
    assert decode_view({"type": "ack", "action": "dismiss_alert", "id": "d1",
                        "data": {"alert_id": "al_1", "dismissed_at": "2026-12-06T13:14:49Z"}}).type == "ack"
    assert decode_view({"type": "error", "message": "no alert al_9", "field": "alert_id", "id": None}).data == \
        views.ErrorView("no alert al_9", "alert_id", None)
    # status_changed {enabled, at}; heartbeat with the database's state.
    assert decode_view({"type": "status_changed", "data": {"enabled": True, "at": "2026-12-06T13:14:49Z"}}).data == \
        views.StatusChangedView(True, T0)


# -- what does not read is an error naming the field ------------------------------------


def _trade(**changes: Any) -> dict[str, Any]:
    data = {"event": "E", "status": "SUCCESS", "bet_size": D("5.00"), "pnl": D("0.12"), "roi": D("2.4"),
            "reason": None, "attempt_id": "a", "trade_id": "1", "timestamp": "2026-12-06T13:14:49Z"}
    data.update(changes)
    return {"type": "trade_event", "data": {k: v for k, v in data.items() if v is not ...}}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (_trade(timestamp=...), "trade_event.data.timestamp: missing"),
        (_trade(event=None), "trade_event.data.event: must not be null"),
        (_trade(bet_size="5.00"), "trade_event.data.bet_size: must be an exact number, got a string"),
        (_trade(pnl=0.12), "trade_event.data.pnl: must be an exact number, got a number"),
        (_trade(roi=True), "trade_event.data.roi: must be an exact number, got a boolean"),
        (_trade(timestamp="2026-12-06T13:14:49"), "trade_event.data.timestamp: has no time zone: '2026-12-06T13:14:49'"),
        (_trade(timestamp="yesterday"), "trade_event.data.timestamp: is not an ISO-8601 time: 'yesterday'"),
        (_trade(timestamp=1765026889), "trade_event.data.timestamp: must be a string, got a number"),
        (_trade(status="WON"), "trade_event.data.status: 'WON' is not a TradeEventStatus"),
        (_trade(trade_id=41), "trade_event.data.trade_id: must be a string, got a number"),
        ({"type": "trade_event"}, "trade_event.data: missing"),
        ({"type": "trade_event", "data": []}, "trade_event.data: must be an object, got an array"),
        ({"type": "balance_update", "data": {"poly": D(1)}}, "balance_update.data.kalshi: missing"),
        ({"type": "balance_update", "data": {"poly": D("NaN"), "kalshi": D(1)}},
         "balance_update.data.poly: must be a finite number"),
        ({"type": "refusal", "data": {"opportunity_id": "o", "event": "E", "reason": "bogus", "detail": "",
                                      "timestamp": "2026-12-06T13:14:49Z"}},
         "refusal.data.reason: 'bogus' is not a RefusalReason"),
        ({"type": "status_changed", "data": {"enabled": "yes", "at": "2026-12-06T13:14:49Z"}},
         "status_changed.data.enabled: must be true or false, got a string"),
        ({"type": "alert_dismissed", "data": {"id": "al_1"}}, "alert_dismissed.data.kind: missing"),
        ({"type": "venue_status", "data": {"venues": {"kalshi": {"state": "sleepy", "data_age_ms": 1, "detail": None}}}},
         "venue_status.data.venues.kalshi.state: 'sleepy' is not a VenueConnection"),
        ({"type": "discovery_refusals", "data": {"refused_count": True, "refused": [], "discovered_at": None}},
         "discovery_refusals.data.refused_count: must be a whole number, got a boolean"),
        ({"type": "ack", "id": "x", "data": {}}, "ack.action: missing"),
        ({"type": "error", "message": 5, "field": None, "id": None}, "error.message: must be a string, got a number"),
        ({"type": "stats_update", "data": {}}, "stats_update: not a server message type of the protocol"),
        ({"data": {}}, "message.type: missing"),
        ([1, 2], "message: must be an object, got an array"),
    ],
)
def test_a_message_that_does_not_read_names_the_field(message: Any, error: str) -> None:
    with pytest.raises(ViewError) as caught:
        decode_view(message)
    assert str(caught.value) == error


def test_nested_fields_are_named_by_their_path() -> None:
    data = init_data(snapshot())
    data["positions"][0] = {**schemas.to_wire(stored_position()), "poly_price": "0.51"}
    with pytest.raises(ViewError, match=r"^init\.data\.positions\[0\]\.poly_price: must be an exact number"):
        decode_view(sent(schemas.INIT, data))
    _, opp = opportunity_message(OpportunityEvent(OpportunityEventKind.OPENED, domain_opportunity(1), T0))
    opp["kalshi_leg"]["contract"] = {**opp["kalshi_leg"]["contract"], "venue": "nyse"}
    with pytest.raises(ViewError) as caught:
        decode_view(sent(schemas.OPPORTUNITY_OPENED, opp))
    assert caught.value.where == "opportunity_opened.data.kalshi_leg.contract.venue"
    assert caught.value.problem == "'nyse' is not a Venue"


def test_one_key_per_field_a_field_under_another_name_is_missing() -> None:
    # trade_event names its row id trade_id, /api/trades names it id: each reads its own.
    row = {"id": "41", "timestamp": "2026-12-06T13:14:49Z", "event": "E", "event_title": "E", "status": "CLOSED",
           "bet_size": D("5.00"), "pnl": D("0.10"), "roi": None, "reason": None, "attempt_id": None, "position_id": None}
    view = decode_view({"type": "trade_event", "data": row}).data
    assert isinstance(view, views.TradeView) and view.id is None
    with pytest.raises(ViewError, match=r"^/api/trades\.trades\[0\]\.id: missing$"):
        views.decode_api_trades({"trades": [{**{k: v for k, v in row.items() if k != "id"}, "trade_id": "41"}]})
    # A position's title is event_title (position_closed alone names it event).
    opened = {**schemas.to_wire(stored_position()), "event": "E"}
    del opened["event_title"]
    with pytest.raises(ViewError, match=r"event_title: missing$"):
        decode_view(sent(schemas.POSITION_OPENED, opened))


# -- what a real worker sends --------------------------------------------------------------


async def test_a_real_worker_s_messages_and_answers_all_read(worker: Worker) -> None:
    position = await worker.trades.open_position(NewPosition(
        event_key="nba:g1", event_title="Rockets vs Celtics", opened_at=T0,
        poly=PositionLeg("polymarket", "tok1", "Rockets", "Rockets", D("0.51"), 10),
        kalshi=PositionLeg("kalshi", "KXNBAGAME-X-BOS", "NO KXNBAGAME-X-BOS", "NO", D("0.47"), 10),
        cost=D("9.85"),
    ))
    await worker.trades.close_position(position.id, pnl=D("-0.80"), reason="manual")
    await worker.trades.record_attempt(
        attempt_id="att-9", event_title="MIA vs NYK", status=TradeStatus.ROLLED_BACK,
        bet_size=D("5.00"), pnl=D("-0.35"), roi=None, reason="Poly fail",
    )
    async with worker.db.write() as conn:
        await conn.execute(market_mappings.insert().values(
            id="map_1", kalshi_ticker="KXNBAGAME-26JAN01HOUBOS-HOU", poly_venue="polymarket", poly_market="123",
            poly_side="", league="nba", game_date="2026-01-01", confidence="MEDIUM", reasons=["teams fuzzy"],
            status="candidate", created_at=T0, updated_at=T0,
        ))
    client, init = await connect_ready(worker)
    assert isinstance(decode_view(init).data, views.InitView)
    await client.send({"action": "toggle_enabled", "value": True, "id": "t1"})
    seen: dict[str, views.MessageView] = {}
    while not {"ack", "settings_changed", "status_changed", "heartbeat"} <= set(seen):
        msg = await client.recv(wait_s=5)
        seen[msg["type"]] = decode_view(msg)
    assert seen["ack"].data == views.AckView("toggle_enabled", "t1", {"enabled": True})
    assert isinstance(seen["heartbeat"].data, views.HeartbeatView) and seen["heartbeat"].data.enabled is True
    await client.send({"action": "kill_switch", "flatten": False, "id": "k1"})
    raised = decode_view(await client.recv_type("alert")).data
    assert isinstance(raised, views.AlertView) and raised.kind is AlertKind.KILL_SWITCH
    await client.send({"action": "dismiss_alert", "alert_id": raised.id, "id": "d1"})
    gone = decode_view(await client.recv_type("alert_dismissed")).data
    assert isinstance(gone, views.AlertView) and gone.dismissed_at is not None
    await client.send({"action": "close_position", "position_id": "nope", "id": "c1"})
    refused = decode_view(await client.reply()).data
    assert isinstance(refused, views.ErrorView) and (refused.field, refused.id) == ("position_id", "c1")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        async def get(path: str) -> Any:
            return (await http.get(path)).json(parse_float=D)

        status = views.decode_api_status(await get("/api/status"))
        assert status.balances == views.BalancesView(None, None) and status.stats is not None
        trades = views.decode_api_trades(await get("/api/trades"))
        assert [(t.status, t.pnl) for t in trades] == [(views.TradeEventStatus.ROLLED_BACK, D("-0.35")),
                                                      (views.TradeEventStatus.CLOSED, D("-0.80"))]
        [closed] = views.decode_api_positions(await get("/api/positions?status=closed"))
        assert closed.id == position.id and closed.status is PositionStatus.CLOSED
        assert [p.pnl for p in views.decode_api_pnl(await get("/api/pnl"))] == [D("-0.80"), D("-1.15")]
        [mapping] = views.decode_api_mappings(await get("/api/mappings"))
        assert mapping.kalshi_ticker == "KXNBAGAME-26JAN01HOUBOS-HOU" and mapping.status is MappingStatus.CANDIDATE
        assert mapping.event_title == "" and mapping.start_time is None and mapping.tradeable is False
    await client.close()
