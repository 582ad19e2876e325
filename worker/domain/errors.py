"""Venue errors, named by what the caller must do.

* :class:`OrderRejected` — the venue refused; nothing happened. Safe to decide afresh.
* :class:`OrderUnknown` — timed out / connection lost after sending: the order **may
  exist**. Look it up (by client id on Kalshi, by order hash on Polymarket, among the
  market's orders on Polymarket US) before acting again; never blindly re-send.
* :class:`RateLimited` — back off (``retry_after`` seconds when the venue said so).
* :class:`AuthFailed` — credentials are wrong or expired: stop trading on this venue.
* :class:`VenueUnavailable` — a read failed (5xx, connection): retry later.
* :class:`OrderNotFound` — a look-up found no such order.
* :class:`SequenceGap` — a book stream skipped a sequence number: resnapshot.

Messages never contain secrets (keys, signatures, passphrases).
"""

from __future__ import annotations


class VenueError(Exception):
    """Base of every venue failure; ``venue`` is the venue's name."""

    def __init__(self, venue: str, message: str) -> None:
        super().__init__(f"{venue}: {message}")
        self.venue = venue
        self.message = message


class OrderRejected(VenueError):
    """The venue refused the order: nothing was placed."""

    def __init__(self, venue: str, message: str, code: str | None = None) -> None:
        super().__init__(venue, message)
        self.code = code


class InsufficientBalance(OrderRejected):
    """Rejected for lack of funds."""


class OrderUnknown(VenueError):
    """The outcome of a send is unknown: the order may or may not exist. Look it up."""

    def __init__(
        self,
        venue: str,
        message: str,
        client_order_id: str | None = None,
        venue_order_id: str | None = None,
    ) -> None:
        super().__init__(venue, message)
        self.client_order_id = client_order_id
        self.venue_order_id = venue_order_id


class RateLimited(VenueError):
    """The venue throttled us (HTTP 429): back off."""

    def __init__(self, venue: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(venue, message)
        self.retry_after = retry_after


class AuthFailed(VenueError):
    """Credentials rejected (401/403 or bad signature): stop; a retry will not help."""


class VenueUnavailable(VenueError):
    """A read failed for a transient reason (5xx, timeout, connection): retry later."""


class OrderNotFound(VenueError):
    """The venue has no order under that id."""


class SequenceGap(VenueError):
    """A book stream skipped a message; the local book is untrusted until resnapshot."""

    def __init__(self, venue: str, expected: int, got: int) -> None:
        super().__init__(venue, f"sequence gap: expected {expected}, got {got}")
        self.expected = expected
        self.got = got


class MissingCredentials(VenueError):
    """Live mode cannot start: lists the missing environment variables (names only)."""

    def __init__(self, venue: str, missing: list[str]) -> None:
        super().__init__(venue, "missing credentials: " + ", ".join(missing))
        self.missing = list(missing)


class LeaseLost(RuntimeError):
    """This process does not (or no longer) hold the trading lease: it sends nothing new,
    and the database refuses its attempt writes (the fence)."""
