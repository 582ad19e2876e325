"""Fault injection for the paper exchange (``EXECUTOR_PAPER_FAULTS``).

Spec: comma-separated ``kind=probability`` pairs, e.g.
``reject=0.05,timeout_filled=0.02,timeout_unfilled=0.02,slip=0.1,disconnect=0.01``.
``hang=SECONDS`` sets how long a timed-out request is held before its connection is
dropped (default 30). None are active by default. See docs/paper-exchange.md.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, fields

ORDER_FAULTS = ("reject", "timeout_filled", "timeout_unfilled")
#: Order faults that can only be scripted (``POST /paper/admin/faults``), never drawn at
#: random: a 401 as if the key were revoked, a 400 as if the venue refused the order.
SCRIPTED_ORDER_FAULTS = (*ORDER_FAULTS, "unauthorized", "invalid", "none")
#: Status codes a scripted read fault may answer with (before the request is processed).
SCRIPTED_READ_STATUSES = (429, 500, 502, 503)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Probabilities per order (reject, timeouts, slip) and per streamed update
    (disconnect, gap)."""

    reject: float = 0.0
    timeout_filled: float = 0.0
    timeout_unfilled: float = 0.0
    slip: float = 0.0
    disconnect: float = 0.0
    gap: float = 0.0
    hang: float = 30.0

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) > 0 for f in fields(self) if f.name != "hang")


def parse_faults(text: str | None) -> FaultSpec:
    """Parse a fault spec; an unknown kind or a bad probability raises ``ValueError``
    naming it."""
    if not text or not text.strip():
        return FaultSpec()
    known = {f.name for f in fields(FaultSpec)}
    values: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise ValueError(f"EXECUTOR_PAPER_FAULTS: unknown fault {key!r} (known: {sorted(known)})")
        try:
            value = float(raw)
        except ValueError as exc:
            raise ValueError(f"EXECUTOR_PAPER_FAULTS: {key} needs a number, got {raw!r}") from exc
        if key == "hang":
            if not 0 <= value <= 600:
                raise ValueError("EXECUTOR_PAPER_FAULTS: hang must be within [0, 600] seconds")
        elif not 0.0 <= value <= 1.0:
            raise ValueError(f"EXECUTOR_PAPER_FAULTS: {key} must be a probability in [0, 1]")
        values[key] = value
    spec = FaultSpec(**values)
    if spec.reject + spec.timeout_filled + spec.timeout_unfilled > 1.0:
        raise ValueError("EXECUTOR_PAPER_FAULTS: reject + timeouts must not exceed 1")
    return spec


class Faults:
    """Draws faults from a spec with its own seeded random stream.

    Besides the random draws, faults can be *scripted*: a FIFO of order faults consumed
    one per order request and a FIFO of status codes consumed one per REST read. A
    scripted fault always wins over a random draw; the contract suite uses it to make one
    specific request time out or be refused (see docs/paper-exchange.md, "Control").
    """

    def __init__(self, spec: FaultSpec, seed: int = 0) -> None:
        self.spec = spec
        self._rng = random.Random(f"faults:{seed}")
        self.scripted_orders: deque[str] = deque()
        self.scripted_reads: deque[int] = deque()
        self.scripted_streams: deque[str] = deque()
        self.hang_override: float | None = None

    @property
    def hang(self) -> float:
        """Seconds a timed-out request is held before its connection is dropped."""
        return self.spec.hang if self.hang_override is None else self.hang_override

    def script(
        self,
        orders: list[str],
        reads: list[int],
        hang: float | None = None,
        streams: list[str] | None = None,
    ) -> None:
        """Queue order faults, read statuses and stream faults (``disconnect``/``gap``,
        one per streamed update); raises ``ValueError`` naming a bad one."""
        for kind in streams or []:
            if kind not in ("disconnect", "gap"):
                raise ValueError(f"unknown stream fault {kind!r}")
        for kind in orders:
            if kind not in SCRIPTED_ORDER_FAULTS:
                raise ValueError(f"unknown order fault {kind!r}")
        for status in reads:
            if status not in SCRIPTED_READ_STATUSES:
                raise ValueError(f"unsupported read fault status {status!r}")
        if hang is not None and not 0 <= hang <= 600:
            raise ValueError("hang must be within [0, 600] seconds")
        self.scripted_orders.extend(orders)
        self.scripted_reads.extend(reads)
        self.scripted_streams.extend(streams or [])
        if hang is not None:
            self.hang_override = hang

    def clear_script(self) -> None:
        self.scripted_orders.clear()
        self.scripted_reads.clear()
        self.scripted_streams.clear()
        self.hang_override = None

    def read_fault(self) -> int | None:
        """The status code a scripted read fault answers with, or None."""
        return self.scripted_reads.popleft() if self.scripted_reads else None

    def order_fault(self) -> str | None:
        """``reject``, ``timeout_filled``, ``timeout_unfilled`` (or a scripted
        ``unauthorized`` / ``invalid``) or None for one order."""
        if self.scripted_orders:
            # "none": this order is served without a fault (no random draw either).
            kind = self.scripted_orders.popleft()
            return None if kind == "none" else kind
        s = self.spec
        if s.reject + s.timeout_filled + s.timeout_unfilled <= 0:
            return None
        u = self._rng.random()
        if u < s.reject:
            return "reject"
        if u < s.reject + s.timeout_filled:
            return "timeout_filled"
        if u < s.reject + s.timeout_filled + s.timeout_unfilled:
            return "timeout_unfilled"
        return None

    def slip(self) -> bool:
        return self.spec.slip > 0 and self._rng.random() < self.spec.slip

    def slip_ticks(self) -> int:
        return self._rng.randint(1, 3)

    def stream_fault(self) -> str | None:
        """``disconnect``, ``gap`` or None for one streamed update."""
        if self.scripted_streams:
            return self.scripted_streams.popleft()
        s = self.spec
        if s.disconnect <= 0 and s.gap <= 0:
            return None
        u = self._rng.random()
        if u < s.disconnect:
            return "disconnect"
        if u < s.disconnect + s.gap:
            return "gap"
        return None
