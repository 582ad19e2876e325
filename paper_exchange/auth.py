"""Paper credentials and the signature checks each venue makes.

Layout (written once, mode 0600, reused on every start)::

    EXECUTOR_DATA_DIR/paper/credentials.json
    EXECUTOR_DATA_DIR/paper/kalshi_private_key.pem

``credentials.json`` holds ``kalshi.key_id`` / ``kalshi.private_key_path``,
``polymarket.private_key`` / ``address`` / ``api_key`` / ``api_secret`` / ``api_passphrase``
and ``polymarket_us.key_id`` / ``secret_key`` (base64 Ed25519 seed): the same variables the
live clients read (``KALSHI_KEY_ID``, ``KALSHI_PRIVATE_KEY_PATH``, ``POLYMARKET_*``,
``POLYMARKET_US_*``). Secrets never leave these files: errors say *which* check failed,
never the value.

Checks (sources: docs.kalshi.com "API Keys"; the official ``polymarket-client`` SDK's
``_internal/hmac.py`` and ``actions/orders/typed_data.py``; the ``polymarket-us`` SDK's
``auth.py``):

* Kalshi: RSA-PSS (SHA-256, MGF1-SHA-256, salt = digest length) over
  ``timestamp_ms + METHOD + path`` (no query string).
* Polymarket L2: urlsafe-base64 HMAC-SHA256 with the urlsafe-base64-decoded secret over
  ``timestamp_s + METHOD + path + body``; the order's EIP-712 signature (domain
  "Polymarket CTF Exchange", chain 137) must recover the credentials' address.
* Polymarket US: base64 Ed25519 over ``timestamp_ms + METHOD + path``, timestamp within 30 s.

The signed path is the venue's own path, without the paper exchange's venue prefix
(``/kalshi``, ``/polymarket/clob``, ``/polymarket-us``): what the real venue would verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from worker.clock import SYSTEM_CLOCK, Clock

POLYGON_CHAIN_ID = 137
#: V2 exchange contracts (``polymarket-client`` ``environments.py``, production).
POLY_EXCHANGES = (
    "0xE111180000d2663C0091e4f400237545B87B996B",  # standard
    "0xe2222d279d744050d28e00520010520000310F59",  # neg-risk
)
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


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise AuthError(f"missing {name} header")
    if not value.isascii():  # compare_digest takes ASCII text only
        raise AuthError(f"{name} header is not ASCII")
    return value


def _fresh(ts: str, unit_ms: bool, clock: Clock, window_s: float = TIMESTAMP_WINDOW_S) -> None:
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


def verify_kalshi(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    key = _header(headers, "KALSHI-ACCESS-KEY")
    if not hmac.compare_digest(key, creds.kalshi_key_id):
        raise AuthError("unknown KALSHI-ACCESS-KEY")
    ts = _header(headers, "KALSHI-ACCESS-TIMESTAMP")
    _fresh(ts, unit_ms=True, clock=clock)
    try:
        signature = base64.b64decode(_header(headers, "KALSHI-ACCESS-SIGNATURE"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthError("KALSHI-ACCESS-SIGNATURE is not base64") from exc
    for path in paths:
        try:
            creds.kalshi_public_key.verify(
                signature,
                f"{ts}{method.upper()}{path}".encode(),
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                hashes.SHA256(),
            )
            return
        except InvalidSignature:
            continue
    raise AuthError("KALSHI-ACCESS-SIGNATURE does not verify")


def verify_poly_l2_headers(
    creds: PaperCredentials, headers: Mapping[str, str], *, clock: Clock = SYSTEM_CLOCK
) -> str:
    """The L2 checks that need no body (key, passphrase, address, fresh timestamp), made
    before a body is read; returns the timestamp. :func:`verify_poly_l2` adds the HMAC."""
    if not hmac.compare_digest(_header(headers, "POLY_API_KEY"), creds.poly_api_key):
        raise AuthError("unknown POLY_API_KEY")
    if not hmac.compare_digest(_header(headers, "POLY_PASSPHRASE"), creds.poly_api_passphrase):
        raise AuthError("wrong POLY_PASSPHRASE")
    if _header(headers, "POLY_ADDRESS").lower() != creds.poly_address.lower():
        raise AuthError("POLY_ADDRESS does not match the API key")
    ts = _header(headers, "POLY_TIMESTAMP")
    _fresh(ts, unit_ms=False, clock=clock, window_s=60)
    return ts


def verify_poly_l2(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    body: bytes, *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    ts = verify_poly_l2_headers(creds, headers, clock=clock)
    given = _header(headers, "POLY_SIGNATURE")
    secret = base64.urlsafe_b64decode(creds.poly_api_secret + "=" * (-len(creds.poly_api_secret) % 4))
    try:
        text = body.decode("utf-8") if body else ""
    except UnicodeDecodeError as exc:
        raise AuthError("the body is not UTF-8") from exc
    bodies = [text, text.replace("'", '"')] if text else [""]
    for path in paths:
        for b in bodies:
            message = f"{ts}{method.upper()}{path}{b}"
            digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
            expected = base64.urlsafe_b64encode(digest).decode()
            if hmac.compare_digest(expected, given):
                return
    raise AuthError("POLY_SIGNATURE does not verify")


def verify_pmus(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    if not hmac.compare_digest(_header(headers, "X-PM-Access-Key"), creds.pmus_key_id):
        raise AuthError("unknown X-PM-Access-Key")
    ts = _header(headers, "X-PM-Timestamp")
    _fresh(ts, unit_ms=True, clock=clock)
    try:
        signature = base64.b64decode(_header(headers, "X-PM-Signature"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthError("X-PM-Signature is not base64") from exc
    for path in paths:
        try:
            creds.pmus_public_key.verify(signature, f"{ts}{method.upper()}{path}".encode())
            return
        except InvalidSignature:
            continue
    raise AuthError("X-PM-Signature does not verify")


ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]


def order_typed_data(order: Mapping[str, Any], exchange: str) -> dict[str, Any]:
    """The V2 EIP-712 typed data of a posted order (the ``order`` object of ``POST /order``)."""
    side = order["side"]
    side_num = side if isinstance(side, int) else (0 if str(side).upper() == "BUY" else 1)
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": ORDER_FIELDS,
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": POLYGON_CHAIN_ID,
            "verifyingContract": exchange,
        },
        "message": {
            "salt": int(order["salt"]),
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(order["tokenId"]),
            "makerAmount": int(order["makerAmount"]),
            "takerAmount": int(order["takerAmount"]),
            "side": side_num,
            "signatureType": int(order["signatureType"]),
            "timestamp": int(order["timestamp"]),
            "metadata": order.get("metadata") or "0x" + "00" * 32,
            "builder": order.get("builder") or "0x" + "00" * 32,
        },
    }


def order_hash(typed: Mapping[str, Any]) -> str:
    """The EIP-712 digest of an order: Polymarket's order id."""
    from eth_account.messages import encode_typed_data
    from eth_utils.crypto import keccak

    signable = encode_typed_data(full_message=dict(typed))
    return "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()


def verify_poly_order(creds: PaperCredentials, order: Mapping[str, Any]) -> str:
    """Check that the order's signature recovers our address; return its order hash."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    if str(order.get("signer", "")).lower() != creds.poly_address.lower():
        raise AuthError("order signer is not the API key's address")
    signature = order.get("signature")
    if not isinstance(signature, str):
        raise AuthError("order has no signature")
    for exchange in POLY_EXCHANGES:
        typed = order_typed_data(order, exchange)
        try:
            signer = Account.recover_message(
                encode_typed_data(full_message=typed), signature=signature
            )
        except Exception:
            continue
        if signer.lower() == creds.poly_address.lower():
            return order_hash(typed)
    raise AuthError("order signature does not recover the signer")
