"""Backfill of the trade log from an older bot's JSON-lines log (the plan's migration step 3).

Each line is one JSON object: ``timestamp`` (ISO-8601; no offset means UTC), ``event`` or
``event_title``, ``status``, ``bet_size``, ``pnl``, ``roi``, ``poly_order_id``,
``kalshi_order_id``; any other key is kept in ``details``. A line's identity is its order
ids when it has any, else timestamp + event + status + bet size, so importing the same
file twice, or two overlapping files, adds each trade once. A bad line is reported with
its number and reason and never stops the rest; each line is written whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from worker.domain.storage import TradeStore
from worker.domain.tradelog import TradeRecord, TradeStatus

KNOWN_KEYS = {
    "timestamp",
    "event",
    "event_title",
    "status",
    "bet_size",
    "pnl",
    "roi",
    "poly_order_id",
    "kalshi_order_id",
}


class BadLine(ValueError):
    pass


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"imported {self.imported}, skipped {self.duplicates} duplicates, rejected {len(self.rejected)}"


def _decimal(obj: dict[str, Any], key: str, *, required: bool, default: Decimal | None = None) -> Decimal | None:
    if key not in obj or obj[key] is None:
        if required:
            raise BadLine(f"{key} is missing")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise BadLine(f"{key} must be a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise BadLine(f"{key} must be a number, got {value!r}") from None
    if not number.is_finite():
        raise BadLine(f"{key} must be finite")
    return number


def _order_id(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadLine(f"{key} must be a string")
    return str(value)


def parse_line(text: str) -> TradeRecord:
    """One log line -> a trade record to import; raises :class:`BadLine` with the reason."""
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (json.JSONDecodeError, BadLine) as exc:
        raise BadLine(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BadLine("not a JSON object")
    raw_ts = obj.get("timestamp")
    if not isinstance(raw_ts, str):
        raise BadLine("timestamp is missing or not a string")
    try:
        ts = datetime.fromisoformat(raw_ts.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadLine(f"timestamp is not ISO-8601: {raw_ts!r}") from None
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    title = obj.get("event_title", obj.get("event"))
    if not isinstance(title, str) or not title.strip():
        raise BadLine("event (or event_title) is missing")
    status_raw = obj.get("status")
    if not isinstance(status_raw, str):
        raise BadLine("status is missing")
    try:
        status = TradeStatus(status_raw.strip().upper())
    except ValueError:
        raise BadLine(f"unknown status {status_raw!r}") from None
    bet_size = _decimal(obj, "bet_size", required=True)
    assert bet_size is not None
    if bet_size < 0:
        raise BadLine("bet_size must not be negative")
    pnl = _decimal(obj, "pnl", required=False, default=Decimal(0))
    assert pnl is not None
    return TradeRecord(
        event_title=title.strip(),
        status=status,
        bet_size=bet_size,
        pnl=pnl,
        roi=_decimal(obj, "roi", required=False),
        timestamp=ts,
        poly_order_id=_order_id(obj, "poly_order_id"),
        kalshi_order_id=_order_id(obj, "kalshi_order_id"),
        details={k: v for k, v in obj.items() if k not in KNOWN_KEYS},
        source="import",
    )


def _reject_constant(name: str) -> Any:
    raise BadLine(f"{name} is not a number")


async def import_lines(lines: Iterable[str], store: TradeStore) -> ImportReport:
    report = ImportReport()
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = parse_line(text)
        except BadLine as exc:
            report.rejected.append((number, str(exc)))
            continue
        stored = await store.record_trade(record)
        if stored is None:
            report.duplicates += 1
        else:
            report.imported += 1
    return report
