"""The money side of a replay's report, from the throwaway database's attempts and trade log.

:class:`Ledger` joins each attempt to its trade-log rows (by the attempt's id, which is
never written out) and gives the report's trade list, the cumulative locked / realised /
net P&L series with its drawdown, and capital in use over time. The definitions are
:mod:`worker.replay.facts`'s docstring's; every figure comes from :mod:`worker.domain.pnl`
or from the trade log's own rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from worker.domain.attempts import AttemptRecord, AttemptState, LegRole
from worker.domain.markets import Venue
from worker.domain.money import ZERO
from worker.domain.pnl import locked_pnl, position_cost, spent, stranded_cost
from worker.domain.tradelog import ATTEMPT_STATUSES, REALISED_STATUSES, StoredTrade, TradeStatus

UNKNOWN = "unknown"
_EXITS = frozenset({TradeStatus.CLOSED.value, TradeStatus.SETTLED.value})


def seconds(span: timedelta) -> float:
    """A duration in seconds, to the microsecond."""
    return round(span.total_seconds(), 6)


def percentile(ordered: Sequence[float], p: int) -> float | None:
    """The nearest-rank ``p``-th percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    rank = -(-p * len(ordered) // 100)  # ceil(p × n / 100)
    return ordered[max(rank, 1) - 1]


def amount(value: Decimal) -> str:
    """An exact amount as plain text (no exponent, no trailing zeros, never ``-0``)."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def bins_of(values: Sequence[Decimal], edges: Sequence[Decimal]) -> list[dict[str, Any]]:
    """Counts per fixed bin ``[edge, next edge)``; the last bin is open-ended and a value
    below the first edge counts in the first bin."""
    counts = [0] * len(edges)
    for v in values:
        idx = 0
        for i, edge in enumerate(edges):
            if v >= edge:
                idx = i
        counts[idx] += 1
    return [
        {"from": amount(edge), "to": amount(edges[i + 1]) if i + 1 < len(edges) else None, "count": counts[i]}
        for i, edge in enumerate(edges)
    ]


@dataclass(frozen=True, slots=True)
class TradeRow:
    """What the report reads of one trade-log row (a ``StoredTrade``, or the published
    ``TradeEvent`` of a row when the rows themselves are not given)."""

    timestamp: datetime
    status: str
    pnl: Decimal
    bet_size: Decimal
    attempt_id: str | None
    position_id: str | None

    @classmethod
    def of(cls, t: StoredTrade) -> TradeRow:
        return cls(t.timestamp, str(t.status), t.pnl, t.bet_size, t.attempt_id, t.position_id)


@dataclass(slots=True)
class Figures:
    """One league's or venue pair's attempts, hedges and P&L."""

    attempts: int = 0
    hedged: int = 0
    locked: Decimal = ZERO
    realised: Decimal = ZERO


class Ledger:
    """The attempts and trade-log rows of one replay, joined by attempt."""

    def __init__(
        self,
        attempts: Sequence[AttemptRecord],
        trades: Sequence[TradeRow],
        mapping_meta: Mapping[str, tuple[str, str]],
        start: datetime | None,
    ) -> None:
        self.start = start
        self.attempts = sorted(attempts, key=lambda a: (a.created_at, a.event_title, a.direction or "", a.id))
        self.rows: dict[str | None, list[TradeRow]] = defaultdict(list)
        for t in sorted(trades, key=lambda t: (t.timestamp, t.status, t.pnl, t.bet_size)):
            self.rows[t.attempt_id].append(t)
        self.meta = {a.id: self._meta(a, mapping_meta) for a in self.attempts}
        self.locked = {a.id: self._locked(a) for a in self.attempts if a.state is AttemptState.HEDGED}
        self.realised_rows = sorted(
            (t for t in trades if t.status in REALISED_STATUSES), key=lambda t: (t.timestamp, t.status, t.pnl)
        )
        self.locked_total = sum(self.locked.values(), ZERO)
        self.realised_total = sum((t.pnl for t in self.realised_rows), ZERO)

    @staticmethod
    def _meta(attempt: AttemptRecord, mapping_meta: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
        """(league, venue pair) of an attempt: its mapping's, else its legs' venues."""
        if attempt.mapping_id and attempt.mapping_id in mapping_meta:
            return mapping_meta[attempt.mapping_id]
        venues = sorted({g.venue.value for g in attempt.legs}, key=lambda v: (v != Venue.KALSHI.value, v))
        return UNKNOWN, "/".join(venues) if len(venues) == 2 else UNKNOWN

    @staticmethod
    def _locked(attempt: AttemptRecord) -> Decimal:
        if attempt.leg(LegRole.LEG1) is None or attempt.leg(LegRole.LEG2) is None:
            return attempt.pnl if attempt.pnl is not None else ZERO
        return locked_pnl(attempt)

    def _row(self, attempt: AttemptRecord, statuses: frozenset[str], *, position: bool | None = None) -> TradeRow | None:
        """The attempt's first trade-log row of ``statuses`` (a position's exit when
        ``position`` is True, a stranded leg's end when False)."""
        for t in self.rows.get(attempt.id, ()):
            if t.status in statuses and (position is None or (t.position_id is not None) == position):
                return t
        return None

    def _ended(self, attempt: AttemptRecord) -> datetime | None:
        row = self._row(attempt, frozenset(s.value for s in ATTEMPT_STATUSES))
        return row.timestamp if row is not None else None

    def _locked_at(self, attempt: AttemptRecord) -> datetime:
        row = self._row(attempt, frozenset({TradeStatus.SUCCESS.value}))
        return row.timestamp if row is not None else attempt.updated_at

    def _realised(self, attempt: AttemptRecord) -> Decimal:
        return sum((t.pnl for t in self.rows.get(attempt.id, ()) if t.status in REALISED_STATUSES), ZERO)

    # -- the report's parts -------------------------------------------------------------
    def trade_rows(self) -> list[dict[str, Any]]:
        """One row per attempt: when, what, how it ended, what it cost and made."""
        out = []
        for a in self.attempts:
            leg1, leg2 = a.leg(LegRole.LEG1), a.leg(LegRole.LEG2)
            ended = self._ended(a)
            league, pair = self.meta[a.id]
            out.append((a.created_at, ended or a.created_at, {
                "time": iso(a.created_at),
                "ended": None if ended is None else iso(ended),
                "event": a.event_title,
                # The game (its Kalshi event) and the market pair traded: both stable
                # across runs (``mapping_id`` hashes the two markets' ids), so a replay's
                # trades can be set against the live worker's attempts.
                "game": a.game_key,
                "mapping_id": a.mapping_id,
                "direction": a.direction,
                "league": league,
                "pair": pair,
                "state": a.state.value,
                "contracts": amount(a.contracts),
                "hedged_contracts": amount(min(leg1.filled, leg2.filled)) if leg1 and leg2 else "0",
                "cost": amount(spent(a)),
                "locked_pnl": amount(self.locked.get(a.id, ZERO)),
                "realised_pnl": amount(self._realised(a)),
            }))
        out.sort(key=lambda r: (r[0], r[1], sorted((k, str(v)) for k, v in r[2].items())))
        return [r[2] for r in out]

    def pnl_series(self, end: datetime | None) -> list[dict[str, str]]:
        """Cumulative locked, realised and net P&L after each time anything moved, with the
        drawdown of net P&L there; 0 at the recording's start, held to its end."""
        # (time, order at that time, locked delta, realised delta, the attempt whose edge
        # is locked, the attempt whose position the row exits): a hedge locks before its
        # position's exit realises; one point per time, after everything that moved then.
        changes: list[tuple[datetime, int, Decimal, Decimal, str | None, str | None]] = []
        for a in self.attempts:
            if a.id in self.locked:
                changes.append((self._locked_at(a), 0, self.locked[a.id], ZERO, a.id, None))
        for t in self.realised_rows:
            exit_of = t.attempt_id if t.status in _EXITS and t.position_id is not None else None
            changes.append((t.timestamp, 1, ZERO, t.pnl, None, exit_of))
        changes.sort(key=lambda c: (c[0], c[1], c[2], c[3]))
        locked = realised = peak = ZERO
        open_locked: dict[str, Decimal] = {}
        points = [] if self.start is None else [self._point(self.start, ZERO, ZERO, ZERO, ZERO)]
        for i, (at, _, d_locked, d_realised, lock_of, exit_of) in enumerate(changes):
            locked += d_locked
            realised += d_realised
            if lock_of is not None:
                open_locked[lock_of] = d_locked
            if exit_of is not None:
                open_locked.pop(exit_of, None)
            if i + 1 < len(changes) and changes[i + 1][0] == at:
                continue
            net = realised + sum(open_locked.values(), ZERO)
            peak = max(peak, net)
            point = self._point(at, locked, realised, net, peak - net)
            if points and points[-1]["t"] == point["t"]:
                points[-1] = point
            else:
                points.append(point)
        if points and end is not None and end > datetime.fromisoformat(points[-1]["t"]):
            points.append({**points[-1], "t": iso(end)})
        return points

    @staticmethod
    def _point(at: datetime, locked: Decimal, realised: Decimal, net: Decimal, drawdown: Decimal) -> dict[str, str]:
        return {"t": iso(at), "locked": amount(locked), "realised": amount(realised), "net": amount(net),
                "drawdown": amount(drawdown)}

    @staticmethod
    def drawdown(points: Sequence[Mapping[str, str]]) -> dict[str, Any]:
        """The worst fall of net P&L from its highest point so far (0 is the first peak),
        and when that peak and the trough were."""
        peak, peak_at = ZERO, points[0]["t"] if points else None
        worst, worst_peak_at, trough_at = ZERO, None, None
        for p in points:
            net = Decimal(p["net"])
            if net > peak:
                peak, peak_at = net, p["t"]
            if peak - net > worst:
                worst, worst_peak_at, trough_at = peak - net, peak_at, p["t"]
        return {"worst": amount(worst), "peak_at": worst_peak_at, "trough_at": trough_at}

    def capital_series(self, end: datetime | None) -> list[dict[str, str]]:
        """Capital in use after each change: open positions' cost from hedge to exit, and
        stranded legs' cost until their end is realised; 0 at the start, held to the end."""
        changes: list[tuple[datetime, Decimal]] = []
        for a in self.attempts:
            if a.state is AttemptState.HEDGED and a.leg(LegRole.LEG1) and a.leg(LegRole.LEG2):
                cost, opened, closed = position_cost(a), self._locked_at(a), self._row(a, _EXITS, position=True)
            elif a.state is AttemptState.STRANDED and a.leg(LegRole.LEG1):
                row = self._row(a, frozenset({TradeStatus.STRANDED.value}))
                cost, opened = stranded_cost(a), row.timestamp if row is not None else a.updated_at
                closed = self._row(a, _EXITS, position=False)
            else:
                continue
            changes.append((opened, cost))
            if closed is not None:
                changes.append((closed.timestamp, -cost))
        changes.sort()
        points = [] if self.start is None else [{"t": iso(self.start), "capital": "0"}]
        in_use = ZERO
        for i, (at, delta) in enumerate(changes):
            in_use += delta
            if i + 1 < len(changes) and changes[i + 1][0] == at:
                continue
            point = {"t": iso(at), "capital": amount(in_use)}
            if points and points[-1]["t"] == point["t"]:
                points[-1] = point
            else:
                points.append(point)
        if points and end is not None and end > datetime.fromisoformat(points[-1]["t"]):
            points.append({"t": iso(end), "capital": points[-1]["capital"]})
        return points

    def breakdown(self, which: int) -> dict[str, Figures]:
        """Per league (``which`` 1) or venue pair (2): attempts, hedges, locked and
        realised P&L (a realised row of no attempt of this run counts as unknown)."""
        out: dict[str, Figures] = defaultdict(Figures)
        for a in self.attempts:
            f = out[self.meta[a.id][which - 1]]
            f.attempts += 1
            f.hedged += a.state is AttemptState.HEDGED
            f.locked += self.locked.get(a.id, ZERO)
            f.realised += self._realised(a)
        known = set(self.meta)
        for t in self.realised_rows:
            if t.attempt_id not in known:
                out[UNKNOWN].realised += t.pnl
        return dict(out)
