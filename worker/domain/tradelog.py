"""Trade-log and position records (the plan's ``executor_trades`` / ``executor_positions``).

Vocabulary (ARCHITECTURE.md, "Units and vocabulary"):

* A **trade** counted against ``max_daily_trades`` is an arbitrage attempt that reserved a
  slot, whatever its outcome. Every attempt ends in exactly one trade-log row with an
  attempt status (SUCCESS, FAILED, ROLLED_BACK, STRANDED).
* A position's exit writes its own row: CLOSED (by hand) or SETTLED (at resolution).
* **Realised P&L** is the sum of the pnl of FAILED, ROLLED_BACK, CLOSED and SETTLED rows.
  A SUCCESS row's pnl is the edge the hedge locked in; it is realised by the position's
  later CLOSED or SETTLED row, so counting both would count it twice.
* A **win** is one of the day's attempts whose realised P&L that day is above zero (the sum
  of its realised rows), so a hedge counts when its settlement or close realises the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class TradeStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    STRANDED = "STRANDED"
    CLOSED = "CLOSED"
    SETTLED = "SETTLED"


ATTEMPT_STATUSES = frozenset(
    {TradeStatus.SUCCESS, TradeStatus.FAILED, TradeStatus.ROLLED_BACK, TradeStatus.STRANDED}
)
REALISED_STATUSES = frozenset(
    {TradeStatus.FAILED, TradeStatus.ROLLED_BACK, TradeStatus.CLOSED, TradeStatus.SETTLED}
)


class PositionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    EXPIRED = "expired"
    #: Settled (its SETTLED row is written, its P&L realised) but part of its payout waits
    #: for the operator to redeem it at the venue; ``closed`` once the cash arrived.
    TO_REDEEM = "to_redeem"


@dataclass(frozen=True)
class TradeRecord:
    """One trade-log row to write. Money is exact; the REAL columns are derived from it."""

    event_title: str
    status: TradeStatus
    bet_size: Decimal
    pnl: Decimal
    timestamp: datetime
    roi: Decimal | None = None  # percent
    poly_order_id: str | None = None
    kalshi_order_id: str | None = None
    reason: str | None = None
    attempt_id: str | None = None
    position_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    source: str = "executor"
    dedup_key: str | None = None

    def key(self) -> str:
        """The row's identity: its attempt (or position exit), else its order ids, else its content."""
        if self.dedup_key:
            return self.dedup_key
        if self.attempt_id and self.status in ATTEMPT_STATUSES:
            return f"attempt:{self.attempt_id}"
        if self.position_id and self.status in (TradeStatus.CLOSED, TradeStatus.SETTLED):
            return f"position:{self.position_id}:{self.status}"
        return content_key(self)


def content_key(record: TradeRecord) -> str:
    """Import identity: the order ids when present, else timestamp + event + status + size."""
    if record.poly_order_id or record.kalshi_order_id:
        return f"orders:poly={record.poly_order_id or ''}|kalshi={record.kalshi_order_id or ''}"
    return (
        f"row:{record.timestamp.isoformat()}|{record.event_title}|{record.status}|"
        f"{record.bet_size.normalize():f}"
    )


@dataclass(frozen=True)
class StoredTrade:
    id: str
    timestamp: datetime
    event_title: str
    status: str
    bet_size: Decimal
    pnl: Decimal
    roi: Decimal | None
    poly_order_id: str | None
    kalshi_order_id: str | None
    reason: str | None
    attempt_id: str | None
    position_id: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class PositionLeg:
    """One leg of a position, named as its venue names the contract."""

    venue: str  # kalshi | polymarket | polymarket_us
    market: str  # Kalshi ticker, CLOB token id, PM-US slug
    contract: str  # "Rockets", "NO KXNBAGAME-…-HOU", "long Houston"
    side: str  # what was bought: YES / NO, the outcome name, long / short
    price: Decimal
    contracts: int


@dataclass(frozen=True)
class NewPosition:
    event_key: str
    event_title: str
    opened_at: datetime
    poly: PositionLeg
    kalshi: PositionLeg
    cost: Decimal  # both legs with fees
    attempt_id: str | None = None
    game_key: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionLegColumns:
    """An open position's two legs and cost as its ``executor_positions`` row keeps them
    (null where the row has none): shared by the stored row and the wire's view of it."""

    poly_market: str | None
    poly_contract: str | None
    poly_side: str | None
    poly_price: Decimal | None
    poly_contracts: int | None
    kalshi_ticker: str | None
    kalshi_side: str | None
    kalshi_price: Decimal | None
    kalshi_contracts: int | None
    cost: Decimal | None
    attempt_id: str | None


@dataclass(frozen=True, kw_only=True)
class StoredPosition(PositionLegColumns):
    id: str
    event_key: str
    event_title: str
    opened_at: datetime
    status: str
    poly_venue: str | None
    game_key: str | None
    expires_at: datetime | None
    closed_at: datetime | None
    realized_pnl: Decimal | None
    close_reason: str | None


@dataclass(frozen=True)
class DailyStats:
    """Today's figures for the trading day (``EXECUTOR_DAY_TZ``)."""

    day: date
    trades: int
    pnl: Decimal
    wins: int
    losses_realised: Decimal  # net realised loss today (>= 0), for the daily-loss limit


@dataclass(frozen=True, slots=True)
class TradeQuery:
    """Which trade-log rows to read, newest first (``/api/trades``, ``/api/trades.csv``).

    ``since``: at or after; ``until``: at or before; ``before``: strictly older — the
    keyset cursor of paging, the time of the oldest row shown so far, so ``limit`` +
    ``before`` pages back through all history; with ``before_id`` (that row's id) a row
    sharing the cursor's time but older by id is not skipped. ``status``: one of
    :class:`TradeStatus`; ``league``: the league of the mapping the row's attempt traded
    (rows of no attempt, such as imported ones, have none).
    """

    limit: int = 100
    since: datetime | None = None
    until: datetime | None = None
    before: datetime | None = None
    before_id: int | None = None
    status: TradeStatus | None = None
    league: str | None = None


@dataclass(frozen=True)
class PnlSeriesPoint:
    """One point of the cumulative realised P&L series: after one trade, or after the
    trades of one UTC minute, hour or day (``t`` is then the bucket's start).

    ``pnl`` is the running total, ``delta`` what the point's ``trades`` realised;
    ``trade_id`` and ``event`` name the trade when the series has one point per trade.
    """

    t: datetime
    pnl: Decimal
    delta: Decimal
    trades: int = 1
    trade_id: str | None = None
    event: str | None = None


def trading_day_bounds(now: datetime, tz: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The trading day containing ``now`` and its [start, end) instants in UTC.

    Computed through local midnights, so a 23- or 25-hour DST day is handled right.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(tz)
    day = local.date()
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return day, start, end
