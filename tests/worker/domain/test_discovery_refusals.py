"""Listings refused at discovery: the collector, the clients' refusal log, the feed, the
``match`` command (the worker API: tests/worker/api/test_discovery_api.py)."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from worker.clock import FakeClock
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.markets import League, Market, Venue
from worker.engine.executor.pipeline import OpportunityPipeline
from worker.venues.kalshi.client import KalshiClient
from worker.venues.normalize import NORMALISERS
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket.parse import parse_events as gamma_events

REAL = Path(__file__).parents[2] / "fixtures" / "real"
T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def r(venue: Venue, id_: str, reason: str = "why") -> ListingRefusal:
    return ListingRefusal(venue, id_, reason)


# -- the collector ------------------------------------------------------------------------


def test_first_seen_time_is_kept_while_a_listing_stays_refused() -> None:
    c = DiscoveryRefusals()
    assert c.update([r(Venue.KALSHI, "A"), r(Venue.POLYMARKET, "B")], T0) is True
    later = T0 + timedelta(minutes=10)
    # A stays (its reason changes), B is no longer refused, C is new.
    assert c.update([r(Venue.KALSHI, "A", "other"), r(Venue.KALSHI, "C")], later) is True
    wire = c.to_wire()
    assert wire["refused_count"] == 2 and wire["discovered_at"] == later
    assert [(x["venue"], x["id"], x["reason"], x["at"]) for x in wire["refused"]] == [
        ("kalshi", "C", "why", later),  # latest first seen first
        ("kalshi", "A", "other", T0),
    ]


def test_an_unchanged_discovery_is_not_a_change_but_the_first_one_always_is() -> None:
    c = DiscoveryRefusals()
    assert c.update([], T0) is True  # the first discovery: "nothing refused" is news
    assert c.update([], T0 + timedelta(minutes=1)) is False
    assert c.update([r(Venue.KALSHI, "A")], T0 + timedelta(minutes=2)) is True
    assert c.update([r(Venue.KALSHI, "A")], T0 + timedelta(minutes=3)) is False


def test_memory_is_bounded_and_the_count_stays_whole() -> None:
    c = DiscoveryRefusals(limit=3)
    c.update([r(Venue.KALSHI, "old")], T0)
    c.update([r(Venue.KALSHI, "old"), *(r(Venue.POLYMARKET, f"n{i}") for i in range(4))], T0 + timedelta(seconds=1))
    assert c.count == 5
    wire = c.to_wire()
    assert wire["refused_count"] == 5
    # The three first seen most recently are kept (n0..n3 at T0+1 s, in listing order).
    assert [x["id"] for x in wire["refused"]] == ["n0", "n1", "n2"]
    assert [x["id"] for x in c.to_wire(limit=2)["refused"]] == ["n0", "n1"]


def test_a_listing_named_twice_counts_once_with_its_first_reason() -> None:
    c = DiscoveryRefusals()
    c.update([r(Venue.KALSHI, "A", "first"), r(Venue.KALSHI, "A", "second"), r(Venue.POLYMARKET, "A")], T0)
    assert c.count == 2
    assert [(x["venue"], x["reason"]) for x in c.to_wire()["refused"]] == [("kalshi", "first"), ("polymarket", "why")]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        DiscoveryRefusals().update([], datetime(2026, 1, 1))


# -- live clients: the rest of the listing stands, each refusal logged once ------------------


def _gamma_page() -> list[Any]:
    return json.loads((REAL / "polymarket" / "gamma_events.json").read_text("utf-8"))


async def test_polymarket_client_lists_the_real_page_and_logs_its_refusal_once(caplog: pytest.LogCaptureFixture) -> None:
    page = _gamma_page()
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        return httpx.Response(200, json=page)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = PolymarketClient("https://gamma.test", "https://clob.test", http=http)
    caplog.set_level(logging.INFO)
    for _ in range(3):  # three discoveries of the same listing
        markets = await client.list_markets([League.NBA])
        assert [m.market_id for m in markets] == ["516950", "678876", "691547", "517231", "2694508", "597964", "623939"]
        assert client.listing_refusals() == (
            ListingRefusal(Venue.POLYMARKET, "1642124", "no clobTokenIds: the market has no CLOB tokens to trade"),
        )
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.WARNING]
    assert warnings == ["polymarket: market 1642124 refused: no clobTokenIds: the market has no CLOB tokens to trade"]
    assert client.refusals.logged == 1 and len(served) == 3
    await http.aclose()


async def test_kalshi_client_keeps_a_page_with_a_broken_market_and_relogs_only_a_new_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    page = json.loads((REAL / "kalshi" / "events_nested.json").read_text("utf-8"))
    nato = page["events"][1]
    nato["markets"].append({**copy.deepcopy(nato["markets"][0]), "ticker": "KXNEXTNATOSECGEN-99-BAD", "yes_bid_dollars": "x"})
    body = {**page, "cursor": ""}

    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        # The page answers the game series; the league's spread and total series are empty.
        series = request.url.params["series_ticker"]
        asked.append(series)
        return httpx.Response(200, json=body if series == "KXNBAGAME" else {"events": [], "cursor": ""})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = KalshiClient("https://kalshi.test/trade-api/v2", http=http)
    caplog.set_level(logging.WARNING)
    first = await client.list_markets([League.NBA])
    assert asked == ["KXNBAGAME", "KXNBASPREAD", "KXNBATOTAL"]
    await client.list_markets([League.NBA])
    assert len(first) == 9 and [x.id for x in client.listing_refusals()] == ["KXNEXTNATOSECGEN-99-BAD"]
    nato["markets"][-1]["yes_bid_dollars"] = "y"  # the same market, refused for a new reason
    await client.list_markets([League.NBA])
    assert [rec.getMessage() for rec in caplog.records] == [
        "kalshi: market KXNEXTNATOSECGEN-99-BAD refused: not a decimal: 'x'",
        "kalshi: market KXNEXTNATOSECGEN-99-BAD refused: not a decimal: 'y'",
    ]
    await http.aclose()


# -- the feed: parser and matcher refusals, one set, published when it changes ---------------


class _Port:
    """A venue port that lists fixed markets and tells its parser's refusals."""

    def __init__(self, venue: Venue, markets: list[Market], refused: Sequence[ListingRefusal]) -> None:
        self.venue = venue
        self.markets = markets
        self.refused = tuple(refused)

    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        return list(self.markets)

    def listing_refusals(self) -> Sequence[ListingRefusal]:
        return self.refused


async def test_discovery_collects_parser_and_matcher_refusals_and_publishes_changes() -> None:
    refused_at_parse: list[Any] = []
    gamma = gamma_events(_gamma_page(), refused_at_parse)
    poly = _Port(Venue.POLYMARKET, gamma, [ListingRefusal(Venue.POLYMARKET, r.market_id, r.reason) for r in refused_at_parse])
    kalshi = _Port(Venue.KALSHI, [], [])
    published: list[dict[str, Any]] = []
    clock = FakeClock(T0)
    feed = OpportunityPipeline(
        None, kalshi, poly, clock=clock,  # type: ignore[arg-type]
        on_refusals=lambda c: published.append(c.to_wire()), normalisers=NORMALISERS,
    )
    assert await feed.discover() == 0
    [wire] = published
    by_id = {x["id"]: x for x in wire["refused"]}
    # 1 unreadable market (the parser) + the 7 read ones, none a game winner (the matcher).
    assert wire["refused_count"] == 8 and set(by_id) == {"1642124", *(m.market_id for m in gamma)}
    assert by_id["1642124"]["reason"] == "no clobTokenIds: the market has no CLOB tokens to trade"
    assert all(x["venue"] == "polymarket" and x["at"] == T0 for x in wire["refused"])
    await clock.advance(60)
    await feed.discover()
    assert len(published) == 1  # nothing changed: nothing published


# -- the match command --------------------------------------------------------------------


def test_match_command_goes_on_with_the_rest_of_a_real_listing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from worker.cli.match import main

    kalshi = tmp_path / "kalshi.json"
    kalshi.write_text((REAL / "kalshi" / "events_nested.json").read_text("utf-8"), "utf-8")
    gamma = tmp_path / "gamma.json"
    gamma.write_text((REAL / "polymarket" / "gamma_events.json").read_text("utf-8"), "utf-8")
    caplog.set_level(logging.INFO, logger="worker.match")
    assert main(["--kalshi", str(kalshi), "--polymarket", str(gamma)]) == 0
    assert capsys.readouterr().out == ""  # no game winners in these captures: no mapping
    messages = [rec.getMessage() for rec in caplog.records]
    assert "polymarket market 1642124 refused: no clobTokenIds: the market has no CLOB tokens to trade" in messages
    assert (
        "9 kalshi and 7 polymarket markets (0 and 1 unreadable, refused): 0 mappings, 16 refused, 0 unmatched"
        in messages
    )
