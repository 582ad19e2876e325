"""Storage ports: what the engine needs from the database, as protocols.

Implemented in ``db/`` (SQLite or PostgreSQL); the engine never sees SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from worker.domain.ledger import CashEntry, LedgerFill, Opening
from worker.domain.markets import Venue
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import NewPosition, StoredPosition, StoredTrade, TradeRecord


class DatabaseUnavailable(RuntimeError):
    """The database cannot take a write now; ``reason`` is short and carries no secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SettingsConflict(RuntimeError):
    """The settings changed since they were read: the write was refused."""


class SettingsStore(Protocol):
    async def load(self) -> Mapping[str, Any] | None:
        """The stored settings row as column -> value, or None if there is none."""

    async def save(self, settings: ExecutorSettings) -> None:
        """Persist the whole settings object durably (committed when this returns)."""

    async def save_fields(self, fields: Mapping[str, Any], expected_version: int | None) -> int:
        """Write only ``fields`` (and bump the version); with ``expected_version``, only if
        the stored version is still that one, else raise :class:`SettingsConflict`.
        Returns the new version."""


class TradeStore(Protocol):
    async def record_trade(self, record: TradeRecord) -> StoredTrade | None:
        """Insert one trade-log row; None (and nothing written) if its key exists already."""

    async def open_position(self, position: NewPosition) -> StoredPosition: ...

    async def close_position(
        self,
        position_id: str,
        *,
        status: str,
        closed_at: datetime,
        realized_pnl: Decimal | None,
        reason: str,
        trade: TradeRecord | None,
        cash: Sequence[CashEntry] = (),
    ) -> tuple[StoredPosition, StoredTrade | None]:
        """Mark an open position closed/expired and write its trade row and the cash it
        brought (settlement payouts), in one transaction."""

    async def get_position(self, position_id: str) -> StoredPosition | None: ...

    async def set_position_status(self, position_id: str, status: str) -> None:
        """Move a settled position on (``to_redeem`` → ``closed`` once its payout arrived)."""

    async def list_positions(self, status: str | None = None) -> list[StoredPosition]: ...

    async def recent_trades(
        self, *, limit: int = 100, since: datetime | None = None
    ) -> list[StoredTrade]: ...

    async def day_figures(self, start: datetime, end: datetime) -> tuple[int, Decimal, int]:
        """(trades, net realised pnl, wins) for attempts/rows in [start, end)."""


@dataclass(frozen=True, slots=True)
class Fence:
    """Which grant of the lease a write is made under: it commits only while the lease row
    still names this holder and epoch and has not expired by the database's clock."""

    account: str
    holder: str
    epoch: int


class LeaseGrant(Protocol):
    @property
    def holder(self) -> str | None: ...

    @property
    def held(self) -> bool: ...

    @property
    def epoch(self) -> int: ...


class LeaseStore(Protocol):
    async def acquire(self, account: str, holder: str, ttl_s: float) -> LeaseGrant:
        """Take or renew the lease (free, expired or ours), judged by the database's clock."""

    async def release(self, account: str, holder: str) -> bool: ...


class LedgerStore(Protocol):
    """The books' records: our fills as the venues reported them, other cash movements,
    and each venue's cash when our records began (implemented in ``db/ledger.py``)."""

    async def fills(self) -> list[LedgerFill]: ...

    async def cash(self) -> list[CashEntry]: ...

    async def record_cash(self, entries: Sequence[CashEntry]) -> None: ...

    async def mark_received(self, venue: Venue, refs: Sequence[str], at: datetime) -> None:
        """Owed payouts (by ref) that reached the account."""

    async def openings(self) -> dict[Venue, Opening]: ...

    async def set_opening(self, venue: Venue, amount: Decimal, at: datetime) -> bool:
        """Record the opening cash of ``venue``; only the first call counts."""

    async def realised(self, since: datetime | None = None) -> Decimal:
        """Realised P&L of our own trade-log rows (since ``since``)."""
