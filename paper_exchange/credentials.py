"""Paper credentials, and what every venue's signature check shares.

Layout (written once, mode 0600, reused on every start)::

    EXECUTOR_DATA_DIR/paper/credentials.json
    EXECUTOR_DATA_DIR/paper/kalshi_private_key.pem

``credentials.json`` holds ``kalshi.key_id`` / ``kalshi.private_key_path``,
``polymarket.private_key`` / ``address`` / ``api_key`` / ``api_secret`` / ``api_passphrase``
and ``polymarket_us.key_id`` / ``secret_key`` (base64 Ed25519 seed): the same variables the
live clients read (``KALSHI_KEY_ID``, ``KALSHI_PRIVATE_KEY_PATH``, ``POLYMARKET_*``,
``POLYMARKET_US_*``). Secrets never leave these files: errors say *which* check failed,
never the value.

Each venue's checks are in its package (:mod:`paper_exchange.kalshi.auth`,
:mod:`paper_exchange.polymarket.auth`, :mod:`paper_exchange.polymarket_us.auth`). The
signed path is the venue's own path, without the paper exchange's venue prefix
(``/kalshi``, ``/polymarket/clob``, ``/polymarket-us``): what the real venue would verify.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from worker.clock import Clock

TIMESTAMP_WINDOW_S = 30


class AuthError(Exception):
    """A request failed authentication; the message names the check, never a secret."""


@dataclass(frozen=True)
class PaperCredentials:
    """All three venues' paper credentials (what ``credentials.json`` holds)."""

    kalshi_key_id: str
    kalshi_private_key_path: Path
    kalshi_public_key: rsa.RSAPublicKey
    poly_private_key: str
    poly_address: str
    poly_api_key: str
    poly_api_secret: str
    poly_api_passphrase: str
    pmus_key_id: str
    pmus_secret_key: str
    pmus_public_key: ed25519.Ed25519PublicKey

    def as_env(self) -> dict[str, str]:
        """The live clients' environment variables pointing at these credentials."""
        return {
            "KALSHI_KEY_ID": self.kalshi_key_id,
            "KALSHI_PRIVATE_KEY_PATH": str(self.kalshi_private_key_path),
            "POLYMARKET_PRIVATE_KEY": self.poly_private_key,
            "POLYMARKET_API_KEY": self.poly_api_key,
            "POLYMARKET_API_SECRET": self.poly_api_secret,
            "POLYMARKET_API_PASSPHRASE": self.poly_api_passphrase,
            "POLYMARKET_US_KEY_ID": self.pmus_key_id,
            "POLYMARKET_US_SECRET_KEY": self.pmus_secret_key,
        }


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600)


def credentials_path(data_dir: Path) -> Path:
    return data_dir / "paper" / "credentials.json"


def ensure_credentials(data_dir: Path) -> PaperCredentials:
    """Load the paper credentials, creating them (mode 0600) on first use."""
    path = credentials_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem_path = path.parent / "kalshi_private_key.pem"
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_private(
            pem_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        from eth_account import Account

        acct = Account.create()
        seed = secrets.token_bytes(32)
        doc = {
            "kalshi": {"key_id": str(uuid.uuid4()), "private_key_path": str(pem_path)},
            "polymarket": {
                "private_key": "0x" + bytes(acct.key).hex(),
                "address": acct.address,
                "api_key": str(uuid.uuid4()),
                "api_secret": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "api_passphrase": secrets.token_hex(16),
            },
            "polymarket_us": {
                "key_id": str(uuid.uuid4()),
                "secret_key": base64.b64encode(seed).decode(),
            },
        }
        _write_private(path, json.dumps(doc, indent=2).encode())
    return load_credentials(path)


def load_credentials(path: Path) -> PaperCredentials:
    doc = json.loads(path.read_text("utf-8"))
    k, p, u = doc["kalshi"], doc["polymarket"], doc["polymarket_us"]
    pem_path = Path(k["private_key_path"])
    private = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ValueError("the Kalshi paper key is not an RSA key")
    seed = base64.b64decode(u["secret_key"])[:32]
    return PaperCredentials(
        kalshi_key_id=k["key_id"],
        kalshi_private_key_path=pem_path,
        kalshi_public_key=private.public_key(),
        poly_private_key=p["private_key"],
        poly_address=p["address"],
        poly_api_key=p["api_key"],
        poly_api_secret=p["api_secret"],
        poly_api_passphrase=p["api_passphrase"],
        pmus_key_id=u["key_id"],
        pmus_secret_key=u["secret_key"],
        pmus_public_key=ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key(),
    )


def require_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise AuthError(f"missing {name} header")
    if not value.isascii():  # compare_digest takes ASCII text only
        raise AuthError(f"{name} header is not ASCII")
    return value


def check_fresh(ts: str, unit_ms: bool, clock: Clock, window_s: float = TIMESTAMP_WINDOW_S) -> None:
    try:
        value = int(ts)
    except ValueError as exc:
        raise AuthError("timestamp is not an integer") from exc
    now = clock.now().timestamp() * (1000 if unit_ms else 1)
    if abs(now - value) > window_s * (1000 if unit_ms else 1):
        raise AuthError("timestamp outside the accepted window")


def path_candidates(path: str, prefix: str) -> list[str]:
    """The path a client must have signed: the request path without its query string and
    without the paper exchange's venue prefix, i.e. exactly the path the real venue sees
    (Kalshi ``/trade-api/v2/...``, CLOB ``/order``, Polymarket US ``/v1/...``). A client
    that signs the prefixed URL path would fail against the real venue, so it fails here."""
    bare = path.split("?", 1)[0]
    if prefix and bare.startswith(prefix):
        return [bare[len(prefix):] or "/"]
    return [bare]
