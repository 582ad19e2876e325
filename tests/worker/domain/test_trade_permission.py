"""What may trade: one verdict from the game's decision, confidence and the two settings."""

from __future__ import annotations

import pytest

from worker.domain.mapping import (
    Confidence,
    MappingStatus,
    NotTradeable,
    TradePermission,
    game_status,
    trade_permission,
)

C, M, R = MappingStatus.CANDIDATE, MappingStatus.CONFIRMED, MappingStatus.REJECTED
HIGH, MEDIUM, LOW = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW


@pytest.mark.parametrize(
    ("status", "confidence", "minimum", "require", "reason"),
    [
        # Rejected: never, whatever the settings say.
        (R, HIGH, LOW, False, "mapping_rejected"),
        (R, HIGH, HIGH, True, "mapping_rejected"),
        # Confirmed: yes, even below the minimum and with confirmation required.
        (M, LOW, HIGH, True, None),
        (M, MEDIUM, HIGH, False, None),
        # A candidate with confirmation required: awaiting it, however confident.
        (C, HIGH, LOW, True, "not_confirmed"),
        # A candidate without: by confidence.
        (C, HIGH, HIGH, False, None),
        (C, MEDIUM, HIGH, False, "low_confidence"),
        (C, MEDIUM, MEDIUM, False, None),
        (C, LOW, MEDIUM, False, "low_confidence"),
        (C, LOW, LOW, False, None),
    ],
)
def test_the_verdict_table(
    status: MappingStatus, confidence: Confidence, minimum: Confidence, require: bool, reason: str | None
) -> None:
    verdict = trade_permission(status, confidence, minimum, require)
    assert verdict.tradeable is (reason is None)
    assert (verdict.reason.value if verdict.reason else None) == reason


def test_the_wire_shape_and_texts() -> None:
    assert trade_permission(C, HIGH, HIGH, False).to_wire() == {"tradeable": True, "why_not": None}
    assert trade_permission(C, HIGH, HIGH, True).to_wire() == {
        "tradeable": False,
        "why_not": {"reason": "not_confirmed", "text": "awaiting confirmation"},
    }
    assert trade_permission(R, HIGH, HIGH, False).to_wire() == {
        "tradeable": False,
        "why_not": {"reason": "mapping_rejected", "text": "rejected by the operator"},
    }
    assert trade_permission(C, MEDIUM, HIGH, False) == TradePermission(
        False, NotTradeable.BELOW_MIN_CONFIDENCE, "confidence MEDIUM is below the minimum HIGH"
    )


@pytest.mark.parametrize(
    ("statuses", "game"),
    [((C, C), C), ((C, M), M), ((M, M), M), ((C, R), R), ((M, R), R), ((), C)],
)
def test_a_game_s_decision_from_its_rows(statuses: tuple[MappingStatus, ...], game: MappingStatus) -> None:
    assert game_status(statuses) is game
