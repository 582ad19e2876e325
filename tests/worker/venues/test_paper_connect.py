"""Pointing the live clients at a paper exchange, and what Kalshi signs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paper_exchange.credentials import ensure_credentials
from worker.venues.kalshi.client import KalshiClient, signed_path
from worker.venues.paper_connect import PaperCredentialsMissing, paper_client_env, paper_clients


def test_kalshi_signs_the_venue_path_not_the_paper_prefix() -> None:
    assert signed_path("/kalshi/trade-api/v2/portfolio/orders?ticker=X") == "/trade-api/v2/portfolio/orders"
    assert signed_path("/trade-api/v2/portfolio/balance") == "/trade-api/v2/portfolio/balance"


def test_paper_env_points_every_client_at_the_exchange_with_its_credentials(tmp_path: Path) -> None:
    creds = ensure_credentials(tmp_path)
    env = paper_client_env(tmp_path, 8780)
    assert env["KALSHI_BASE_URL"] == "http://127.0.0.1:8780/kalshi/trade-api/v2"
    assert env["POLYMARKET_US_WS_URL"] == "ws://127.0.0.1:8780/polymarket-us/v1/ws/markets"
    assert env["POLYMARKET_CLOB_URL"].endswith("/polymarket/clob")
    assert {k: env[k] for k in creds.as_env()} == creds.as_env()


async def test_paper_clients_are_built_by_their_own_from_env(tmp_path: Path) -> None:
    ensure_credentials(tmp_path)
    kalshi, poly, pmus = paper_clients(tmp_path, 9999)
    try:
        assert isinstance(kalshi, KalshiClient) and kalshi.base_url.endswith(":9999/kalshi/trade-api/v2")
        assert poly.clob_url == "http://127.0.0.1:9999/polymarket/clob"
        assert pmus.api_url == pmus.gateway_url == "http://127.0.0.1:9999/polymarket-us"
    finally:
        for c in (kalshi, poly, pmus):
            await c.aclose()


def test_missing_credentials_say_to_start_the_exchange(tmp_path: Path) -> None:
    with pytest.raises(PaperCredentialsMissing, match="start the paper exchange"):
        paper_client_env(tmp_path, 8780)
