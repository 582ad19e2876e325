"""The venue port: what the engine needs from an exchange, whatever the exchange.

Implemented by the live clients in ``worker.venues.*`` (which also serve paper mode,
pointed at the paper exchange). Errors are those of :mod:`worker.domain.errors`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from worker.domain.books import OrderBook
from worker.domain.discovery import ListingRefusal
from worker.domain.markets import ContractRef, League, Market, MarketResolution, Venue
from worker.domain.orders import Balance, Fill, Order, OrderIntent, Position, PreparedOrder


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """A book as a stream delivers it.

    ``snapshot`` is True for a full book (first one, after a reconnect, after a gap);
    after a gap or reconnect the stream always sends a snapshot before any delta-based
    book, so every book it yields can be trusted. ``venue_ts`` is the venue's own time of
    the update where its message carries one (Polymarket ``timestamp``, Polymarket US
    ``transactTime``; Kalshi numbers its messages instead: ``book.sequence``); a recording
    keeps it.
    """

    book: OrderBook
    snapshot: bool
    venue_ts: datetime | None = None


@runtime_checkable
class ListingRefusalSource(Protocol):
    """A venue client that tells which markets its last ``list_markets`` left out, and why
    (markets it could not read; the rest of the listing was returned)."""

    def listing_refusals(self) -> Sequence[ListingRefusal]: ...


@runtime_checkable
class VenuePort(Protocol):
    """One exchange account.

    Concurrency/money rules: ``send_order`` is never retried automatically unless the
    venue has an idempotency key (Kalshi ``client_order_id``); a timeout raises
    :class:`~worker.domain.errors.OrderUnknown` and the caller looks the order up.
    """

    @property
    def venue(self) -> Venue: ...

    async def list_markets(self, leagues: Sequence[League] | None = None) -> list[Market]:
        """Open sports markets (optionally only these leagues)."""
        ...

    async def get_book(self, contract: ContractRef) -> OrderBook:
        """A fresh REST snapshot of one contract side's book (with ``received_at``)."""
        ...

    def stream_books(self, contracts: Sequence[ContractRef]) -> AsyncIterator[BookUpdate]:
        """Live books; gaps and reconnects are healed with a snapshot before any update."""
        ...

    async def prepare_order(self, intent: OrderIntent) -> PreparedOrder:
        """Build (and sign) the order; Polymarket returns its order hash as the id."""
        ...

    async def send_order(self, prepared: PreparedOrder) -> Order:
        """Send once. Raises OrderRejected, OrderUnknown, RateLimited or AuthFailed."""
        ...

    async def place_order(self, intent: OrderIntent) -> Order:
        """``prepare_order`` then ``send_order``."""
        ...

    async def get_order(self, venue_order_id: str) -> Order:
        """Look an order up by the venue's id; raises OrderNotFound."""
        ...

    async def find_order(self, intent: OrderIntent) -> Order | None:
        """Find the order an intent produced (by client id, hash, or market + details)."""
        ...

    async def cancel_order(self, venue_order_id: str) -> Order:
        ...

    async def balance(self) -> Balance:
        ...

    async def positions(self) -> list[Position]:
        ...

    async def fills(self, since: datetime | None = None) -> list[Fill]:
        ...

    async def order_fills(self, venue_order_id: str, since: datetime | None = None) -> list[Fill]:
        """The venue's own fills of one order, each with the fee it charged.

        The fees add up to what the venue charged for the order (where a venue reports the
        fee per order, it is apportioned over the fills). The books are built from these.
        """
        ...

    async def redeemable(self) -> Mapping[str, Decimal] | None:
        """Resolved holdings whose payout waits to be redeemed (contract id → quantity), or
        None for a venue that pays cash at settlement (nothing to redeem there)."""
        ...

    async def resolution(self, contract: ContractRef) -> MarketResolution | None:
        """The final result of ``contract``'s market, asked by the id the venue resolves
        by; None while it has not resolved (a position held there keeps waiting)."""
        ...

    async def aclose(self) -> None:
        ...
