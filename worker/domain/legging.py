"""Legging risk: the chance that the second leg does not fill at its quoted price, and what
that costs, priced into an opportunity's edge.

An attempt buys leg 1 (FOK) and then leg 2 (IOC). Leg 2's book may have moved by the time
its order arrives (leg 1's round trip plus its own latency): then the attempt hedges at a
worse price or unwinds leg 1. The *locked* edge ignores that; the *expected* edge is::

    expected edge = locked edge − P(leg 2 fails) × expected cost per contract × contracts

Estimates are kept per cell: leg 2's venue, the league, leg 2's price band and the size
relative to leg 2's top level's depth (:func:`cell_of`). Each cell counts samples (moments
at which leg 2 was sent, or could have been: from recorded books and from our own fills),
failures, and the summed cost of the failures (per contract, dollars: the cheaper of
hedging at the worse price and unwinding leg 1).

Shrinkage: a cell with fewer than :data:`MIN_SAMPLES` samples is pulled toward its venue's
pooled estimate (every cell of that venue), with weight ``n / MIN_SAMPLES`` on the cell's
own rate and the rest on the pool's; a venue pool that is itself sparse is pulled the same
way toward the pool of every venue. The cost is observed only on failures, so its weight
is ``failures / MIN_SAMPLES``. A cell with no sample at all takes the pool's figures; with
no data anywhere the probability is 0 and the expected edge is the locked edge.

Everything here is Decimal (a probability too: it multiplies money) and pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from worker.domain.mapping import Leg, LeggingQuote
from worker.domain.markets import Venue
from worker.domain.money import ONE, ZERO

#: Below this many samples a cell is shrunk toward its pool.
MIN_SAMPLES = 30
#: Upper bounds of leg 2's price bands (dollars per contract); the last band ends at 1.
PRICE_BANDS: tuple[Decimal, ...] = (Decimal("0.2"), Decimal("0.4"), Decimal("0.6"), Decimal("0.8"), ONE)
#: Upper bounds of the size ÷ leg 2's top-level depth bands; above the last: "gt1".
DEPTH_BANDS: tuple[Decimal, ...] = (Decimal("0.25"), Decimal("0.5"), ONE)
#: The league of a pooled estimate (a venue's pool, or every venue's).
POOLED = "*"
#: z for the 95 % Wilson interval of a cell's raw failure rate.
_Z = Decimal("1.96")
_P_STEP = Decimal("0.000001")
_MONEY_STEP = Decimal("0.000001")
HUNDRED = Decimal(100)
ROI_STEP = Decimal("0.0001")


#: How reliable a venue is for sending first: the least reliable leg goes first, so a
#: failure there costs nothing. Polymarket has no idempotency key (an unknown order can
#: only be looked up), Kalshi has one.
VENUE_RELIABILITY = {Venue.POLYMARKET_US: 1, Venue.POLYMARKET: 2, Venue.KALSHI: 3}


def leg_order(kalshi: Leg, poly: Leg, kalshi_depth: Decimal | None, poly_depth: Decimal | None) -> tuple[Leg, Leg]:
    """(first, second): the thinner leg first when both depths (contracts up to each leg's
    limit) are known and differ, else the less reliable venue first. Leg 2 is the one whose
    failure legs the attempt."""
    if kalshi_depth is not None and poly_depth is not None and kalshi_depth != poly_depth:
        return (kalshi, poly) if kalshi_depth < poly_depth else (poly, kalshi)
    rk, rp = VENUE_RELIABILITY[kalshi.contract.venue], VENUE_RELIABILITY[poly.contract.venue]
    return (kalshi, poly) if rk < rp else (poly, kalshi)


def price_band(price: Decimal) -> str:
    """``"0.40-0.60"``: the band of leg 2's price (a price on a boundary is in the lower band)."""
    low = ZERO
    for high in PRICE_BANDS:
        if price <= high:
            return f"{low:.2f}-{high:.2f}"
        low = high
    return f"{PRICE_BANDS[-2]:.2f}-{PRICE_BANDS[-1]:.2f}"


def depth_band(size: Decimal, top_depth: Decimal | None) -> str:
    """``"le0.25"``, ``"le0.5"``, ``"le1"`` or ``"gt1"``: ``size`` relative to the depth of
    leg 2's top level (``gt1`` when that depth is unknown or zero)."""
    if top_depth is None or top_depth <= 0:
        return "gt1"
    ratio = size / top_depth
    for high in DEPTH_BANDS:
        if ratio <= high:
            return f"le{high.normalize()}"
    return "gt1"


@dataclass(frozen=True, slots=True, order=True)
class CellKey:
    """One cell of the estimate: leg 2's venue, the league, leg 2's price band, the size
    relative to leg 2's top-level depth."""

    venue: str  # the venue's value ("kalshi", …), or POOLED
    league: str
    price_band: str
    depth_band: str


def cell_of(venue: Venue | str, league: str, price: Decimal, size: Decimal, top_depth: Decimal | None) -> CellKey:
    return CellKey(str(getattr(venue, "value", venue)), league, price_band(price), depth_band(size, top_depth))


@dataclass(frozen=True, slots=True)
class CellCount:
    """What was observed in one cell: samples, failures among them, and the sum of the
    failures' costs (dollars per contract)."""

    samples: int = 0
    failures: int = 0
    cost_sum: Decimal = ZERO

    def __add__(self, other: CellCount) -> CellCount:
        return CellCount(self.samples + other.samples, self.failures + other.failures, self.cost_sum + other.cost_sum)

    @property
    def rate(self) -> Decimal:
        return Decimal(self.failures) / Decimal(self.samples) if self.samples else ZERO

    @property
    def mean_cost(self) -> Decimal:
        return self.cost_sum / Decimal(self.failures) if self.failures else ZERO


def wilson_interval(failures: int, samples: int) -> tuple[Decimal, Decimal]:
    """The 95 % Wilson score interval of a failure rate (``(0, 1)`` with no sample)."""
    if samples <= 0:
        return ZERO, ONE
    n, p = Decimal(samples), Decimal(failures) / Decimal(samples)
    z2 = _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z * ((p * (1 - p) / n + z2 / (4 * n * n)).sqrt()) / (1 + z2 / n)
    return max(ZERO, centre - half).quantize(_P_STEP), min(ONE, centre + half).quantize(_P_STEP)


@dataclass(frozen=True, slots=True)
class LeggingEstimate:
    """A cell's estimate: its counts, its raw rate and cost, and the figures used (after
    shrinkage). ``weight`` is the share of the cell's own rate in ``p_fail``."""

    key: CellKey
    samples: int
    failures: int
    raw_p_fail: Decimal
    raw_cost: Decimal
    p_fail: Decimal
    cost: Decimal
    weight: Decimal
    ci_low: Decimal
    ci_high: Decimal


def _shrink(own: Decimal, n: int, pool: Decimal) -> tuple[Decimal, Decimal]:
    """(value, weight): ``own`` from ``n`` observations pulled toward ``pool`` when n < 30."""
    weight = min(ONE, Decimal(n) / MIN_SAMPLES)
    return weight * own + (ONE - weight) * pool, weight


def _estimate(key: CellKey, c: CellCount, pool: LeggingEstimate | None) -> LeggingEstimate:
    pool_p = pool.p_fail if pool is not None else c.rate
    pool_cost = pool.cost if pool is not None else c.mean_cost
    p, weight = _shrink(c.rate, c.samples, pool_p)
    cost, _ = _shrink(c.mean_cost, c.failures, pool_cost)
    low, high = wilson_interval(c.failures, c.samples)
    return LeggingEstimate(
        key=key,
        samples=c.samples,
        failures=c.failures,
        raw_p_fail=c.rate.quantize(_P_STEP),
        raw_cost=c.mean_cost.quantize(_MONEY_STEP),
        p_fail=p.quantize(_P_STEP),
        cost=cost.quantize(_MONEY_STEP),
        weight=weight.quantize(_P_STEP),
        ci_low=low,
        ci_high=high,
    )


@dataclass(frozen=True)
class LeggingTable:
    """Every cell's estimate, each venue's pool and the pool of every venue."""

    cells: Mapping[CellKey, LeggingEstimate]
    pools: Mapping[str, LeggingEstimate]
    overall: LeggingEstimate
    updated_at: datetime | None = None

    def lookup(self, key: CellKey) -> LeggingEstimate:
        """The cell's estimate; an unseen cell's is its venue's pool (or the overall pool)."""
        found = self.cells.get(key)
        if found is not None:
            return found
        return self.pools.get(key.venue, self.overall)

    @property
    def samples(self) -> int:
        return self.overall.samples

    def rows(self) -> list[LeggingEstimate]:
        """Every cell, then each venue's pool, then the overall pool (for display)."""
        return [self.cells[k] for k in sorted(self.cells)] + [self.pools[v] for v in sorted(self.pools)] + [self.overall]


_ALL = CellKey(POOLED, POOLED, POOLED, POOLED)


def build_table(counts: Mapping[CellKey, CellCount], updated_at: datetime | None = None) -> LeggingTable:
    """Shrunk estimates from each cell's counts (see the module's rules)."""
    overall_count = sum(counts.values(), CellCount())
    overall = _estimate(_ALL, overall_count, None)
    by_venue: dict[str, CellCount] = {}
    for key, c in counts.items():
        by_venue[key.venue] = by_venue.get(key.venue, CellCount()) + c
    pools = {
        venue: _estimate(CellKey(venue, POOLED, POOLED, POOLED), c, overall) for venue, c in by_venue.items()
    }
    cells = {key: _estimate(key, c, pools[key.venue]) for key, c in counts.items() if c.samples > 0}
    return LeggingTable(cells=cells, pools=pools, overall=overall, updated_at=updated_at)


EMPTY_TABLE = build_table({})


def merge_counts(*sources: Iterable[tuple[CellKey, CellCount]]) -> dict[CellKey, CellCount]:
    """Counts of several sources (recorded books, our fills) added cell by cell."""
    out: dict[CellKey, CellCount] = {}
    for source in sources:
        for key, c in source:
            out[key] = out.get(key, CellCount()) + c
    return out


def expected_edge(edge: Decimal, contracts: Decimal, estimate: LeggingEstimate) -> Decimal:
    """``edge − P(leg 2 fails) × expected cost × contracts``."""
    return (edge - estimate.p_fail * estimate.cost * contracts).quantize(_MONEY_STEP)


def expected_roi_pct(edge: Decimal, cost: Decimal, contracts: Decimal, estimate: LeggingEstimate) -> Decimal:
    """The expected edge over the cost, in percent (as ``roi_pct``)."""
    if cost <= 0:
        return ZERO
    return (expected_edge(edge, contracts, estimate) / cost * HUNDRED).quantize(ROI_STEP)


def cell_label(key: CellKey) -> str:
    return f"{key.venue}/{key.league}/{key.price_band}/{key.depth_band}"


def quote(
    table: LeggingTable,
    *,
    second_venue: Venue | str,
    league: str,
    second_price: Decimal,
    second_top_depth: Decimal | None,
    contracts: Decimal,
    edge: Decimal,
    cost: Decimal,
) -> LeggingQuote:
    """The legging quote of buying ``contracts`` pairs for ``cost`` that lock ``edge``."""
    key = cell_of(second_venue, league, second_price, contracts, second_top_depth)
    est = table.lookup(key)
    return LeggingQuote(
        second_venue=key.venue,
        cell=cell_label(key),
        samples=est.samples,
        p_fail=est.p_fail,
        cost=est.cost,
        expected_edge=expected_edge(edge, contracts, est),
        expected_roi_pct=expected_roi_pct(edge, cost, contracts, est),
    )
