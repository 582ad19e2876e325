"""The views of what the worker trades: positions, trades, opportunities (their legs,
size–ROI curve and rules), mappings, the executor's refusals and the P&L."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from worker.api.views.legging import LeggingQuoteView, decode_legging_quote
from worker.api.views.reading import (
    Obj,
    array_of,
    count,
    enum_of,
    flag,
    json_object,
    moment,
    number,
    object_of,
    text,
)
from worker.domain.attempts import RefusalReason
from worker.domain.mapping import CloseReason, Confidence, MappingStatus, NotTradeable
from worker.domain.markets import Venue
from worker.domain.tradelog import PositionLegColumns, PositionStatus, TradeStatus


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



@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView(PositionLegColumns):
    """An open position as ``init``, ``position_opened`` and ``/api/positions`` send it:
    the stored row's flat columns (null where the row has none)."""

    id: str
    event_title: str
    opened_at: datetime
    #: Sent by ``init`` and ``/api/positions`` (the stored row); ``position_opened``
    #: (``AttemptRunner._publish_position``) leaves it out.
    status: PositionStatus | None
    poly_venue: Venue | None
    #: The game's start (the opportunity's expiry) where the row has one (``init`` and
    #: ``/api/positions``; ``position_opened`` leaves it out).
    expires_at: datetime | None = None


def decode_position(o: Obj) -> PositionView:
    return PositionView(
        id=o.req("id", text),
        event_title=o.req("event_title", text),
        opened_at=o.req("opened_at", moment),
        status=o.opt("status", enum_of(PositionStatus)),
        poly_venue=o.null("poly_venue", enum_of(Venue)),
        poly_market=o.null("poly_market", text),
        poly_contract=o.null("poly_contract", text),
        poly_side=o.null("poly_side", text),
        poly_price=o.null("poly_price", number),
        poly_contracts=o.null("poly_contracts", count),
        kalshi_ticker=o.null("kalshi_ticker", text),
        kalshi_side=o.null("kalshi_side", text),
        kalshi_price=o.null("kalshi_price", number),
        kalshi_contracts=o.null("kalshi_contracts", count),
        cost=o.null("cost", number),
        attempt_id=o.null("attempt_id", text),
        expires_at=o.opt("expires_at", moment),
    )


@dataclass(frozen=True, slots=True)
class PositionClosedView:
    """``position_closed``: which position, how it ended (CLOSED / SETTLED), its P&L."""

    id: str
    event: str
    status: TradeStatus
    pnl: Decimal
    timestamp: datetime


def decode_position_closed(o: Obj) -> PositionClosedView:
    return PositionClosedView(
        o.req("id", text),
        o.req("event", text),
        o.req("status", enum_of(TradeStatus)),
        o.req("pnl", number),
        o.req("timestamp", moment),
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
    #: Stored rows only (``/api/trades``): the venues' order ids and the row's details
    #: (``legs``: each leg's venue, contract, side, price, quantity, fill, fees and order
    #: ids; ``fees``; ``path``), as the worker wrote them.
    poly_order_id: str | None = None
    kalshi_order_id: str | None = None
    details: Mapping[str, Any] | None = None


def decode_trade_event(o: Obj) -> TradeView:
    """``trade_event``. Its producers (``worker/engine/executor``) send different keys:
    the row's id as ``trade_id`` (not ``id``, unlike ``/api/trades``), and only rows carry
    it; the announcements leave out ``bet_size``, ``roi`` and (some) ``pnl``,
    ``attempt_id`` or ``position_id``: all optional here."""
    return TradeView(
        o.opt("trade_id", text),
        o.req("timestamp", moment),
        o.req("status", enum_of(TradeEventStatus)),
        o.req("event", text),
        o.opt("bet_size", number),
        o.opt("pnl", number),
        o.opt("roi", number),
        o.opt("reason", text),
        o.opt("attempt_id", text),
        o.opt("position_id", text),
    )


def decode_trade_row(o: Obj) -> TradeView:
    """A ``/api/trades`` row (``schemas.trade_event_data`` of a stored trade): the id is
    ``id``, every column is there."""
    return TradeView(
        o.req("id", text),
        o.req("timestamp", moment),
        o.req("status", enum_of(TradeEventStatus)),
        o.req("event", text),
        o.req("bet_size", number),
        o.req("pnl", number),
        o.null("roi", number),
        o.null("reason", text),
        o.null("attempt_id", text),
        o.null("position_id", text),
        o.opt("poly_order_id", text),
        o.opt("kalshi_order_id", text),
        o.opt("details", json_object),
    )


@dataclass(frozen=True, slots=True)
class WhyNotView:
    """Why a pair may not trade: the refusal reason and a short text."""

    reason: NotTradeable
    text: str


def _why_not(o: Obj) -> WhyNotView:
    return WhyNotView(o.req("reason", enum_of(NotTradeable)), o.req("text", text))


@dataclass(frozen=True, slots=True)
class LegView:
    """One leg of an opportunity: the venue's contract id (Kalshi ticker, CLOB token id,
    Polymarket US slug), its label, the limit price and the contracts for the full size."""

    venue: Venue
    contract_id: str
    label: str
    price: Decimal
    size: Decimal


def _leg(o: Obj) -> LegView:
    contract = o.req("contract", object_of(lambda c: (c.req("venue", enum_of(Venue)), c.req("contract_id", text))))
    return LegView(contract[0], contract[1], o.req("label", text), o.req("price", number), o.req("size", number))


@dataclass(frozen=True, slots=True)
class CurvePointView:
    """Buying ``size`` pairs costs ``cost`` (asks and fees) at ``roi_pct``."""

    size: Decimal
    cost: Decimal
    roi_pct: Decimal


def _curve_point(o: Obj) -> CurvePointView:
    return CurvePointView(o.req("size", number), o.req("cost", number), o.req("roi_pct", number))


@dataclass(frozen=True, slots=True)
class RulesView:
    """Both venues' rules texts and what they mean for the pair (``RulesCheck``)."""

    kalshi: str
    poly: str
    differences: tuple[str, ...]
    outcome_problem: str
    worst_loss: Decimal | None
    facts: tuple[str, ...]


def _rules(o: Obj) -> RulesView:
    return RulesView(
        o.req("kalshi", text),
        o.req("poly", text),
        o.req("differences", array_of(text)),
        o.req("outcome_problem", text),
        o.null("worst_loss", number),
        o.req("facts", array_of(text)),
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
    #: Each venue's page of the pair's markets ("" when unknown or not sent).
    kalshi_url: str = ""
    poly_url: str = ""
    #: The legging risk at this size (the expected edge beside the locked one). None when
    #: the scanner priced none (``null``) or the producer predates it (absent).
    legging: LeggingQuoteView | None = None


def decode_opportunity(o: Obj) -> OpportunityView:
    return OpportunityView(
        o.req("id", text),
        o.req("mapping_id", text),
        o.req("league", text),
        o.req("event_title", text),
        o.req("confidence", enum_of(Confidence)),
        o.req("kalshi_leg", object_of(_leg)),
        o.req("poly_leg", object_of(_leg)),
        o.req("size", number),
        o.req("cost", number),
        o.req("roi_pct", number),
        o.req("roi_per_day_pct", number),
        o.req("curve", array_of(object_of(_curve_point))),
        o.null("volume", number),
        o.null("kalshi_volume", number),
        o.null("expires_at", moment),
        o.req("rules", object_of(_rules)),
        o.req("updated_at", moment),
        o.opt("tradeable", flag),
        o.opt("why_not", object_of(_why_not)),
        o.opt("kalshi_url", text) or "",
        o.opt("poly_url", text) or "",
        o.opt("legging", object_of(decode_legging_quote)),
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
    #: Optional (a producer may leave them out): the game, the operator's note, and what
    #: names the pair for a person (venue pages, outcome names, the Polymarket question).
    review_key: str = ""
    kalshi_event_ticker: str = ""
    poly_opposite: str = ""
    game_date: str = ""
    note: str = ""
    decided_at: datetime | None = None
    kalshi_url: str = ""
    kalshi_outcome: str = ""
    poly_url: str = ""
    poly_title: str = ""
    poly_outcome: str = ""
    poly_other_outcome: str = ""
    #: The proposition both contracts pay on (``win:nba:HOU``, ``draw``,
    #: ``spread:nfl:KC:-7.5``, ``total:over:45.5``); "" from a producer that predates it.
    proposition: str = ""


def decode_mapping(o: Obj) -> MappingView:
    return MappingView(
        o.req("id", text),
        o.req("kalshi_ticker", text),
        o.req("poly_venue", enum_of(Venue)),
        o.req("poly_market", text),
        o.req("poly_side", text),
        o.req("league", text),
        o.req("event_title", text),
        o.req("confidence", enum_of(Confidence)),
        o.req("reasons", array_of(text)),
        o.null("start_time", moment),
        o.req("status", enum_of(MappingStatus)),
        o.req("tradeable", flag),
        o.null("why_not", object_of(_why_not)),
        o.opt("review_key", text) or "",
        o.opt("kalshi_event_ticker", text) or "",
        o.opt("poly_opposite", text) or "",
        o.opt("game_date", text) or "",
        o.opt("note", text) or "",
        o.opt("decided_at", moment),
        *(o.opt(k, text) or "" for k in _MAPPING_NAMING),
    )


_MAPPING_NAMING = (
    "kalshi_url", "kalshi_outcome", "poly_url", "poly_title", "poly_outcome", "poly_other_outcome", "proposition",
)


@dataclass(frozen=True, slots=True)
class RefusalView:
    """``refusal``: the executor skipped an opportunity, and why."""

    opportunity_id: str
    event: str
    reason: RefusalReason
    detail: str
    timestamp: datetime


def decode_refusal(o: Obj) -> RefusalView:
    return RefusalView(
        o.req("opportunity_id", text),
        o.req("event", text),
        o.req("reason", enum_of(RefusalReason)),
        o.req("detail", text),
        o.req("timestamp", moment),
    )


@dataclass(frozen=True, slots=True)
class PnlPointView:
    """A point of the cumulative realised P&L: ``pnl`` the total at ``t``, ``delta`` the
    step. ``trade_id``: the realised row (``/api/pnl`` leaves it out when it buckets)."""

    t: datetime
    pnl: Decimal
    delta: Decimal
    trade_id: str | None
    event: str | None = None  # the trade's game, when the point is one trade's


def decode_pnl_point(o: Obj) -> PnlPointView:
    return PnlPointView(o.req("t", moment), o.req("pnl", number), o.req("delta", number), o.opt("trade_id", text),
                        o.opt("event", text))


