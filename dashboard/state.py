"""The worker's state as the dashboard knows it, rebuilt from protocol messages.

:class:`WorkerState` is a pure reducer: :meth:`WorkerState.apply` takes one server
message (already parsed with Decimal-exact numbers) and returns the set of *topics* it
changed (``status``, ``settings``, ``balances``, ``stats``, ``positions``, ``trades``,
``opportunities``, ``mappings``, ``pnl``). The process-wide feed owns one instance; every
session reads it on its own document's tick. ``init`` replaces everything (a resync after
a reconnect), so a session never shows a mix of old and new worker state.

Money stays ``Decimal`` from the wire to the formatter; nothing here does float maths.
Trades get a process-local sequence number so each session can tell which rows it has
already shown and never loses one between two coalesced ticks.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from worker.api import schemas

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


def dec(value: Any) -> Decimal | None:
    """An exact Decimal from a wire number (int or Decimal); None when absent or invalid."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str | float):
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def when(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from an ISO-8601 string or epoch seconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float | Decimal):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def sid(value: Any) -> str:
    return "" if value is None else str(value)


def permission(data: Mapping[str, Any]) -> tuple[bool | None, str, str]:
    """(``tradeable``, ``why_not`` reason, ``why_not`` text) of a wire mapping or
    opportunity; ``tradeable`` is None when the worker did not say."""
    raw = data.get("tradeable")
    tradeable = raw if isinstance(raw, bool) else None
    why = data.get("why_not")
    if not isinstance(why, Mapping):
        return tradeable, "", ""
    return tradeable, sid(why.get("reason")), sid(why.get("text"))


# "NO KXNBAGAME-26NOV29HOULAL-HOU": the side and the market's ticker, as the scanner and
# the executor label a Kalshi leg. The last ticker segment names the team the market is
# about, which is how Kalshi's own site shows the contract ("NO HOU").
_KALSHI_LABEL = re.compile(r"^(YES|NO) ([A-Z0-9.]+(?:-[A-Z0-9.]+)*-([A-Z0-9.]+))$", re.IGNORECASE)


def kalshi_name(label: str) -> str:
    """A Kalshi contract by its short name: ``NO KXNBAGAME-…-HOU`` → ``NO HOU``."""
    m = _KALSHI_LABEL.match(label.strip())
    return f"{m.group(1).upper()} {m.group(3)}" if m else label


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return None


@dataclass(frozen=True)
class Leg:
    """One side of a position or opportunity, named as its venue names the contract."""

    venue: str  # kalshi | polymarket | polymarket_us
    contract: str  # "Rockets", "NO HOU", "long Houston"
    price: Decimal | None
    market: str = ""  # ticker, CLOB token id or market slug
    url: str = ""
    contracts: int | None = None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any], venue: str = "") -> Leg:
        contract = data.get("contract")
        ref: Mapping[str, Any] = contract if isinstance(contract, Mapping) else {}
        name = _first(data, "label", "contract_name", "outcome", "name")
        if name is None:
            name = contract if isinstance(contract, str) else _first(data, "side")
        contracts = _first(data, "contracts", "size")
        leg_venue = sid(_first(data, "venue") or ref.get("venue") or venue)
        return cls(
            venue=leg_venue,
            contract=kalshi_name(sid(name)) if leg_venue == "kalshi" else sid(name),
            price=dec(_first(data, "price", "avg_price")),
            market=sid(_first(data, "market", "ticker", "token_id", "slug") or ref.get("contract_id")),
            url=sid(_first(data, "url")),
            contracts=int(contracts) if isinstance(contracts, int | Decimal) and not isinstance(contracts, bool) else None,
        )


def _position_legs(data: Mapping[str, Any]) -> tuple[Leg, Leg]:
    poly = data.get("poly")
    kalshi = data.get("kalshi")
    if isinstance(poly, Mapping) and isinstance(kalshi, Mapping):
        return (
            Leg.from_wire(poly, sid(data.get("poly_venue")) or "polymarket"),
            Leg.from_wire(kalshi, "kalshi"),
        )
    # The plan's flat columns: poly_side / poly_price / kalshi_side / kalshi_price.
    kalshi_contract = kalshi_name(sid(_first(data, "kalshi_contract")))
    if not kalshi_contract:
        side = sid(data.get("kalshi_side"))
        ticker = sid(data.get("kalshi_ticker"))
        kalshi_contract = f"{side} {ticker.rsplit('-', 1)[-1]}".strip() if ticker else side
    return (
        Leg(
            venue=sid(data.get("poly_venue")) or "polymarket",
            contract=sid(_first(data, "poly_contract", "poly_side")),
            price=dec(data.get("poly_price")),
            market=sid(data.get("poly_market")),
            contracts=data.get("poly_contracts") if isinstance(data.get("poly_contracts"), int) else None,
        ),
        Leg(
            venue="kalshi",
            contract=kalshi_contract,
            price=dec(data.get("kalshi_price")),
            market=sid(data.get("kalshi_ticker")),
            contracts=data.get("kalshi_contracts") if isinstance(data.get("kalshi_contracts"), int) else None,
        ),
    )


@dataclass(frozen=True)
class Position:
    id: str
    event: str
    poly: Leg
    kalshi: Leg
    opened_at: datetime | None
    cost: Decimal | None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Position:
        poly, kalshi = _position_legs(data)
        return cls(
            id=sid(_first(data, "id", "position_id")),
            event=sid(_first(data, "event_title", "event", "title")),
            poly=poly,
            kalshi=kalshi,
            opened_at=when(data.get("opened_at")),
            cost=dec(data.get("cost")),
        )


@dataclass(frozen=True)
class Trade:
    seq: int
    id: str
    time: datetime | None
    status: str
    event: str
    size: Decimal | None
    pnl: Decimal | None
    roi: Decimal | None
    reason: str
    attempt_id: str

    @classmethod
    def from_wire(cls, seq: int, data: Mapping[str, Any]) -> Trade:
        return cls(
            seq=seq,
            id=sid(_first(data, "id", "trade_id")),
            time=when(_first(data, "timestamp", "time", "at")),
            status=sid(data.get("status")).upper(),
            event=sid(_first(data, "event", "event_title", "title")),
            size=dec(_first(data, "bet_size", "size")),
            pnl=dec(data.get("pnl")),
            roi=dec(data.get("roi")),
            reason=sid(data.get("reason")),
            attempt_id=sid(data.get("attempt_id")),
        )


def _curve(raw: Any) -> tuple[tuple[Decimal, Decimal, Decimal], ...]:
    out = []
    for point in raw if isinstance(raw, list | tuple) else ():
        if isinstance(point, Mapping):
            size, cost, roi = dec(point.get("size")), dec(point.get("cost")), dec(point.get("roi_pct"))
            if size is not None and cost is not None and roi is not None:
                out.append((size, cost, roi))
    return tuple(sorted(out))


@dataclass(frozen=True)
class Opportunity:
    """A live arbitrage opportunity as the card grid shows it (ROI in percent)."""

    id: str
    title: str
    league: str
    confidence: str
    legs: tuple[Leg, Leg]
    roi: Decimal
    cost: Decimal | None
    volume: Decimal | None
    roi_per_day: Decimal | None
    starts_at: datetime | None
    opened_at: datetime | None
    updated_at: datetime | None
    expires_at: datetime | None
    expired: bool
    rules_differ: bool
    rules: Mapping[str, str]
    mapping_id: str = ""
    #: Kalshi's traded contracts; ``volume`` is the Polymarket side's (dollars on
    #: Polymarket). Two units: shown side by side, never added.
    kalshi_volume: Decimal | None = None
    #: May the pair trade (the worker's verdict; None when it did not say), and if not,
    #: why: a machine reason (``not_confirmed``, ``mapping_rejected``, ``low_confidence``)
    #: and a short text.
    tradeable: bool | None = None
    why_not: str = ""
    why_not_text: str = ""
    #: The size–ROI curve: (size, cost, ROI %) per point, smallest first.
    curve: tuple[tuple[Decimal, Decimal, Decimal], ...] = ()
    size: Decimal | None = None  # full depth: contracts
    #: One line per cancellation/postponement scenario the venues settle differently
    #: (worst case per pair included); empty when they agree.
    rules_differences: tuple[str, ...] = ()
    #: The largest shortfall under $1 per pair among those (None: a payout is unknown).
    rules_worst_loss: Decimal | None = None
    #: Why a completed game would not pay $1 per pair (the executor refuses the pair).
    rules_outcome_problem: str = ""
    #: Each venue's rule per scenario in words, with the sentence it was read from.
    rules_facts: tuple[str, ...] = ()

    def at_bet(self, max_bet: Decimal | None) -> tuple[Decimal, Decimal, Decimal] | None:
        """(size, cost, ROI %) the executor would trade with ``max_bet`` (its own sizing
        of the curve), or None when not even the smallest size fits."""
        if max_bet is None or not self.curve:
            return None
        return schemas.size_at_bet(self.curve, max_bet)

    @property
    def poly_venue(self) -> str:
        return next((leg.venue for leg in self.legs if leg.venue != "kalshi"), "polymarket")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Opportunity:
        raw_legs = data.get("legs")
        if isinstance(data.get("poly_leg"), Mapping) and isinstance(data.get("kalshi_leg"), Mapping):
            legs = (Leg.from_wire(data["poly_leg"]), Leg.from_wire(data["kalshi_leg"], "kalshi"))
        elif isinstance(raw_legs, list | tuple) and len(raw_legs) >= 2:
            legs = (Leg.from_wire(raw_legs[0]), Leg.from_wire(raw_legs[1]))
        else:
            legs = _position_legs(data)
        rules = data.get("rules")
        rules_map: dict[str, str] = {}
        differ = bool(data.get("rules_differ", False))
        differences: tuple[str, ...] = ()
        worst_loss: Decimal | None = None
        outcome_problem = ""
        facts: tuple[str, ...] = ()
        if isinstance(rules, Mapping):
            for key, value in rules.items():
                if key == "differences":
                    differ = differ or bool(value)
                    if isinstance(value, list | tuple) and value:
                        differences = tuple(sid(v) for v in value)
                        rules_map["differences"] = "; ".join(differences)
                elif key == "worst_loss":
                    worst_loss = dec(value)
                elif key == "outcome_problem":
                    outcome_problem = sid(value)
                elif key == "facts":
                    facts = tuple(sid(v) for v in value) if isinstance(value, list | tuple) else ()
                elif isinstance(value, str):  # the texts; the structured facts stay on the wire
                    rules_map[str(key)] = value
        cost = dec(_first(data, "cost_per_pair", "unit_cost"))
        if cost is None:
            total, size = dec(data.get("cost")), dec(data.get("size"))
            cost = total / size if total is not None and size else total
        return cls(
            id=sid(_first(data, "id", "opportunity_id")),
            title=sid(_first(data, "title", "event_title", "event")),
            league=sid(_first(data, "league", "sport")).lower(),
            confidence=sid(data.get("confidence") or "LOW").upper(),
            legs=legs,
            roi=dec(_first(data, "roi_pct", "roi")) or Decimal(0),
            cost=cost,
            volume=dec(_first(data, "volume", "vol")),
            kalshi_volume=dec(data.get("kalshi_volume")),
            curve=_curve(data.get("curve")),
            size=dec(data.get("size")),
            roi_per_day=dec(_first(data, "roi_per_day_pct", "roi_per_day")),
            starts_at=when(_first(data, "starts_at", "start_time", "game_start", "expires_at")),
            opened_at=when(_first(data, "opened_at", "detected_at")),
            updated_at=when(data.get("updated_at")),
            expires_at=when(data.get("expires_at")),
            expired=bool(data.get("expired", False)),
            rules_differ=differ,
            rules=rules_map,
            rules_differences=differences,
            rules_worst_loss=worst_loss,
            rules_outcome_problem=outcome_problem,
            rules_facts=facts,
            mapping_id=sid(data.get("mapping_id")),
            **_permission_fields(data),
        )

    def is_expired(self, now: datetime) -> bool:
        if self.expired:
            return True
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Mapping_:
    """A matched Kalshi / Polymarket pair with the matcher's confidence and reasons."""

    id: str
    title: str
    league: str
    confidence: str
    status: str
    reasons: tuple[str, ...]
    kalshi: str
    poly: str
    starts_at: datetime | None
    #: As on :class:`Opportunity`: may the pair trade, and if not, why.
    tradeable: bool | None = None
    why_not: str = ""
    why_not_text: str = ""

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Mapping_:
        reasons = data.get("reasons")
        if isinstance(reasons, str):
            reasons_t: tuple[str, ...] = (reasons,)
        elif isinstance(reasons, list | tuple):
            reasons_t = tuple(sid(r) for r in reasons)
        else:
            reasons_t = ()
        poly_market = sid(_first(data, "poly_contract", "poly_market", "poly"))
        poly_side = sid(data.get("poly_side"))
        kalshi = sid(_first(data, "kalshi_ticker", "kalshi"))
        return cls(
            id=sid(_first(data, "id", "mapping_id")) or f"{kalshi}|{poly_market}|{poly_side}",
            title=sid(_first(data, "title", "event", "event_title")),
            league=sid(data.get("league")).lower(),
            confidence=sid(data.get("confidence") or "LOW").upper(),
            status=sid(data.get("status") or "candidate").lower(),
            reasons=reasons_t,
            kalshi=kalshi,
            poly=f"{poly_market} {poly_side}".strip(),
            starts_at=when(_first(data, "starts_at", "start_time")),
            **_permission_fields(data),
        )


def _permission_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    tradeable, reason, text = permission(data)
    return {"tradeable": tradeable, "why_not": reason, "why_not_text": text}


@dataclass(frozen=True)
class Refusal:
    """An opportunity the executor did not take, and why."""

    time: datetime | None
    event: str
    reason: str
    detail: str


@dataclass(frozen=True)
class DiscoveryRefusal:
    """A listing the worker refused at discovery (``discovery_refusals`` / ``discovery``)."""

    venue: str
    id: str
    reason: str
    at: datetime | None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> DiscoveryRefusal:
        return cls(sid(data.get("venue")), sid(data.get("id")), sid(data.get("reason")), when(data.get("at")))


@dataclass(frozen=True)
class Discovery:
    """Listings refused at the worker's latest discovery: the full count, the latest few
    (at most ``schemas.DISCOVERY_REFUSALS_LIMIT``) and when discovery ran (None: not yet)."""

    refused_count: int = 0
    refused: tuple[DiscoveryRefusal, ...] = ()
    discovered_at: datetime | None = None
    known: bool = False  # False until the worker said anything about discovery

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Discovery:
        rows = tuple(DiscoveryRefusal.from_wire(r) for r in data.get("refused") or () if isinstance(r, Mapping))
        count = data.get("refused_count")
        return cls(
            refused_count=count if isinstance(count, int) and not isinstance(count, bool) else len(rows),
            refused=rows,
            discovered_at=when(data.get("discovered_at")),
            known=True,
        )


@dataclass(frozen=True)
class PnlPoint:
    time: datetime
    cumulative: Decimal
    pnl: Decimal | None = None


@dataclass
class WorkerState:
    """Everything the pages show, rebuilt from the worker's messages (see module doc)."""

    initialised: bool = False
    enabled: bool = False
    mode: str = ""
    poly_venue: str = "polymarket"
    settings: dict[str, Any] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)
    #: The worker's books (``init`` / ``balance_update`` / status ``books``); {} until known.
    books: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    closed_positions: deque[str] = field(default_factory=lambda: deque(maxlen=1000))
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=MAX_TRADES))
    trade_seq: int = 0
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    mappings: dict[str, Mapping_] = field(default_factory=dict)
    discovery: Discovery = field(default_factory=Discovery)
    pnl: list[PnlPoint] = field(default_factory=list)
    stopping_limit: str = ""
    updated_at: datetime | None = None
    last_refusal: str = ""
    #: The newest refusals first: (time, event, reason, detail).
    refusals: deque[Refusal] = field(default_factory=lambda: deque(maxlen=MAX_REFUSALS))
    #: Alerts not dismissed, by id (the worker's wire shape).
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each venue's feed as the worker last reported it (``venues`` / ``venue_status``).
    venues: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: When the worker last reported them (its clock), for their age.
    venues_at: datetime | None = None
    heartbeat_at: datetime | None = None
    executor_running: bool = False
    #: The worker's database as it last reported it: {state, error, since, figures_as_of}.
    database: dict[str, Any] = field(default_factory=dict)

    # -- reducer ---------------------------------------------------------------------
    def apply(self, message: Mapping[str, Any], now: datetime | None = None) -> set[str]:
        """Fold one server message into the state; return the topics it changed."""
        kind = message.get("type")
        data = message.get("data")
        if not isinstance(data, Mapping):
            data = {}
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return set()
        self.updated_at = now or datetime.now(UTC)
        topics: set[str] = handler(data)
        return topics

    def _on_init(self, data: Mapping[str, Any]) -> set[str]:
        self.initialised = True
        self.enabled = bool(data.get("enabled", False))
        self.mode = sid(data.get("mode")).lower()
        self.poly_venue = sid(data.get("poly_venue")) or "polymarket"
        self.settings = dict(data.get("settings") or {})
        self.balances = {k: v for k, v in ((k, dec(v)) for k, v in (data.get("balances") or {}).items()) if v is not None}
        books = data.get("books")
        self.books = dict(books) if isinstance(books, Mapping) else {}
        self.stats = dict(data.get("stats") or {})
        self.limits = dict(data.get("limits") or {})
        self.stopping_limit = sid(_first(data, "stopping_limit", "blocked_by"))
        self.executor_running = bool(data.get("executor_running", False))
        self.database = dict(data["database"]) if isinstance(data.get("database"), Mapping) else {}
        self.alerts = {}
        for raw in data.get("alerts") or ():
            if isinstance(raw, Mapping) and raw.get("id") and raw.get("dismissed_at") is None:
                self.alerts[sid(raw["id"])] = dict(raw)
        venues = data.get("venues")
        self.venues = {str(k): dict(v) for k, v in venues.items() if isinstance(v, Mapping)} if isinstance(venues, Mapping) else {}
        self.venues_at = when(data.get("server_time")) or self.updated_at
        self.positions = {}
        for raw in data.get("positions") or ():
            if isinstance(raw, Mapping):
                pos = Position.from_wire(raw)
                self.positions[pos.id] = pos
        if isinstance(data.get("recent_trades"), list):
            self.trades.clear()
            self._add_trades(data["recent_trades"])
        if isinstance(data.get("opportunities"), list):
            self._replace_opportunities(data["opportunities"])
        if isinstance(data.get("mappings"), list):
            self._replace_mappings(data["mappings"])
        discovery = data.get("discovery")
        self.discovery = Discovery.from_wire(discovery) if isinstance(discovery, Mapping) else Discovery()
        if isinstance(data.get("pnl"), list):
            self.pnl = [p for p in (self._pnl(x) for x in data["pnl"]) if p]
        return set(TOPICS) - {"connection", "reply"}

    def _add_trades(self, rows: Iterable[Any]) -> None:
        for raw in rows:
            if isinstance(raw, Mapping):
                self.trade_seq += 1
                self.trades.append(Trade.from_wire(self.trade_seq, raw))

    def _on_trades_history(self, data: Mapping[str, Any]) -> set[str]:
        rows = [r for r in data.get("trades") or () if isinstance(r, Mapping)]
        rows.sort(key=lambda r: when(_first(r, "timestamp", "time", "at")) or datetime.min.replace(tzinfo=UTC))
        self.trades.clear()
        self._add_trades(rows)
        return {"trades"}

    def _on_balance_update(self, data: Mapping[str, Any]) -> set[str]:
        books = data.get("books")
        if isinstance(books, Mapping):
            self.books = dict(books)
        for key, value in data.items():
            if key == "books":
                continue
            amount = dec(value)
            if amount is not None:
                self.balances[str(key)] = amount
        return {"balances"}

    def _on_trade_event(self, data: Mapping[str, Any]) -> set[str]:
        self._add_trades([data])
        topics = {"trades"}
        stats = data.get("stats")
        if isinstance(stats, Mapping):
            self.stats.update(stats)
            topics.add("stats")
        return topics

    def _on_status_snapshot(self, data: Mapping[str, Any]) -> set[str]:
        """``GET /api/status``: today's stats, balances and limits, read after a trade."""
        topics: set[str] = set()
        stats = data.get("stats")
        if isinstance(stats, Mapping):
            self.stats.update({k: v for k, v in stats.items() if k in ("trades", "pnl", "wins")})
            topics.add("stats")
        balances = data.get("balances")
        if isinstance(balances, Mapping):
            topics |= self._on_balance_update(balances)
        if isinstance(data.get("books"), Mapping):
            self.books = dict(data["books"])
            topics.add("balances")
        if isinstance(data.get("limits"), Mapping):
            self.limits = dict(data["limits"])
        if isinstance(data.get("discovery"), Mapping):
            self.discovery = Discovery.from_wire(data["discovery"])
            topics.add("discovery")
        return topics

    def _on_stats_update(self, data: Mapping[str, Any]) -> set[str]:
        self.stats.update(data)
        if "stopping_limit" in data or "blocked_by" in data:
            self.stopping_limit = sid(_first(data, "stopping_limit", "blocked_by"))
        return {"stats"}

    def _on_position_opened(self, data: Mapping[str, Any]) -> set[str]:
        pos = Position.from_wire(data)
        self.positions[pos.id] = pos
        return {"positions"}

    def _on_position_closed(self, data: Mapping[str, Any]) -> set[str]:
        pid = sid(_first(data, "id", "position_id"))
        self.positions.pop(pid, None)
        self.closed_positions.append(pid)
        return {"positions"}

    def _on_positions_snapshot(self, data: Mapping[str, Any]) -> set[str]:
        """Open positions read from ``/api/positions``: fills in the legs' names.

        Merges only: a snapshot read before a ``position_opened`` or ``position_closed``
        arrived must neither drop the new one nor bring back the closed one.
        """
        closed = set(self.closed_positions)
        for raw in data.get("positions") or ():
            if not isinstance(raw, Mapping) or sid(raw.get("status") or "open").lower() != "open":
                continue
            pos = Position.from_wire(raw)
            if pos.id and pos.id not in closed:
                self.positions[pos.id] = pos
        return {"positions"}

    def _on_settings_changed(self, data: Mapping[str, Any]) -> set[str]:
        nested = data.get("settings")
        settings: Mapping[str, Any] = nested if isinstance(nested, Mapping) else data
        self.settings = {k: v for k, v in settings.items() if k != "enabled"}
        if "enabled" in settings:
            self.enabled = bool(settings["enabled"])
        return {"settings", "status", "stats"}

    def _on_status_changed(self, data: Mapping[str, Any]) -> set[str]:
        if "enabled" in data:
            self.enabled = bool(data["enabled"])
        if "stopping_limit" in data or "blocked_by" in data:
            self.stopping_limit = sid(_first(data, "stopping_limit", "blocked_by"))
        return {"status", "stats"}

    def _on_refusal(self, data: Mapping[str, Any]) -> set[str]:
        self.last_refusal = sid(_first(data, "detail", "reason", "message"))
        if sid(data.get("reason")) != "disabled":  # paused: the badge says so, for every opportunity
            self.refusals.appendleft(Refusal(
            time=when(_first(data, "timestamp", "at")) or self.updated_at,
            event=sid(_first(data, "event", "event_title", "opportunity_id")),
            reason=sid(data.get("reason")),
            detail=sid(data.get("detail")),
            ))
        limit = sid(_first(data, "limit", "field", "reason"))
        if limit in ("max_daily_trades", "max_daily_loss", "enabled"):
            self.stopping_limit = limit
            return {"stats", "refusals"}
        return {"refusals"}

    def _on_heartbeat(self, data: Mapping[str, Any]) -> set[str]:
        """The worker is alive. Carries ``enabled`` too, so a badge never lags a change
        whose ``status_changed`` was lost with a connection."""
        self.heartbeat_at = when(data.get("server_time")) or self.updated_at
        self.executor_running = bool(data.get("executor_running", self.executor_running))
        topics: set[str] = set()
        if isinstance(data.get("venues"), Mapping):
            topics |= self._on_venue_status(data)
        if isinstance(data.get("database"), Mapping) and data["database"].get("state") != self.database.get("state"):
            self.database = {**self.database, **data["database"]}
            topics.add("database")
        if "enabled" in data and bool(data["enabled"]) != self.enabled:
            self.enabled = bool(data["enabled"])
            topics |= {"status", "stats"}
        return topics

    def _on_alert(self, data: Mapping[str, Any]) -> set[str]:
        alert_id = sid(data.get("id"))
        if not alert_id:
            return set()
        if data.get("dismissed_at") is not None:
            self.alerts.pop(alert_id, None)
        else:
            self.alerts[alert_id] = dict(data)
        return {"alerts"}

    def _on_alert_dismissed(self, data: Mapping[str, Any]) -> set[str]:
        self.alerts.pop(sid(_first(data, "id", "alert_id")), None)
        return {"alerts"}

    def _on_venue_status(self, data: Mapping[str, Any]) -> set[str]:
        venues = data.get("venues")
        if not isinstance(venues, Mapping):
            return set()
        for name, info in venues.items():
            if isinstance(info, Mapping):
                self.venues[str(name)] = {**self.venues.get(str(name), {}), **info}
        self.venues_at = self.updated_at
        return {"venues"}

    def active_alerts(self) -> list[dict[str, Any]]:
        """Not dismissed, the most severe first, then the newest."""
        order = {"critical": 0, "warning": 1, "info": 2}
        return sorted(self.alerts.values(),
                      key=lambda a: (order.get(sid(a.get("severity")), 3), -(when(a.get("last_at")) or datetime.min.replace(tzinfo=UTC)).timestamp()))

    def _replace_opportunities(self, rows: Iterable[Any]) -> None:
        self.opportunities = {}
        for raw in rows:
            if isinstance(raw, Mapping):
                opp = Opportunity.from_wire(raw)
                self.opportunities[opp.id] = opp

    def _on_opportunities_snapshot(self, data: Mapping[str, Any]) -> set[str]:
        rows = data.get("opportunities") if "opportunities" in data else data.get("items")
        self._replace_opportunities(rows or ())
        return {"opportunities"}

    def _on_opportunity_opened(self, data: Mapping[str, Any]) -> set[str]:
        opp = Opportunity.from_wire(data)
        self.opportunities[opp.id] = opp
        return {"opportunities"}

    _on_opportunity_updated = _on_opportunity_opened

    def _on_opportunity_closed(self, data: Mapping[str, Any]) -> set[str]:
        self.opportunities.pop(sid(_first(data, "id", "opportunity_id")), None)
        return {"opportunities"}

    def _replace_mappings(self, rows: Iterable[Any]) -> None:
        self.mappings = {}
        for raw in rows:
            if isinstance(raw, Mapping):
                m = Mapping_.from_wire(raw)
                self.mappings[m.id] = m

    def _on_mappings_snapshot(self, data: Mapping[str, Any]) -> set[str]:
        self._replace_mappings(data.get("mappings") or ())
        return {"mappings"}

    def _on_mapping_changed(self, data: Mapping[str, Any]) -> set[str]:
        m = Mapping_.from_wire(data)
        old = self.mappings.get(m.id)
        if old is not None and not m.title:
            # A status-only change: keep what we knew about the pair.
            m = Mapping_(old.id, old.title, old.league, old.confidence, m.status or old.status,
                         m.reasons or old.reasons, old.kalshi, old.poly, old.starts_at,
                         *((m.tradeable, m.why_not, m.why_not_text) if m.tradeable is not None
                           else (old.tradeable, old.why_not, old.why_not_text)))
        self.mappings[m.id] = m
        return {"mappings", "opportunities"}

    def _on_discovery_refusals(self, data: Mapping[str, Any]) -> set[str]:
        self.discovery = Discovery.from_wire(data)
        return {"discovery"}

    @staticmethod
    def _pnl(raw: Any) -> PnlPoint | None:
        if not isinstance(raw, Mapping):
            return None
        t = when(_first(raw, "t", "time", "timestamp", "at"))
        # The schema's pnl_point: ``pnl`` is the cumulative realised P&L, ``delta`` the step.
        cumulative = dec(_first(raw, "cumulative", "pnl"))
        if t is None or cumulative is None:
            return None
        return PnlPoint(t, cumulative, dec(raw.get("delta")))

    def _on_pnl_point(self, data: Mapping[str, Any]) -> set[str]:
        point = self._pnl(data)
        if point is None:
            return set()
        self.pnl.append(point)
        if len(self.pnl) > MAX_PNL_POINTS:
            del self.pnl[: len(self.pnl) - MAX_PNL_POINTS]
        return {"pnl"}

    def _on_pnl_history(self, data: Mapping[str, Any]) -> set[str]:
        self.pnl = [p for p in (self._pnl(x) for x in data.get("points") or ()) if p]
        return {"pnl"}

    # -- derived figures -------------------------------------------------------------
    def total_balance(self) -> Decimal | None:
        """Both venues' cash; None until both were read (a part is not a total)."""
        parts = [self.balances.get(k) for k in ("poly", "kalshi")]
        if any(v is None for v in parts):
            return None
        return sum((v for v in parts if v is not None), Decimal(0))

    def trades_since(self, seq: int) -> list[Trade]:
        return [t for t in self.trades if t.seq > seq]
