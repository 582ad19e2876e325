"""Polymarket US's request signature (the ``polymarket-us`` SDK's ``auth.py``): base64
Ed25519 over ``timestamp_ms + METHOD + path``, the timestamp within 30 s."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Mapping

from cryptography.exceptions import InvalidSignature

from paper_exchange.credentials import AuthError, PaperCredentials, check_fresh, require_header
from worker.clock import SYSTEM_CLOCK, Clock


def verify_pmus(
    creds: PaperCredentials, headers: Mapping[str, str], method: str, paths: Iterable[str],
    *, clock: Clock = SYSTEM_CLOCK,
) -> None:
    if not hmac.compare_digest(require_header(headers, "X-PM-Access-Key"), creds.pmus_key_id):
        raise AuthError("unknown X-PM-Access-Key")
    ts = require_header(headers, "X-PM-Timestamp")
    check_fresh(ts, unit_ms=True, clock=clock)
    try:
        signature = base64.b64decode(require_header(headers, "X-PM-Signature"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthError("X-PM-Signature is not base64") from exc
    for path in paths:
        try:
            creds.pmus_public_key.verify(signature, f"{ts}{method.upper()}{path}".encode())
            return
        except InvalidSignature:
            continue
    raise AuthError("X-PM-Signature does not verify")
