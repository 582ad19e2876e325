"""HTTP plumbing shared by the live clients: rate limiting (:mod:`worker.rate_limit`), backoff, error mapping.

Rules (money and concurrency):

* Reads are retried on 429 / 5xx / timeouts with exponential backoff and full jitter.
* A write is retried only when it is **idempotent** (Kalshi orders carry
  ``client_order_id``). A non-idempotent write (Polymarket, Polymarket US orders) is sent
  exactly once: a timeout or a 5xx raises :class:`OrderUnknown`, never a re-send.
* 401/403 raise :class:`AuthFailed`; 400/409/422 on a write raise :class:`OrderRejected`.
* Error messages carry the status and the venue's error text only — never headers,
  keys or signatures.

The clock (waits and the rate limit's readings) and randomness are injected, so tests
never really wait.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.errors import (
    AuthFailed,
    InsufficientBalance,
    OrderNotFound,
    OrderRejected,
    OrderUnknown,
    RateLimited,
    VenueError,
    VenueUnavailable,
)
from worker.rate_limit import TokenBucket

HeaderSigner = Callable[[str, str, str], Mapping[str, str]]
"""``(METHOD, path_without_query, body_text) -> auth headers``."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base × 2^attempt))``."""

    base: float = 0.25
    cap: float = 8.0
    max_retries: int = 4

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(self.cap, retry_after)
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


def _venue_text(resp: httpx.Response) -> str:
    """The venue's error message, short, from JSON fields that carry no secrets."""
    try:
        body = resp.json()
    except (json.JSONDecodeError, ValueError):
        return resp.text[:200]
    if isinstance(body, Mapping):
        for key in ("error", "message", "errorMsg", "detail", "code"):
            val = body.get(key)
            if isinstance(val, Mapping):
                val = val.get("message") or val.get("code")
            if val:
                return str(val)[:200]
    return str(body)[:200]


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


class VenueHttp:
    """One venue's HTTP session: base URL, auth signer, limits, retries, error mapping."""

    def __init__(
        self,
        venue: str,
        client: httpx.AsyncClient,
        *,
        read_limit: TokenBucket,
        write_limit: TokenBucket,
        backoff: Backoff | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.venue = venue
        self.client = client
        self.read_limit = read_limit
        self.write_limit = write_limit
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._rng = rng or random.Random()
        self.retries = 0  # observable for tests and metrics

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        signer: HeaderSigner | None = None,
        sign_path: str | None = None,
        write: bool = False,
        idempotent: bool | None = None,
        ids: tuple[str | None, str | None] = (None, None),
    ) -> Any:
        """Send and decode JSON; retries only what is safe to retry (see module doc).

        ``url`` is absolute; ``sign_path`` is the path the venue signs (no query).
        ``ids`` = (client_order_id, venue_order_id) for :class:`OrderUnknown`.
        """
        if idempotent is None:
            idempotent = not write
        body_text = "" if json_body is None else json.dumps(json_body, separators=(",", ":"))
        limit = self.write_limit if write else self.read_limit
        attempt = 0
        while True:
            await limit.acquire()
            headers: dict[str, str] = {"Accept": "application/json"}
            if json_body is not None:
                headers["Content-Type"] = "application/json"
            if signer is not None:
                path = sign_path if sign_path is not None else httpx.URL(url).path
                headers.update(signer(method.upper(), path, body_text))
            try:
                resp = await self.client.request(
                    method,
                    url,
                    params=params,
                    content=body_text.encode() if json_body is not None else None,
                    headers=headers,
                )
            except httpx.TimeoutException as exc:
                failure: VenueError = (
                    OrderUnknown(self.venue, f"{method} timed out: outcome unknown", *ids)
                    if write
                    else VenueUnavailable(self.venue, f"{method} timed out")
                )
                if idempotent and attempt < self.backoff.max_retries:
                    attempt = await self._wait(attempt, None)
                    continue
                raise failure from exc
            except httpx.TransportError as exc:
                failure = (
                    OrderUnknown(self.venue, f"{method} connection failed: outcome unknown", *ids)
                    if write
                    else VenueUnavailable(self.venue, f"{method} connection failed")
                )
                if idempotent and attempt < self.backoff.max_retries:
                    attempt = await self._wait(attempt, None)
                    continue
                raise failure from exc

            status = resp.status_code
            if status < 300:
                if not resp.content:
                    return {}
                try:
                    return resp.json()
                except ValueError as exc:
                    raise VenueUnavailable(self.venue, f"{method} answered non-JSON") from exc
            text = _venue_text(resp)
            if status == 429:
                # A 429 is a refusal before processing: retrying is safe only when the
                # request is idempotent; otherwise the caller decides.
                if idempotent and attempt < self.backoff.max_retries:
                    attempt = await self._wait(attempt, _retry_after(resp))
                    continue
                raise RateLimited(self.venue, f"rate limited: {text}", _retry_after(resp))
            if status in (401, 403):
                raise AuthFailed(self.venue, f"HTTP {status}: {text}")
            if status == 404:
                raise OrderNotFound(self.venue, f"HTTP 404: {text}")
            if status >= 500:
                if idempotent and attempt < self.backoff.max_retries:
                    attempt = await self._wait(attempt, None)
                    continue
                if write:
                    raise OrderUnknown(self.venue, f"HTTP {status}: {text}", *ids)
                raise VenueUnavailable(self.venue, f"HTTP {status}: {text}")
            if write:
                if "insufficient" in text.lower() or "balance" in text.lower():
                    raise InsufficientBalance(self.venue, f"HTTP {status}: {text}", str(status))
                raise OrderRejected(self.venue, f"HTTP {status}: {text}", str(status))
            raise VenueUnavailable(self.venue, f"HTTP {status}: {text}")

    async def _wait(self, attempt: int, retry_after: float | None) -> int:
        self.retries += 1
        await self._clock.sleep(self.backoff.delay(attempt, self._rng, retry_after))
        return attempt + 1


def join_url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")
