"""Named crash points for the crash tests (``EXECUTOR_CRASH_AT``).

``EXECUTOR_CRASH_AT=after_planned|after_leg1_sent|after_leg1_fill|after_leg2_sent|during_unwind``
makes the worker kill itself with SIGKILL the first time it reaches that point, exactly
as ``kill -9`` would: no ``finally`` runs, nothing is flushed. Unset, the points cost one
comparison.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

log = logging.getLogger(__name__)

CRASH_POINTS = ("after_planned", "after_leg1_sent", "after_leg1_fill", "after_leg2_sent", "during_unwind")


def _sigkill() -> None:  # pragma: no cover - the process is gone
    os.kill(os.getpid(), signal.SIGKILL)


class CrashPoints:
    """Dies at the configured point (or calls ``on_crash`` in tests)."""

    def __init__(self, at: str | None = None, on_crash: Callable[[], None] = _sigkill) -> None:
        if at and at not in CRASH_POINTS:
            raise ValueError(f"EXECUTOR_CRASH_AT must be one of {', '.join(CRASH_POINTS)}, got {at!r}")
        self.at = at or None
        self._on_crash = on_crash

    @classmethod
    def from_env(cls) -> CrashPoints:
        return cls(os.environ.get("EXECUTOR_CRASH_AT", "").strip() or None)

    def hit(self, name: str) -> None:
        if self.at is not None and name == self.at:
            log.warning("crash point %s reached: killing the process", name)
            self._on_crash()
