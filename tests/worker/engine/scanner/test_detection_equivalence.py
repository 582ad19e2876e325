"""The fast detection path gives exactly what the plain, eager computation gives.

The reference below is the scanner's original detection code, kept verbatim in spirit:
it walks the ladders, prices each curve point by taking its size off the books and
charging the fee of that one order with its own fee arithmetic (written from the venues'
documents, not from ``detect.py`` nor ``FeeSchedule``'s methods), re-walks the books for
the chosen size (``_point``) and re-evaluates both directions of every pair a book
touches.
The fast path (per-level fee units, leg figures carried by the walk, direction-level
book slots, skipping unchanged ladders) must agree with it on every value *and* on the
Decimal representation (what goes on the wire), on random ladders in the venues' tick and
size formats, and must publish the same lifecycle events.
"""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.domain.books import OrderBook, PriceLevel, two_sided_from_bids
from worker.domain.fees import FeeModel, FeeSchedule
from worker.domain.mapping import (
    CloseReason,
    Confidence,
    CurvePoint,
    Direction,
    Leg,
    MarketMapping,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
)
from worker.domain.markets import (
    ContractRef,
    League,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    OutcomeSide,
    Venue,
)
from worker.domain.money import CENT, quantize_nearest, quantize_up
from worker.engine.scanner.detect import (
    Pair,
    PairLegs,
    build_pair,
    fee_units,
    opportunity_from_asks,
    walk,
)
from worker.engine.scanner.scanner import Scanner

D = Decimal
ONE, ZERO = D(1), D(0)
HUNDRED = D(100)
ROI_STEP = D("0.0001")
MAX_CURVE_POINTS = 24
NOW = datetime(2026, 1, 11, 18, 0, tzinfo=UTC)
START = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)

# --- the reference: the original eager detection -----------------------------------------

# The reference's own fee arithmetic, from the venues' documents (read 2026-12-06):
# * Kalshi (kalshi.com/docs/kalshi-fee-schedule.pdf, docs.kalshi.com/getting_started/
#   fee_rounding): rate × C × P × (1 − P), rounded up to the cent once per order;
# * Polymarket (docs.polymarket.com/trading/fees): C × rate × (p(1 − p))^exponent per
#   fill (match), 5 decimals, rounded up (the direction is not documented; an estimate
#   must never be below the charge);
# * Polymarket US (docs.polymarket.us/faqs/fees): 30 bps × C × p for a buy, per
#   execution, banker's rounding to the cent.
# One order per leg; a fill per price level it takes.
POLY_STEP = D("0.00001")


def ref_unit(schedule: FeeSchedule, p: Decimal) -> Decimal:
    """Exact fee of buying one contract at ``p`` (also the walk's marginal fee)."""
    if schedule.taker_rate == 0:
        return ZERO
    if schedule.model is FeeModel.KALSHI:
        return schedule.taker_rate * p * (ONE - p)
    if schedule.model is FeeModel.POLYMARKET:
        curve = ONE
        for _ in range(schedule.exponent):
            curve *= p * (ONE - p)
        return schedule.taker_rate * curve
    return schedule.taker_rate * p


def ref_round(schedule: FeeSchedule, exact: Decimal) -> Decimal:
    """To the step (written with the step's exponent, as a venue writes the amount)."""
    if schedule.model is FeeModel.KALSHI:
        return quantize_up(exact, CENT).quantize(CENT)
    if schedule.model is FeeModel.POLYMARKET:
        return quantize_up(exact, POLY_STEP).quantize(POLY_STEP)
    return quantize_nearest(exact, CENT).quantize(CENT)


def ref_fees(schedule: FeeSchedule, fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    """Fee of one order filled as ``(price, count)`` level by level."""
    if schedule.taker_rate == 0:
        return ZERO
    if schedule.model is FeeModel.KALSHI:
        return ref_round(schedule, sum((q * ref_unit(schedule, p) for p, q in fills), ZERO))
    return sum((ref_round(schedule, q * ref_unit(schedule, p)) for p, q in fills), ZERO)


def ref_take(levels: tuple[PriceLevel, ...], size: Decimal) -> list[tuple[Decimal, Decimal]]:
    out: list[tuple[Decimal, Decimal]] = []
    left = size
    for lvl in levels:
        if left <= 0:
            break
        q = lvl.size if lvl.size < left else left
        out.append((lvl.price, q))
        left -= q
    return out


def ref_point(
    size: Decimal,
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fa: FeeSchedule,
    fb: FeeSchedule,
) -> tuple[
    CurvePoint, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], Decimal, Decimal
]:
    fills_a = ref_take(a, size)
    fills_b = ref_take(b, size)
    fee_a = ref_fees(fa, fills_a)
    fee_b = ref_fees(fb, fills_b)
    cost = (
        sum((p * q for p, q in fills_a), ZERO)
        + sum((p * q for p, q in fills_b), ZERO)
        + fee_a
        + fee_b
    )
    edge = size - cost
    roi = (edge / cost * HUNDRED).quantize(ROI_STEP) if cost > 0 else ZERO
    return CurvePoint(size, cost, edge, roi, fills_a[-1][0], fills_b[-1][0]), fills_a, fills_b, fee_a, fee_b


def ref_walk(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
    fa: FeeSchedule,
    fb: FeeSchedule,
    min_size: Decimal = ONE,
) -> tuple[list[CurvePoint], Decimal] | None:
    if not a or not b:
        return None
    pa, pb = a[0].price, b[0].price
    if ONE - pa - pb - ref_unit(fa, pa) - ref_unit(fb, pb) <= 0:
        return None
    i = j = 0
    ra, rb = a[0].size, b[0].size
    cum = notional = ZERO
    curve: list[CurvePoint] = []
    while i < len(a) and j < len(b):
        pa, pb = a[i].price, b[j].price
        if ONE - pa - pb - ref_unit(fa, pa) - ref_unit(fb, pb) <= 0:
            break
        q = ra if ra < rb else rb
        cum += q
        notional += (pa + pb) * q
        ra -= q
        rb -= q
        if cum >= min_size and cum == cum.to_integral_value():
            # Each leg is one order of ``cum`` contracts over the levels it takes.
            cost = notional + ref_fees(fa, ref_take(a, cum)) + ref_fees(fb, ref_take(b, cum))
            edge = cum - cost
            # Each leg's limit: the price of the deepest level the order takes.
            limits = (ref_take(a, cum)[-1][0], ref_take(b, cum)[-1][0])
            curve.append(CurvePoint(cum, cost, edge, (edge / cost * HUNDRED).quantize(ROI_STEP), *limits))
        if ra <= 0:
            i += 1
            if i < len(a):
                ra = a[i].size
        if rb <= 0:
            j += 1
            if j < len(b):
                rb = b[j].size
    size = cum.to_integral_value(rounding=ROUND_FLOOR)
    if size < min_size:
        return None
    if not curve or curve[-1].size != size:
        curve.append(ref_point(size, a, b, fa, fb)[0])
    if curve[0].size > min_size:
        curve.insert(0, ref_point(min_size, a, b, fa, fb)[0])
    if len(curve) > MAX_CURVE_POINTS:
        step = len(curve) / MAX_CURVE_POINTS
        curve = [curve[int(k * step)] for k in range(MAX_CURVE_POINTS - 1)] + [curve[-1]]
    return curve, size


def ref_vwap(fills: list[tuple[Decimal, Decimal]]) -> Decimal:
    qty = sum((q for _, q in fills), ZERO)
    if qty == 0:
        return ZERO
    return sum((p * q for p, q in fills), ZERO) / qty


def ref_opportunity(
    pair: Pair,
    legs: PairLegs,
    ka: tuple[PriceLevel, ...],
    pa: tuple[PriceLevel, ...],
    now: datetime,
) -> Opportunity | None:
    fa, fb = pair.kalshi.fees, pair.poly.fees
    walked = ref_walk(ka, pa, fa, fb, pair.min_size)
    if walked is None:
        return None
    curve, _ = walked
    best = None
    for pt in reversed(curve):
        if pt.edge > 0:
            best = pt
            break
    if best is None:
        return None
    curve = [pt for pt in curve if pt.size <= best.size]
    point, fills_a, fills_b, fee_a, fee_b = ref_point(best.size, ka, pa, fa, fb)
    m = pair.mapping
    hold = timedelta(hours=1)
    if pair.expected_resolution is not None:
        hold = max(pair.expected_resolution - now, timedelta(hours=1))
    days = Decimal(int(hold.total_seconds())) / Decimal(86400)
    roi_day = (point.roi_pct / days).quantize(ROI_STEP)
    return Opportunity(
        id=pair.opportunity_ids[legs.direction],
        mapping_id=pair.mapping_id,
        direction=legs.direction,
        league=m.league,
        event_title=m.event_title,
        game_date=m.game_date,
        confidence=m.confidence,
        kalshi_leg=Leg(
            legs.kalshi, legs.kalshi_label, fills_a[-1][0], ref_vwap(fills_a), point.size, fee_a
        ),
        poly_leg=Leg(
            legs.poly, legs.poly_label, fills_b[-1][0], ref_vwap(fills_b), point.size, fee_b
        ),
        size=point.size,
        cost=point.cost,
        edge=point.edge,
        roi_pct=point.roi_pct,
        roi_per_day_pct=roi_day,
        curve=tuple(curve),
        volume=pair.poly.volume,
        kalshi_volume=pair.kalshi.volume,
        expires_at=m.start_time or pair.kalshi.start_time or pair.poly.start_time,
        expected_resolution=pair.expected_resolution,
        rules=pair.rules,
        updated_at=now,
    )


class RefScanner:
    """The original scanner: every pair a book touches, both directions, full evaluation."""

    def __init__(self) -> None:
        self.events: list[OpportunityEvent] = []
        self.pairs: dict[str, Pair] = {}
        self.books: dict[ContractRef, OrderBook] = {}
        self.open: dict[str, Opportunity] = {}

    def add(self, pair: Pair) -> None:
        self.pairs[pair.mapping_id] = pair

    def on_books(self, books: list[OrderBook], now: datetime) -> None:
        touched: list[Pair] = []
        for book in books:
            self.books[book.contract] = book
            refs = [book.contract]
            c = book.contract
            if c.venue is Venue.POLYMARKET_US and c.side is OutcomeSide.LONG:
                short = ContractRef(c.venue, c.market_id, c.contract_id, OutcomeSide.SHORT)
                self.books[short] = book.complement(short)
                refs.append(short)
            for p in self.pairs.values():
                if p not in touched and any(r in p.contracts for r in refs):
                    touched.append(p)
        for p in touched:
            self.evaluate(p, now)

    def evaluate(self, pair: Pair, now: datetime) -> None:
        blocked = pair.expires_at is not None and now >= pair.expires_at
        for legs in pair.directions:
            oid = pair.opportunity_ids[legs.direction]
            kb, pb = self.books.get(legs.kalshi), self.books.get(legs.poly)
            opp = None
            if not blocked and kb is not None and pb is not None:
                opp = ref_opportunity(pair, legs, kb.asks, pb.asks, now)
            if opp is None:
                prev = self.open.pop(oid, None)
                if prev is not None:
                    reason = CloseReason.GAME_STARTED if blocked else CloseReason.EDGE_GONE
                    self.events.append(
                        OpportunityEvent(OpportunityEventKind.CLOSED, prev, now, reason)
                    )
                continue
            prev = self.open.get(oid)
            if prev is None:
                self.open[oid] = opp
                self.events.append(OpportunityEvent(OpportunityEventKind.OPENED, opp, now))
            elif not prev.same_quote(opp):
                self.open[oid] = opp
                self.events.append(OpportunityEvent(OpportunityEventKind.UPDATED, opp, now))


# --- helpers -------------------------------------------------------------------------------


def wire(value: Any) -> Any:
    """Every field down to Decimal *strings*, so a representation change shows up too."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: wire(getattr(value, f.name)) for f in fields(value)}
    return value


POLY = FeeSchedule.polymarket(D("0.03"))  # sports, 2026
SCHEDULES = {
    "kalshi": FeeSchedule.kalshi(),
    "polymarket": POLY,
    "polymarket_squared": FeeSchedule.polymarket(D("0.25"), 2),  # crypto-style curve
    "polymarket_us": FeeSchedule.polymarket_us(),
    "no_fee": FeeSchedule.none(FeeModel.POLYMARKET),
    "kalshi_custom": FeeSchedule(FeeModel.KALSHI, D("0.035")),
}


@st.composite
def ladders(draw: st.DrawFn, top: Decimal, fractional: bool) -> tuple[PriceLevel, ...]:
    """Best-first asks on a 1¢ or 0.1¢ grid from ``top``, whole or 2-decimal sizes."""
    tick = draw(st.sampled_from([D("0.01"), D("0.001")]))
    n = draw(st.integers(1, 7))
    steps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    levels = []
    p = top.quantize(tick)
    for s in steps:
        if not (ZERO < p < ONE):
            break
        if fractional and draw(st.booleans()):
            size = draw(st.decimals(D("0.01"), D("300"), places=2))
        else:
            size = D(draw(st.integers(1, 300)))
        levels.append(PriceLevel(p, size))
        p += tick * s
    ref = ContractRef(Venue.POLYMARKET, "m", "t", OutcomeSide.TOKEN)
    return OrderBook.build(ref, [], levels, NOW).asks


@st.composite
def walk_cases(draw: st.DrawFn) -> tuple[Any, ...]:
    ta = draw(st.integers(3, 90))
    gap = draw(st.integers(-3, 10))
    tb = max(1, min(98, 100 - ta - gap))
    a = draw(ladders(D(ta) / 100, fractional=False))
    b = draw(ladders(D(tb) / 100, fractional=True))
    fa = SCHEDULES[draw(st.sampled_from(["kalshi", "kalshi_custom", "no_fee"]))]
    fb = SCHEDULES[
        draw(st.sampled_from(["polymarket", "polymarket_squared", "polymarket_us", "no_fee"]))
    ]
    min_size = draw(st.sampled_from([ONE, D(5), D("2.5"), D(20)]))
    return a, b, fa, fb, min_size


# --- tests ---------------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(
    count=st.one_of(st.integers(0, 100000).map(D), st.decimals(D("0"), D("100000"), places=2)),
    price=st.one_of(
        st.integers(0, 100).map(lambda c: D(c) / 100),
        st.integers(0, 1000).map(lambda c: (D(c) / 1000).quantize(D("0.001"))),
        st.integers(0, 10000).map(lambda c: D(c).scaleb(-4)),
    ),
    name=st.sampled_from(sorted(SCHEDULES)),
)
def test_fee_from_the_level_unit_is_the_venue_fee_exactly(
    count: Decimal, price: Decimal, name: str
) -> None:
    """One level's fee as the walk makes it (the schedule's table unit, rounded with the
    table's step and mode) is the reference's fee of that order, value and representation,
    and the domain's estimate too."""
    schedule = SCHEDULES[name]
    units = fee_units(schedule)
    fast = (count * units[price][0]).quantize(units.step, units.mode)
    slow = ref_fees(schedule, [(price, count)])
    assert fast == slow
    assert str(fast) == str(slow)
    assert str(schedule.taker_fee(count, price)) == str(slow)


@settings(max_examples=600, deadline=None)
@given(walk_cases())
def test_one_pass_walk_equals_the_eager_walk_in_value_and_representation(
    case: tuple[Any, ...],
) -> None:
    a, b, fa, fb, min_size = case
    assert wire(walk(a, b, fa, fb, min_size)) == wire(ref_walk(a, b, fa, fb, min_size))


def _pair(k_fees: FeeSchedule, p_fees: FeeSchedule, p_min: Decimal) -> Pair:
    k = "KXNBAGAME-26JAN11HOUSAC-HOU"
    km = Market(
        Venue.KALSHI, k, "E", "Houston at Sacramento", "t", League.NBA, MarketKind.GAME_WINNER,
        (
            Outcome(Venue.KALSHI, k, k, OutcomeSide.YES, "Houston"),
            Outcome(Venue.KALSHI, k, k, OutcomeSide.NO, "Houston"),
        ),
        D("0.01"), ONE, k_fees, MarketStatus.OPEN, start_time=START,
        close_time=START + timedelta(hours=3), rules="If Houston wins, Yes.", volume=D(100),
    )  # fmt: skip
    pm = Market(
        Venue.POLYMARKET, "700001", "90001", "Rockets vs. Kings", "t", League.NBA,
        MarketKind.GAME_WINNER,
        (
            Outcome(Venue.POLYMARKET, "700001", "5001", OutcomeSide.TOKEN, "Kings"),
            Outcome(Venue.POLYMARKET, "700001", "5002", OutcomeSide.TOKEN, "Rockets"),
        ),
        D("0.01"), p_min, p_fees, MarketStatus.OPEN, start_time=START, rules="Winner.",
        volume=D("50.5"),
    )  # fmt: skip
    m = MarketMapping(
        k, "E", Venue.POLYMARKET, "5002", "", "5001", "nba", date(2026, 1, 11), "nba:HOU",
        "nba:SAC", "nba:HOU", "Houston at Sacramento", Confidence.HIGH, ("test",), START,
        "700001",
    )  # fmt: skip
    return build_pair(m, km, pm)


@settings(max_examples=400, deadline=None)
@given(walk_cases(), st.sampled_from(list(Direction)))
def test_fast_opportunity_equals_the_eager_one_field_by_field(
    case: tuple[Any, ...], direction: Direction
) -> None:
    a, b, fa, fb, min_size = case
    pair = _pair(fa, fb, min_size)
    legs = next(d for d in pair.directions if d.direction is direction)
    fast = opportunity_from_asks(pair, legs, a, b, NOW)
    slow = ref_opportunity(pair, legs, a, b, NOW)
    assert wire(fast) == wire(slow)
    if slow is not None:
        assert fast == slow


def _markets(i: int) -> tuple[MarketMapping, Market, Market]:
    pair = _pair(FeeSchedule.kalshi(), POLY, D(5))
    k, p, m = pair.kalshi, pair.poly, pair.mapping
    tk = f"{k.market_id}{i}"
    k = Market(
        k.venue, tk, k.event_id, k.event_title, k.title, k.league, k.kind,
        tuple(Outcome(o.venue, tk, tk, o.side, o.label) for o in k.outcomes),
        k.tick_size, k.min_size, k.fees, k.status, start_time=k.start_time,
        close_time=k.close_time, rules=k.rules, volume=k.volume,
    )  # fmt: skip
    mid = f"{p.market_id}{i}"
    p = Market(
        p.venue, mid, p.event_id, p.event_title, p.title, p.league, p.kind,
        tuple(Outcome(o.venue, mid, f"{o.contract_id}{i}", o.side, o.label) for o in p.outcomes),
        p.tick_size, p.min_size, p.fees, p.status, start_time=p.start_time, rules=p.rules,
        volume=p.volume,
    )  # fmt: skip
    m = MarketMapping(
        tk, m.kalshi_event_ticker, m.poly_venue, f"5002{i}", "", f"5001{i}", m.league,
        m.game_date, m.away_team, m.home_team, m.proposition_team, m.event_title,
        m.confidence, m.reasons, m.start_time, mid,
    )  # fmt: skip
    return m, k, p


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scanner_publishes_the_same_events_as_the_eager_scanner(seed: int) -> None:
    """Random updates on three pairs, including re-sent equal and identical ladders."""
    rnd = random.Random(seed)
    events: list[OpportunityEvent] = []
    fast = Scanner(events.append)
    slow = RefScanner()
    items = [_markets(i) for i in range(3)]
    for m, k, p in items:
        fast.add_mapping(m, k, p)
        slow.add(build_pair(m, k, p))
    fair = [rnd.randrange(25, 75) for _ in items]
    last: list[list[OrderBook]] = []

    def lvls(best: int, up: bool) -> list[PriceLevel]:
        sign = 1 if up else -1
        return [
            PriceLevel(D(best + sign * i) / 100, D(rnd.randrange(1, 60)))
            for i in range(rnd.randrange(1, 5))
            if 1 <= best + sign * i <= 99
        ]

    now = NOW
    for _ in range(600):
        i = rnd.randrange(len(items))
        m, _k, p = items[i]
        r = rnd.random()
        f = fair[i] + rnd.randrange(-5, 4)
        if r < 0.1 and last:
            books = rnd.choice(last)  # the very same book objects again
        elif r < 0.5:
            books = list(
                two_sided_from_bids(
                    m.kalshi_yes, m.kalshi_no, lvls(f - 1, False), lvls(99 - f, False), now
                )
            )
        else:
            token = m.poly_market if r < 0.75 else m.poly_opposite
            g = f if token == m.poly_market else 100 - f
            ref = ContractRef(Venue.POLYMARKET, p.market_id, token, OutcomeSide.TOKEN)
            asks = lvls(g + 1, True)
            if rnd.random() < 0.2 and (prev := fast.asks(ref)) is not None:
                asks = list(prev)  # equal ladder, new objects
            books = [OrderBook.build(ref, lvls(g - 1, False), asks, now)]
        last.append(books)
        now += timedelta(seconds=1)
        n = len(events)
        if len(books) == 1:
            fast.on_book(books[0], now)
        else:
            fast.on_books(books, now)
        slow.on_books(books, now)
        assert wire(events[n:]) == wire(slow.events[n:])
    assert len(events) == len(slow.events) and len(events) > 20
    assert {o.id for o in fast.open_opportunities} == set(slow.open)


def test_fast_opportunity_handles_a_book_side_missing() -> None:
    pair = _pair(FeeSchedule.kalshi(), POLY, ONE)
    legs = pair.directions[0]
    asks = (PriceLevel(D("0.40"), D(10)),)
    assert opportunity_from_asks(pair, legs, (), asks, NOW) is None
    assert opportunity_from_asks(pair, legs, asks, (), NOW) is None


def _lv(*levels: tuple[str, str]) -> tuple[PriceLevel, ...]:
    return tuple(PriceLevel(D(p), D(q)) for p, q in levels)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Sizes after each step 2.5, 3.0, 3.7: the step before the last ends on the floor.
        (_lv(("0.40", "2.5"), ("0.41", "10")), _lv(("0.45", "3"), ("0.46", "0.7"))),
        # 3, 3.2, 3.7: two fractional steps in the last unit; the point at 3 is a step end.
        (
            _lv(("0.40", "3"), ("0.41", "0.2"), ("0.42", "10")),
            _lv(
                ("0.45", "3.7"),
            ),
        ),
        # 2.5, 3.2, 3.7: no step ends on 3; the point at 3 is re-walked.
        (
            _lv(("0.40", "2.5"), ("0.41", "0.7"), ("0.42", "10")),
            _lv(
                ("0.45", "3.7"),
            ),
        ),
        # 1, 2, 3, 200.00: the last step is a tie of 197 and 197.00, summed as b writes it.
        (_lv(("0.030", "1"), ("0.031", "1"), ("0.032", "1"), ("0.033", "197")), _lv(("0.96", "200.00"))),
        # 4, 7: whole sizes, the usual case.
        (
            _lv(("0.40", "4"), ("0.41", "3")),
            _lv(
                ("0.45", "7"),
            ),
        ),
    ],
)
def test_fractional_ends_choose_the_eager_walks_point(
    a: tuple[PriceLevel, ...],
    b: tuple[PriceLevel, ...],
) -> None:
    """The deepest point when the walk ends inside a unit: same figures, same exponents."""
    pair = _pair(FeeSchedule.kalshi(), POLY, ONE)
    legs = pair.directions[0]
    fast = opportunity_from_asks(pair, legs, a, b, NOW)
    slow = ref_opportunity(pair, legs, a, b, NOW)
    assert slow is not None
    assert wire(fast) == wire(slow)


def test_fee_unit_table_is_bounded_and_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its limit a fee-unit table computes and does not keep; every entry is the
    unit, the marginal cost and the room, exactly."""
    from worker.engine.scanner.units import FeeUnits

    monkeypatch.setattr(FeeUnits, "LIMIT", 2)
    table = FeeUnits(FeeSchedule.kalshi())
    for p in ("0.40", "0.41", "0.42"):
        unit, cost, room = table[D(p)]
        assert unit == ref_unit(FeeSchedule.kalshi(), D(p))
        assert cost == D(p) + unit and room == ONE - cost
    assert len(table) == 2


def test_scanner_built_opportunity_is_frozen_and_equal_to_a_constructed_one() -> None:
    import dataclasses

    pair = _pair(FeeSchedule.kalshi(), POLY, ONE)
    legs = pair.directions[0]
    a = (PriceLevel(D("0.40"), D(10)), PriceLevel(D("0.41"), D(10)))
    b = (PriceLevel(D("0.50"), D(15)),)
    opp = opportunity_from_asks(pair, legs, a, b, NOW)
    assert opp is not None
    rebuilt = Opportunity(**{f.name: getattr(opp, f.name) for f in fields(Opportunity)})
    assert opp == rebuilt and hash(opp.kalshi_leg) == hash(rebuilt.kalshi_leg)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opp.size = D(1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        opp.curve[0].cost = D(1)  # type: ignore[misc]


def test_curve_is_deferred_until_read_and_then_equals_the_eager_curve() -> None:
    from worker.api.schemas import to_wire
    from worker.domain.deferred import Deferred

    pair = _pair(FeeSchedule.kalshi(), POLY, D(5))
    legs = pair.directions[0]
    a = (PriceLevel(D("0.40"), D(10)), PriceLevel(D("0.41"), D(30)), PriceLevel(D("0.42"), D(8)))
    b = (PriceLevel(D("0.50"), D(15)), PriceLevel(D("0.52"), D(40)))
    opp = opportunity_from_asks(pair, legs, a, b, NOW)
    eager = ref_opportunity(pair, legs, a, b, NOW)
    assert opp is not None and eager is not None
    assert type(opp.__dict__["_deferred_curve"]) is Deferred  # not built by the update
    assert opp.curve == eager.curve and len(opp.curve) > 2  # built on first read
    assert opp.__dict__["_deferred_curve"] is opp.curve  # once
    assert to_wire(opp) == to_wire(eager)  # what the dashboard receives


def test_opportunity_built_with_a_plain_curve_behaves_like_any_dataclass() -> None:
    import dataclasses

    pair = _pair(FeeSchedule.kalshi(), POLY, D(5))
    legs = pair.directions[0]
    a, b = (PriceLevel(D("0.40"), D(10)),), (PriceLevel(D("0.50"), D(15)),)
    lazy = opportunity_from_asks(pair, legs, a, b, NOW)
    assert lazy is not None
    plain = dataclasses.replace(lazy, curve=tuple(lazy.curve))
    assert plain == lazy and hash(plain) == hash(lazy)
    assert dataclasses.asdict(plain)["curve"] == tuple(dataclasses.asdict(p) for p in lazy.curve)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plain.curve = ()  # type: ignore[misc]


def test_bankers_ties_and_kalshis_order_total_are_priced_as_the_venues_charge() -> None:
    """Polymarket US levels whose fees fall on half cents (10 × 0.50 × 0.003 = 0.015 → 0.02,
    30 × 0.50 → 0.045 → 0.04: half to even) and a Kalshi leg over two levels (its exact
    total rounded up once): the fast walk gives the reference's figures, which are the
    venues' (docs.polymarket.us/faqs/fees; docs.kalshi.com/getting_started/fee_rounding)."""
    a = _lv(("0.40", "5"), ("0.41", "35"))
    b = _lv(("0.50", "10"), ("0.50", "30"))
    us = FeeSchedule.polymarket_us()
    assert wire(walk(a, b, FeeSchedule.kalshi(), us)) == wire(
        ref_walk(a, b, FeeSchedule.kalshi(), us)
    )
    pair = _pair(FeeSchedule.kalshi(), us, ONE)
    legs = pair.directions[0]
    fast = opportunity_from_asks(pair, legs, a, b, NOW)
    assert fast is not None and wire(fast) == wire(ref_opportunity(pair, legs, a, b, NOW))
    # 40 pairs: Kalshi 0.07·5·0.24 + 0.07·35·0.2419 = 0.084 + 0.592655 → 0.68 once;
    # Polymarket US 0.02 + 0.04 per execution.
    assert fast.size == D(40)
    assert fast.kalshi_leg.fee == D("0.68") and fast.poly_leg.fee == D("0.06")
