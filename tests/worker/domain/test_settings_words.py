"""The settings rules speak plain words, and a form's check says what the worker says."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from worker.domain.settings import (
    DEFAULTS,
    FIELDS,
    SettingsError,
    apply_patch,
    parse_text,
    problems,
)


def refusal(patch: dict[str, object]) -> tuple[str, str]:
    with pytest.raises(SettingsError) as info:
        apply_patch(DEFAULTS, patch)
    return info.value.field, info.value.message


def test_every_setting_has_a_plain_label_and_shows_its_accepted_precision() -> None:
    assert [f.label for f in FIELDS] == [
        "Min bet", "Max bet", "Min ROI", "Max ROI", "Max daily trades", "Max daily loss"]
    shown = {f.name: f.shown(f.default) for f in FIELDS}
    assert shown == {"min_bet": "5.00", "max_bet": "10.00", "min_roi": "1.00", "max_roi": "50.00",
                     "max_daily_trades": "50", "max_daily_loss": "5.00"}
    assert {f.name: f.decimals for f in FIELDS}["min_roi"] == 2


@pytest.mark.parametrize(("patch", "field", "message"), [
    ({"min_bet": D("20")}, "min_bet", "Min bet must not exceed max bet"),
    ({"max_bet": D("1")}, "max_bet", "Max bet must not be less than min bet"),
    ({"min_roi": D("60")}, "min_roi", "Min ROI must not exceed max ROI"),
    ({"min_bet": D("-5")}, "min_bet", "Min bet must not be negative"),
    ({"max_bet": D("0")}, "max_bet", "Max bet must be more than $0 and at most $100,000"),
    ({"max_roi": D("1000.01")}, "max_roi", "Max ROI must be at least 0% and at most 1,000%"),
    ({"min_bet": D("5.123")}, "min_bet", "Min bet allows at most 2 decimal places"),
    ({"max_daily_trades": D("2.5")}, "max_daily_trades", "Max daily trades must be a whole number"),
    ({"max_daily_trades": 0}, "max_daily_trades", "Max daily trades must be a whole number from 1 to 100,000"),
    ({"max_daily_loss": "5"}, "max_daily_loss", "Max daily loss must be a number, got a string"),
])
def test_the_worker_refuses_in_plain_words_naming_the_field(patch: dict[str, object], field: str, message: str) -> None:
    assert refusal(patch) == (field, message)
    assert "_" not in message  # never an internal name


def test_a_form_check_lists_every_invalid_box_with_the_worker_s_sentence() -> None:
    found = problems(DEFAULTS, {"min_bet": "-5", "max_bet": "", "min_roi": "5.123", "max_roi": "abc",
                                "max_daily_trades": "0", "max_daily_loss": "12.50"})
    assert found == {
        "min_bet": "Min bet must not be negative",
        "max_bet": "Max bet is required",
        "min_roi": "Min ROI allows at most 2 decimal places",
        "max_roi": "Max ROI must be a number",
        "max_daily_trades": "Max daily trades must be a whole number from 1 to 100,000",
    }
    # The cross-field rule, as the worker words it, on the box that was edited.
    assert problems(DEFAULTS, {"min_bet": "20"}) == {"min_bet": refusal({"min_bet": D("20")})[1]}
    assert problems(DEFAULTS, {"min_bet": "8", "max_bet": "9.50"}) == {}


def test_typed_text_is_read_exactly_at_the_rules_precision() -> None:
    assert parse_text("max_bet", " $1,250.5 ") == D("1250.50")
    # A decimal comma is refused, not read as a thousands separator (1,5 is not 15).
    for typed in ("1,5", "12,50", "1,2345", ",5", "1,,000"):
        with pytest.raises(SettingsError, match="Min bet: use a dot for decimals"):
            parse_text("min_bet", typed)
    assert parse_text("max_daily_trades", "1,000") == 1000
    assert parse_text("min_roi", "2.25%") == D("2.25")
    assert parse_text("max_daily_trades", "40") == 40
    with pytest.raises(SettingsError, match="Min bet is required"):
        parse_text("min_bet", "  ")
