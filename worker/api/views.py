"""The worker's messages as a client reads them: typed, frozen views of the wire.

Every server message of ``/ws/executor``, and every answer of the read-only ``/api``
routes the dashboard reads, has one decoder here, next to the protocol
(:mod:`worker.api.schemas` re-exports these names). A decoder reads **exactly one key
per field**: the key the worker sends today. There is no guessing between names: a field
sent under another name is a missing field.

* Money, prices, sizes and ROI are ``Decimal`` (a JSON number: an int or an exact
  decimal; never a string, a boolean or a float); counts are ``int``.
* Times are aware UTC datetimes, read from ISO-8601 text with a zone (``…Z``, ``+00:00``).
* A status is an enum (the domain's where it has one).
* A key the worker always sends is required. A key that some producer leaves out is
  optional (``None`` when absent); each one says which producer leaves it out. ``null``
  is taken only where the worker sends it.
* Keys a view does not name are ignored: the protocol allows extra keys in ``data``, and
  a view carries what a reader of the wire uses.

Anything else raises :class:`ViewError` naming the message and the field
(``trade_event.data.timestamp: missing``); a client logs it and skips that one message.

This module imports the domain only (its enums and settings), never the engine, the
database or the venues: the import-linter contracts in ``pyproject.toml`` check it.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

from worker.domain.attempts import RefusalReason
from worker.domain.events import AlertKind, AlertSeverity, EventKind
from worker.domain.mapping import CloseReason, Confidence, MappingStatus, NotTradeable
from worker.domain.markets import Venue
from worker.domain.operator import DatabaseState, VenueConnection
from worker.domain.settings import FIELDS, ExecutorSettings
from worker.domain.tradelog import PositionStatus, TradeStatus

__all__ = [
    "MESSAGE_TYPES",
    "AckView",
    "AlertView",
    "BalanceUpdateView",
    "BalancesView",
    "BooksView",
    "CurvePointView",
    "DatabaseState",
    "DatabaseView",
    "DiscoveryRefusalView",
    "DiscoveryView",
    "ErrorView",
    "HeartbeatView",
    "InitView",
    "LegView",
    "MappingView",
    "MessageView",
    "OpportunitiesView",
    "OpportunityClosedView",
    "OpportunityView",
    "PnlPointView",
    "PositionClosedView",
    "PositionView",
    "RedeemView",
    "RefusalView",
    "ReplyView",
    "RulesView",
    "StatsView",
    "StatusChangedView",
    "StatusView",
    "TradeEventStatus",
    "TradeView",
    "VenueFeedState",
    "VenueStatusView",
    "VenueView",
    "ViewError",
    "WhyNotView",
    "decode_api_mappings",
    "decode_api_pnl",
    "decode_api_positions",
    "decode_api_status",
    "decode_api_trades",
    "decode_view",
]

T = TypeVar("T")
Read = Callable[[object, str], T]


class ViewError(ValueError):
    """A worker message that does not read as the protocol says. ``where`` names the
    message and the field (``trade_event.data.bet_size``), ``problem`` what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


# --- reading JSON values -----------------------------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | Decimal | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ViewError(where, f"must be a string, got {_kind(value)}")
    return value


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ViewError(where, f"must be a whole number, got {_kind(value)}")
    return value


def _flag(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ViewError(where, f"must be true or false, got {_kind(value)}")
    return value


def _number(value: object, where: str) -> Decimal:
    """An exact JSON number (int or Decimal, as ``parse_float=Decimal`` reads it)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ViewError(where, "must be a finite number")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise ViewError(where, f"must be an exact number, got {_kind(value)}")


def _moment(value: object, where: str) -> datetime:
    """ISO-8601 text with a zone (the worker writes UTC as ``…Z`` or ``+00:00``)."""
    text = _text(value, where)
    try:
        parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise ViewError(where, f"is not an ISO-8601 time: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        raise ViewError(where, f"has no time zone: {text[:40]!r}")
    return parsed.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


def _enum(cls: type[E]) -> Read[E]:
    def read(value: object, where: str) -> E:
        text = _text(value, where)
        try:
            return cls(text)
        except ValueError:
            raise ViewError(where, f"{text[:40]!r} is not a {cls.__name__}") from None

    return read


def _tuple(item: Read[T]) -> Read[tuple[T, ...]]:
    def read(value: object, where: str) -> tuple[T, ...]:
        if not isinstance(value, list | tuple):
            raise ViewError(where, f"must be an array, got {_kind(value)}")
        return tuple(item(v, f"{where}[{i}]") for i, v in enumerate(value))

    return read


def _by_name(item: Read[T]) -> Read[Mapping[str, T]]:
    def read(value: object, where: str) -> Mapping[str, T]:
        if not isinstance(value, Mapping):
            raise ViewError(where, f"must be an object, got {_kind(value)}")
        return types.MappingProxyType({str(k): item(v, f"{where}.{k}") for k, v in value.items()})

    return read


def _object(value: object, where: str) -> Mapping[str, Any]:
    """An object whose contents the views leave as they are (read-only)."""
    if not isinstance(value, Mapping):
        raise ViewError(where, f"must be an object, got {_kind(value)}")
    return types.MappingProxyType(dict(value))


class _Obj:
    """One JSON object being read, and where it is (for the errors)."""

    __slots__ = ("_data", "_where")

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, Mapping):
            raise ViewError(where, f"must be an object, got {_kind(value)}")
        self._data: Mapping[Any, Any] = value
        self._where = where

    def req(self, key: str, read: Read[T]) -> T:
        """A key always sent, never null."""
        if key not in self._data:
            raise ViewError(f"{self._where}.{key}", "missing")
        value = self._data[key]
        if value is None:
            raise ViewError(f"{self._where}.{key}", "must not be null")
        return read(value, f"{self._where}.{key}")

    def null(self, key: str, read: Read[T]) -> T | None:
        """A key always sent, possibly null."""
        if key not in self._data:
            raise ViewError(f"{self._where}.{key}", "missing")
        value = self._data[key]
        return None if value is None else read(value, f"{self._where}.{key}")

    def opt(self, key: str, read: Read[T]) -> T | None:
        """A key some producer leaves out (None when absent or null)."""
        value = self._data.get(key)
        return None if value is None else read(value, f"{self._where}.{key}")


def _view(decode: Callable[[_Obj], T]) -> Read[T]:
    return lambda value, where: decode(_Obj(value, where))


# --- statuses ----------------------------------------------------------------------------


class TradeEventStatus(StrEnum):
    """A ``trade_event``'s status: a trade-log row's (:class:`TradeStatus`), or one of the
    executor's announcements that write no row (an incomplete close, a payout to redeem,
    an overdue settlement, a STRANDED attempt resolved by hand)."""

    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    STRANDED = "STRANDED"
    CLOSED = "CLOSED"
    SETTLED = "SETTLED"
    CLOSE_INCOMPLETE = "CLOSE_INCOMPLETE"
    TO_REDEEM = "TO_REDEEM"
    SETTLEMENT_OVERDUE = "SETTLEMENT_OVERDUE"
    RESOLVED = "RESOLVED"


#: A venue feed's state: the domain's own enum, so the two can never disagree.
VenueFeedState = VenueConnection


# --- the parts ---------------------------------------------------------------------------


def _settings(o: _Obj) -> ExecutorSettings:
    """The complete settings, ``enabled`` included (``settings_changed``, ``init``)."""
    values: dict[str, Any] = {"enabled": o.req("enabled", _flag)}
    for spec in FIELDS:
        values[spec.name] = o.req(spec.name, _count if spec.kind == "count" else _number)
    return ExecutorSettings(**values)


@dataclass(frozen=True, slots=True)
class BalancesView:
    """Dollars per venue; None while a venue's balance was never read."""

    poly: Decimal | None
    kalshi: Decimal | None


def _balances(o: _Obj) -> BalancesView:
    return BalancesView(o.null("poly", _number), o.null("kalshi", _number))


@dataclass(frozen=True, slots=True)
class StatsView:
    """Today's figures: trades, realised P&L, winning attempts."""

    trades: int
    pnl: Decimal
    wins: int


def _stats(o: _Obj) -> StatsView:
    return StatsView(o.req("trades", _count), o.req("pnl", _number), o.req("wins", _count))


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """The worker's database as last probed. ``figures_as_of``: when the figures shown
    during an outage were read (``init`` and ``/api/status`` carry it while down)."""

    state: DatabaseState
    error: str | None
    since: datetime | None
    figures_as_of: datetime | None = None


def _database(o: _Obj) -> DatabaseView:
    return DatabaseView(
        o.req("state", _enum(DatabaseState)),
        o.null("error", _text),
        o.null("since", _moment),
        o.opt("figures_as_of", _moment),  # only while down
    )


@dataclass(frozen=True, slots=True)
class VenueView:
    """One venue feed. ``venue_status`` carries no ``since`` and ``heartbeat`` neither
    ``detail`` nor ``since`` (None here: what they did not say)."""

    state: VenueFeedState
    data_age_ms: int | None
    detail: str | None
    since: datetime | None


def _venue_read(detail: bool, since: bool) -> Read[Mapping[str, VenueView]]:
    def decode(o: _Obj) -> VenueView:
        return VenueView(
            o.req("state", _enum(VenueFeedState)),
            o.null("data_age_ms", _count),
            o.null("detail", _text) if detail else None,
            o.null("since", _moment) if since else None,
        )

    return _by_name(_view(decode))


@dataclass(frozen=True, slots=True)
class RedeemView:
    """A payout won and not yet redeemed at its venue."""

    venue: Venue
    amount: Decimal
    what: str | None  # the cash entry's note


@dataclass(frozen=True, slots=True)
class BooksView:
    """The worker's books: ``difference`` is ``total.difference`` (None until every
    venue's cash is known), ``agrees`` whether every dollar is in our records."""

    difference: Decimal | None
    in_flight: int
    agrees: bool
    resolved_to_redeem: Decimal
    to_redeem: tuple[RedeemView, ...]


def _redeem(o: _Obj) -> RedeemView:
    return RedeemView(o.req("venue", _enum(Venue)), o.req("amount", _number), o.null("what", _text))


def _books(o: _Obj) -> BooksView:
    return BooksView(
        o.req("total", _view(lambda t: t.null("difference", _number))),
        o.req("in_flight", _count),
        o.req("agrees", _flag),
        o.req("resolved_to_redeem", _number),
        o.req("to_redeem", _tuple(_view(_redeem))),
    )


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert (``worker.domain.events.Alert.to_wire``)."""

    id: str
    kind: AlertKind
    key: str
    severity: AlertSeverity
    title: str
    message: str
    raised_at: datetime
    last_at: datetime
    count: int
    data: Mapping[str, Any]
    dismissed_at: datetime | None


def _alert(o: _Obj) -> AlertView:
    return AlertView(
        o.req("id", _text),
        o.req("kind", _enum(AlertKind)),
        o.req("key", _text),
        o.req("severity", _enum(AlertSeverity)),
        o.req("title", _text),
        o.req("message", _text),
        o.req("raised_at", _moment),
        o.req("last_at", _moment),
        o.req("count", _count),
        o.req("data", _object),
        o.null("dismissed_at", _moment),
    )


@dataclass(frozen=True, slots=True)
class DiscoveryRefusalView:
    """A listing left out at discovery: the venue's market id, why, and when first seen."""

    venue: Venue
    id: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DiscoveryView:
    """Listings refused at the latest discovery: the full count, the latest first seen
    (at most ``schemas.DISCOVERY_REFUSALS_LIMIT``), when it ran (None: not yet)."""

    refused_count: int
    refused: tuple[DiscoveryRefusalView, ...]
    discovered_at: datetime | None


def _discovery_refusal(o: _Obj) -> DiscoveryRefusalView:
    return DiscoveryRefusalView(
        o.req("venue", _enum(Venue)), o.req("id", _text), o.req("reason", _text), o.req("at", _moment)
    )


def _discovery(o: _Obj) -> DiscoveryView:
    return DiscoveryView(
        o.req("refused_count", _count),
        o.req("refused", _tuple(_view(_discovery_refusal))),
        o.null("discovered_at", _moment),
    )


@dataclass(frozen=True, slots=True)
class PositionView:
    """An open position as ``init``, ``position_opened`` and ``/api/positions`` send it:
    the stored row's flat columns (null where the row has none)."""

    id: str
    event_title: str
    opened_at: datetime
    #: Sent by ``init`` and ``/api/positions`` (the stored row); ``position_opened``
    #: (``AttemptRunner._publish_position``) leaves it out.
    status: PositionStatus | None
    poly_venue: Venue | None
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


def _position(o: _Obj) -> PositionView:
    return PositionView(
        o.req("id", _text),
        o.req("event_title", _text),
        o.req("opened_at", _moment),
        o.opt("status", _enum(PositionStatus)),
        o.null("poly_venue", _enum(Venue)),
        o.null("poly_market", _text),
        o.null("poly_contract", _text),
        o.null("poly_side", _text),
        o.null("poly_price", _number),
        o.null("poly_contracts", _count),
        o.null("kalshi_ticker", _text),
        o.null("kalshi_side", _text),
        o.null("kalshi_price", _number),
        o.null("kalshi_contracts", _count),
        o.null("cost", _number),
        o.null("attempt_id", _text),
    )


@dataclass(frozen=True, slots=True)
class PositionClosedView:
    """``position_closed``: which position, how it ended (CLOSED / SETTLED), its P&L."""

    id: str
    event: str
    status: TradeStatus
    pnl: Decimal
    timestamp: datetime


def _position_closed(o: _Obj) -> PositionClosedView:
    return PositionClosedView(
        o.req("id", _text),
        o.req("event", _text),
        o.req("status", _enum(TradeStatus)),
        o.req("pnl", _number),
        o.req("timestamp", _moment),
    )


@dataclass(frozen=True, slots=True)
class TradeView:
    """A trade-log row, or an executor announcement on the trade log (see
    :class:`TradeEventStatus`). ``id`` is the row's id (None: an announcement)."""

    id: str | None
    timestamp: datetime
    status: TradeEventStatus
    event: str
    bet_size: Decimal | None
    pnl: Decimal | None
    roi: Decimal | None
    reason: str | None
    attempt_id: str | None
    position_id: str | None


def _trade_event(o: _Obj) -> TradeView:
    """``trade_event``. Its producers (``worker/engine/executor``) send different keys:
    the row's id as ``trade_id`` (not ``id``, unlike ``/api/trades``), and only rows carry
    it; the announcements leave out ``bet_size``, ``roi`` and (some) ``pnl``,
    ``attempt_id`` or ``position_id``: all optional here."""
    return TradeView(
        o.opt("trade_id", _text),
        o.req("timestamp", _moment),
        o.req("status", _enum(TradeEventStatus)),
        o.req("event", _text),
        o.opt("bet_size", _number),
        o.opt("pnl", _number),
        o.opt("roi", _number),
        o.opt("reason", _text),
        o.opt("attempt_id", _text),
        o.opt("position_id", _text),
    )


def _trade_row(o: _Obj) -> TradeView:
    """A ``/api/trades`` row (``schemas.trade_event_data`` of a stored trade): the id is
    ``id``, every column is there."""
    return TradeView(
        o.req("id", _text),
        o.req("timestamp", _moment),
        o.req("status", _enum(TradeEventStatus)),
        o.req("event", _text),
        o.req("bet_size", _number),
        o.req("pnl", _number),
        o.null("roi", _number),
        o.null("reason", _text),
        o.null("attempt_id", _text),
        o.null("position_id", _text),
    )


@dataclass(frozen=True, slots=True)
class WhyNotView:
    """Why a pair may not trade: the refusal reason and a short text."""

    reason: NotTradeable
    text: str


def _why_not(o: _Obj) -> WhyNotView:
    return WhyNotView(o.req("reason", _enum(NotTradeable)), o.req("text", _text))


@dataclass(frozen=True, slots=True)
class LegView:
    """One leg of an opportunity: the venue's contract id (Kalshi ticker, CLOB token id,
    Polymarket US slug), its label, the limit price and the contracts for the full size."""

    venue: Venue
    contract_id: str
    label: str
    price: Decimal
    size: Decimal


def _leg(o: _Obj) -> LegView:
    contract = o.req("contract", _view(lambda c: (c.req("venue", _enum(Venue)), c.req("contract_id", _text))))
    return LegView(contract[0], contract[1], o.req("label", _text), o.req("price", _number), o.req("size", _number))


@dataclass(frozen=True, slots=True)
class CurvePointView:
    """Buying ``size`` pairs costs ``cost`` (asks and fees) at ``roi_pct``."""

    size: Decimal
    cost: Decimal
    roi_pct: Decimal


def _curve_point(o: _Obj) -> CurvePointView:
    return CurvePointView(o.req("size", _number), o.req("cost", _number), o.req("roi_pct", _number))


@dataclass(frozen=True, slots=True)
class RulesView:
    """Both venues' rules texts and what they mean for the pair (``RulesCheck``)."""

    kalshi: str
    poly: str
    differences: tuple[str, ...]
    outcome_problem: str
    worst_loss: Decimal | None
    facts: tuple[str, ...]


def _rules(o: _Obj) -> RulesView:
    return RulesView(
        o.req("kalshi", _text),
        o.req("poly", _text),
        o.req("differences", _tuple(_text)),
        o.req("outcome_problem", _text),
        o.null("worst_loss", _number),
        o.req("facts", _tuple(_text)),
    )


@dataclass(frozen=True, slots=True)
class OpportunityView:
    """A live opportunity (``opportunity_opened`` / ``_updated``, the snapshot's items)."""

    id: str
    mapping_id: str
    league: str
    event_title: str
    confidence: Confidence
    kalshi_leg: LegView
    poly_leg: LegView
    size: Decimal
    cost: Decimal
    roi_pct: Decimal
    roi_per_day_pct: Decimal
    curve: tuple[CurvePointView, ...]
    volume: Decimal | None
    kalshi_volume: Decimal | None
    expires_at: datetime | None
    rules: RulesView
    updated_at: datetime
    #: May the pair trade, and if not why. Left out while the scanner's feed is being
    #: built (the trading supervisor publishes without a verdict then): None.
    tradeable: bool | None
    why_not: WhyNotView | None


def _opportunity(o: _Obj) -> OpportunityView:
    return OpportunityView(
        o.req("id", _text),
        o.req("mapping_id", _text),
        o.req("league", _text),
        o.req("event_title", _text),
        o.req("confidence", _enum(Confidence)),
        o.req("kalshi_leg", _view(_leg)),
        o.req("poly_leg", _view(_leg)),
        o.req("size", _number),
        o.req("cost", _number),
        o.req("roi_pct", _number),
        o.req("roi_per_day_pct", _number),
        o.req("curve", _tuple(_view(_curve_point))),
        o.null("volume", _number),
        o.null("kalshi_volume", _number),
        o.null("expires_at", _moment),
        o.req("rules", _view(_rules)),
        o.req("updated_at", _moment),
        o.opt("tradeable", _flag),
        o.opt("why_not", _view(_why_not)),
    )


@dataclass(frozen=True, slots=True)
class OpportunitiesView:
    """``opportunities_snapshot``: every live opportunity, right after ``init``."""

    opportunities: tuple[OpportunityView, ...]


@dataclass(frozen=True, slots=True)
class OpportunityClosedView:
    """``opportunity_closed``: which one, and why (``edge_gone``, ``mapping_rejected`` …)."""

    id: str
    reason: CloseReason | None


@dataclass(frozen=True, slots=True)
class MappingView:
    """A mapping as ``mapping_changed`` and ``/api/mappings`` send it, with its verdict."""

    id: str
    kalshi_ticker: str
    poly_venue: Venue
    poly_market: str
    poly_side: str
    league: str
    event_title: str
    confidence: Confidence
    reasons: tuple[str, ...]
    start_time: datetime | None
    status: MappingStatus
    tradeable: bool
    why_not: WhyNotView | None


def _mapping(o: _Obj) -> MappingView:
    return MappingView(
        o.req("id", _text),
        o.req("kalshi_ticker", _text),
        o.req("poly_venue", _enum(Venue)),
        o.req("poly_market", _text),
        o.req("poly_side", _text),
        o.req("league", _text),
        o.req("event_title", _text),
        o.req("confidence", _enum(Confidence)),
        o.req("reasons", _tuple(_text)),
        o.null("start_time", _moment),
        o.req("status", _enum(MappingStatus)),
        o.req("tradeable", _flag),
        o.null("why_not", _view(_why_not)),
    )


@dataclass(frozen=True, slots=True)
class RefusalView:
    """``refusal``: the executor skipped an opportunity, and why."""

    opportunity_id: str
    event: str
    reason: RefusalReason
    detail: str
    timestamp: datetime


def _refusal(o: _Obj) -> RefusalView:
    return RefusalView(
        o.req("opportunity_id", _text),
        o.req("event", _text),
        o.req("reason", _enum(RefusalReason)),
        o.req("detail", _text),
        o.req("timestamp", _moment),
    )


@dataclass(frozen=True, slots=True)
class PnlPointView:
    """A point of the cumulative realised P&L: ``pnl`` the total at ``t``, ``delta`` the
    step. ``trade_id``: the realised row (``/api/pnl`` leaves it out when it buckets)."""

    t: datetime
    pnl: Decimal
    delta: Decimal
    trade_id: str | None


def _pnl_point(o: _Obj) -> PnlPointView:
    return PnlPointView(o.req("t", _moment), o.req("pnl", _number), o.req("delta", _number), o.opt("trade_id", _text))


@dataclass(frozen=True, slots=True)
class StatusChangedView:
    enabled: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class BalanceUpdateView:
    """``balance_update``. ``books``: left out when the worker computes none
    (``BalanceRefresher`` without books, or computing them failed)."""

    balances: BalancesView
    books: BooksView | None


@dataclass(frozen=True, slots=True)
class VenueStatusView:
    """``venue_status``: each venue feed's state, data age and detail (no ``since``)."""

    venues: Mapping[str, VenueView]


@dataclass(frozen=True, slots=True)
class HeartbeatView:
    """``heartbeat``, every second: the worker is alive. Its venues carry only state and
    data age."""

    server_time: datetime
    uptime_s: Decimal
    enabled: bool
    executor_running: bool
    venues: Mapping[str, VenueView]
    database: DatabaseView


@dataclass(frozen=True, slots=True)
class InitView:
    """``init``: the worker's state when a client connects (see ``server.init_data``).
    ``stats`` and ``positions`` are None while the database is down and nothing was
    read yet; ``books`` None until the balances were read once."""

    enabled: bool
    settings: ExecutorSettings
    balances: BalancesView
    stats: StatsView | None
    positions: tuple[PositionView, ...] | None
    mode: str
    poly_venue: Venue
    venues: Mapping[str, VenueView]
    executor_running: bool
    server_time: datetime
    books: BooksView | None
    alerts: tuple[AlertView, ...]
    discovery: DiscoveryView
    database: DatabaseView | None


def _init(o: _Obj) -> InitView:
    return InitView(
        o.req("enabled", _flag),
        o.req("settings", _view(_settings)),
        o.req("balances", _view(_balances)),
        o.null("stats", _view(_stats)),
        o.null("positions", _tuple(_view(_position))),
        o.req("mode", _text),
        o.req("poly_venue", _enum(Venue)),
        o.req("venues", _venue_read(detail=True, since=True)),
        o.req("executor_running", _flag),
        o.req("server_time", _moment),
        o.null("books", _view(_books)),
        o.req("alerts", _tuple(_view(_alert))),
        o.req("discovery", _view(_discovery)),
        o.null("database", _view(_database)),
    )


@dataclass(frozen=True, slots=True)
class AckView:
    """The one acknowledgement of an accepted action (``id``: the client's request id)."""

    action: str
    id: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorView:
    """A refused message: why, the first offending field, the client's request id."""

    message: str
    field: str | None
    id: str | None


ReplyView = AckView | ErrorView


@dataclass(frozen=True, slots=True)
class StatusView:
    """``GET /api/status``, the parts a client folds in after a trade."""

    stats: StatsView | None
    balances: BalancesView
    books: BooksView | None
    discovery: DiscoveryView


MessageData = (
    InitView | BalanceUpdateView | TradeView | PositionView | PositionClosedView | ExecutorSettings
    | StatusChangedView | OpportunitiesView | OpportunityView | OpportunityClosedView | PnlPointView
    | RefusalView | MappingView | VenueStatusView | HeartbeatView | AlertView | DiscoveryView
    | AckView | ErrorView
)


@dataclass(frozen=True, slots=True)
class MessageView:
    """One server message: its ``type`` and its data as a view (for ``ack`` and
    ``error``, the message's own fields)."""

    type: str
    data: MessageData


# --- the messages ------------------------------------------------------------------------

_DATA: Final[Mapping[str, Callable[[_Obj], MessageData]]] = {
    "init": _init,
    "opportunities_snapshot": lambda o: OpportunitiesView(o.req("opportunities", _tuple(_view(_opportunity)))),
    EventKind.BALANCE_UPDATE.value: lambda o: BalanceUpdateView(_balances(o), o.opt("books", _view(_books))),
    EventKind.TRADE_EVENT.value: _trade_event,
    EventKind.POSITION_OPENED.value: _position,
    EventKind.POSITION_CLOSED.value: _position_closed,
    EventKind.SETTINGS_CHANGED.value: _settings,
    EventKind.STATUS_CHANGED.value: lambda o: StatusChangedView(o.req("enabled", _flag), o.req("at", _moment)),
    EventKind.OPPORTUNITY_OPENED.value: _opportunity,
    EventKind.OPPORTUNITY_UPDATED.value: _opportunity,
    EventKind.OPPORTUNITY_CLOSED.value: lambda o: OpportunityClosedView(
        o.req("id", _text), o.null("reason", _enum(CloseReason))
    ),
    EventKind.PNL_POINT.value: _pnl_point,
    EventKind.REFUSAL.value: _refusal,
    EventKind.MAPPING_CHANGED.value: _mapping,
    EventKind.VENUE_STATUS.value: lambda o: VenueStatusView(o.req("venues", _venue_read(detail=True, since=False))),
    EventKind.HEARTBEAT.value: lambda o: HeartbeatView(
        o.req("server_time", _moment),
        o.req("uptime_s", _number),
        o.req("enabled", _flag),
        o.req("executor_running", _flag),
        o.req("venues", _venue_read(detail=False, since=False)),
        o.req("database", _view(_database)),
    ),
    EventKind.ALERT.value: _alert,
    EventKind.ALERT_DISMISSED.value: _alert,
    EventKind.DISCOVERY_REFUSALS.value: _discovery,
}
#: Every server message type a view is decoded for.
MESSAGE_TYPES: Final = frozenset(_DATA) | {"ack", "error"}


def decode_view(message: object) -> MessageView:
    """One server message (parsed JSON, numbers exact) as its view; raises
    :class:`ViewError` naming the field when it does not read as the protocol says."""
    top = _Obj(message, "message")
    kind = top.req("type", _text)
    top = _Obj(message, kind)
    if kind == "ack":
        return MessageView(kind, AckView(top.req("action", _text), top.null("id", _text), top.req("data", _object)))
    if kind == "error":
        return MessageView(kind, ErrorView(top.req("message", _text), top.null("field", _text), top.null("id", _text)))
    decode = _DATA.get(kind)
    if decode is None:
        raise ViewError(f"{kind[:40]}", "not a server message type of the protocol")
    return MessageView(kind, top.req("data", _view(decode)))


# --- the read-only API's answers ---------------------------------------------------------


def decode_api_status(body: object) -> StatusView:
    """``GET /api/status`` (``server.status_data``)."""
    o = _Obj(body, "/api/status")
    return StatusView(
        o.null("stats", _view(_stats)),
        o.req("balances", _view(_balances)),
        o.null("books", _view(_books)),
        o.req("discovery", _view(_discovery)),
    )


def decode_api_trades(body: object) -> tuple[TradeView, ...]:
    """``GET /api/trades``: ``{"trades": [row, …]}``, newest first."""
    return _Obj(body, "/api/trades").req("trades", _tuple(_view(_trade_row)))


def decode_api_positions(body: object) -> tuple[PositionView, ...]:
    """``GET /api/positions``: ``{"positions": [stored position, …]}``."""
    return _Obj(body, "/api/positions").req("positions", _tuple(_view(_position)))


def decode_api_pnl(body: object) -> tuple[PnlPointView, ...]:
    """``GET /api/pnl``: ``{"bucket", "points": [point, …]}``, oldest first."""
    return _Obj(body, "/api/pnl").req("points", _tuple(_view(_pnl_point)))


def decode_api_mappings(body: object) -> tuple[MappingView, ...]:
    """``GET /api/mappings``: ``{"mappings": [mapping, …]}`` (the mapping store's view,
    as ``mapping_changed``)."""
    return _Obj(body, "/api/mappings").req("mappings", _tuple(_view(_mapping)))
