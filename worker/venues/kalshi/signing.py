"""Kalshi request signing (docs.kalshi.com "API Keys" / quick start authentication).

``KALSHI-ACCESS-SIGNATURE`` = base64(RSA-PSS(SHA-256, MGF1(SHA-256), salt length =
digest length) over ``timestamp_ms + METHOD + path``), the path including
``/trade-api/v2`` and excluding the query string.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from worker.clock import SYSTEM_CLOCK, Clock


def message(timestamp_ms: int, method: str, path: str) -> bytes:
    """The exact bytes Kalshi signs; the query string is dropped."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def load_private_key(path: str | Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("KALSHI_PRIVATE_KEY_PATH does not hold an RSA private key")
    return key


class KalshiSigner:
    """Produces the three auth headers; the key never leaves this object (no repr of it)."""

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey,
        now_ms: Callable[[], int] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.key_id = key_id
        self._key = private_key
        self._now_ms = now_ms or (lambda: int(clock.now().timestamp() * 1000))

    def __repr__(self) -> str:
        return "KalshiSigner(key_id=***)"

    def sign(self, timestamp_ms: int, method: str, path: str) -> str:
        sig = self._key.sign(
            message(timestamp_ms, method, path),
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return base64.b64encode(sig).decode()

    def headers(self, method: str, path: str, _body: str = "") -> dict[str, str]:
        ts = self._now_ms()
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(ts),
            "KALSHI-ACCESS-SIGNATURE": self.sign(ts, method, path),
        }
