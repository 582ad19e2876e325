"""Signatures checked against independent verifiers; a book stream healing a sequence gap."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from eth_account import Account
from eth_account.messages import encode_typed_data

from worker.domain.errors import SequenceGap
from worker.domain.markets import ContractRef, OutcomeSide, Venue
from worker.venues.kalshi.client import KalshiClient
from worker.venues.kalshi.signing import KalshiSigner
from worker.venues.kalshi.ws import KalshiBookState, stream_books
from worker.venues.polymarket.signing import PolymarketSigner, UnsignedOrder, amounts, typed_data
from worker.venues.polymarket_us.signing import PolymarketUsSigner

TICKER = "KXNBAGAME-26JAN11HOUSAC-HOU"


def test_kalshi_signs_timestamp_method_path_without_query() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = KalshiSigner("kid", key, now_ms=lambda: 1768180000123)
    headers = signer.headers("post", "/trade-api/v2/portfolio/events/orders?x=1")
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1768180000123"
    signed = b"1768180000123POST/trade-api/v2/portfolio/events/orders"
    key.public_key().verify(
        base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]),
        signed,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size),
        hashes.SHA256(),
    )


def test_polymarket_order_signature_recovers_signer_and_matches_eth_account() -> None:
    key = "0x" + "4c" * 32
    signer = PolymarketSigner(key, "k", base64.urlsafe_b64encode(b"x" * 32).decode(), "p")
    maker, taker = amounts("BUY", Decimal("0.43"), Decimal("10"))
    assert (maker, taker) == (4_300_000, 10_000_000)
    order = UnsignedOrder(
        12345, signer.address, signer.address, "7132", maker, taker, "BUY", 1768180000000
    )
    order_hash, signature = signer.sign_order(order)
    signable = encode_typed_data(full_message=typed_data(order))
    assert Account.recover_message(signable, signature=signature) == signer.address
    independent = Account.sign_message(signable, key)
    assert "0x" + bytes(independent.signature).hex() == signature
    assert order_hash == "0x" + bytes(independent.message_hash).hex()


def test_polymarket_l2_hmac_is_over_timestamp_method_path_body() -> None:
    import hashlib
    import hmac

    secret = base64.urlsafe_b64encode(b"k" * 32).decode()
    signer = PolymarketSigner("0x" + "11" * 32, "api", secret, "pp")
    h = signer.l2_headers(1768180000, "POST", "/order", '{"a":1}')
    expected = base64.urlsafe_b64encode(
        hmac.new(b"k" * 32, b'1768180000POST/order{"a":1}', hashlib.sha256).digest()
    ).decode()
    assert h["POLY_SIGNATURE"] == expected and h["POLY_ADDRESS"] == signer.address


def test_polymarket_us_signature_verifies_with_the_public_key() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    signer = PolymarketUsSigner("kid", key, now_ms=lambda: 1768180000999)
    h = signer.headers("GET", "/v1/portfolio/positions?x=1")
    key.public_key().verify(
        base64.b64decode(h["X-PM-Signature"]), b"1768180000999GET/v1/portfolio/positions"
    )
    assert h["X-PM-Access-Key"] == "kid" and h["X-PM-Timestamp"] == "1768180000999"


def _snap(seq: int, yes: list[list[str]], no: list[list[str]]) -> dict[str, object]:
    return {
        "type": "orderbook_snapshot",
        "sid": 1,
        "seq": seq,
        "msg": {"market_ticker": TICKER, "yes_dollars_fp": yes, "no_dollars_fp": no},
    }


def _delta(seq: int, side: str, price: str, delta: str) -> dict[str, object]:
    return {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": seq,
        "msg": {"market_ticker": TICKER, "side": side, "price_dollars": price, "delta_fp": delta},
    }


def test_kalshi_ws_delta_updates_derived_ask_and_gap_raises() -> None:
    state = KalshiBookState()
    now = datetime.now(UTC)
    yes, _ = state.apply(_snap(1, [["0.41", "10"]], [["0.57", "4"]]), now)
    assert (
        yes.snapshot
        and yes.book.best_ask is not None
        and yes.book.best_ask.price == Decimal("0.43")
    )
    yes, _ = state.apply(_delta(2, "no", "0.58", "3"), now)
    assert not yes.snapshot and yes.book.best_ask == yes.book.asks[0]
    assert yes.book.asks[0].price == Decimal("0.42")
    with pytest.raises(SequenceGap):
        state.apply(_delta(4, "yes", "0.41", "-10"), now)
    assert state.bids == {}, "untrusted book dropped"


class FakeWs:
    def __init__(self, messages: list[dict[str, object]]) -> None:
        self.messages = [json.dumps(m) for m in messages]
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        self.sent.append(message)

    async def recv(self) -> str:
        if not self.messages:
            raise ConnectionError("closed")
        return self.messages.pop(0)

    async def close(self) -> None:
        return None


async def test_kalshi_stream_resubscribes_after_gap_and_yields_snapshot_first() -> None:
    sessions = [
        FakeWs(
            [
                _snap(1, [["0.41", "10"]], [["0.57", "4"]]),
                _delta(2, "yes", "0.42", "5"),
                _delta(5, "yes", "0.40", "1"),
            ]
        ),
        FakeWs([_snap(1, [["0.44", "2"]], [["0.55", "9"]])]),
    ]
    connects: list[str] = []

    async def connect(url: str, headers: object) -> FakeWs:
        connects.append(url)
        return sessions[len(connects) - 1]

    client = KalshiClient("https://k.test/trade-api/v2", ws_url="wss://k.test/ws")
    contract = ContractRef(Venue.KALSHI, TICKER, TICKER, OutcomeSide.YES)
    updates = [u async for u in stream_books(client, [contract], connect=connect, max_reconnects=1)]
    yes_updates = [u for u in updates if u.book.contract.side is OutcomeSide.YES]
    assert [u.snapshot for u in yes_updates] == [True, False, True]
    assert yes_updates[-1].book.best_bid is not None
    assert yes_updates[-1].book.best_bid.price == Decimal("0.44")
    assert len(connects) == 2
    assert json.loads(sessions[1].sent[0])["params"]["market_tickers"] == [TICKER]
    await client.aclose()
