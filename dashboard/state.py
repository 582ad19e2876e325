"""The worker's state as the dashboard knows it, rebuilt from the worker's messages.

:class:`WorkerState` is a pure reducer: :meth:`WorkerState.apply` takes one server
message (parsed with Decimal-exact numbers), decodes it into its typed view
(:mod:`worker.api.views`: one key per field, as the worker sends it) and returns the set
of *topics* it changed (``status``, ``settings``, ``balances``, ``stats``, ``positions``,
``trades``, ``opportunities``, ``mappings``, ``pnl`` …). A message that does not read as
the protocol says raises :class:`~worker.api.views.ViewError` and changes nothing; the
feed logs it and goes on. The process-wide feed owns one instance; every session reads it
on its own document's tick. ``init`` replaces everything (a resync after a reconnect), so
a session never shows a mix of old and new worker state.

The answers of the read-only API the feed reads (``/api/status``, ``/api/trades`` …) are
folded in the same way, as messages of the dashboard's own kinds (:data:`API_ANSWERS`).

Positions, trades, opportunities and mappings are kept as the pages show them
(:mod:`dashboard.shown`), read from the wire's views.

Money stays ``Decimal`` from the wire to the formatter; nothing here does float maths.
Trades get a process-local sequence number so each session can tell which rows it has
already shown and never loses one between two coalesced ticks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dashboard.shown import ShownMapping, ShownOpportunity, ShownPosition, ShownTrade
from worker.api import views as wire
from worker.domain.attempts import RefusalReason
from worker.domain.settings import ExecutorSettings
from worker.domain.tradelog import PositionStatus

TOPICS = (
    "status",
    "settings",
    "balances",
    "stats",
    "positions",
    "trades",
    "opportunities",
    "mappings",
    "discovery",
    "pnl",
    "connection",
    "reply",
    "alerts",
    "venues",
    "refusals",
    "database",
)
MAX_TRADES = 500
MAX_REFUSALS = 20
MAX_PNL_POINTS = 20_000
#: Refusals that say which daily limit stops new trades.
STOPPING_REFUSALS = frozenset({RefusalReason.DAILY_TRADES, RefusalReason.DAILY_LOSS})

#: The read-only API's answers the feed folds in, each as a message of the dashboard's
#: own kind whose data is the route's answer.
API_ANSWERS: dict[str, Callable[[object], Any]] = {
    "status_snapshot": wire.decode_api_status,  # GET /api/status, after a trade
    "trades_history": wire.decode_api_trades,  # GET /api/trades
    "positions_snapshot": wire.decode_api_positions,  # GET /api/positions?status=open
    "pnl_history": wire.decode_api_pnl,  # GET /api/pnl
    "mappings_snapshot": wire.decode_api_mappings,  # GET /api/mappings
}


def decode(message: Mapping[str, Any]) -> tuple[str, Any]:
    """(kind, view) of a server message or of an API answer wrapped as one; raises
    :class:`~worker.api.views.ViewError` when it does not read as the protocol says."""
    kind = message.get("type") if isinstance(message, Mapping) else None
    answer = API_ANSWERS.get(kind) if isinstance(kind, str) else None
    if answer is not None:
        return str(kind), answer(message.get("data"))
    view = wire.decode_view(message)
    return view.type, view.data


NO_BALANCES = wire.BalancesView(None, None)
_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


@dataclass
class WorkerState:
    """Everything the pages show, rebuilt from the worker's messages (see module doc)."""

    initialised: bool = False
    enabled: bool = False
    mode: str = ""
    #: ``EXECUTOR_SUSPICIOUS_ROI`` as the worker applies it (None: not said).
    suspicious_roi: Decimal | None = None
    poly_venue: str = "polymarket"
    #: The worker's settings (``init``, ``settings_changed``); None until known.
    settings: ExecutorSettings | None = None
    #: Each venue's cash as last read; a venue never read is None.
    balances: wire.BalancesView = NO_BALANCES
    #: The worker's books (``init`` / ``balance_update`` / status ``books``); None until known.
    books: wire.BooksView | None = None
    #: Today's figures; None until known (or while the worker's database has none).
    stats: wire.StatsView | None = None
    positions: dict[str, ShownPosition] = field(default_factory=dict)
    closed_positions: deque[str] = field(default_factory=lambda: deque(maxlen=1000))
    trades: deque[ShownTrade] = field(default_factory=lambda: deque(maxlen=MAX_TRADES))
    trade_seq: int = 0
    #: Bumped whenever ``trades`` changes (a row added or completed from the history).
    trades_version: int = 0
    _newest: tuple[int, list[ShownTrade]] | None = field(default=None, repr=False, compare=False)
    _stranded: tuple[int, dict[str, ShownTrade]] | None = field(default=None, repr=False, compare=False)
    opportunities: dict[str, ShownOpportunity] = field(default_factory=dict)
    mappings: dict[str, ShownMapping] = field(default_factory=dict)
    #: Listings refused at the latest discovery; None until the worker said anything.
    discovery: wire.DiscoveryView | None = None
    pnl: list[wire.PnlPointView] = field(default_factory=list)
    stopping_limit: str = ""
    updated_at: datetime | None = None
    last_refusal: str = ""
    #: The newest refusals first.
    refusals: deque[wire.RefusalView] = field(default_factory=lambda: deque(maxlen=MAX_REFUSALS))
    #: Alerts not dismissed, by id.
    alerts: dict[str, wire.AlertView] = field(default_factory=dict)
    #: Each venue's feed as the worker last reported it (``venues`` / ``venue_status``).
    venues: dict[str, wire.VenueView] = field(default_factory=dict)
    #: When the worker last reported them (its clock), for their age.
    venues_at: datetime | None = None
    heartbeat_at: datetime | None = None
    executor_running: bool = False
    #: The worker's database as it last reported it; None until it did.
    database: wire.DatabaseView | None = None
    #: The kill switch's flattening as it goes (``kill_switch_progress``); None until one.
    kill_progress: wire.KillSwitchProgressView | None = None

    # -- reducer ---------------------------------------------------------------------
    def apply(self, message: Mapping[str, Any], now: datetime | None = None) -> set[str]:
        """Decode one message and fold it into the state; return the topics it changed.

        Raises :class:`~worker.api.views.ViewError` (nothing changed) when the message
        does not read as the protocol says."""
        kind, view = decode(message)
        return self.fold(kind, view, now)

    def fold(self, kind: str, view: Any, now: datetime | None = None) -> set[str]:
        """Fold one decoded message (``kind``, its view) into the state."""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return set()
        self.updated_at = now or datetime.now(UTC)
        topics: set[str] = handler(view)
        return topics

    def _on_init(self, init: wire.InitView) -> set[str]:
        self.initialised = True
        self.enabled = init.enabled
        self.mode = init.mode
        self.suspicious_roi = init.suspicious_roi
        self.poly_venue = init.poly_venue.value
        self.settings = init.settings
        self.balances = init.balances
        self.books = init.books
        self.stats = init.stats
        self.stopping_limit = ""
        self.executor_running = init.executor_running
        self.database = init.database
        self.alerts = {a.id: a for a in init.alerts if a.dismissed_at is None}
        self.venues = dict(init.venues)
        self.venues_at = init.server_time
        self.positions = {}
        for p in init.positions or ():
            pos = ShownPosition.from_view(p)
            self.positions[pos.id] = pos
        self.discovery = init.discovery
        # As the worker has it: a flatten that went on (or ended) while this client was
        # not listening shows its count, never the last one heard before a disconnect.
        self.kill_progress = init.kill_switch
        return set(TOPICS) - {"connection", "reply"}

    def _add_trades(self, rows: Iterable[wire.TradeView]) -> None:
        for row in rows:
            self.trade_seq += 1
            self.trades.append(ShownTrade.from_view(self.trade_seq, row))
        self.trades_version += 1

    def _on_trades_history(self, rows: tuple[wire.TradeView, ...]) -> set[str]:
        """``/api/trades``: rows known by id get the stored row's details (order ids,
        legs, fees) and keep their place; the others are added. Oldest first, at most
        :data:`MAX_TRADES` kept."""
        at = {t.id: i for i, t in enumerate(self.trades) if t.id}
        for row in sorted(rows, key=lambda r: r.timestamp):
            i = at.get(row.id or "")
            if i is not None:
                self.trades[i] = ShownTrade.from_view(self.trades[i].seq, row)
            else:
                self._add_trades([row])
        ordered = sorted(self.trades, key=lambda t: t.order)
        self.trades = deque(ordered[-MAX_TRADES:], maxlen=MAX_TRADES)
        self.trades_version += 1
        return {"trades"}

    def stranded(self) -> dict[str, ShownTrade]:
        """Attempts whose latest row is STRANDED (by attempt id), once per change."""
        cached = self._stranded
        if cached is None or cached[0] != self.trades_version:
            latest = {t.attempt_id: t for t in self.trades if t.attempt_id}
            cached = self._stranded = (self.trades_version, {a: t for a, t in latest.items() if t.status == "STRANDED"})
        return cached[1]

    def trades_newest_first(self) -> list[ShownTrade]:
        """``trades`` newest first, sorted once per change for every session."""
        cached = self._newest
        if cached is None or cached[0] != self.trades_version:
            cached = self._newest = (self.trades_version, sorted(self.trades, key=lambda t: t.order, reverse=True))
        return cached[1]

    def _merge_balances(self, new: wire.BalancesView) -> None:
        """A venue read now replaces its figure; one not read (null) keeps the last known."""
        old = self.balances
        self.balances = wire.BalancesView(
            new.poly if new.poly is not None else old.poly,
            new.kalshi if new.kalshi is not None else old.kalshi,
        )

    def _on_balance_update(self, update: wire.BalanceUpdateView) -> set[str]:
        if update.books is not None:
            self.books = update.books
        self._merge_balances(update.balances)
        return {"balances"}

    def _on_trade_event(self, trade: wire.TradeView) -> set[str]:
        self._add_trades([trade])
        return {"trades"}

    def _on_status_snapshot(self, status: wire.StatusView) -> set[str]:
        """``GET /api/status``: today's stats, balances and books, read after a trade."""
        topics = {"balances", "discovery"}
        if status.stats is not None:
            self.stats = status.stats
            topics.add("stats")
        self._merge_balances(status.balances)
        if status.books is not None:
            self.books = status.books
        self.discovery = status.discovery
        return topics

    def _on_position_opened(self, p: wire.PositionView) -> set[str]:
        pos = ShownPosition.from_view(p)
        self.positions[pos.id] = pos
        return {"positions"}

    def _on_position_closed(self, closed: wire.PositionClosedView) -> set[str]:
        self.positions.pop(closed.id, None)
        self.closed_positions.append(closed.id)
        return {"positions"}

    def _on_positions_snapshot(self, rows: tuple[wire.PositionView, ...]) -> set[str]:
        """Open positions read from ``/api/positions``: fills in the legs' names.

        Merges only: a snapshot read before a ``position_opened`` or ``position_closed``
        arrived must neither drop the new one nor bring back the closed one.
        """
        closed = set(self.closed_positions)
        for p in rows:
            if (p.status or PositionStatus.OPEN) is not PositionStatus.OPEN:
                continue
            pos = ShownPosition.from_view(p)
            if pos.id not in closed:
                self.positions[pos.id] = pos
        return {"positions"}

    def _on_settings_changed(self, settings: ExecutorSettings) -> set[str]:
        self.settings = settings
        self.enabled = settings.enabled
        return {"settings", "status", "stats"}

    def _on_status_changed(self, change: wire.StatusChangedView) -> set[str]:
        self.enabled = change.enabled
        return {"status", "stats"}

    def _on_refusal(self, refusal: wire.RefusalView) -> set[str]:
        self.last_refusal = refusal.detail
        if refusal.reason is not RefusalReason.DISABLED:  # paused: the badge says so, for every opportunity
            self.refusals.appendleft(refusal)
        if refusal.reason in STOPPING_REFUSALS:
            self.stopping_limit = refusal.reason.value
            return {"stats", "refusals"}
        return {"refusals"}

    def _on_heartbeat(self, beat: wire.HeartbeatView) -> set[str]:
        """The worker is alive. Carries ``enabled`` too, so a badge never lags a change
        whose ``status_changed`` was lost with a connection."""
        self.heartbeat_at = beat.server_time
        self.executor_running = beat.executor_running
        topics: set[str] = set()
        # State and data age only: the detail and since stay as last reported.
        for name, info in beat.venues.items():
            old = self.venues.get(name)
            self.venues[name] = info if old is None else replace(old, state=info.state, data_age_ms=info.data_age_ms)
        self.venues_at = self.updated_at
        topics.add("venues")
        old_db = self.database
        if old_db is None or beat.database.state != old_db.state:
            # The heartbeat carries no figures_as_of: keep the one init or status gave.
            self.database = replace(beat.database, figures_as_of=old_db.figures_as_of if old_db else None)
            topics.add("database")
        if beat.enabled != self.enabled:
            self.enabled = beat.enabled
            topics |= {"status", "stats"}
        return topics

    def _on_alert(self, alert: wire.AlertView) -> set[str]:
        if alert.dismissed_at is not None:
            self.alerts.pop(alert.id, None)
        else:
            self.alerts[alert.id] = alert
        return {"alerts"}

    def _on_alert_dismissed(self, alert: wire.AlertView) -> set[str]:
        self.alerts.pop(alert.id, None)
        return {"alerts"}

    def _on_kill_switch_progress(self, progress: wire.KillSwitchProgressView) -> set[str]:
        self.kill_progress = progress
        return {"kill_switch"}

    def _on_venue_status(self, status: wire.VenueStatusView) -> set[str]:
        # State, data age and detail: the since stays as last reported.
        for name, info in status.venues.items():
            old = self.venues.get(name)
            self.venues[name] = info if old is None else replace(
                old, state=info.state, data_age_ms=info.data_age_ms, detail=info.detail)
        self.venues_at = self.updated_at
        return {"venues"}

    def active_alerts(self) -> list[wire.AlertView]:
        """Not dismissed, the most severe first, then the newest."""
        return sorted(self.alerts.values(),
                      key=lambda a: (_SEVERITY_ORDER.get(a.severity.value, 3), -a.last_at.timestamp()))

    def _replace_opportunities(self, rows: Iterable[wire.OpportunityView]) -> None:
        self.opportunities = {}
        for row in rows:
            opp = ShownOpportunity.from_view(row)
            self.opportunities[opp.id] = opp

    def _on_opportunities_snapshot(self, snapshot: wire.OpportunitiesView) -> set[str]:
        self._replace_opportunities(snapshot.opportunities)
        return {"opportunities"}

    def _on_opportunity_opened(self, view: wire.OpportunityView) -> set[str]:
        opp = ShownOpportunity.from_view(view)
        self.opportunities[opp.id] = opp
        return {"opportunities"}

    _on_opportunity_updated = _on_opportunity_opened

    def _on_opportunity_closed(self, closed: wire.OpportunityClosedView) -> set[str]:
        self.opportunities.pop(closed.id, None)
        return {"opportunities"}

    def _replace_mappings(self, rows: Iterable[wire.MappingView]) -> None:
        self.mappings = {}
        for row in rows:
            m = ShownMapping.from_view(row)
            self.mappings[m.id] = m

    def _on_mappings_snapshot(self, rows: tuple[wire.MappingView, ...]) -> set[str]:
        self._replace_mappings(rows)
        return {"mappings"}

    def _on_mapping_changed(self, view: wire.MappingView) -> set[str]:
        m = ShownMapping.from_view(view)
        old = self.mappings.get(m.id)
        if old is not None and not m.title:
            # A status-only change: keep what we knew about the pair.
            verdict = m if m.tradeable is not None else old
            m = replace(old, status=m.status or old.status, reasons=m.reasons or old.reasons, note=m.note,
                        tradeable=verdict.tradeable, why_not=verdict.why_not, why_not_text=verdict.why_not_text)
        self.mappings[m.id] = m
        return {"mappings", "opportunities"}

    def _on_discovery_refusals(self, discovery: wire.DiscoveryView) -> set[str]:
        self.discovery = discovery
        return {"discovery"}

    def _on_pnl_point(self, point: wire.PnlPointView) -> set[str]:
        self.pnl.append(point)
        if len(self.pnl) > MAX_PNL_POINTS:
            del self.pnl[: len(self.pnl) - MAX_PNL_POINTS]
        return {"pnl"}

    def _on_pnl_history(self, points: tuple[wire.PnlPointView, ...]) -> set[str]:
        self.pnl = list(points)
        return {"pnl"}

    # -- derived figures -------------------------------------------------------------
    def total_balance(self) -> Decimal | None:
        """Both venues' cash; None until both were read (a part is not a total)."""
        poly, kalshi = self.balances.poly, self.balances.kalshi
        if poly is None or kalshi is None:
            return None
        return poly + kalshi
