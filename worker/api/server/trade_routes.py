"""``/api/trades`` and ``/api/trades.csv``: the trade log, filtered and paged by keyset.

Parameters (all optional, the same for both routes): ``since`` (at or after) and ``until``
(at or before), ``before`` (strictly older: the time of the oldest row shown so far, so
``limit`` + ``before`` pages back through all history) with ``before_id`` (that row's id,
so that rows sharing its time are not skipped), ``status`` (a trade status), ``league``
and ``limit`` (1–1000, default 100; the CSV has every matching row up to
:data:`CSV_MAX_ROWS`). Times are ISO-8601 with a zone. A bad parameter is a 400 naming it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.api.server.routes import JsonHandler, QueryError, query_choice, query_time
from worker.domain.leagues import League
from worker.domain.tradelog import TradeQuery, TradeStatus

CSV_MAX_ROWS = 100_000
_PAGE = 1000
#: The CSV's columns, in order: the trade log's own fields.
CSV_COLUMNS = (
    "id", "timestamp", "event", "status", "bet_size", "pnl", "roi", "kalshi_order_id", "poly_order_id",
    "reason", "attempt_id", "position_id",
)  # fmt: skip
_LEAGUES = tuple(league.value for league in League if league is not League.OTHER)


def trade_query(handler: JsonHandler, limit: int) -> TradeQuery:
    """The request's filters (400 on a bad one)."""
    raw_id = handler.get_query_argument("before_id", None)
    before_id = None
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise QueryError("before_id", "before_id must be a trade id (a whole number)")
        before_id = int(raw_id)
    before = query_time(handler, "before")
    if before_id is not None and before is None:
        raise QueryError("before_id", "before_id needs before (the time of that trade)")
    status = query_choice(handler, "status", tuple(s.value for s in TradeStatus))
    return TradeQuery(
        limit=limit,
        since=query_time(handler, "since"),
        until=query_time(handler, "until"),
        before=before,
        before_id=before_id,
        status=TradeStatus(status) if status else None,
        league=query_choice(handler, "league", _LEAGUES),
    )


class TradesHandler(JsonHandler):
    async def get(self) -> None:
        raw = self.get_query_argument("limit", "100")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise QueryError("limit", "limit must be a whole number from 1 to 1000")
        self.write_json({"trades": await self.history.trades(trade_query(self, int(raw)))})


class TradesCsvHandler(JsonHandler):
    """Every trade matching the filters as CSV (``limit`` is not taken: all rows)."""

    async def get(self) -> None:
        query = trade_query(self, _PAGE)
        rows: list[Mapping[str, Any]] = []
        while len(rows) < CSV_MAX_ROWS:
            page = await self.history.trades(query)
            rows.extend(page)
            if len(page) < query.limit:
                break
            last = page[-1]
            query = _older_than(query, last)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows[:CSV_MAX_ROWS]:
            writer.writerow([_cell(row.get(c)) for c in CSV_COLUMNS])
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="trades.csv"')
        self.finish(out.getvalue())


def _older_than(query: TradeQuery, row: Mapping[str, Any]) -> TradeQuery:
    """The next page's query: rows older than ``row`` (its time, then its id)."""
    at = datetime.fromisoformat(str(row["timestamp"]).replace("Z", "+00:00"))
    return replace(query, before=at, before_id=int(row["id"]))


def _cell(value: Any) -> str:
    """A CSV cell: amounts exact, nothing a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    # A text cell starting with = + - @ (or a tab / CR) is a formula to a spreadsheet:
    # a venue's market title must not become one (OWASP "CSV injection").
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text
