"""What open holdings are worth now: each held contract at its *mark* (pure, Decimal).

The **mark** of a held contract is its best bid: what selling it now would bring, before
fees. The contracts of a binary market are complementary (YES and NO of one Kalshi
ticker, the two tokens of a Polymarket market, LONG and SHORT of a Polymarket US market),
so a bid for one at ``p`` is an ask for the other at ``1 − p``: the mark is ``1 −`` the
opposite contract's best ask, which the scanner already holds for both directions of a
mapped pair. A mark is known only while the book it comes from is at most
``max_age`` old; otherwise the contract has *no mark*.

Valuation rules:

* **in total**, a hedged pair pays $1 a contract whichever side wins, so each hedged pair
  is worth $1 and needs no mark; only contracts held beyond the hedge (a stranded leg, the
  excess of a partial hedge not yet sold back) are worth their mark. For a fully hedged
  position the unrealised P&L is therefore its locked edge;
* **per venue**, each leg held there is worth ``quantity × mark`` (what selling it there
  now would bring), so the venues' values add up to less than the total's by what the
  hedge itself is worth;
* a value that needs a mark that is unknown is unknown (``None``): nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from worker.domain.markets import ContractRef, Venue
from worker.domain.money import ZERO


@dataclass(frozen=True, slots=True)
class Mark:
    """A held contract's best bid and when the book it was derived from was received."""

    bid: Decimal
    at: datetime


#: The scanner's marks: the best bid of a contract, ``None`` while no opposite book is held.
MarkSource = Callable[[ContractRef], Mark | None]


@dataclass(frozen=True, slots=True)
class HeldLeg:
    """Contracts of one leg still held (bought, not sold back, not settled)."""

    contract: ContractRef
    label: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Holding:
    """What one attempt still holds: its legs, how many of them form hedged pairs, and
    the net cash paid into it per venue (its part of each venue's ``open_cost``)."""

    attempt_id: str
    position_id: str | None
    legs: tuple[HeldLeg, ...]
    hedged: Decimal
    cost: Mapping[Venue, Decimal]

    @property
    def total_cost(self) -> Decimal:
        return sum(self.cost.values(), ZERO)


@dataclass(frozen=True, slots=True)
class LegAtMark:
    """One held leg with its mark (``bid``/``at`` None: no mark)."""

    venue: Venue
    contract_id: str
    side: str
    label: str
    quantity: Decimal
    bid: Decimal | None
    at: datetime | None

    @property
    def value(self) -> Decimal | None:
        """Held contracts at their bid; None without a mark (zero contracts need none)."""
        if self.quantity == 0:
            return ZERO
        return None if self.bid is None else self.quantity * self.bid


@dataclass(frozen=True, slots=True)
class HoldingAtMark:
    """A holding valued: ``value`` = hedged pairs at $1 + contracts beyond the hedge at
    their mark; ``unrealised`` = value − cost (None when a needed mark is missing)."""

    attempt_id: str
    position_id: str | None
    cost: Decimal
    hedged: Decimal
    value: Decimal | None
    unrealised: Decimal | None
    legs: tuple[LegAtMark, ...]


def mark_of(source: MarkSource | None, contract: ContractRef, now: datetime, max_age: timedelta) -> Mark | None:
    """The contract's mark, or ``None`` when there is none or its book is too old."""
    if source is None:
        return None
    mark = source(contract)
    if mark is None or now - mark.at > max_age:
        return None
    return mark


def value_holding(holding: Holding, marks: Mapping[ContractRef, Mark | None]) -> HoldingAtMark:
    """Value one holding at the given marks (see the module's rules)."""
    legs: list[LegAtMark] = []
    value: Decimal | None = holding.hedged
    for leg in holding.legs:
        mark = marks.get(leg.contract)
        legs.append(
            LegAtMark(
                leg.contract.venue, leg.contract.contract_id, leg.contract.side.value, leg.label, leg.quantity,
                None if mark is None else mark.bid, None if mark is None else mark.at,
            )
        )  # fmt: skip
        beyond = leg.quantity - holding.hedged
        if beyond > 0 and value is not None:
            value = None if mark is None else value + beyond * mark.bid
    cost = holding.total_cost
    return HoldingAtMark(
        holding.attempt_id, holding.position_id, cost, holding.hedged, value,
        None if value is None else value - cost, tuple(legs),
    )  # fmt: skip


def value_holdings(
    holdings: Iterable[Holding], source: MarkSource | None, now: datetime, max_age: timedelta
) -> list[HoldingAtMark]:
    """Every holding at the marks ``source`` gives now."""
    holdings = list(holdings)
    marks = {
        leg.contract: mark_of(source, leg.contract, now, max_age) for h in holdings for leg in h.legs
    }
    return [value_holding(h, marks) for h in holdings]


def venue_at_mark(valued: Iterable[HoldingAtMark], venue: Venue) -> tuple[Decimal | None, int]:
    """A venue's held legs at their marks, and how many of them have no mark (the sum is
    None when one does)."""
    total: Decimal | None = ZERO
    unmarked = 0
    for h in valued:
        for leg in h.legs:
            if leg.venue is not venue:
                continue
            v = leg.value
            if v is None:
                unmarked += 1
                total = None
            elif total is not None:
                total += v
    return total, unmarked


def total_at_mark(valued: Iterable[HoldingAtMark]) -> Decimal | None:
    """Every holding's value (hedged pairs at $1), None when one is unknown."""
    total = ZERO
    for h in valued:
        if h.value is None:
            return None
        total += h.value
    return total
