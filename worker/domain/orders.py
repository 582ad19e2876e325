"""Order intents, orders, fills and the order state machine.

The lifecycle is an explicit transition table (:data:`TRANSITIONS`); :meth:`Order.apply`
refuses anything not in it with :class:`IllegalTransition`, so a bug or a confused venue
reply cannot silently move an order backwards (e.g. FILLED → OPEN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from worker.domain.markets import ContractRef, Venue
from worker.domain.money import ONE, ZERO


class OrderAction(StrEnum):
    BUY = "buy"
    SELL = "sell"


class TimeInForce(StrEnum):
    """GTC rests; IOC fills what it can now and cancels the rest; FOK fills all or nothing."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class OrderState(StrEnum):
    PENDING = "pending"  # built and persisted locally, not yet sent
    SUBMITTED = "submitted"  # on the wire, no answer yet
    UNKNOWN = "unknown"  # the send timed out: may exist, must be looked up
    OPEN = "open"  # resting, nothing filled
    PARTIALLY_FILLED = "partially_filled"  # resting with some filled
    FILLED = "filled"
    CANCELED = "canceled"  # terminal; may carry a partial fill (IOC remainder)
    REJECTED = "rejected"  # terminal; nothing happened
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)

#: Allowed transitions. UNKNOWN may resolve to anything a look-up can show, including
#: REJECTED when the look-up proves the order never reached the book.
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    OrderState.PENDING: frozenset({OrderState.SUBMITTED, OrderState.REJECTED}),
    OrderState.SUBMITTED: frozenset(
        {
            OrderState.OPEN,
            OrderState.PARTIALLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELED,
            OrderState.REJECTED,
            OrderState.EXPIRED,
            OrderState.UNKNOWN,
        }
    ),
    OrderState.UNKNOWN: frozenset(
        {
            OrderState.OPEN,
            OrderState.PARTIALLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELED,
            OrderState.REJECTED,
            OrderState.EXPIRED,
        }
    ),
    OrderState.OPEN: frozenset(
        {
            OrderState.PARTIALLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELED,
            OrderState.EXPIRED,
            OrderState.UNKNOWN,
        }
    ),
    OrderState.PARTIALLY_FILLED: frozenset(
        {
            OrderState.PARTIALLY_FILLED,
            OrderState.FILLED,
            OrderState.CANCELED,
            OrderState.EXPIRED,
            OrderState.UNKNOWN,
        }
    ),
    OrderState.FILLED: frozenset(),
    OrderState.CANCELED: frozenset(),
    OrderState.REJECTED: frozenset(),
    OrderState.EXPIRED: frozenset(),
}


class IllegalTransition(ValueError):
    """An order was asked to move along an edge that is not in :data:`TRANSITIONS`."""


def check_transition(current: OrderState, new: OrderState) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"order cannot go from {current} to {new}")


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What we want to do: buy/sell ``size`` of ``contract`` at worst ``price``.

    ``price`` is in the contract side's own terms (a Kalshi NO at 0.40 costs 0.40).
    ``client_order_id`` is ours: Kalshi makes retries idempotent with it; for the
    Polymarkets it is only our bookkeeping key.
    """

    contract: ContractRef
    action: OrderAction
    price: Decimal
    size: Decimal
    tif: TimeInForce
    client_order_id: str

    def __post_init__(self) -> None:
        if not (ZERO < self.price < ONE):
            raise ValueError(f"price {self.price} must be inside (0, 1)")
        if self.size <= 0:
            raise ValueError("size must be positive")
        if not self.client_order_id:
            raise ValueError("client_order_id is required")

    @property
    def venue(self) -> Venue:
        return self.contract.venue

    @property
    def notional(self) -> Decimal:
        return self.price * self.size


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """An intent made ready to send, with the venue order id when it is known up front.

    Polymarket's order id is the EIP-712 order hash, known before sending: persist it
    write-ahead so an order that times out can still be looked up. Kalshi and Polymarket
    US assign ids on acceptance (``venue_order_id`` is None; Kalshi is found by client id).
    ``body`` is the exact request body to send (signed where the venue signs orders).
    """

    intent: OrderIntent
    venue_order_id: str | None
    body: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. De-duplicate by ``(venue, fill_id)``."""

    venue: Venue
    fill_id: str
    venue_order_id: str
    contract: ContractRef
    action: OrderAction
    price: Decimal
    size: Decimal
    fee: Decimal
    ts: datetime
    is_taker: bool = True
    client_order_id: str | None = None


def apportion_fee(fills: Sequence[Fill], total: Decimal) -> list[Fill]:
    """``fills`` with their fees made to add up to ``total``, the order's own fee.

    Venues that report the fee per order (Kalshi's ``taker_fees_dollars``, Polymarket US's
    ``commissionNotionalTotalCollected``) round once per order, so per-fill figures may
    not add up to it: the order's figure is what left the account, and the difference goes
    on the last fill.
    """
    out = list(fills)
    if not out or total <= 0:
        return out  # an order that reports no fee: the fills' own fees stand
    gap = total - sum((f.fee for f in out), ZERO)
    if gap:
        out[-1] = replace(out[-1], fee=out[-1].fee + gap)
    return out


@dataclass(frozen=True, slots=True)
class Order:
    """The venue's view of one order: a snapshot that moves only along :data:`TRANSITIONS`."""

    venue: Venue
    venue_order_id: str | None
    client_order_id: str | None
    contract: ContractRef
    action: OrderAction
    price: Decimal
    size: Decimal
    tif: TimeInForce
    state: OrderState
    filled_size: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    fee_paid: Decimal = ZERO
    updated_at: datetime | None = None
    fills: tuple[Fill, ...] = ()

    def __post_init__(self) -> None:
        if self.filled_size < 0 or self.filled_size > self.size:
            raise ValueError(f"filled {self.filled_size} outside [0, {self.size}]")

    @property
    def remaining(self) -> Decimal:
        return self.size - self.filled_size

    @property
    def cost(self) -> Decimal:
        """Cash spent on fills (before fees)."""
        if self.avg_fill_price is None:
            return ZERO
        return self.avg_fill_price * self.filled_size

    def apply(self, new: Order) -> Order:
        """Move to the venue's newer snapshot ``new``; illegal moves raise.

        A same-state refresh is allowed only if it does not un-fill anything.
        """
        if new.state != self.state:
            check_transition(self.state, new.state)
        if new.filled_size < self.filled_size:
            raise IllegalTransition("filled size cannot decrease")
        return new

    def transition(self, state: OrderState, **changes: object) -> Order:
        check_transition(self.state, state)
        return replace(self, state=state, **changes)  # type: ignore[arg-type]

    @staticmethod
    def from_intent(intent: OrderIntent, venue_order_id: str | None = None) -> Order:
        return Order(
            venue=intent.venue,
            venue_order_id=venue_order_id,
            client_order_id=intent.client_order_id,
            contract=intent.contract,
            action=intent.action,
            price=intent.price,
            size=intent.size,
            tif=intent.tif,
            state=OrderState.PENDING,
        )


@dataclass(frozen=True, slots=True)
class Balance:
    """Cash on one venue, in dollars. ``available`` excludes funds held by resting orders."""

    venue: Venue
    available: Decimal
    total: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Contracts held on one venue contract side (positive = long that side)."""

    venue: Venue
    contract: ContractRef
    size: Decimal
    avg_price: Decimal | None = None
