"""The books: cash that moved on each venue, as our records tell it.

Money rule: every dollar that moves on a venue account is one of

* a **fill** of one of our orders (``order_fills``: quantity, price and the fee the venue
  charged, in the leg's own terms): a buy takes ``price × quantity + fee`` out, a sell
  brings ``price × quantity − fee`` in;
* a **cash entry** (:class:`CashEntry`): a settlement payout or redemption credited for
  contracts we held, or a transfer (deposit, withdrawal, interest) that is not trading.

So, per venue, ``cash now − cash at start − transfers`` must equal the sum of our fills'
and settlements' cash flows; whatever is left over is the ``difference`` the books report.
Realised P&L on a venue is that cash flow plus the cost of what is still held there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from worker.domain.markets import Venue
from worker.domain.marks import HoldingAtMark
from worker.domain.orders import Fill, OrderAction


class CashKind(StrEnum):
    SETTLEMENT = "settlement"  # a payout for contracts held when their market resolved
    MANUAL = "manual"  # what the operator reports stranded contracts brought in by hand
    TRANSFER = "transfer"  # deposit, withdrawal, interest: not trading


@dataclass(frozen=True, slots=True)
class CashEntry:
    """Cash that moved on ``venue`` outside a fill; ``ref`` makes recording it idempotent."""

    venue: Venue
    kind: CashKind
    ref: str
    amount: Decimal  # + into the account
    at: datetime
    note: str | None = None
    attempt_id: str | None = None
    #: The contract a settlement paid for (what a venue that pays on redemption lists as
    #: redeemable until it is redeemed).
    contract_id: str | None = None
    #: False while the payout is owed: resolved, to redeem (Polymarket pays a resolved
    #: position only when it is redeemed).
    received: bool = True


def trade_cash(action: OrderAction, price: Decimal, quantity: Decimal, fee: Decimal) -> Decimal:
    """The cash a fill moved: out for a buy (with its fee), in for a sell (less its fee)."""
    notional = price * quantity
    if action is OrderAction.BUY:
        return -(notional + fee)
    return notional - fee


def fill_cash(fill: Fill) -> Decimal:
    return trade_cash(fill.action, fill.price, fill.size, fill.fee)


@dataclass(frozen=True, slots=True)
class LedgerFill:
    """A stored fill of one of our legs (``order_fills``), in the leg's terms."""

    venue: Venue
    action: OrderAction
    price: Decimal
    quantity: Decimal
    fee: Decimal
    filled_at: datetime
    leg_id: str | None

    @property
    def cash(self) -> Decimal:
        return trade_cash(self.action, self.price, self.quantity, self.fee)


@dataclass(frozen=True, slots=True)
class Opening:
    """The cash a venue account held when our records of it began."""

    amount: Decimal
    at: datetime


# --- the books as reported (``books`` of init, balance_update and /api/status) ------------


@dataclass(frozen=True, slots=True)
class VenueBooksFigures:
    """One venue's books: ``cash`` is what it reports now (None, with ``cash_error``,
    when not read), ``difference`` what our records do not explain (None while the cash
    or the opening is unknown)."""

    venue: Venue
    cash_at_start: Decimal | None
    cash: Decimal | None
    cash_error: str | None
    open_cost: Decimal
    realised: Decimal
    fees: Decimal
    settlements: Decimal
    to_redeem: Decimal
    other_movements: Decimal
    difference: Decimal | None
    #: The legs held there at their marks (:mod:`worker.domain.marks`), None while one has
    #: no mark (``unmarked`` says how many); unrealised = at_mark − open_cost; equity =
    #: cash + at_mark + to_redeem.
    at_mark: Decimal | None = None
    unmarked: int = 0
    unrealised: Decimal | None = None
    equity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BooksTotals:
    """The venues' figures added up; a sum is None when one venue's part is unknown."""

    cash_at_start: Decimal | None
    cash: Decimal | None
    open_cost: Decimal | None
    to_redeem: Decimal | None
    realised: Decimal
    fees: Decimal | None
    other_movements: Decimal | None
    difference: Decimal | None
    #: Every holding at mark, hedged pairs at $1 (so more than the venues' sum by what the
    #: hedges are worth); unrealised = at_mark − open_cost; equity = cash + at_mark + to_redeem.
    at_mark: Decimal | None = None
    unrealised: Decimal | None = None
    equity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PayoutToRedeem:
    """A payout won but not paid yet: the operator redeems it at the venue."""

    venue: Venue
    amount: Decimal
    what: str | None
    attempt_id: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class BooksFigures:
    """The books: per venue, in total, and what the trade log says beside them."""

    venues: Mapping[Venue, VenueBooksFigures]
    total: BooksTotals
    locked_edge: Decimal
    resolved_to_redeem: Decimal
    to_redeem: tuple[PayoutToRedeem, ...]
    realised_today: Decimal
    realised_all_time: Decimal
    in_flight: int
    agrees: bool
    #: Each holding (open position or stranded leg) with its legs' marks and value.
    positions: tuple[HoldingAtMark, ...] = ()
    #: A mark older than this is no mark (``EXECUTOR_MAX_BOOK_AGE_MS``).
    mark_max_age_ms: int | None = None
