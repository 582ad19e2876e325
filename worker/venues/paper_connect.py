"""Point the live clients at a paper exchange: the environment their ``from_env`` reads.

Paper mode is not a different code path: the worker builds the same Kalshi, Polymarket
and Polymarket US clients it uses live, with base URLs on the local exchange and the
paper credentials the exchange wrote to ``EXECUTOR_DATA_DIR/paper/credentials.json``
(mode 0600). Nothing here talks to the network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from worker.venues.kalshi.client import KalshiClient
from worker.venues.polymarket.client import PolymarketClient
from worker.venues.polymarket_us.client import PolymarketUsClient


class PaperCredentialsMissing(FileNotFoundError):
    """The exchange has not written its credentials yet (it was never started with this
    data directory). Start ``python -m worker paper-exchange`` first."""


def paper_urls(port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """Every base URL the three clients read, on the paper exchange at ``host:port``."""
    http = f"http://{host}:{port}"
    ws = f"ws://{host}:{port}"
    return {
        "KALSHI_BASE_URL": f"{http}/kalshi/trade-api/v2",
        "KALSHI_WS_URL": f"{ws}/kalshi/trade-api/ws/v2",
        "POLYMARKET_GAMMA_URL": f"{http}/polymarket/gamma",
        "POLYMARKET_CLOB_URL": f"{http}/polymarket/clob",
        "POLYMARKET_DATA_URL": f"{http}/polymarket/data",
        "POLYMARKET_WS_URL": f"{ws}/polymarket/ws/market",
        "POLYMARKET_US_GATEWAY_URL": f"{http}/polymarket-us",
        "POLYMARKET_US_API_URL": f"{http}/polymarket-us",
        "POLYMARKET_US_WS_URL": f"{ws}/polymarket-us/v1/ws/markets",
    }


def paper_client_env(data_dir: str | Path, port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """The environment for each client's ``from_env``: URLs plus paper credentials.

    Raises :class:`PaperCredentialsMissing` when the exchange never ran on ``data_dir``.
    The returned mapping holds secrets: pass it to ``from_env``, never log it.
    """
    path = Path(data_dir) / "paper" / "credentials.json"
    try:
        doc: Mapping[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise PaperCredentialsMissing(
            f"no paper credentials at {path}: start the paper exchange with this data dir"
        ) from exc
    k, p, u = doc["kalshi"], doc["polymarket"], doc["polymarket_us"]
    env = paper_urls(port, host)
    env.update(
        {
            "KALSHI_KEY_ID": str(k["key_id"]),
            "KALSHI_PRIVATE_KEY_PATH": str(k["private_key_path"]),
            "POLYMARKET_PRIVATE_KEY": str(p["private_key"]),
            "POLYMARKET_API_KEY": str(p["api_key"]),
            "POLYMARKET_API_SECRET": str(p["api_secret"]),
            "POLYMARKET_API_PASSPHRASE": str(p["api_passphrase"]),
            "POLYMARKET_US_KEY_ID": str(u["key_id"]),
            "POLYMARKET_US_SECRET_KEY": str(u["secret_key"]),
        }
    )
    return env


def paper_clients(
    data_dir: str | Path, port: int, host: str = "127.0.0.1", **kwargs: Any
) -> tuple[KalshiClient, PolymarketClient, PolymarketUsClient]:
    """The three live clients built by their own ``from_env`` on the paper environment
    (``kwargs`` go to every constructor: clock, rng, backoff, http …)."""
    env = paper_client_env(data_dir, port, host)
    return (
        KalshiClient.from_env(env, **kwargs),
        PolymarketClient.from_env(env, **kwargs),
        PolymarketUsClient.from_env(env, **kwargs),
    )
