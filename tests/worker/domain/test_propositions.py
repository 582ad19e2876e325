"""Propositions: canonical keys, their inverse, and what is (not) the same proposition."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.domain.propositions import DRAW, REGULATION, PropKind, Proposition, win


@pytest.mark.parametrize(
    ("prop", "key", "text"),
    [
        (win("nba:HOU"), "win:nba:HOU", "Houston wins"),
        (DRAW, "draw", "Draw"),
        (Proposition(PropKind.SPREAD, "nfl:KC", Decimal("-7.50")), "spread:nfl:KC:-7.5", "Kansas City -7.5"),
        (Proposition(PropKind.SPREAD, "nfl:LV", Decimal("7.5")), "spread:nfl:LV:+7.5", "nfl:LV +7.5"),
        (Proposition(PropKind.TOTAL, line=Decimal("221.50")), "total:over:221.5", "Over 221.5"),
        (Proposition(PropKind.TOTAL, line=Decimal("6")), "total:over:6", "Over 6"),
        (
            Proposition(PropKind.TOTAL, line=Decimal("5.5"), terms=REGULATION),
            "total:over:5.5|regulation",
            "Over 5.5 (regulation)",
        ),
    ],
)
def test_keys_are_canonical_and_parse_back(prop: Proposition, key: str, text: str) -> None:
    assert prop.key == key
    assert Proposition.parse(key) == prop
    assert prop.describe({"nba:HOU": "Houston", "nfl:KC": "Kansas City"}) == text


def test_another_line_or_other_terms_is_another_proposition() -> None:
    base = Proposition(PropKind.TOTAL, line=Decimal("221.5"))
    assert base.key != Proposition(PropKind.TOTAL, line=Decimal("222")).key
    assert base.key != Proposition(PropKind.TOTAL, line=Decimal("221.5"), terms=REGULATION).key
    # the same number written differently is the same proposition
    assert base.key == Proposition(PropKind.TOTAL, line=Decimal("221.500")).key


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Proposition(PropKind.WIN),
        lambda: Proposition(PropKind.DRAW, "epl:ARS"),
        lambda: Proposition(PropKind.SPREAD, "nfl:KC"),
        lambda: Proposition(PropKind.TOTAL, "nfl:KC", Decimal("45.5")),
        lambda: Proposition(PropKind.TOTAL, line=Decimal("45.5"), terms="first half"),
    ],
)
def test_incomplete_propositions_are_refused(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        bad()


@pytest.mark.parametrize("key", ["", "win", "win:HOU", "spread:nfl:KC", "total:under:45.5", "total:over:x", "tie"])
def test_keys_that_are_no_proposition_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        Proposition.parse(key)
