"""The operator port (``ExecutionControl``) over a trading supervisor that may still be
connecting: actions answer a clear ``ActionUnavailable`` until the executor trades here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from worker.domain.operator import ActionUnavailable, Balances, VenueState, kill_switch_answer
from worker.engine.executor import Executor
from worker.engine.supervisor import TradingSupervisor


class SupervisorControl:
    """The operator's actions and figures, through whatever the supervisor runs now."""

    def __init__(self, supervisor: TradingSupervisor) -> None:
        self.supervisor = supervisor

    def _executor(self, field: str = "action") -> Executor:
        supervisor = self.supervisor
        executor = supervisor.executor
        if executor is None or not supervisor.keeper.trading():
            why = supervisor.detail or f"this worker is {supervisor.keeper.status} for trading"
            raise ActionUnavailable(field, f"the executor is not trading here ({why})")
        return executor

    async def close_position(self, position_id: str) -> Mapping[str, Any]:
        return await self._executor("position_id").close_position(position_id)

    async def retry_unwind(self, attempt_id: str) -> Mapping[str, Any]:
        return await self._executor("attempt_id").retry_unwind(attempt_id)

    async def resolve_stranded(
        self, attempt_id: str, note: str, proceeds: Decimal | None = None
    ) -> Mapping[str, Any]:
        return await self._executor("attempt_id").resolve_stranded(attempt_id, note, proceeds)

    async def kill_switch(self, flatten: bool) -> Mapping[str, Any]:
        executor = self.supervisor.executor
        if executor is None:
            if flatten:
                raise ActionUnavailable("flatten", "flattening needs the executor, which is not connected")
            await self.supervisor.settings.set_enabled(False)
            return kill_switch_answer(
                saved=True, cancelled=0, orders_checked=False, executor_running=False,
                note="trading paused; resting orders were not checked because the executor is not connected",
            )
        return await executor.kill_switch(flatten)

    def balances(self) -> Balances:
        executor = self.supervisor.executor
        return executor.balances() if executor is not None else Balances()

    def venue_states(self) -> Sequence[VenueState]:
        return self.supervisor.venue_states()
