"""Admission: whether an opportunity may become an attempt, and the attempt's reservation.

An opportunity is refused before the risk manager is even asked while admission is closed
(reconciliation has not finished) or while another worker holds the trading lease; the
risk manager then checks every limit and reserves the attempt's loss budget, trade slot
and balances in one atomic step (:meth:`RiskManager.admit`). A refusal is counted and
published once per opportunity and reason, so a quote that keeps updating does not
repeat the same refusal on the wire.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from worker.clock import SYSTEM_CLOCK, Clock
from worker.domain.attempts import AttemptRecord, Refusal, RefusalReason
from worker.domain.events import OpportunityRefused, Publish
from worker.engine.executor.risk import Candidate, RiskManager
from worker.engine.lease import LeaseLost


class Admission:
    """Judges each opportunity; ``open`` once the executor has reconciled."""

    def __init__(
        self,
        risk: RiskManager,
        publish: Publish,
        gate: Callable[[], None] | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.risk = risk
        self.publish = publish
        # The single-trader lease: raises LeaseLost when this worker may not open exposure.
        self.gate = gate
        self.clock = clock
        self.open = False
        self.opportunities_seen = 0
        self.refusals: Counter[str] = Counter()
        self._last_refusal: dict[str, str] = {}

    def may_trade(self) -> bool:
        """Does this worker hold the trading lease (always, without one)?"""
        if self.gate is None:
            return True
        try:
            self.gate()
        except LeaseLost:
            return False
        return True

    async def admit(self, candidate: Candidate) -> AttemptRecord | Refusal:
        """The reserved PLANNED attempt, or why not (counted and published)."""
        self.opportunities_seen += 1
        if not self.open:
            refusal: AttemptRecord | Refusal = Refusal(
                RefusalReason.NOT_RECONCILED, "not reconciled yet: no new trade before reconciliation"
            )
        elif not self.may_trade():
            refusal = Refusal(RefusalReason.STANDBY, "another worker holds the trading lease")
        else:
            refusal = await self.risk.admit(candidate)
        if isinstance(refusal, Refusal):
            self.refusals[refusal.reason.value] += 1
            key = candidate.opportunity.id
            if self._last_refusal.get(key) != refusal.reason.value:
                self._last_refusal[key] = refusal.reason.value
                self.publish(
                    OpportunityRefused(
                        key, candidate.opportunity.event_title, refusal.reason, refusal.detail, self.clock.now()
                    )
                )
            return refusal
        attempt = refusal
        self._last_refusal.pop(candidate.opportunity.id, None)
        return attempt
