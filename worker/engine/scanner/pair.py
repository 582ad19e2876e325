"""A mapped pair, precomputed once: everything about it that does not change with books.

:func:`build_pair` computes the fee-unit tables, rules comparisons, volumes, expiry,
expected resolution, labels and opportunity ids when a mapping is added; a book update
only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from worker.domain.fees import FeeModel, FeeSchedule
from worker.domain.leagues import game_length, three_way
from worker.domain.mapping import (
    Direction,
    MarketMapping,
    RulesCheck,
    opportunity_id,
)
from worker.domain.markets import ContractRef, Market
from worker.domain.money import ONE
from worker.domain.opportunity_template import OpportunityTemplate
from worker.domain.propositions import PropKind
from worker.engine.scanner.rules import compare_rules
from worker.engine.scanner.units import FeeUnits, fee_units

#: Days are floored at one hour so a game about to end does not show an absurd ROI/day.
MIN_HOLD = timedelta(hours=1)
_DAY_SECONDS = Decimal(86400)
_NO_FEES = FeeSchedule.none(FeeModel.KALSHI)

@dataclass(frozen=True, slots=True)
class PairLegs:
    """What one direction buys: the Kalshi side and the Polymarket contract."""

    direction: Direction
    kalshi: ContractRef
    kalshi_label: str
    poly: ContractRef
    poly_label: str


@dataclass(slots=True, eq=False)
class Pair:
    """A mapping with its two markets, precomputed once (rules, resolution, legs, fees).

    Nothing here changes with the books; a book update only reads it. Compared by
    identity: one ``Pair`` object per tracked mapping.
    """

    mapping: MarketMapping
    kalshi: Market
    poly: Market
    rules: RulesCheck  # for the direction whose Kalshi leg is YES
    expected_resolution: datetime | None
    directions: tuple[PairLegs, PairLegs]
    #: ``mapping.id`` and the per-direction opportunity ids, hashed once (hot path).
    mapping_id: str = ""
    opportunity_ids: dict[Direction, str] = field(default_factory=dict)
    #: Game start (expiry of the opportunities), ``None`` when no venue gives one.
    expires_at: datetime | None = None
    volume: Decimal | None = None  # the Polymarket side's (dollars); never plus Kalshi's
    kalshi_volume: Decimal | None = None  # contracts
    min_size: Decimal = ONE
    #: Each market's fee units and rounding (see :class:`FeeUnits`).
    kalshi_units: FeeUnits = field(default_factory=lambda: fee_units(_NO_FEES))
    poly_units: FeeUnits = field(default_factory=lambda: fee_units(_NO_FEES))
    #: The rules check of the direction whose Kalshi leg is NO (the Polymarket leg then
    #: pays on the mapped team): a tie or cancellation can pay the two directions differently.
    rules_no: RulesCheck | None = None
    #: Per direction, the fields of its opportunities that do not change with the books.
    templates: dict[Direction, OpportunityTemplate] = field(default_factory=dict)

    def rules_for(self, direction: Direction) -> RulesCheck:
        """The rules check of one direction."""
        if direction is Direction.KALSHI_YES or self.rules_no is None:
            return self.rules
        return self.rules_no

    @property
    def contracts(self) -> tuple[ContractRef, ...]:
        return tuple({c for d in self.directions for c in (d.kalshi, d.poly)})


def _poly_label(poly: Market, ref: ContractRef) -> str:
    for o in poly.outcomes:
        if o.contract_id == ref.contract_id and o.side is ref.side:
            return o.display()
    return str(ref)


def build_pair(mapping: MarketMapping, kalshi: Market, poly: Market) -> Pair:
    """Precompute everything about a mapped pair that does not change with the books."""
    resolution = kalshi.close_time
    start = mapping.start_time or kalshi.start_time or poly.start_time
    if resolution is None and start is not None:
        resolution = start + game_length(mapping.league)
    yes = mapping.kalshi_yes
    no = mapping.kalshi_no
    directions = (
        PairLegs(
            Direction.KALSHI_YES,
            yes,
            f"YES {yes.contract_id}",
            mapping.poly_other,
            _poly_label(poly, mapping.poly_other),
        ),
        PairLegs(
            Direction.KALSHI_NO,
            no,
            f"NO {no.contract_id}",
            mapping.poly_same,
            _poly_label(poly, mapping.poly_same),
        ),
    )
    mid = mapping.id
    # A tie is its own scenario only where a team's win is paired with the other team's
    # (a two-team market): a draw, spread or total pays by its own proposition.
    team_win = mapping.prop.kind is PropKind.WIN and not three_way(mapping.league)
    pair = Pair(
        mapping_id=mid,
        opportunity_ids={d: opportunity_id(mid, d) for d in Direction},
        mapping=mapping,
        kalshi=kalshi,
        poly=poly,
        rules=compare_rules(
            kalshi.rules, poly.rules, mapping.league, mapping.poly_venue, kalshi_side_yes=True, team_win=team_win
        ),
        rules_no=compare_rules(
            kalshi.rules, poly.rules, mapping.league, mapping.poly_venue, kalshi_side_yes=False, team_win=team_win
        ),
        expected_resolution=resolution,
        directions=directions,
        expires_at=start,
        volume=poly.volume,
        kalshi_volume=kalshi.volume,
        min_size=max(kalshi.min_size, poly.min_size, ONE),
        kalshi_units=fee_units(kalshi.fees),
        poly_units=fee_units(poly.fees),
    )
    for legs in directions:
        pair.templates[legs.direction] = OpportunityTemplate(
            id=pair.opportunity_ids[legs.direction],
            mapping_id=mid,
            direction=legs.direction,
            league=mapping.league,
            event_title=mapping.event_title,
            game_date=mapping.game_date,
            confidence=mapping.confidence,
            volume=pair.volume,
            kalshi_volume=pair.kalshi_volume,
            expires_at=pair.expires_at,
            expected_resolution=pair.expected_resolution,
            rules=pair.rules_for(legs.direction),
            kalshi_url=mapping.kalshi_url,
            poly_url=mapping.poly_url,
        )
    return pair


def days_held(pair: Pair, now: datetime) -> Decimal:
    """Days from ``now`` to the expected resolution, floored at :data:`MIN_HOLD`."""
    hold = MIN_HOLD
    if pair.expected_resolution is not None:
        hold = max(pair.expected_resolution - now, MIN_HOLD)
    # Whole seconds (hold is positive, so its ``seconds`` carry no sign): integers only.
    return Decimal(hold.days * 86400 + hold.seconds) / _DAY_SECONDS
