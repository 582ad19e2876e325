"""An opportunity made from its direction's template is an ordinary frozen Opportunity,
equal to the constructor's; a deferred curve is built once, on first read."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from tests.worker.api.event_samples import OPPORTUNITY
from worker.domain.deferred import Deferred
from worker.domain.mapping import Opportunity
from worker.domain.opportunity_template import QUOTE_FIELDS, OpportunityTemplate


def _template(opp: Opportunity) -> OpportunityTemplate:
    return OpportunityTemplate(
        **{f.name: getattr(opp, f.name) for f in dataclasses.fields(opp) if f.name not in QUOTE_FIELDS}
    )


def _quote(opp: Opportunity) -> dict[str, object]:
    return {name: getattr(opp, name) for name in QUOTE_FIELDS}


def test_priced_opportunity_equals_the_constructed_one() -> None:
    made = _template(OPPORTUNITY).priced(**_quote(OPPORTUNITY))  # type: ignore[arg-type]
    assert made == OPPORTUNITY and hash(made) == hash(OPPORTUNITY)
    assert repr(made) == repr(OPPORTUNITY)
    assert dataclasses.asdict(made) == dataclasses.asdict(OPPORTUNITY)
    assert list(vars(made)) == list(vars(OPPORTUNITY))  # same keys, same order
    assert pickle.loads(pickle.dumps(made)) == OPPORTUNITY
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.size = made.size + 1  # type: ignore[misc]


def test_template_takes_every_field_but_the_quote() -> None:
    fixed = {f.name: getattr(OPPORTUNITY, f.name) for f in dataclasses.fields(OPPORTUNITY)}
    with pytest.raises(TypeError, match="size"):
        OpportunityTemplate(**fixed)  # a quote field given
    del fixed["size"]
    for name in QUOTE_FIELDS:
        fixed.pop(name, None)
    del fixed["league"]
    with pytest.raises(TypeError, match="league"):
        OpportunityTemplate(**fixed)  # a fixed field missing


def test_a_deferred_curve_is_built_once_on_first_read_and_is_a_required_field() -> None:
    built: list[int] = []

    def build() -> tuple[object, ...]:
        built.append(1)
        return OPPORTUNITY.curve

    quote = _quote(OPPORTUNITY) | {"curve": Deferred(build)}
    lazy = _template(OPPORTUNITY).priced(**quote)  # type: ignore[arg-type]
    assert built == []
    assert lazy == OPPORTUNITY and lazy.curve is OPPORTUNITY.curve
    assert built == [1]
    lazy.curve  # noqa: B018 - a second read builds nothing
    assert built == [1]
    also_lazy = dataclasses.replace(OPPORTUNITY, curve=Deferred(build))
    assert also_lazy.curve == OPPORTUNITY.curve and built == [1, 1]
    kwargs = {f.name: getattr(OPPORTUNITY, f.name) for f in dataclasses.fields(OPPORTUNITY)}
    del kwargs["curve"]
    with pytest.raises(TypeError, match="curve"):
        Opportunity(**kwargs)  # type: ignore[call-arg]


def test_with_legging_copies_the_opportunity_without_building_its_curve() -> None:
    from decimal import Decimal

    from worker.domain.mapping import LeggingQuote
    from worker.domain.opportunity_template import with_legging

    built: list[int] = []

    def build() -> tuple[object, ...]:
        built.append(1)
        return OPPORTUNITY.curve

    quote = _quote(OPPORTUNITY) | {"curve": Deferred(build), "legging": None}
    lazy = _template(OPPORTUNITY).priced(**quote)  # type: ignore[arg-type]
    q = LeggingQuote("kalshi", "kalshi/NBA/0.40-0.60/le1", 40, Decimal("0.1"), Decimal("0.05"),
                     Decimal("0.2"), Decimal("1.5"))
    priced = with_legging(lazy, q)
    assert built == [] and lazy.legging is None and priced.legging is q
    assert dataclasses.replace(priced, legging=OPPORTUNITY.legging) == OPPORTUNITY
    assert priced.curve == OPPORTUNITY.curve and built == [1]
