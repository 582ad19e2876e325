"""Fixtures: a paper exchange on a free 127.0.0.1 port with a temp data dir and a manual
clock (tests move time instead of sleeping), plus signing helpers for the three venues."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from paper_exchange.app import PaperServer
from paper_exchange.faults import FaultSpec
from paper_exchange.state import ServerState, build_state
from worker.clock import FakeClock

T0 = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
BALANCES = {"kalshi": Decimal(1000), "polymarket": Decimal(1000), "polymarket_us": Decimal(1000)}


class Paper:
    """A running exchange and what a test needs to talk to it."""

    def __init__(self, server: PaperServer, clock: FakeClock, data_dir: Path) -> None:
        self.server = server
        self.clock = clock
        self.data_dir = data_dir
        self.base = f"http://127.0.0.1:{server.port}"
        self.http = httpx.AsyncClient(base_url=self.base, timeout=10)

    @property
    def state(self) -> ServerState:
        return self.server.state

    def kalshi_headers(self, method: str, path: str, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        creds = self.state.creds
        if key is None:
            loaded = serialization.load_pem_private_key(creds.kalshi_private_key_path.read_bytes(), None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            key = loaded
        ts = str(int(time.time() * 1000))
        sig = key.sign(
            f"{ts}{method}{path}".encode(),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return {"KALSHI-ACCESS-KEY": creds.kalshi_key_id, "KALSHI-ACCESS-TIMESTAMP": ts,
                "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode()}

    def pmus_headers(self, method: str, path: str, seed: bytes | None = None) -> dict[str, str]:
        creds = self.state.creds
        seed = seed or base64.b64decode(creds.pmus_secret_key)
        ts = str(int(time.time() * 1000))
        sig = ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(f"{ts}{method}{path}".encode())
        return {"X-PM-Access-Key": creds.pmus_key_id, "X-PM-Timestamp": ts,
                "X-PM-Signature": base64.b64encode(sig).decode()}

    def poly_headers(self, method: str, path: str, body: str = "") -> dict[str, str]:
        import hashlib
        import hmac

        creds = self.state.creds
        ts = str(int(time.time()))
        secret = base64.urlsafe_b64decode(creds.poly_api_secret)
        sig = hmac.new(secret, f"{ts}{method}{path}{body}".encode(), hashlib.sha256).digest()
        return {"POLY_ADDRESS": creds.poly_address, "POLY_API_KEY": creds.poly_api_key,
                "POLY_PASSPHRASE": creds.poly_api_passphrase, "POLY_TIMESTAMP": ts,
                "POLY_SIGNATURE": base64.urlsafe_b64encode(sig).decode()}

    async def kalshi(self, method: str, path: str, json: Any = None) -> httpx.Response:
        full = f"/kalshi/trade-api/v2{path}"
        return await self.http.request(method, full, json=json,
                                       headers=self.kalshi_headers(method, full.split("?")[0].removeprefix("/kalshi")))

    async def pmus(self, method: str, path: str, json: Any = None) -> httpx.Response:
        full = f"/polymarket-us{path}"
        return await self.http.request(method, full, json=json, headers=self.pmus_headers(method, path.split("?")[0]))


async def start_paper(data_dir: Path, faults: FaultSpec | None = None, clock: FakeClock | None = None,
                      seed: int = 1, control: bool = False) -> Paper:
    """``control``: the ``/paper/admin`` endpoints (``EXECUTOR_PAPER_CONTROL=1``); off
    unless asked for, whatever the environment says."""
    clock = clock or FakeClock(T0)
    state = build_state(data_dir, seed, BALANCES, faults, clock=clock, latency_ms=0, tick_s=3600, control=control)
    server = PaperServer(state, 0)
    await server.start()
    return Paper(server, clock, data_dir)


async def stop_paper(p: Paper) -> None:
    await p.http.aclose()
    await p.server.stop()
    p.state.exchange.store.close()


@pytest.fixture
async def paper(tmp_path: Path) -> AsyncIterator[Paper]:
    p = await start_paper(tmp_path)
    yield p
    await stop_paper(p)
