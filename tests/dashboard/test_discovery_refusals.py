"""Headless tests of "Refused at discovery" on /mappings: the count and the table come
from ``init`` and from every ``discovery_refusals``, built by the worker's own collector
(:class:`~worker.domain.discovery.DiscoveryRefusals`) and sent through the real wire codec."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.dashboard.conftest import replay
from tests.dashboard.protocol import T0, init, wire
from worker.api import schemas
from worker.domain.discovery import DiscoveryRefusals, ListingRefusal
from worker.domain.markets import Venue


def refusals_wire(refusals: DiscoveryRefusals) -> dict[str, Any]:
    return wire(schemas.DISCOVERY_REFUSALS, refusals.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT))


def init_with(discovery: dict[str, Any] | None) -> dict[str, Any]:
    msg = init()
    data = dict(msg["data"])
    if discovery is not None:
        data["discovery"] = discovery
    return wire(schemas.INIT, data)


def rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-venue="([^"]*)" data-id="([^"]*)">', html)


def test_page_says_when_no_discovery_has_run(feed, page):
    p = page("mappings")
    replay(feed, p, init())
    text = p.view.refused.object
    assert "Refused at discovery" in text and "No discovery has run in the worker yet." in text
    assert rows(text) == []


def test_init_and_discovery_refusals_show_the_count_and_each_listing(feed, page):
    p = page("mappings")
    collector = DiscoveryRefusals()
    collector.update(
        [
            ListingRefusal(Venue.POLYMARKET, "1642124", "no clobTokenIds: the market has no CLOB tokens to trade"),
            ListingRefusal(Venue.KALSHI, "KXNBASPREAD-26JAN11HOUSAC-HOU5", "spread market, not a game winner"),
        ],
        T0,
    )
    replay(feed, p, init_with(collector.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT)))
    text = p.view.refused.object
    assert 'data-refused-count="2"' in text and '<b class="refused-count">2</b>' in text
    assert rows(text) == [("polymarket", "1642124"), ("kalshi", "KXNBASPREAD-26JAN11HOUSAC-HOU5")]
    assert "no clobTokenIds: the market has no CLOB tokens to trade" in text
    assert "2026-11-29 18:00:00 UTC" in text  # first seen, and the discovery's time

    # A later discovery: the Gamma market got its tokens, a new Kalshi listing is refused.
    later = T0 + timedelta(minutes=5)
    changed = collector.update(
        [
            ListingRefusal(Venue.KALSHI, "KXNBASPREAD-26JAN11HOUSAC-HOU5", "spread market, not a game winner"),
            ListingRefusal(Venue.KALSHI, "KXNBATOTAL-26JAN11HOUSAC-224", "total market, not a game winner"),
        ],
        later,
    )
    assert changed
    replay(feed, p, refusals_wire(collector))
    text = p.view.refused.object
    assert 'data-refused-count="2"' in text
    # Latest first seen first: the new total, then the spread seen since T0.
    assert rows(text) == [("kalshi", "KXNBATOTAL-26JAN11HOUSAC-224"), ("kalshi", "KXNBASPREAD-26JAN11HOUSAC-HOU5")]
    assert "1642124" not in text
    assert "2026-11-29 18:05:00 UTC" in text and "2026-11-29 18:00:00 UTC" in text


def test_full_count_is_shown_when_only_the_latest_are_listed(feed, page):
    p = page("mappings")
    collector = DiscoveryRefusals()
    collector.update([ListingRefusal(Venue.KALSHI, f"KX-{i:03d}", "spread market") for i in range(250)], T0)
    replay(feed, p, init_with(collector.to_wire(schemas.DISCOVERY_REFUSALS_LIMIT)))
    text = p.view.refused.object
    assert 'data-refused-count="250"' in text
    assert len(rows(text)) == 200 and rows(text)[0] == ("kalshi", "KX-000")
    assert "the 200 first seen most recently are listed" in text


def test_reasons_and_ids_are_escaped(feed, page):
    p = page("mappings")
    collector = DiscoveryRefusals()
    collector.update([ListingRefusal(Venue.POLYMARKET_US, "<b>x</b>", 'bad "<script>alert(1)</script>"')], T0)
    replay(feed, p, init_with(collector.to_wire()))
    text = p.view.refused.object
    assert "<script>" not in text and "&lt;script&gt;" in text and "&lt;b&gt;x&lt;/b&gt;" in text


def test_no_refusal_after_a_discovery_is_said_plainly(feed, page):
    p = page("mappings")
    collector = DiscoveryRefusals()
    collector.update([], T0)
    replay(feed, p, init_with(collector.to_wire()))
    text = p.view.refused.object
    assert 'data-refused-count="0"' in text and "No listing was refused." in text
