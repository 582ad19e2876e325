"""The books: does what our records say about the money match each venue's cash?

Per venue (see :mod:`worker.domain.ledger` for the money rule):

* ``trading`` = the cash our fills and settlement payouts moved there (from the ledger:
  the venues' own fills and fees, never estimates);
* ``open_cost`` = what the holdings still open there cost (the net cash paid into
  attempts whose position or stranded leg is not closed yet);
* ``realised`` = ``trading + open_cost``: the cash flows of what is closed;
* ``to_redeem`` = payouts won but not yet paid (a venue that pays a resolved position only
  once it is redeemed): realised, but not in the account yet;
* ``difference`` = ``cash now − cash at start − transfers − (trading − to_redeem)``: zero
  to the cent when every dollar that moved is in our records.

The trade log's realised P&L (our own rows) must equal the venues' realised sum: it is
reported beside it (``trade_log_realised``) so a row that lost or invented a dollar shows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.domain.attempts import (
    IN_FLIGHT,
    AttemptRecord,
    AttemptState,
    AttemptStore,
    LegRecord,
    LegRole,
)
from worker.domain.errors import VenueError
from worker.domain.ledger import (
    BooksFigures,
    BooksTotals,
    CashEntry,
    CashKind,
    PayoutToRedeem,
    VenueBooksFigures,
)
from worker.domain.markets import Venue
from worker.domain.marks import (
    HeldLeg,
    Holding,
    HoldingAtMark,
    MarkSource,
    total_at_mark,
    value_holding,
    value_holdings,
    venue_at_mark,
)
from worker.domain.money import CENT, ZERO
from worker.domain.pnl import held_contracts
from worker.domain.ports import VenuePort
from worker.domain.storage import LedgerStore, TradeStore

log = logging.getLogger(__name__)


@dataclass
class VenueBooks:
    venue: str
    cash_at_start: Decimal | None = None
    started_at: datetime | None = None
    cash_now: Decimal | None = None
    cash_error: str | None = None
    trading: Decimal = ZERO
    settlements: Decimal = ZERO
    manual: Decimal = ZERO
    transfers: Decimal = ZERO
    open_cost: Decimal = ZERO
    fees: Decimal = ZERO
    to_redeem: Decimal = ZERO

    @property
    def realised(self) -> Decimal:
        return self.trading + self.open_cost

    @property
    def difference(self) -> Decimal | None:
        if self.cash_now is None or self.cash_at_start is None:
            return None
        return self.cash_now - self.cash_at_start - self.transfers - (self.trading - self.to_redeem)

    @property
    def agrees(self) -> bool:
        diff = self.difference
        return diff is not None and abs(diff) < CENT / 2

    def wire(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "cash_at_start": self.cash_at_start,
            "cash": self.cash_now,
            "cash_error": self.cash_error,
            "open_cost": self.open_cost,
            "realised": self.realised,
            "fees": self.fees,
            "settlements": self.settlements + self.manual,
            "to_redeem": self.to_redeem,
            "other_movements": self.transfers,
            "difference": self.difference,
        }


@dataclass
class Books:
    venues: dict[Venue, VenueBooks]
    trade_log_realised: Decimal
    realised_today: Decimal
    locked_edge: Decimal
    in_flight: int
    redeem: list[CashEntry] = field(default_factory=list)
    #: What each holding attempt still holds; ``valued`` is them at the last marks
    #: (:meth:`at_marks`), None until valued.
    holdings: list[Holding] = field(default_factory=list)
    valued: list[HoldingAtMark] | None = None
    mark_max_age_ms: int | None = None

    @property
    def at_mark(self) -> list[HoldingAtMark]:
        """The holdings as last valued; before any marks, hedged pairs at $1 and every
        other contract without a mark."""
        if self.valued is not None:
            return self.valued
        return [value_holding(h, {}) for h in self.holdings]

    def at_marks(self, source: MarkSource | None, now: datetime, max_age_ms: int) -> Books:
        """These books with the holdings valued at ``source``'s marks as of ``now``."""
        valued = value_holdings(self.holdings, source, now, timedelta(milliseconds=max_age_ms))
        return replace(self, valued=valued, mark_max_age_ms=max_age_ms)

    def _venue_marks(self, b: VenueBooks, held: list[HoldingAtMark]) -> dict[str, Any]:
        at_mark, unmarked = venue_at_mark(held, Venue(b.venue))
        return {
            "at_mark": at_mark,
            "unmarked": unmarked,
            "unrealised": None if at_mark is None else at_mark - b.open_cost,
            "equity": _plus(b.cash_now, at_mark, b.to_redeem),
        }

    def _total_marks(self, total: Mapping[str, Any], held: list[HoldingAtMark]) -> dict[str, Any]:
        at_mark = total_at_mark(held)
        open_cost = total["open_cost"]
        return {
            "at_mark": at_mark,
            "unrealised": None if at_mark is None or open_cost is None else at_mark - open_cost,
            "equity": _plus(total["cash"], at_mark, total["to_redeem"]),
        }

    @property
    def to_redeem(self) -> Decimal:
        return sum((e.amount for e in self.redeem), ZERO)

    @property
    def agrees(self) -> bool:
        return all(v.agrees for v in self.venues.values()) and self.trade_log_agrees

    @property
    def trade_log_agrees(self) -> bool:
        venues_realised = sum((v.realised for v in self.venues.values()), ZERO)
        return abs(venues_realised - self.trade_log_realised) < CENT / 2

    def total(self) -> dict[str, Any]:
        def add(name: str) -> Decimal | None:
            values = [getattr(v, name) for v in self.venues.values()]
            if any(x is None for x in values):
                return None
            return sum(values, ZERO)

        diffs = [v.difference for v in self.venues.values()]
        known = [d for d in diffs if d is not None]
        return {
            "cash_at_start": add("cash_at_start"),
            "cash": add("cash_now"),
            "open_cost": add("open_cost"),
            "to_redeem": add("to_redeem"),
            "realised": sum((v.realised for v in self.venues.values()), ZERO),
            "fees": add("fees"),
            "other_movements": add("transfers"),
            "difference": sum(known, ZERO) if len(known) == len(diffs) else None,
        }

    def figures(self) -> BooksFigures:
        """The ``books`` of ``init``, ``balance_update`` and ``/api/status``, typed (the
        same figures as :meth:`wire`)."""
        total = self.total()
        held = self.at_mark
        return BooksFigures(
            venues={
                v: VenueBooksFigures(
                    venue=Venue(b.venue),
                    cash_at_start=b.cash_at_start,
                    cash=b.cash_now,
                    cash_error=b.cash_error,
                    open_cost=b.open_cost,
                    realised=b.realised,
                    fees=b.fees,
                    settlements=b.settlements + b.manual,
                    to_redeem=b.to_redeem,
                    other_movements=b.transfers,
                    difference=b.difference,
                    **self._venue_marks(b, held),
                )
                for v, b in self.venues.items()
            },
            total=BooksTotals(**total, **self._total_marks(total, held)),
            locked_edge=self.locked_edge,
            resolved_to_redeem=self.to_redeem,
            to_redeem=tuple(PayoutToRedeem(e.venue, e.amount, e.note, e.attempt_id, e.at) for e in self.redeem),
            realised_today=self.realised_today,
            realised_all_time=self.trade_log_realised,
            in_flight=self.in_flight,
            agrees=self.agrees,
            positions=tuple(held),
            mark_max_age_ms=self.mark_max_age_ms,
        )

    def wire(self) -> dict[str, Any]:
        """The ``books`` figures of ``init``, ``balance_update`` and ``/api/status``."""
        total = self.total()
        held = self.at_mark
        return {
            "venues": {v.value: {**b.wire(), **self._venue_marks(b, held)} for v, b in self.venues.items()},
            "total": {**total, **self._total_marks(total, held)},
            "locked_edge": self.locked_edge,
            "resolved_to_redeem": self.to_redeem,
            "to_redeem": [
                {"venue": e.venue.value, "amount": e.amount, "what": e.note, "attempt_id": e.attempt_id,
                 "since": e.at}
                for e in self.redeem
            ],
            "realised_today": self.realised_today,
            "realised_all_time": self.trade_log_realised,
            "in_flight": self.in_flight,
            "agrees": self.agrees,
            "positions": [_holding_wire(h) for h in held],
            "mark_max_age_ms": self.mark_max_age_ms,
        }


def _plus(*parts: Decimal | None) -> Decimal | None:
    """A sum, None when a part is unknown."""
    if any(p is None for p in parts):
        return None
    return sum((p for p in parts if p is not None), ZERO)


def _holding_wire(h: HoldingAtMark) -> dict[str, Any]:
    return {
        "attempt_id": h.attempt_id,
        "position_id": h.position_id,
        "cost": h.cost,
        "hedged": h.hedged,
        "value": h.value,
        "unrealised": h.unrealised,
        "legs": [
            {"venue": g.venue.value, "contract_id": g.contract_id, "side": g.side, "label": g.label,
             "quantity": g.quantity, "bid": g.bid, "at": g.at}
            for g in h.legs
        ],
    }


def _stranded_open(attempt: AttemptRecord) -> bool:
    """Does the attempt hold a stranded leg (STRANDED, or resolved to be settled with its
    market and not settled yet)?"""
    if attempt.state is AttemptState.STRANDED:
        return True
    return bool(
        attempt.state is AttemptState.RESOLVED
        and attempt.details.get("settle_at_resolution")
        and not attempt.details.get("stranded_settled")
    )


def _open(attempt: AttemptRecord, open_positions: set[str]) -> bool:
    """Does the attempt still hold something (an open position or a stranded leg)?"""
    if attempt.position_id is not None and attempt.position_id in open_positions:
        return True
    return _stranded_open(attempt)


def _holding(attempt: AttemptRecord, open_positions: set[str], cost: Mapping[Venue, Decimal]) -> Holding:
    """The contracts an attempt still holds: its open position's (the hedged pairs less
    what closing sold) and its stranded leg's."""
    held: dict[str, tuple[LegRecord, Decimal]] = {}
    pairs = ZERO
    if attempt.position_id is not None and attempt.position_id in open_positions:
        in_position = held_contracts(attempt)
        held = {leg.id: (leg, q) for leg, q in in_position}
        if len(in_position) == 2:
            pairs = min(q for _, q in in_position)
    leg1 = attempt.leg(LegRole.LEG1)
    if leg1 is not None and _stranded_open(attempt):
        extra = attempt.leg1_open_quantity()
        held[leg1.id] = (leg1, held.get(leg1.id, (leg1, ZERO))[1] + extra)
    legs = tuple(HeldLeg(leg.contract, leg.label, q) for leg, q in held.values() if q > 0)
    return Holding(attempt.id, attempt.position_id if pairs > 0 else None, legs, pairs, dict(cost))


class BooksKeeper:
    """Computes :class:`Books` from our records and the venues' balances."""

    def __init__(
        self,
        ledger: LedgerStore,
        attempts: AttemptStore,
        trades: TradeStore,
        venues: Mapping[Venue, VenuePort],
    ) -> None:
        self.ledger = ledger
        self.attempts = attempts
        self.trades = trades
        self.venues = dict(venues)
        # Venues whose opening is stored: a balance read after that writes nothing.
        self._opened: set[Venue] = set()

    async def record_opening(self, venue: Venue, cash: Decimal, at: datetime) -> None:
        """The first balance read of a venue starts its books."""
        if venue in self._opened:
            return
        if await self.ledger.set_opening(venue, cash, at):
            log.info("books of %s start at %s (%s)", venue.value, cash, at.isoformat())
        self._opened.add(venue)

    async def record_transfer(self, venue: Venue, amount: Decimal, note: str, ref: str, at: datetime) -> None:
        await self.ledger.record_cash([CashEntry(venue, CashKind.TRANSFER, ref, amount, at, note)])

    async def books(self, day_start: datetime | None = None, cash: Mapping[Venue, Decimal] | None = None) -> Books:
        """The books now; ``cash`` is each venue's cash just read (else read here)."""
        openings = await self.ledger.openings()
        venues = {v: VenueBooks(v.value) for v in self.venues}
        for v, b in venues.items():
            if v in openings:
                b.cash_at_start, b.started_at = openings[v].amount, openings[v].at
            if cash is not None:
                b.cash_now = cash.get(v)
                if b.cash_now is None:
                    b.cash_error = "balance not read"
                continue
            try:
                b.cash_now = (await self.venues[v].balance()).available
            except VenueError as exc:
                b.cash_error = exc.message
        attempts = await self.attempts.list_all()
        leg_attempt = {g.id: a for a in attempts for g in a.legs}
        open_positions = {p.id for p in await self.trades.list_positions("open")}
        holding = {a.id for a in attempts if _open(a, open_positions)}
        in_flight = sum(1 for a in attempts if a.state in IN_FLIGHT)
        # Per holding attempt and venue, the net cash paid into it (its part of open_cost).
        paid: dict[str, dict[Venue, Decimal]] = {a: {} for a in holding}
        for f in await self.ledger.fills():
            b = venues.setdefault(f.venue, VenueBooks(f.venue.value))
            b.trading += f.cash
            b.fees += f.fee
            owner = leg_attempt.get(f.leg_id or "")
            if owner is not None and owner.id in holding:
                b.open_cost -= f.cash
                paid[owner.id][f.venue] = paid[owner.id].get(f.venue, ZERO) - f.cash
        redeem: list[CashEntry] = []
        for e in await self.ledger.cash():
            b = venues.setdefault(e.venue, VenueBooks(e.venue.value))
            if not e.received:
                b.to_redeem += e.amount
                redeem.append(e)
            if e.kind is CashKind.TRANSFER:
                b.transfers += e.amount
                continue
            b.trading += e.amount
            if e.kind is CashKind.SETTLEMENT:
                b.settlements += e.amount
            else:
                b.manual += e.amount
            if e.attempt_id is not None and e.attempt_id in holding:
                b.open_cost -= e.amount
                paid[e.attempt_id][e.venue] = paid[e.attempt_id].get(e.venue, ZERO) - e.amount
        locked = ZERO
        for a in attempts:
            if a.position_id not in open_positions:
                continue
            leg1, leg2 = a.leg(LegRole.LEG1), a.leg(LegRole.LEG2)
            if leg1 is None or leg2 is None:
                continue
            position = await self.trades.get_position(a.position_id or "")
            if position is not None and position.cost is not None:
                locked += min(leg1.filled, leg2.filled) - position.cost
        return Books(
            venues=venues,
            trade_log_realised=await self.ledger.realised(),
            realised_today=await self.ledger.realised(day_start) if day_start is not None else ZERO,
            locked_edge=locked,
            in_flight=in_flight,
            redeem=redeem,
            holdings=[_holding(a, open_positions, paid[a.id]) for a in attempts if a.id in holding],
        )
