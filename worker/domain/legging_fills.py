"""Legging counts from our own fills: each attempt whose leg 2 was sent is one sample.

The sample's cell (:func:`worker.domain.legging.cell_of`) is leg 2's venue, the mapping's
league, leg 2's best ask at the decision (``details["leg2_top_price"]``, as the pricer
reads its cell; else its quoted price), the attempt's contracts and leg 2's top-level
depth at the decision (``details["leg2_top_depth"]``; unknown: band ``gt1``).

It is a failure when leg 2 did not buy every contract leg 1 bought at or below its
*quoted* price (the opportunity's price of that leg when the attempt was planned,
``details["quoted"]``; leg 2's own ``price`` is replaced by the hedge cap when it is sent). Its cost, dollars per contract of leg 1, floored at 0:

* a hedge at a worse price: ``(leg 2's average − quoted) × hedged``;
* contracts sold back: what they cost (fees included) less what the sale brought in;
* contracts still held (STRANDED, RESOLVED): their whole cost;

summed and divided by leg 1's filled contracts. Attempts still in flight are left out
(their outcome is not known yet). Pure: domain types only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.domain.legging import CellCount, CellKey, cell_of
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.pnl import leg_cost, sale_proceeds

#: The league of an attempt whose mapping is not known.
UNKNOWN_LEAGUE = "unknown"
#: Ended states whose leg 2 may have been sent.
_ENDED = frozenset({AttemptState.HEDGED, AttemptState.ROLLED_BACK, AttemptState.STRANDED, AttemptState.RESOLVED})


def _decimal(raw: object) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        return None


def quoted_price(attempt: AttemptRecord, venue: Venue) -> Decimal | None:
    """The opportunity's price of the leg on ``venue`` when the attempt was planned."""
    quoted = attempt.details.get("quoted") or {}
    return _decimal(quoted.get("kalshi_price" if venue is Venue.KALSHI else "poly_price"))


def _top_depth(attempt: AttemptRecord, top_depths: Mapping[str, Decimal] | None) -> Decimal | None:
    if top_depths is not None and attempt.id in top_depths:
        return top_depths[attempt.id]
    return _decimal(attempt.details.get("leg2_top_depth"))


def fill_sample(attempt: AttemptRecord, league: str, top_depth: Decimal | None = None) -> tuple[CellKey, CellCount] | None:
    """The attempt's sample (its cell, and a count of one sample, failed or not), or None
    when its leg 2 was never sent, it has not ended, or what it quoted is not known."""
    if attempt.state not in _ENDED or AttemptState.LEG2_SENT.value not in attempt.path:
        return None
    leg1, leg2 = attempt.leg(LegRole.LEG1), attempt.leg(LegRole.LEG2)
    if leg1 is None or leg2 is None or leg1.filled <= 0:
        return None
    quoted = quoted_price(attempt, leg2.venue)
    if quoted is None:
        return None
    top_price = _decimal(attempt.details.get("leg2_top_price"))
    price = quoted if top_price is None else top_price
    key = cell_of(leg2.venue, league, price, attempt.contracts, top_depth)
    hedged = min(leg2.filled, leg1.filled)
    worse = ZERO
    if hedged > 0 and leg2.avg_price is not None and leg2.avg_price > quoted:
        worse = (leg2.avg_price - quoted) * hedged
    if hedged >= leg1.filled and worse == 0:
        return key, CellCount(1, 0, ZERO)
    unwinds = attempt.legs_of(LegRole.UNWIND)
    sold = sum((u.filled for u in unwinds), ZERO)
    unwind_loss = leg_cost(leg1, sold) - sale_proceeds(unwinds) if sold > 0 else ZERO
    held = attempt.leg1_open_quantity() if attempt.state in (AttemptState.STRANDED, AttemptState.RESOLVED) else ZERO
    total = worse + unwind_loss + leg_cost(leg1, held)
    return key, CellCount(1, 1, max(total / leg1.filled, ZERO))


def counts_from_attempts(
    attempts: Iterable[AttemptRecord],
    leagues: Mapping[str, str],
    top_depths: Mapping[str, Decimal] | None = None,
) -> dict[CellKey, CellCount]:
    """Every sample of ``attempts`` added up per cell. ``leagues``: mapping id -> league;
    ``top_depths``: attempt id -> leg 2's top-level depth at the decision, where known
    otherwise than from the attempt's details."""
    out: dict[CellKey, CellCount] = {}
    for attempt in attempts:
        league = leagues.get(attempt.mapping_id or "", UNKNOWN_LEAGUE)
        sample = fill_sample(attempt, league, _top_depth(attempt, top_depths))
        if sample is not None:
            key, count = sample
            out[key] = out.get(key, CellCount()) + count
    return out
