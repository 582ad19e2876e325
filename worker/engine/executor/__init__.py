"""The executor: risk manager, two-leg attempts, positions, settlement, reconciliation.

Public API: :class:`Executor` (auto-executor and operator actions), :class:`Candidate`,
:class:`RiskConfig`, :class:`RiskManager`, :class:`AttemptRunner`, :class:`UnwindPolicy`,
:class:`CrashPoints`, :class:`LegSender`.

One module per part (the :class:`Executor` wires them): ``admission`` (may an opportunity
trade), ``risk`` (limits and reservation), ``tasks`` (attempt tasks, game locks),
``runner`` (one attempt's state machine), ``legs`` (sending and looking up one order),
``records`` (the rows an attempt writes), ``reconciler``, ``positions`` (closing),
``settlement`` (results, redemptions, overdue games), ``operator`` (STRANDED handling,
kill switch), ``balances``, ``feed`` (venues → scanner → executor). The P&L arithmetic
is the domain's (:mod:`worker.domain.pnl`).
"""

from worker.engine.executor.crash import CRASH_POINTS, CrashPoints
from worker.engine.executor.executor import Executor
from worker.engine.executor.legs import LegSender, LegUnresolved
from worker.engine.executor.risk import Candidate, RiskConfig, RiskManager, leg_order
from worker.engine.executor.runner import AttemptRunner, UnwindPolicy

__all__ = [
    "CRASH_POINTS",
    "AttemptRunner",
    "Candidate",
    "CrashPoints",
    "Executor",
    "LegSender",
    "LegUnresolved",
    "RiskConfig",
    "RiskManager",
    "UnwindPolicy",
    "leg_order",
]
