"""Each engine event class is written as exactly the server message the engine sent before
events were typed (the expected messages are written out by hand in ``event_samples``)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from tests.worker.api.conftest import connect_ready
from tests.worker.api.event_samples import OPPORTUNITY, Sample, samples
from worker.api import schemas
from worker.bootstrap import Worker
from worker.domain.attempts import RefusalReason
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.events import (
    EVENT_CLASSES,
    DiscoveryRefusalsChanged,
    OpportunityRefused,
    TradeEvent,
    TradeNotice,
    opportunity_change,
)
from worker.domain.ledger import CashEntry, CashKind
from worker.domain.mapping import (
    MAY_TRADE,
    CloseReason,
    NotTradeable,
    OpportunityEvent,
    OpportunityEventKind,
    TradePermission,
)
from worker.domain.markets import Venue
from worker.engine.books import Books, VenueBooks

T = datetime(2026, 1, 11, 19, 30, 5, tzinfo=UTC)


def assert_exact(got: Any, want: Any, where: str = "$") -> None:
    """Equal as JSON values, each number written as the expected one (``5.00`` is not
    ``5``; a whole ``Decimal`` is written as a JSON integer)."""
    if isinstance(want, D) and type(got) is int:
        got = D(got)
    assert type(got) is type(want), f"{where}: {got!r} is not {want!r}"
    if isinstance(want, dict):
        assert set(got) == set(want), f"{where}: keys {sorted(got)} are not {sorted(want)}"
        for key in want:
            assert_exact(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), f"{where}: {len(got)} items, not {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_exact(g, w, f"{where}[{i}]")
    elif isinstance(want, D):
        assert got.as_tuple() == want.as_tuple(), f"{where}: {got} is not {want}"
    else:
        assert got == want, f"{where}: {got!r} is not {want!r}"


def on_the_wire(message: Any) -> Any:
    """What a client reads: the message's JSON text parsed with numbers exact."""
    return json.loads(schemas.dumps(message), parse_float=D)


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_each_event_is_written_as_the_message_the_engine_sent(sample: Sample) -> None:
    assert_exact(on_the_wire(schemas.event_message(sample.event)), sample.message)


def test_the_samples_cover_every_event_class() -> None:
    assert {type(s.event) for s in samples()} == set(EVENT_CLASSES.values())


def test_an_event_that_is_not_one_of_the_classes_has_no_message() -> None:
    with pytest.raises(TypeError, match="not an engine event"):
        schemas.event_message(OpportunityEvent(OpportunityEventKind.OPENED, OPPORTUNITY, T))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "reason", "permission"),
    [
        (OpportunityEventKind.OPENED, None, MAY_TRADE),
        (OpportunityEventKind.UPDATED, None, TradePermission(False, NotTradeable.BELOW_MIN_CONFIDENCE, "low")),
        (OpportunityEventKind.UPDATED, None, None),
        (OpportunityEventKind.CLOSED, CloseReason.EDGE_GONE, MAY_TRADE),
        (OpportunityEventKind.CLOSED, CloseReason.GAME_STARTED, None),
    ],
)
def test_an_opportunity_step_is_the_message_the_trading_engine_built(
    kind: OpportunityEventKind, reason: CloseReason | None, permission: TradePermission | None
) -> None:
    step = OpportunityEvent(kind, OPPORTUNITY, T, reason)
    # How the trading engine built the message so far (worker.trading.opportunity_message).
    data: dict[str, Any] = schemas.to_wire(step.opportunity)
    if permission is not None:
        data.update(permission.to_wire())
    data["event"] = step.kind.value
    data["at"] = schemas.to_wire(step.at)
    if step.reason is not None:
        data["reason"] = step.reason.value
    expected = {"type": f"opportunity_{step.kind.value}", "data": data}
    assert_exact(on_the_wire(schemas.event_message(opportunity_change(step, permission))), on_the_wire(expected))


def test_closing_an_opportunity_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        opportunity_change(OpportunityEvent(OpportunityEventKind.CLOSED, OPPORTUNITY, T))


def test_the_typed_books_are_the_books_on_the_wire() -> None:
    kalshi = VenueBooks("kalshi", cash_at_start=D("100.00"), started_at=T, cash_now=D("101.25"), trading=D("1.25"),
                        fees=D("0.07"), open_cost=D("0"))
    poly = VenueBooks("polymarket", cash_error="balance not read", trading=D("-5.50"), settlements=D("1.00"),
                      manual=D("0.50"), transfers=D("20"), open_cost=D("5.00"), to_redeem=D("1.00"))
    books = Books(
        venues={Venue.KALSHI: kalshi, Venue.POLYMARKET: poly},
        trade_log_realised=D("0.75"), realised_today=D("0.25"), locked_edge=D("0.40"), in_flight=1,
        redeem=[CashEntry(Venue.POLYMARKET, CashKind.SETTLEMENT, "settle:1", D("1.00"), T, "10 × Kings", "att_1",
                          "tok", received=False)],
    )
    assert_exact(on_the_wire(books.figures()), on_the_wire(books.wire()))


def test_a_trade_event_carries_only_the_fields_its_site_gives() -> None:
    bare = TradeEvent("E", TradeNotice.RESOLVED, T)
    assert schemas.event_message(bare)["data"] == {"event": "E", "status": "RESOLVED",
                                                   "timestamp": "2026-01-11T19:30:05+00:00"}
    nulls = TradeEvent("E", TradeNotice.TO_REDEEM, T, pnl=None, attempt_id=None)
    assert schemas.event_message(nulls)["data"]["pnl"] is None
    assert schemas.event_message(nulls)["data"]["attempt_id"] is None


def test_the_offset_times_keep_the_form_the_engine_wrote() -> None:
    # These fields were written by the engine with isoformat() (offset form), not by the
    # server's encoder (…Z): both forms are ISO-8601 and the dashboard reads both.
    refused = OpportunityRefused("o", "E", RefusalReason.BALANCE, "d", T)
    assert schemas.event_message(refused)["data"]["timestamp"] == T.isoformat()
    assert date(2026, 1, 11).isoformat() in T.isoformat()


def test_discovery_refusals_are_the_figures_init_and_api_status_carry() -> None:
    kept = DiscoveryRefusals()
    kept.update([ListingRefusal(Venue.POLYMARKET, str(n), f"reason {n}") for n in range(5)], T)
    message = schemas.event_message(DiscoveryRefusalsChanged.of(kept, 3))
    assert_exact(on_the_wire(message["data"]), on_the_wire(kept.to_wire(3)))
    assert message["data"]["refused_count"] == 5 and len(message["data"]["refused"]) == 3


async def test_the_server_forwards_each_typed_event_as_its_message(worker: Worker) -> None:
    client, _ = await connect_ready(worker)
    for sample in samples():
        if sample.message["type"] == "heartbeat":
            continue  # the server publishes its own every second
        worker.bus.publish(sample.event)
        got = await client.recv_type(sample.message["type"])
        while got["type"].startswith("alert") and got["data"]["id"] != sample.message["data"]["id"]:
            got = await client.recv_type(sample.message["type"])  # one the alert center derived
        assert_exact(got, sample.message)
    await client.close()
