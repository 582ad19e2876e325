"""Kalshi's request signature (docs.kalshi.com "API Keys"): RSA-PSS (SHA-256,
MGF1-SHA-256, salt = digest length) over ``timestamp_ms + METHOD + path`` (no query string),
the timestamp within 30 s."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from paper_exchange.credentials import AuthError, PaperCredentials, check_fresh, require_header
from worker.clock import SYSTEM_CLOCK, Clock


def verify_kalshi(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    key = require_header(headers, "KALSHI-ACCESS-KEY")
    if not hmac.compare_digest(key, creds.kalshi_key_id):
        raise AuthError("unknown KALSHI-ACCESS-KEY")
    ts = require_header(headers, "KALSHI-ACCESS-TIMESTAMP")
    check_fresh(ts, unit_ms=True, clock=clock)
    try:
        signature = base64.b64decode(require_header(headers, "KALSHI-ACCESS-SIGNATURE"), validate=True)
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
