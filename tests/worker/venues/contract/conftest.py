"""Contract-suite fixtures: one ``venue`` harness per backend and adapter.

Every contract test runs six times, its id naming backend and client:

* ``mock-<client>``: the live client on an in-memory fake venue through
  ``httpx.MockTransport`` (fixtures in ``fixtures/``, each naming its documentation page);
* ``paper-<client>``: the same live client built by its own ``from_env`` on the
  environment of :func:`worker.venues.paper_connect.paper_client_env`, talking real HTTP
  to one paper exchange process (``python -m worker paper-exchange``) started once per
  session on a free port with a temp data dir.

The tests speak to the harness only: a scripted book for the contract under test, a
scripted fault for the next order or reads, the orders the venue holds, the requests that
went out. The mock backend scripts its fake; the paper backend uses the exchange's control
endpoints (``EXECUTOR_PAPER_CONTROL=1``: pinned books, scripted faults, balances, resolutions — see
docs/paper-exchange.md). Time outs are real on paper: the exchange holds the request past
the client's read timeout and drops the connection.
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from paper_exchange.world import Game, World
from tests.worker.venues.contract.fakes import (
    FakeKalshi,
    FakePolymarket,
    FakePolymarketUs,
    WireVenue,
)
from worker.clock import SystemClock
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.venues.common.http import Backoff
from worker.venues.kalshi.client import KalshiClient
from worker.venues.kalshi.signing import KalshiSigner
from worker.venues.paper_connect import paper_client_env
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket.signing import PolymarketSigner
from worker.venues.polymarket_us.client import PolymarketUsClient
from worker.venues.polymarket_us.signing import PolymarketUsSigner

ADAPTERS = ["kalshi", "polymarket", "polymarket_us"]
BACKENDS = ["mock", "paper"]
TEST_EVM_KEY = "0x" + "4c" * 32
D = Decimal

#: Client read timeout on paper and how long the exchange holds a timed-out order: the
#: hang outlasts the timeout, so the client really times out.
PAPER_CLIENT_TIMEOUT_S = 0.8
PAPER_HANG_S = 1.2

Client = KalshiClient | PolymarketClient | PolymarketUsClient
# Mock fault names -> the paper exchange's scripted order faults.
PAPER_ORDER_FAULT = {
    "timeout_filled": "timeout_filled",
    "timeout_unfilled": "timeout_unfilled",
    "503": "reject",
    "401": "unauthorized",
    "400": "invalid",
}


class RecordingSleep:
    """A sleep that records its delays and never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class RecordingClock(SystemClock):
    """The clients' clock: the system's time, but every wait (backoff, rate limit) goes
    to a :class:`RecordingSleep` and returns at once."""

    def __init__(self, sleep: RecordingSleep) -> None:
        self._sleep = sleep

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)


def asks_ladder(name: str) -> list[list[Decimal]]:
    """The buyable side's ask ladder every backend serves (derived for Kalshi)."""
    if name == "polymarket_us":
        return [[D("0.43"), D("4")], [D("0.45"), D("6")], [D("0.46"), D("40")]]
    return [[D("0.43"), D("4")], [D("0.44"), D("6")], [D("0.45"), D("40")]]


def bids_ladder(name: str) -> list[list[Decimal]]:
    """The same side's bids, as in the fixture books (best 0.41 / 0.42 / 0.415)."""
    if name == "kalshi":
        return [[D("0.41"), D("13")], [D("0.40"), D("20")], [D("0.39"), D("50")]]
    if name == "polymarket":
        return [[D("0.42"), D("13")], [D("0.41"), D("20")], [D("0.40"), D("50")]]
    return [[D("0.415"), D("13")], [D("0.40"), D("20")], [D("0.39"), D("50")]]


@dataclass
class Harness:
    """One live client on one backend, plus what a contract test may script or observe."""

    name: str
    backend: str
    client: Client
    contract: ContractRef
    sleep: RecordingSleep
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fake: WireVenue | None = None
    paper: PaperExchangeProcess | None = None
    recorded: list[httpx.Request] = field(default_factory=list)
    orders_before: int = 0

    def cid(self, name: str) -> str:
        """A client order id unique to this test run (a paper exchange outlives tests)."""
        return f"{self.run_id}-{name}"

    @property
    def instrument(self) -> str:
        return self.contract.contract_id

    @property
    def requests(self) -> list[httpx.Request]:
        return self.fake.requests if self.fake is not None else self.recorded

    async def script_order_fault(self, kind: str) -> None:
        """The next order request meets ``kind``: timeout_filled, timeout_unfilled,
        503, 401 or 400."""
        if self.fake is not None:
            self.fake.faults.append(kind)
            return
        assert self.paper is not None
        await self.paper.admin("faults", {"orders": [PAPER_ORDER_FAULT[kind]], "hang": PAPER_HANG_S})

    async def script_read_faults(self, statuses: list[int]) -> None:
        """The next reads answer these HTTP statuses (before anything is processed)."""
        if self.fake is not None:
            self.fake.read_faults.extend(statuses)
            return
        assert self.paper is not None
        await self.paper.admin("faults", {"reads": statuses})

    async def asks(self) -> list[list[Decimal]]:
        """The contract's ask ladder as the venue holds it now (best first)."""
        if self.fake is not None:
            return self.fake.asks
        assert self.paper is not None
        book = await self.paper.get("book", {"instrument": self.instrument})
        return [[D(p), D(s)] for p, s in book["asks"]]

    async def order_count(self) -> int:
        """Orders the venue holds on this contract, placed during this test."""
        if self.fake is not None:
            return len(self.fake.orders)
        assert self.paper is not None
        got = await self.paper.get("orders", {"venue": self.name, "instrument": self.instrument})
        return int(got["count"]) - self.orders_before

    async def set_balance(self, amount: Decimal) -> None:
        if self.fake is not None:
            self.fake.balance = amount
            return
        assert self.paper is not None
        await self.paper.admin("balance", {"venue": self.name, "amount": str(amount)})


# -- mock backend ---------------------------------------------------------------------------
def _common(sleep: RecordingSleep) -> dict[str, Any]:
    return {"clock": RecordingClock(sleep), "rng": random.Random(7), "backoff": Backoff(base=0.25, cap=4, max_retries=3)}


def build_mock(name: str) -> Harness:
    sleep = RecordingSleep()
    fake: WireVenue
    client: Client
    if name == "kalshi":
        fake = FakeKalshi(asks=asks_ladder(name))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        client = KalshiClient(
            "https://kalshi.test/trade-api/v2",
            signer=KalshiSigner("key-1", key),
            http=httpx.AsyncClient(transport=fake.transport()),
            **_common(sleep),
        )
        t = FakeKalshi.ticker
        contract = ContractRef(Venue.KALSHI, t, t, OutcomeSide.YES)
    elif name == "polymarket":
        fake = FakePolymarket(asks=asks_ladder(name))
        secret = base64.urlsafe_b64encode(b"s" * 32).decode()
        client = PolymarketClient(
            "https://gamma.test",
            "https://clob.test",
            signer=PolymarketSigner(TEST_EVM_KEY, "api-key", secret, "pass"),
            http=httpx.AsyncClient(transport=fake.transport()),
            **_common(sleep),
        )
        contract = ContractRef(Venue.POLYMARKET, "555001", FakePolymarket.token, OutcomeSide.TOKEN)
    else:
        fake = FakePolymarketUs(asks=asks_ladder(name))
        client = PolymarketUsClient(
            "https://gateway.test",
            "https://api.test",
            signer=PolymarketUsSigner("key-us", ed25519.Ed25519PrivateKey.generate()),
            http=httpx.AsyncClient(transport=fake.transport()),
            **_common(sleep),
        )
        s = FakePolymarketUs.slug
        contract = ContractRef(Venue.POLYMARKET_US, s, s, OutcomeSide.LONG)
    return Harness(name, "mock", client, contract, sleep, fake=fake)


# -- paper backend --------------------------------------------------------------------------
class PaperExchangeProcess:
    """``python -m worker paper-exchange`` on a free port with its own data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        env = {
            **os.environ,
            "EXECUTOR_DATA_DIR": str(data_dir),
            "EXECUTOR_SEED": "11",
            "EXECUTOR_PAPER_CONTROL": "1",
            "EXECUTOR_PAPER_LATENCY_MS": "0",
            "EXECUTOR_PAPER_FAULTS": "",
            "EXECUTOR_PAPER_BALANCES": "kalshi=100000,polymarket=100000,polymarket_us=100000",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "paper-exchange", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the exchange is listening
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(f"paper exchange did not start: {line!r}")
        self.port = int(match.group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        health = httpx.get(f"{self.base}/paper/health", timeout=10).json()
        epoch = datetime.fromisoformat(health["epoch"].replace("Z", "+00:00"))
        # The world is a pure function of (seed, epoch): the same games, tickers, slugs
        # and token ids the exchange serves, computed here to pick contracts.
        world = World(int(health["seed"]), epoch)
        soon = datetime.now(UTC) + timedelta(minutes=5)
        games = [g for g in world.games(datetime.now(UTC)) if len(g.venues) == 3 and g.start > soon]
        self.games = itertools.cycle(games)
        # Polymarket US contracts need a half-cent tick (the fixture's 0.415 bid).
        self.half_cent_games = itertools.cycle([g for g in games if g.pmus_tick == D("0.005")])

    async def admin(self, what: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            r = await http.post(f"/paper/admin/{what}", json=body)
            r.raise_for_status()
            return r.json()

    async def get(self, what: str, params: dict[str, str]) -> Any:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            r = await http.get(f"/paper/admin/{what}", params=params)
            r.raise_for_status()
            return r.json()

    def contract(self, name: str) -> ContractRef:
        g: Game = next(self.half_cent_games if name == "polymarket_us" else self.games)
        if name == "kalshi":
            t = g.kalshi_ticker(True)
            return ContractRef(Venue.KALSHI, t, t, OutcomeSide.YES)
        if name == "polymarket":
            token = g.token_ids("moneyline")[0]  # outcome 0: the book is not mirrored
            return ContractRef(Venue.POLYMARKET, g.gamma_market_id("moneyline"), token, OutcomeSide.TOKEN)
        s = g.pmus_winner_slug
        return ContractRef(Venue.POLYMARKET_US, s, s, OutcomeSide.LONG)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def build_paper(name: str, paper: PaperExchangeProcess) -> Harness:
    sleep = RecordingSleep()
    recorded: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        recorded.append(request)

    http = httpx.AsyncClient(
        timeout=httpx.Timeout(PAPER_CLIENT_TIMEOUT_S), event_hooks={"request": [record]}
    )
    env = paper_client_env(paper.data_dir, paper.port)
    kwargs = {**_common(sleep), "http": http}
    client: Client
    if name == "kalshi":
        client = KalshiClient.from_env(env, **kwargs)
    elif name == "polymarket":
        client = PolymarketClient.from_env(env, **kwargs)
    else:
        client = PolymarketUsClient.from_env(env, **kwargs)
    contract = paper.contract(name)
    h = Harness(name, "paper", client, contract, sleep, paper=paper, recorded=recorded)
    await paper.admin("faults", {"clear": True})
    await paper.admin(
        "book",
        {
            "instrument": contract.contract_id,
            "bids": [[str(p), str(s)] for p, s in bids_ladder(name)],
            "asks": [[str(p), str(s)] for p, s in asks_ladder(name)],
        },
    )
    h.orders_before = await h.order_count()
    return h


@pytest.fixture(scope="session")
def paper_exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PaperExchangeProcess]:
    paper = PaperExchangeProcess(tmp_path_factory.mktemp("paper-exchange"))
    yield paper
    paper.stop()


@pytest.fixture(params=[f"{b}-{a}" for b in BACKENDS for a in ADAPTERS])
async def venue(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """The live client under test, on the mock fake or on the running paper exchange."""
    backend, name = str(request.param).split("-", 1)
    if backend == "mock":
        h = build_mock(name)
    else:
        paper: PaperExchangeProcess = request.getfixturevalue("paper_exchange")
        h = await build_paper(name, paper)
    try:
        yield h
    finally:
        await h.client.http.client.aclose()
        if h.paper is not None:
            await h.paper.admin("faults", {"clear": True})
            await h.paper.admin("book", {"instrument": h.instrument, "clear": True})
