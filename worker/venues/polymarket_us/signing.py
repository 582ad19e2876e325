"""Polymarket US request signing (official ``polymarket-us`` SDK 2.4, ``auth.py``).

``X-PM-Signature`` = base64(Ed25519 over ``timestamp_ms + METHOD + path``);
``X-PM-Secret-Key`` in the environment is the base64 Ed25519 key (a 32-byte seed, or 64
bytes of which the first 32 are the seed). We sign with ``cryptography`` instead of the
SDK's ``pynacl``: Ed25519 is deterministic, so both produce the same signature.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from worker.clock import SYSTEM_CLOCK, Clock


def message(timestamp_ms: int, method: str, path: str) -> bytes:
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def load_secret(secret_b64: str) -> Ed25519PrivateKey:
    raw = base64.b64decode(secret_b64)
    if len(raw) == 64:
        raw = raw[:32]
    if len(raw) != 32:
        raise ValueError("POLYMARKET_US_SECRET_KEY is not a base64 Ed25519 key")
    return Ed25519PrivateKey.from_private_bytes(raw)


class PolymarketUsSigner:
    """Produces the X-PM-* headers; the secret stays inside (not in repr)."""

    def __init__(
        self,
        key_id: str,
        secret: Ed25519PrivateKey,
        now_ms: Callable[[], int] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.key_id = key_id
        self._secret = secret
        self._now_ms = now_ms or (lambda: int(clock.now().timestamp() * 1000))

    def __repr__(self) -> str:
        return "PolymarketUsSigner(key_id=***)"

    def sign(self, timestamp_ms: int, method: str, path: str) -> str:
        return base64.b64encode(self._secret.sign(message(timestamp_ms, method, path))).decode()

    def headers(self, method: str, path: str, _body: str = "") -> dict[str, str]:
        ts = self._now_ms()
        return {
            "X-PM-Access-Key": self.key_id,
            "X-PM-Timestamp": str(ts),
            "X-PM-Signature": self.sign(ts, method, path),
        }
