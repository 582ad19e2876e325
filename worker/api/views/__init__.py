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

The views of the worker's state are in :mod:`~worker.api.views.status`, those of what it
trades in :mod:`~worker.api.views.trading`, whole messages in
:mod:`~worker.api.views.messages`, and the readers of JSON values they share in
:mod:`~worker.api.views.reading`; this package gives them all under one name.

This package imports the domain only (its enums and settings), never the engine, the
database or the venues: the import-linter contracts in ``pyproject.toml`` check it.
"""

from __future__ import annotations

from worker.api.views.legging import (
    LeggingEstimatesView,
    LeggingQuoteView,
    LeggingRowView,
    decode_api_legging,
    pooled,
)
from worker.api.views.messages import (
    MESSAGE_TYPES,
    AckView,
    ErrorView,
    InitView,
    MessageView,
    ReplyView,
    StatusView,
    decode_api_alerts,
    decode_api_mappings,
    decode_api_pnl,
    decode_api_positions,
    decode_api_status,
    decode_api_trades,
    decode_view,
)
from worker.api.views.reading import ViewError
from worker.api.views.status import (
    AlertView,
    BalancesView,
    BalanceUpdateView,
    BooksView,
    DatabaseView,
    DiscoveryRefusalView,
    DiscoveryView,
    HeartbeatView,
    HoldingView,
    KillSwitchProgressView,
    LegMarkView,
    MoneyView,
    RedeemView,
    StatsView,
    StatusChangedView,
    VenueFeedState,
    VenueStatusView,
    VenueView,
)
from worker.api.views.trading import (
    CurvePointView,
    LegView,
    MappingView,
    OpportunitiesView,
    OpportunityClosedView,
    OpportunityView,
    PnlPointView,
    PositionClosedView,
    PositionView,
    RefusalView,
    RulesView,
    TradeEventStatus,
    TradeView,
    WhyNotView,
)
from worker.domain.operator import DatabaseState

__all__ = [
    "MESSAGE_TYPES",
    "AckView",
    "AlertView",
    "BalanceUpdateView",
    "BalancesView",
    "BooksView",
    "HoldingView",
    "LegMarkView",
    "MoneyView",
    "CurvePointView",
    "DatabaseState",
    "DatabaseView",
    "DiscoveryRefusalView",
    "DiscoveryView",
    "ErrorView",
    "HeartbeatView",
    "InitView",
    "LegView",
    "LeggingEstimatesView",
    "LeggingQuoteView",
    "LeggingRowView",
    "pooled",
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
    "KillSwitchProgressView",
    "StatusView",
    "TradeEventStatus",
    "TradeView",
    "VenueFeedState",
    "VenueStatusView",
    "VenueView",
    "ViewError",
    "WhyNotView",
    "decode_api_alerts",
    "decode_api_legging",
    "decode_api_mappings",
    "decode_api_pnl",
    "decode_api_positions",
    "decode_api_status",
    "decode_api_trades",
    "decode_view",
]
