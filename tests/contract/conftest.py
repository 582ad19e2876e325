"""Contract-suite fixtures: one ``venue_client`` factory per adapter and backend.

Backend ``mock`` serves each live client from an in-memory fake venue through
``httpx.MockTransport``. The hook for the paper exchange: when a ``paper_exchange_url``
fixture is provided (issue #5), add a ``paper`` backend here that builds the same
clients with ``from_env`` pointed at that URL — the tests themselves do not change.
"""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.contract.fakes import FakeKalshi, FakePolymarket, FakePolymarketUs, FakeVenue
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.venues.common.http import Backoff
from worker.venues.kalshi.client import KalshiClient
from worker.venues.kalshi.signing import KalshiSigner
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket.signing import PolymarketSigner
from worker.venues.polymarket_us.client import PolymarketUsClient
from worker.venues.polymarket_us.signing import PolymarketUsSigner

ADAPTERS = ["kalshi", "polymarket", "polymarket_us"]
TEST_EVM_KEY = "0x" + "4c" * 32


class RecordingSleep:
    """Injected instead of asyncio.sleep: records delays, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Harness:
    name: str
    client: KalshiClient | PolymarketClient | PolymarketUsClient
    fake: FakeVenue
    contract: ContractRef
    sleep: RecordingSleep


def _asks(name: str) -> list[list[Decimal]]:
    # The buyable side's ask ladder, matching the fixture books (derived for Kalshi).
    if name == "polymarket_us":
        return [
            [Decimal("0.43"), Decimal("4")],
            [Decimal("0.45"), Decimal("6")],
            [Decimal("0.46"), Decimal("40")],
        ]
    return [
        [Decimal("0.43"), Decimal("4")],
        [Decimal("0.44"), Decimal("6")],
        [Decimal("0.45"), Decimal("40")],
    ]


def build(name: str) -> Harness:
    sleep = RecordingSleep()
    common = {
        "sleep": sleep,
        "rng": random.Random(7),
        "backoff": Backoff(base=0.25, cap=4, max_retries=3),
    }
    fake: FakeVenue
    if name == "kalshi":
        fake = FakeKalshi(asks=_asks(name))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        http = httpx.AsyncClient(transport=fake.transport())
        client: KalshiClient | PolymarketClient | PolymarketUsClient = KalshiClient(
            "https://kalshi.test/trade-api/v2",
            signer=KalshiSigner("key-1", key),
            http=http,
            **common,
        )
        t = FakeKalshi.ticker
        contract = ContractRef(Venue.KALSHI, t, t, OutcomeSide.YES)
    elif name == "polymarket":
        fake = FakePolymarket(asks=_asks(name))
        http = httpx.AsyncClient(transport=fake.transport())
        secret = base64.urlsafe_b64encode(b"s" * 32).decode()
        client = PolymarketClient(
            "https://gamma.test",
            "https://clob.test",
            signer=PolymarketSigner(TEST_EVM_KEY, "api-key", secret, "pass"),
            http=http,
            **common,
        )
        contract = ContractRef(Venue.POLYMARKET, "555001", FakePolymarket.token, OutcomeSide.TOKEN)
    else:
        fake = FakePolymarketUs(asks=_asks(name))
        http = httpx.AsyncClient(transport=fake.transport())
        client = PolymarketUsClient(
            "https://gateway.test",
            "https://api.test",
            signer=PolymarketUsSigner("key-us", ed25519.Ed25519PrivateKey.generate()),
            http=http,
            **common,
        )
        s = FakePolymarketUs.slug
        contract = ContractRef(Venue.POLYMARKET_US, s, s, OutcomeSide.LONG)
    return Harness(name, client, fake, contract, sleep)


@pytest.fixture(params=ADAPTERS)
async def venue(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The ``venue_client`` factory for backend ``mock`` (add ``paper`` here later)."""
    h = build(request.param)
    yield h
    await h.client.http.client.aclose()
