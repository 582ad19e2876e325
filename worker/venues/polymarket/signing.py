"""Polymarket CLOB V2 signing: EIP-712 orders and L2 HMAC headers, with ``eth-account``.

Follows the official ``polymarket-client`` SDK (0.14, ``_internal/actions/orders/
typed_data.py`` and ``_internal/hmac.py``): domain "Polymarket CTF Exchange" version "2",
chain 137, verifying contract = the CTF exchange (or the neg-risk exchange); the
``Order`` struct is (salt, maker, signer, tokenId, makerAmount, takerAmount, side,
signatureType, timestamp, metadata, builder). The SDK itself is not a dependency because
it pins ``eth-abi``/``eth-utils`` < 6 and ``websockets`` < 16, older than ours.

The order **hash** (EIP-712 digest) is the order id: it is computed before sending so the
executor can persist it write-ahead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from worker.domain.money import MICRO

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
BYTES32_ZERO = "0x" + "00" * 32
SIGNATURE_TYPE_EOA = 0

_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_ORDER_FIELDS = [
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


@dataclass(frozen=True, slots=True)
class UnsignedOrder:
    salt: int
    maker: str
    signer: str
    token_id: str
    maker_amount: int
    taker_amount: int
    side: str  # "BUY" | "SELL"
    timestamp_ms: int
    signature_type: int = SIGNATURE_TYPE_EOA
    metadata: str = BYTES32_ZERO
    builder: str = BYTES32_ZERO
    expiration: int = 0


def amounts(side: str, price: Decimal, size: Decimal) -> tuple[int, int]:
    """(makerAmount, takerAmount) in 6-decimal units, as the SDK computes them.

    BUY offers ``price × size`` USDC for ``size`` shares; SELL offers shares for USDC.
    Sizes with more than 2 decimals are refused rather than silently rounded; the USDC
    leg is rounded down when we pay it (BUY) and up when we receive it (SELL), so the
    signed limit is never worse for us than the intent's price.
    """
    shares = size.quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    if shares != size:
        raise ValueError("Polymarket sizes have at most 2 decimals")
    usdc = price * shares
    if side == "BUY":
        maker = usdc.quantize(MICRO, rounding=ROUND_DOWN)
        return int(maker / MICRO), int(shares / MICRO)
    taker = usdc.quantize(MICRO, rounding=ROUND_UP)
    return int(shares / MICRO), int(taker / MICRO)


def typed_data(order: UnsignedOrder, exchange: str = EXCHANGE_V2) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Order": _ORDER_FIELDS},
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": CHAIN_ID,
            "verifyingContract": exchange,
        },
        "message": {
            "salt": order.salt,
            "maker": order.maker,
            "signer": order.signer,
            "tokenId": int(order.token_id),
            "makerAmount": order.maker_amount,
            "takerAmount": order.taker_amount,
            "side": 0 if order.side == "BUY" else 1,
            "signatureType": order.signature_type,
            "timestamp": order.timestamp_ms,
            "metadata": order.metadata,
            "builder": order.builder,
        },
    }


def order_hash(order: UnsignedOrder, exchange: str = EXCHANGE_V2) -> str:
    """The EIP-712 digest of the order: Polymarket's order id (0x-hex)."""
    digest = _hash_eip191_message(encode_typed_data(full_message=typed_data(order, exchange)))
    return "0x" + digest.hex()


class PolymarketSigner:
    """Holds the wallet key and the L2 API credentials; never prints them."""

    def __init__(
        self, private_key: str, api_key: str = "", api_secret: str = "", passphrase: str = ""
    ) -> None:
        self._account = Account.from_key(private_key)
        self.address: str = self._account.address
        self.api_key = api_key
        self._secret = api_secret
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"PolymarketSigner(address={self.address})"

    @staticmethod
    def new_salt() -> int:
        return secrets.randbits(64)

    def sign_order(self, order: UnsignedOrder, exchange: str = EXCHANGE_V2) -> tuple[str, str]:
        """(order hash, signature hex)."""
        signable = encode_typed_data(full_message=typed_data(order, exchange))
        signed = self._account.sign_message(signable)
        return order_hash(order, exchange), "0x" + bytes(signed.signature).hex()

    def l2_headers(
        self, timestamp_s: int, method: str, path: str, body: str = ""
    ) -> dict[str, str]:
        """POLY_* headers: HMAC-SHA256 (urlsafe base64 secret) over ts+METHOD+path+body."""
        message = f"{timestamp_s}{method.upper()}{path}{body}"
        secret = base64.urlsafe_b64decode(self._secret + "=" * (-len(self._secret) % 4))
        sig = base64.urlsafe_b64encode(
            hmac.new(secret, message.encode(), hashlib.sha256).digest()
        ).decode()
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": sig,
            "POLY_TIMESTAMP": str(timestamp_s),
            "POLY_API_KEY": self.api_key,
            "POLY_PASSPHRASE": self._passphrase,
        }
