"""``roi_permission``: above ``EXECUTOR_SUSPICIOUS_ROI`` only a confirmed game trades."""

from __future__ import annotations

from decimal import Decimal as D

from worker.domain.mapping import MappingStatus, NotTradeable, roi_permission


def test_at_the_limit_trades_and_a_hair_above_it_only_when_confirmed() -> None:
    assert roi_permission(MappingStatus.CANDIDATE, D("5"), D("5")).tradeable
    above = roi_permission(MappingStatus.CANDIDATE, D("5.0001"), D("5"))
    assert not above.tradeable and above.reason is NotTradeable.SUSPICIOUS_ROI
    assert above.text.startswith("ROI 5.0001% is above 5%")
    assert roi_permission(MappingStatus.CONFIRMED, D("40"), D("5")).tradeable
    # A rejection is the review's verdict, not this one's: it is judged before.
    assert not roi_permission(MappingStatus.REJECTED, D("7"), D("5")).tradeable
