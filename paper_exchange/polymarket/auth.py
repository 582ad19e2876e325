"""Polymarket's checks (the official ``polymarket-client`` SDK's ``_internal/hmac.py`` and
``actions/orders/typed_data.py``): L2 headers with a urlsafe-base64 HMAC-SHA256 (the
urlsafe-base64-decoded secret) over ``timestamp_s + METHOD + path + body``, and each
order's EIP-712 signature (domain "Polymarket CTF Exchange", chain 137), which must recover
the credentials' address; the order's EIP-712 hash is its id."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from paper_exchange.credentials import AuthError, PaperCredentials, check_fresh, require_header
from worker.clock import SYSTEM_CLOCK, Clock

POLYGON_CHAIN_ID = 137
#: V2 exchange contracts (``polymarket-client`` ``environments.py``, production).
POLY_EXCHANGES = (
    "0xE111180000d2663C0091e4f400237545B87B996B",  # standard
    "0xe2222d279d744050d28e00520010520000310F59",  # neg-risk
)


def verify_poly_l2_headers(
    creds: PaperCredentials, headers: Mapping[str, str], *, clock: Clock = SYSTEM_CLOCK
) -> str:
    """The L2 checks that need no body (key, passphrase, address, fresh timestamp), made
    before a body is read; returns the timestamp. :func:`verify_poly_l2` adds the HMAC."""
    if not hmac.compare_digest(require_header(headers, "POLY_API_KEY"), creds.poly_api_key):
        raise AuthError("unknown POLY_API_KEY")
    if not hmac.compare_digest(require_header(headers, "POLY_PASSPHRASE"), creds.poly_api_passphrase):
        raise AuthError("wrong POLY_PASSPHRASE")
    if require_header(headers, "POLY_ADDRESS").lower() != creds.poly_address.lower():
        raise AuthError("POLY_ADDRESS does not match the API key")
    ts = require_header(headers, "POLY_TIMESTAMP")
    check_fresh(ts, unit_ms=False, clock=clock, window_s=60)
    return ts


def verify_poly_l2(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    body: bytes, *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    ts = verify_poly_l2_headers(creds, headers, clock=clock)
    given = require_header(headers, "POLY_SIGNATURE")
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


#: The V2 order struct in EIP-712's ``encodeType`` form (the string whose keccak is the
#: exchange's order type hash): the paper reads its members from the type string, its
#: own statement of the struct, not from our client's field table.
ORDER_TYPE = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)


def struct_fields(encode_type: str) -> list[dict[str, str]]:
    """EIP-712 member declarations from a struct's ``encodeType`` string."""
    members = encode_type[encode_type.index("(") + 1 : encode_type.rindex(")")]
    return [{"name": name, "type": kind} for kind, name in (m.split(" ") for m in members.split(","))]


ORDER_FIELDS = struct_fields(ORDER_TYPE)


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
