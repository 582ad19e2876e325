"""What the pages show of the worker's positions, trades, opportunities and mappings: the
dashboard's own records, each read from the wire's view (:mod:`worker.api.views`) and named
as the venues name the contracts. Money stays ``Decimal``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.api import schemas
from worker.api import views as wire
from worker.domain.markets import Venue

# "NO KXNBAGAME-26NOV29HOULAL-HOU": the side and the market's ticker, as the scanner and
# the executor label a Kalshi leg. The last ticker segment names the team the market is
# about, which is how Kalshi's own site shows the contract ("NO HOU").
_KALSHI_LABEL = re.compile(r"^(YES|NO) ([A-Z0-9.]+(?:-[A-Z0-9.]+)*-([A-Z0-9.]+))$", re.IGNORECASE)


def kalshi_name(label: str) -> str:
    """A Kalshi contract by its short name: ``NO KXNBAGAME-…-HOU`` → ``NO HOU``."""
    m = _KALSHI_LABEL.match(label.strip())
    return f"{m.group(1).upper()} {m.group(3)}" if m else label


@dataclass(frozen=True)
class ShownLeg:
    """One side of a position or opportunity as the pages show it, named as its venue
    names the contract."""

    venue: str  # kalshi | polymarket | polymarket_us
    contract: str  # "Rockets", "NO HOU", "long Houston"
    price: Decimal | None
    market: str = ""  # ticker, CLOB token id or market slug

    @classmethod
    def from_view(cls, leg: wire.LegView) -> ShownLeg:
        kalshi = leg.venue is Venue.KALSHI
        return cls(leg.venue.value, kalshi_name(leg.label) if kalshi else leg.label, leg.price, leg.contract_id)


@dataclass(frozen=True)
class ShownPosition:
    """An open position as the executor page's table shows it."""

    id: str
    event: str
    poly: ShownLeg
    kalshi: ShownLeg
    opened_at: datetime
    cost: Decimal | None
    #: Contracts held per leg (None: the row does not say).
    poly_qty: int | None = None
    kalshi_qty: int | None = None
    #: The game's start where the position's row has it.
    starts_at: datetime | None = None

    @property
    def locked_edge(self) -> Decimal | None:
        """What the pair pays at settlement less what it cost: both legs hold the same
        count, so one of them pays $1 a contract whatever the result. None when the legs
        differ (not hedged) or a figure is missing."""
        if self.cost is None or self.poly_qty is None or self.poly_qty != self.kalshi_qty:
            return None
        return Decimal(self.poly_qty) - self.cost

    @classmethod
    def from_view(cls, p: wire.PositionView) -> ShownPosition:
        # The Kalshi contract by side and team (the ticker's last segment): "NO HOU".
        side, ticker = p.kalshi_side or "", p.kalshi_ticker or ""
        kalshi_contract = f"{side} {ticker.rsplit('-', 1)[-1]}".strip() if ticker else side
        return cls(
            id=p.id,
            event=p.event_title,
            poly=ShownLeg(
                venue=p.poly_venue.value if p.poly_venue is not None else "polymarket",
                # The outcome's name; a row without one is named by the side bought.
                contract=p.poly_contract or p.poly_side or "",
                price=p.poly_price,
                market=p.poly_market or "",
            ),
            kalshi=ShownLeg(venue="kalshi", contract=kalshi_contract, price=p.kalshi_price, market=ticker),
            opened_at=p.opened_at,
            cost=p.cost,
            poly_qty=p.poly_contracts,
            kalshi_qty=p.kalshi_contracts,
            starts_at=p.expires_at,
        )


@dataclass(frozen=True)
class ShownTrade:
    """A trade-log row or announcement as the executor page's table shows it (``seq``:
    this process's order of arrival). Rows read from ``/api/trades`` also carry the
    venues' order ids and the row's details (legs, fees); a live ``trade_event`` does not
    until the history is read again (the feed does, after each trade)."""

    seq: int
    id: str
    time: datetime
    status: str
    event: str
    size: Decimal | None
    pnl: Decimal | None
    roi: Decimal | None
    reason: str
    attempt_id: str
    kalshi_order_id: str = ""
    poly_order_id: str = ""
    details: Mapping[str, Any] | None = None

    @property
    def key(self) -> str:
        """The row's id; an announcement (no row) by its arrival."""
        return self.id or f"seq-{self.seq}"

    @property
    def order(self) -> tuple[datetime, int, int]:
        """Oldest first, as the worker orders its log: time, then row id (rows written
        at one time), then arrival."""
        return self.time, int(self.id) if self.id.isdigit() else -1, self.seq

    @classmethod
    def from_view(cls, seq: int, t: wire.TradeView) -> ShownTrade:
        return cls(
            seq=seq,
            id=t.id or "",
            time=t.timestamp,
            status=t.status.value,
            event=t.event,
            size=t.bet_size,
            pnl=t.pnl,
            roi=t.roi,
            reason=t.reason or "",
            attempt_id=t.attempt_id or "",
            kalshi_order_id=t.kalshi_order_id or "",
            poly_order_id=t.poly_order_id or "",
            details=t.details,
        )


@dataclass(frozen=True)
class ShownOpportunity:
    """A live arbitrage opportunity as the card grid shows it (ROI in percent)."""

    id: str
    title: str
    league: str
    confidence: str
    legs: tuple[ShownLeg, ShownLeg]
    roi: Decimal
    cost: Decimal | None  # per pair
    volume: Decimal | None
    roi_per_day: Decimal | None
    expires_at: datetime | None
    updated_at: datetime | None
    rules_kalshi: str = ""
    rules_poly: str = ""
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
    #: Each venue's page of the pair's markets ("" when the worker does not know it).
    kalshi_url: str = ""
    poly_url: str = ""
    #: The locked edge at full depth (dollars: ``size`` pairs pay $1 each, less their cost).
    edge: Decimal | None = None
    #: Legging risk at full depth: the expected edge and ROI, leg 2's venue and its
    #: P(fail) with the samples behind it (None: the worker priced none).
    legging: wire.LeggingQuoteView | None = None

    @property
    def starts_at(self) -> datetime | None:
        """When the game starts: the opportunity expires then."""
        return self.expires_at

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
    def from_view(cls, o: wire.OpportunityView) -> ShownOpportunity:
        return cls(
            id=o.id,
            title=o.event_title,
            league=o.league.lower(),
            confidence=o.confidence.value,
            legs=(ShownLeg.from_view(o.poly_leg), ShownLeg.from_view(o.kalshi_leg)),
            roi=o.roi_pct,
            cost=o.cost / o.size if o.size else o.cost,
            volume=o.volume,
            kalshi_volume=o.kalshi_volume,
            curve=tuple(sorted((p.size, p.cost, p.roi_pct) for p in o.curve)),
            size=o.size,
            roi_per_day=o.roi_per_day_pct,
            expires_at=o.expires_at,
            updated_at=o.updated_at,
            rules_kalshi=o.rules.kalshi,
            rules_poly=o.rules.poly,
            rules_differences=o.rules.differences,
            rules_worst_loss=o.rules.worst_loss,
            rules_outcome_problem=o.rules.outcome_problem,
            rules_facts=o.rules.facts,
            mapping_id=o.mapping_id,
            tradeable=o.tradeable,
            why_not=o.why_not.reason.value if o.why_not is not None else "",
            why_not_text=o.why_not.text if o.why_not is not None else "",
            kalshi_url=o.kalshi_url,
            poly_url=o.poly_url,
            edge=o.size - o.cost,
            legging=o.legging,
        )

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ShownOpportunity:
        """From an opportunity object as the wire carries it (``opportunity_opened`` data)."""
        view = wire.decode_view({"type": schemas.OPPORTUNITY_UPDATED.value, "data": data}).data
        assert isinstance(view, wire.OpportunityView)
        return cls.from_view(view)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class ShownMapping:
    """A matched Kalshi / Polymarket pair with the matcher's confidence and reasons, as
    the mappings page shows it."""

    id: str
    title: str
    league: str
    confidence: str
    status: str
    reasons: tuple[str, ...]
    kalshi: str
    poly: str
    starts_at: datetime | None
    #: As on :class:`ShownOpportunity`: may the pair trade, and if not, why.
    tradeable: bool | None = None
    why_not: str = ""
    why_not_text: str = ""
    #: The game (both rows of one share it; the row's own id when the worker sent none),
    #: the operator's note, and what names the pair (venue pages, outcome names).
    review_key: str = ""
    note: str = ""
    poly_venue: str = ""
    poly_market: str = ""
    game_date: str = ""
    kalshi_url: str = ""
    kalshi_outcome: str = ""
    poly_url: str = ""
    poly_title: str = ""
    poly_outcome: str = ""
    poly_other_outcome: str = ""
    #: The proposition's key (``win:nba:HOU``, ``draw``, ``total:over:8.5``); "" when
    #: the worker predates it (a team's win).
    proposition: str = ""

    @property
    def game(self) -> str:
        return self.review_key or self.id

    @classmethod
    def from_view(cls, m: wire.MappingView) -> ShownMapping:
        return cls(
            id=m.id,
            title=m.event_title,
            league=m.league.lower(),
            confidence=m.confidence.value,
            status=m.status.value,
            reasons=m.reasons,
            kalshi=m.kalshi_ticker,
            poly=f"{m.poly_market} {m.poly_side}".strip(),
            starts_at=m.start_time,
            tradeable=m.tradeable,
            why_not=m.why_not.reason.value if m.why_not is not None else "",
            why_not_text=m.why_not.text if m.why_not is not None else "",
            review_key=m.review_key,
            note=m.note,
            poly_venue=m.poly_venue.value,
            poly_market=m.poly_market,
            game_date=m.game_date,
            kalshi_url=m.kalshi_url,
            kalshi_outcome=m.kalshi_outcome,
            poly_url=m.poly_url,
            poly_title=m.poly_title,
            poly_outcome=m.poly_outcome,
            poly_other_outcome=m.poly_other_outcome,
            proposition=m.proposition,
        )
