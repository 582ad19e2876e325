"""What a replay did, gathered while it runs and turned into its report (``report.json``).

:class:`ReplayFacts` is handed what the replayed worker does: every lifecycle step of an
opportunity (the pipeline's ``on_event`` hook, :meth:`ReplayFacts.on_opportunity`), every
typed event the executor publishes (:meth:`ReplayFacts.publish`) and, at the end, what
the throwaway database holds (:meth:`ReplayFacts.finish`: attempts, trade-log rows, the
tracked mappings) with the recording's span. :meth:`ReplayFacts.report` is the report;
:func:`write_report` writes it as ``report.json``.

What the report means:

* an **opportunity seen** is one opening of an opportunity to its close (the scanner's
  opportunity id is stable per mapping and direction, so one that closes and opens again
  counts twice). Its lifetime runs from the first event to the close (one still open when
  the recording ends runs to the recording's end); its edge and ROI are the best its quotes
  reached. The hot path keeps one small record per open opportunity, never the events;
* a **refusal** is an ``OpportunityRefused`` the executor published: once per
  opportunity and change of reason, as the dashboard sees them. ``refusal_checks`` (the
  executor's own counter, one per evaluation) may be added by the caller;
* **locked P&L** is what the trade log's SUCCESS rows say a hedge locked:
  :func:`worker.domain.pnl.locked_pnl` of each HEDGED attempt — the hedged pairs' $1
  payout less what both legs' pairs cost with their fees, plus what unwinding any excess
  of leg 1 brought in less that excess's cost. It is guaranteed at the fill (the pair
  pays $1 whatever the result), not yet cash;
* **realised P&L** is the trade log's: the sum of the pnl of FAILED, ROLLED_BACK, CLOSED
  and SETTLED rows (:data:`worker.domain.tradelog.REALISED_STATUSES`: unwinds, closes and
  settlements, each from :mod:`worker.domain.pnl`). A hedge's settlement realises its
  locked edge, so the two are never added up as such;
* **net P&L** at a time is the realised P&L plus the locked edge of the hedges whose
  position is still open then; the **worst drawdown** is the largest fall of net P&L
  from its highest point so far (starting at 0 when the recording starts);
* **capital in use** is what open positions cost (:func:`~worker.domain.pnl.position_cost`,
  fees included) from their hedge to their close or settlement, plus what stranded legs
  cost (:func:`~worker.domain.pnl.stranded_cost`) until their end is realised.

The report's keys: ``summary`` (the headline figures), ``opportunities`` (count,
lifetimes p50/p90/max in seconds, best ROI and edge in fixed bins), ``trades`` (one row per
attempt: its time, game and mapping, direction, state, cost and P&L), ``refusals`` (by
reason), ``pnl`` (cumulative locked, realised, net and the
drawdown at each change), ``drawdown`` (worst, with its peak's and trough's times),
``capital`` (capital in use at each change), ``by_league`` and ``by_venue_pair``,
``balances`` (the first and last balances the executor read), ``published`` (events by
class), ``settings``, ``skipped`` (unreadable parts of the recording) and ``exchange`` (the
replay exchange's own account, as the driver gives it).

Money is written as the exact Decimal's text, times as ISO-8601 UTC. Nothing in the report
depends on the wall clock or on ids the run made up (attempt, order and position ids are
uuids or row numbers: they are only used to join rows, never written), and every list is
sorted on what it shows, so the same recording and settings give byte-identical JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from worker.domain.attempts import AttemptRecord, AttemptState
from worker.domain.events import BalanceUpdate, EngineEvent, OpportunityRefused, TradeEvent
from worker.domain.mapping import MarketMapping, Opportunity, OpportunityEvent, OpportunityEventKind
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.tradelog import StoredTrade, TradeStatus
from worker.replay.figures import Ledger, TradeRow, bins_of, iso, percentile, seconds
from worker.replay.figures import amount as money
from worker.replay.recording import SkippedPart

REPORT_FILE = "report.json"
#: Bins of an opportunity's best ROI (percent) and best edge (dollars); the last is open.
ROI_BINS = tuple(Decimal(x) for x in ("0", "0.5", "1", "1.5", "2", "3", "5", "10", "20"))
EDGE_BINS = tuple(Decimal(x) for x in ("0", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"))
UNKNOWN = "unknown"


def venue_pair(first: Venue, second: Venue) -> str:
    """``kalshi/polymarket``: the two venues of a pair, Kalshi first."""
    a, b = sorted((first.value, second.value), key=lambda v: (v != Venue.KALSHI.value, v))
    return f"{a}/{b}"


@dataclass(slots=True)
class _Open:
    """An opportunity open now: when it opened, its last step and its best quote."""

    first: datetime
    last: datetime
    best_edge: Decimal
    best_roi: Decimal
    league: str
    pair: str


@dataclass(frozen=True, slots=True)
class _Seen:
    """One opportunity from its opening to its close (or to the recording's end)."""

    opened: datetime
    lifetime_s: float
    best_edge: Decimal
    best_roi: Decimal
    league: str
    pair: str
    closed: bool


@dataclass(frozen=True, slots=True)
class _End:
    """What the driver hands over at the end of the run (see :meth:`ReplayFacts.finish`)."""

    attempts: tuple[AttemptRecord, ...]
    trades: tuple[TradeRow, ...]
    mappings: Mapping[str, tuple[str, str]]
    start: datetime | None
    end: datetime | None
    book_updates: int
    skipped: tuple[SkippedPart, ...]
    dropped: int
    exchange: Any
    refusal_checks: Mapping[str, int] | None
    #: Mappings the replay's discovery made (0: nothing could trade), and whether every
    #: attempt had ended when the replay stopped.
    discovered: int | None = None
    clean: bool | None = None


class ReplayFacts:
    """Collects a replay's facts; see the module's docstring for what each figure means.

    Wiring: the pipeline's ``on_event`` calls :meth:`on_opportunity`; the executor's
    ``publish`` forwards every event to :meth:`publish`; the driver calls :meth:`finish`
    once the run is over, then :meth:`report`.
    """

    def __init__(self, settings: Any = None, **options: Any) -> None:
        """``settings``: the executor's settings the replay ran with (an
        ``ExecutorSettings``, its ``values()`` or any mapping); ``options``: the replay's own
        (latencies, balances, window, …). Both are written in the report as given, money as
        text, so they must not hold anything that changes from run to run."""
        self._settings = {"executor": jsonable(settings), **{k: jsonable(v) for k, v in options.items()}}
        self._open: dict[str, _Open] = {}
        self._seen: list[_Seen] = []
        # Per opportunity id and per mapping id: its league and venue pair (a few per game).
        self._opportunity_meta: dict[str, tuple[str, str]] = {}
        self._mapping_meta: dict[str, tuple[str, str]] = {}
        self.steps: Counter[str] = Counter()
        self.published: Counter[str] = Counter()
        self._refusals: Counter[tuple[str, str, str]] = Counter()
        self._balances: list[BalanceUpdate] = []
        # The trade-log rows as published, for a caller that does not pass the rows.
        self._rows: list[TradeRow] = []
        self._end: _End | None = None

    # -- while the replay runs ----------------------------------------------------------
    def on_opportunity(self, event: OpportunityEvent) -> None:
        """One OPENED / UPDATED / CLOSED step of an opportunity (called on every quote
        change: a dictionary look-up and two comparisons; the curve is never read)."""
        opp = event.opportunity
        kind = event.kind
        self.steps[kind.value] += 1
        entry = self._open.get(opp.id)
        if entry is None:
            league, pair = self._meta(opp)
            entry = _Open(event.at, event.at, opp.edge, opp.roi_pct, league, pair)
            self._open[opp.id] = entry
        else:
            entry.last = event.at
            if opp.edge > entry.best_edge:
                entry.best_edge = opp.edge
            if opp.roi_pct > entry.best_roi:
                entry.best_roi = opp.roi_pct
        if kind is OpportunityEventKind.CLOSED:
            del self._open[opp.id]
            self._seen.append(self._episode(entry, event.at, closed=True))

    def _meta(self, opp: Opportunity) -> tuple[str, str]:
        meta = self._opportunity_meta.get(opp.id)
        if meta is None:
            meta = (opp.league or UNKNOWN, venue_pair(opp.kalshi_leg.contract.venue, opp.poly_leg.contract.venue))
            self._opportunity_meta[opp.id] = meta
            self._mapping_meta.setdefault(opp.mapping_id, meta)
        return meta

    @staticmethod
    def _episode(entry: _Open, end: datetime, *, closed: bool) -> _Seen:
        return _Seen(entry.first, seconds(end - entry.first), entry.best_edge, entry.best_roi, entry.league,
                     entry.pair, closed)

    def publish(self, event: EngineEvent | object) -> None:
        """Every event the executor publishes (the driver forwards them all; opportunity
        events are counted by :meth:`on_opportunity` only)."""
        self.published[type(event).__name__] += 1
        if isinstance(event, OpportunityRefused):
            league, pair = self._opportunity_meta.get(event.opportunity_id, (UNKNOWN, UNKNOWN))
            self._refusals[(event.reason.value, league, pair)] += 1
        elif isinstance(event, TradeEvent):
            if isinstance(event.status, TradeStatus) and isinstance(event.pnl, Decimal):
                bet = event.bet_size if isinstance(event.bet_size, Decimal) else ZERO
                attempt = event.attempt_id if isinstance(event.attempt_id, str) else None
                position = event.position_id if isinstance(event.position_id, str) else None
                self._rows.append(TradeRow(event.timestamp, event.status.value, event.pnl, bet, attempt, position))
        elif isinstance(event, BalanceUpdate):
            if len(self._balances) < 2:
                self._balances.append(event)
            else:
                self._balances[1] = event

    # -- at the end ---------------------------------------------------------------------
    def finish(
        self,
        *,
        attempts: Sequence[AttemptRecord],
        mappings: Iterable[MarketMapping],
        start: datetime | None,
        end: datetime | None,
        book_updates: int,
        trades: Sequence[StoredTrade] | None = None,
        skipped: Sequence[SkippedPart] = (),
        dropped: int = 0,
        ledger: Any = None,
        refusal_checks: Mapping[str, int] | None = None,
        discovered: int | None = None,
        clean: bool | None = None,
    ) -> None:
        """The run is over: what the throwaway database holds and what was replayed.

        ``attempts``: every attempt (``AttemptRepository.list_all()``); ``mappings``: the
        tracked mappings (each attempt's league and venues); ``start`` and ``end``: the
        recorded span replayed (None for an empty recording); ``book_updates``: how many
        were fed; ``trades``: every trade-log row (``TradeRepository.query_trades(
        TradeQuery(limit=…))``, any order) — when None, the rows the executor published as
        ``TradeEvent`` events stand for them; ``skipped``: the recording's unreadable parts;
        ``dropped``: updates the recorder dropped; ``ledger``: the replay exchange's own
        account (written as given); ``refusal_checks``: the executor's refusal counter,
        one per evaluation (``Executor.refusals``), when wanted; ``discovered``: how many
        mappings the replay's discovery made; ``clean``: whether every attempt had ended
        when the replay stopped.
        """
        meta = dict(self._mapping_meta)
        for m in mappings:
            meta[m.id] = (m.league or UNKNOWN, venue_pair(Venue.KALSHI, m.poly_venue))
        rows = tuple(self._rows) if trades is None else tuple(TradeRow.of(t) for t in trades)
        self._end = _End(tuple(attempts), rows, meta, start, end, book_updates, tuple(skipped), dropped,
                         None if ledger is None else jsonable(ledger),
                         None if refusal_checks is None else dict(refusal_checks), discovered, clean)

    def report(self) -> dict[str, Any]:
        """The report (see the module's docstring); :meth:`finish` must have been called."""
        if self._end is None:
            raise RuntimeError("ReplayFacts.report() before finish()")
        end = self._end
        seen = sorted(
            [*self._seen, *(self._episode(o, max(end.end or o.last, o.last), closed=False) for o in self._open.values())],
            key=lambda s: (s.opened, s.league, s.pair, s.lifetime_s, s.best_edge, s.best_roi),
        )
        ledger = Ledger(end.attempts, end.trades, end.mappings, end.start)
        refusals = self._refusal_section(end)
        opportunities = self._opportunity_section(seen)
        by_league = self._breakdown(seen, ledger, 1)
        by_pair = self._breakdown(seen, ledger, 2)
        states = Counter(a.state.value for a in end.attempts)
        pnl = ledger.pnl_series(end.end)
        drawdown = ledger.drawdown(pnl)
        capital = ledger.capital_series(end.end)
        summary = {
            "start": None if end.start is None else iso(end.start),
            "end": None if end.end is None else iso(end.end),
            "span_seconds": seconds(end.end - end.start) if end.start and end.end else 0.0,
            "book_updates": end.book_updates,
            "opportunities_seen": len(seen),
            "attempts": len(end.attempts),
            "attempts_by_state": dict(sorted(states.items())),
            "hedged": states.get(AttemptState.HEDGED.value, 0),
            "stranded": states.get(AttemptState.STRANDED.value, 0),
            "refusals": refusals["total"],
            "locked_pnl": money(ledger.locked_total),
            "realised_pnl": money(ledger.realised_total),
            "net_pnl": pnl[-1]["net"] if pnl else "0",
            "worst_drawdown": drawdown["worst"],
            "peak_capital": max((p["capital"] for p in capital), key=Decimal, default="0"),
            "skipped_parts": len(end.skipped),
            "dropped_updates": end.dropped,
            "mappings": end.discovered,
            "all_attempts_ended": end.clean,
        }
        return {
            "summary": summary,
            "opportunities": opportunities,
            "trades": ledger.trade_rows(),
            "refusals": refusals,
            "pnl": pnl,
            "drawdown": drawdown,
            "capital": capital,
            "by_league": by_league,
            "by_venue_pair": by_pair,
            "balances": [{"kalshi": money(b.kalshi), "poly": money(b.poly)} for b in self._balances],
            "published": dict(sorted(self.published.items())),
            "settings": self._settings,
            "skipped": [{"path": s.path, "reason": s.reason} for s in end.skipped],
            "exchange": end.exchange,
        }

    @staticmethod
    def write(directory: Path, report: Mapping[str, Any]) -> Path:
        """Write ``report`` as ``directory/report.json`` (:func:`write_report`)."""
        return write_report(directory, report)

    def _refusal_section(self, end: _End) -> dict[str, Any]:
        by_reason: Counter[str] = Counter()
        for (reason, _, _), n in self._refusals.items():
            by_reason[reason] += n
        section: dict[str, Any] = {"total": sum(by_reason.values()), "by_reason": dict(sorted(by_reason.items()))}
        if end.refusal_checks is not None:
            section["checks_by_reason"] = dict(sorted(end.refusal_checks.items()))
        return section

    def _opportunity_section(self, seen: list[_Seen]) -> dict[str, Any]:
        lifetimes = sorted(s.lifetime_s for s in seen)
        return {
            "count": len(seen),
            "open_at_end": sum(1 for s in seen if not s.closed),
            "steps": dict(sorted(self.steps.items())),
            "lifetime_seconds": {
                "p50": percentile(lifetimes, 50),
                "p90": percentile(lifetimes, 90),
                "max": lifetimes[-1] if lifetimes else None,
            },
            "roi_pct_histogram": bins_of([s.best_roi for s in seen], ROI_BINS),
            "edge_histogram": bins_of([s.best_edge for s in seen], EDGE_BINS),
        }

    def _breakdown(self, seen: list[_Seen], ledger: Ledger, which: int) -> dict[str, dict[str, Any]]:
        """Per league (``which`` 1) or venue pair (2): opportunities, refusals, attempts,
        hedges and both P&Ls."""
        rows: dict[str, dict[str, Any]] = {}

        def row(key: str) -> dict[str, Any]:
            return rows.setdefault(key, {"opportunities": 0, "refusals": 0, "attempts": 0, "hedged": 0,
                                         "locked_pnl": ZERO, "realised_pnl": ZERO})

        for s in seen:
            row(s.league if which == 1 else s.pair)["opportunities"] += 1
        for key3, n in self._refusals.items():
            row(key3[which])["refusals"] += n
        for key, figures in ledger.breakdown(which).items():
            r = row(key)
            r["attempts"] += figures.attempts
            r["hedged"] += figures.hedged
            r["locked_pnl"] += figures.locked
            r["realised_pnl"] += figures.realised
        return {k: {**v, "locked_pnl": money(v["locked_pnl"]), "realised_pnl": money(v["realised_pnl"])}
                for k, v in sorted(rows.items())}


# -- writing -------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """Settings and the like as JSON: money as text, times ISO, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def dumps(report: Mapping[str, Any]) -> str:
    """The report's one canonical text: sorted keys, no spaces, a final newline."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def write_report(directory: Path, report: Mapping[str, Any]) -> Path:
    """Write ``report.json`` into ``directory`` (made if missing); returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / REPORT_FILE
    path.write_text(dumps(report), encoding="utf-8")
    return path


def headline(report: Mapping[str, Any], wall_seconds: float) -> dict[str, Any]:
    """What the replay prints: the summary's figures, ``speed_factor`` (recorded span ÷
    wall time), the wall time and the skipped parts' paths (none of it but the summary is in
    ``report.json``, which must not depend on the wall clock)."""
    line = dict(report["summary"])
    span = float(line.get("span_seconds") or 0)
    line["speed_factor"] = round(span / wall_seconds, 3) if wall_seconds > 0 else None
    line["wall_s"] = round(wall_seconds, 3)
    line["skipped"] = [s["path"] for s in report.get("skipped", [])]
    return line


def headline_line(report: Mapping[str, Any], wall_seconds: float) -> str:
    """:func:`headline` as the one line of JSON printed."""
    return json.dumps(headline(report, wall_seconds), sort_keys=True, separators=(",", ":"))
