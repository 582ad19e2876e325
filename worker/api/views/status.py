"""The views of the worker's state: settings, balances, stats, books, the venue feeds, the
database, alerts and listings refused at discovery, and the messages that carry them alone
(``balance_update``, ``status_changed``, ``venue_status``, ``heartbeat``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.api.views.reading import (
    Obj,
    Read,
    array_of,
    by_name,
    count,
    enum_of,
    flag,
    json_object,
    moment,
    number,
    object_of,
    text,
)
from worker.domain.events import AlertKind, AlertSeverity
from worker.domain.markets import Venue
from worker.domain.operator import DatabaseState, VenueConnection
from worker.domain.settings import FIELDS, ExecutorSettings

#: A venue feed's state: the domain's own enum, so the two can never disagree.
VenueFeedState = VenueConnection


def decode_settings(o: Obj) -> ExecutorSettings:
    """The complete settings, ``enabled`` included (``settings_changed``, ``init``)."""
    values: dict[str, Any] = {"enabled": o.req("enabled", flag)}
    for spec in FIELDS:
        values[spec.name] = o.req(spec.name, count if spec.kind == "count" else number)
    return ExecutorSettings(**values)


@dataclass(frozen=True, slots=True)
class BalancesView:
    """Dollars per venue; None while a venue's balance was never read."""

    poly: Decimal | None
    kalshi: Decimal | None


def decode_balances(o: Obj) -> BalancesView:
    return BalancesView(o.null("poly", number), o.null("kalshi", number))


@dataclass(frozen=True, slots=True)
class StatsView:
    """Today's figures: trades, realised P&L, winning attempts."""

    trades: int
    pnl: Decimal
    wins: int


def decode_stats(o: Obj) -> StatsView:
    return StatsView(o.req("trades", count), o.req("pnl", number), o.req("wins", count))


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """The worker's database as last probed. ``figures_as_of``: when the figures shown
    during an outage were read (``init`` and ``/api/status`` carry it while down)."""

    state: DatabaseState
    error: str | None
    since: datetime | None
    figures_as_of: datetime | None = None


def decode_database(o: Obj) -> DatabaseView:
    return DatabaseView(
        o.req("state", enum_of(DatabaseState)),
        o.null("error", text),
        o.null("since", moment),
        o.opt("figures_as_of", moment),  # only while down
    )


@dataclass(frozen=True, slots=True)
class VenueView:
    """One venue feed. ``venue_status`` carries no ``since`` and ``heartbeat`` neither
    ``detail`` nor ``since`` (None here: what they did not say)."""

    state: VenueFeedState
    data_age_ms: int | None
    detail: str | None
    since: datetime | None


def venues_reader(detail: bool, since: bool) -> Read[Mapping[str, VenueView]]:
    """The reader of a message's ``venues``: each feed's state and data age, and its
    ``detail`` and ``since`` where the message carries them."""
    def decode(o: Obj) -> VenueView:
        return VenueView(
            o.req("state", enum_of(VenueFeedState)),
            o.null("data_age_ms", count),
            o.null("detail", text) if detail else None,
            o.null("since", moment) if since else None,
        )

    return by_name(object_of(decode))


@dataclass(frozen=True, slots=True)
class RedeemView:
    """A payout won and not yet redeemed at its venue."""

    venue: Venue
    amount: Decimal
    what: str | None  # the cash entry's note


@dataclass(frozen=True, slots=True)
class MoneyView:
    """One venue's money in the books, or their total (a total is None when a part is
    unknown): ``cash`` as the venue reports it, ``open_cost`` what open positions cost,
    ``to_redeem`` what is won and not yet paid out."""

    cash: Decimal | None
    open_cost: Decimal | None
    to_redeem: Decimal | None
    #: Held contracts at mark (in total: hedged pairs at $1), None while a needed mark is
    #: missing (``unmarked`` legs of a venue); unrealised = at_mark − open_cost; equity =
    #: cash + at_mark + to_redeem.
    at_mark: Decimal | None = None
    unrealised: Decimal | None = None
    equity: Decimal | None = None
    unmarked: int = 0


@dataclass(frozen=True, slots=True)
class LegMarkView:
    """One held leg at its mark (``bid`` None: no mark)."""

    venue: Venue
    contract_id: str
    side: str
    label: str
    quantity: Decimal
    bid: Decimal | None
    at: datetime | None


@dataclass(frozen=True, slots=True)
class HoldingView:
    """An open position or stranded leg at mark: ``value`` (hedged pairs at $1, the rest
    at their bids) and ``unrealised`` = value − cost, None without a needed mark."""

    attempt_id: str
    position_id: str | None
    cost: Decimal
    hedged: Decimal
    value: Decimal | None
    unrealised: Decimal | None
    legs: tuple[LegMarkView, ...]


@dataclass(frozen=True, slots=True)
class BooksView:
    """The worker's books: ``difference`` is ``total.difference`` (None until every
    venue's cash is known), ``agrees`` whether every dollar is in our records."""

    difference: Decimal | None
    in_flight: int
    agrees: bool
    resolved_to_redeem: Decimal
    to_redeem: tuple[RedeemView, ...]
    #: Per venue (by name) and in total; what the hedged open pairs will pay beyond their
    #: cost; realised P&L of the trading day.
    venues: Mapping[str, MoneyView] = field(default_factory=dict)
    total: MoneyView | None = None
    locked_edge: Decimal | None = None
    realised_today: Decimal | None = None
    holdings: tuple[HoldingView, ...] = ()
    mark_max_age_ms: int | None = None

    def holding(self, position_id: str) -> HoldingView | None:
        """The open position ``position_id`` at mark, if the books hold it."""
        for h in self.holdings:
            if h.position_id == position_id:
                return h
        return None


def _money(o: Obj) -> MoneyView:
    return MoneyView(
        o.opt("cash", number), o.opt("open_cost", number), o.opt("to_redeem", number),
        at_mark=o.opt("at_mark", number), unrealised=o.opt("unrealised", number),
        equity=o.opt("equity", number), unmarked=o.opt("unmarked", count) or 0,
    )  # fmt: skip


def _leg_mark(o: Obj) -> LegMarkView:
    return LegMarkView(
        o.req("venue", enum_of(Venue)), o.req("contract_id", text), o.req("side", text), o.req("label", text),
        o.req("quantity", number), o.null("bid", number), o.null("at", moment),
    )  # fmt: skip


def _holding(o: Obj) -> HoldingView:
    return HoldingView(
        o.req("attempt_id", text), o.null("position_id", text), o.req("cost", number), o.req("hedged", number),
        o.null("value", number), o.null("unrealised", number), o.req("legs", array_of(object_of(_leg_mark))),
    )  # fmt: skip


def _redeem(o: Obj) -> RedeemView:
    return RedeemView(o.req("venue", enum_of(Venue)), o.req("amount", number), o.null("what", text))


def decode_books(o: Obj) -> BooksView:
    return BooksView(
        o.req("total", object_of(lambda t: t.null("difference", number))),
        o.req("in_flight", count),
        o.req("agrees", flag),
        o.req("resolved_to_redeem", number),
        o.req("to_redeem", array_of(object_of(_redeem))),
        venues=o.opt("venues", by_name(object_of(_money))) or {},
        total=o.opt("total", object_of(_money)),
        locked_edge=o.opt("locked_edge", number),
        realised_today=o.opt("realised_today", number),
        holdings=o.opt("positions", array_of(object_of(_holding))) or (),
        mark_max_age_ms=o.opt("mark_max_age_ms", count),
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


def decode_alert(o: Obj) -> AlertView:
    return AlertView(
        o.req("id", text),
        o.req("kind", enum_of(AlertKind)),
        o.req("key", text),
        o.req("severity", enum_of(AlertSeverity)),
        o.req("title", text),
        o.req("message", text),
        o.req("raised_at", moment),
        o.req("last_at", moment),
        o.req("count", count),
        o.req("data", json_object),
        o.null("dismissed_at", moment),
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


def _discovery_refusal(o: Obj) -> DiscoveryRefusalView:
    return DiscoveryRefusalView(
        o.req("venue", enum_of(Venue)), o.req("id", text), o.req("reason", text), o.req("at", moment)
    )


def decode_discovery(o: Obj) -> DiscoveryView:
    return DiscoveryView(
        o.req("refused_count", count),
        o.req("refused", array_of(object_of(_discovery_refusal))),
        o.null("discovered_at", moment),
    )



@dataclass(frozen=True, slots=True)
class StatusChangedView:
    enabled: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class KillSwitchProgressView:
    """``kill_switch_progress``: ``closed`` and ``failed`` of ``total`` positions the kill
    switch pulled at ``started_at`` is flattening; ``done`` on the last."""

    started_at: datetime
    total: int
    closed: int
    failed: int
    done: bool


def decode_kill_switch_progress(o: Obj) -> KillSwitchProgressView:
    return KillSwitchProgressView(
        o.req("started_at", moment), o.req("total", count), o.req("closed", count), o.req("failed", count),
        o.req("done", flag),
    )


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


