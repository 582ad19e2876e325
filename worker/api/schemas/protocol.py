"""The protocol's vocabulary: its version and limits, every server message type, the
shapes of ``init``'s parts and of the replies, and every client action with its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, Literal, TypedDict

from worker.domain.attempt_money import size_candidates
from worker.domain.events import AlertKind, EventKind
from worker.domain.mapping import CurvePoint
from worker.domain.settings import FIELDS, FieldSpec

PROTOCOL_VERSION: Final = 1
MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_ID_LENGTH: Final = 128
MAX_NOTE_LENGTH: Final = 1000
# Numbers beyond this many digits before the point are not prices or counts anyone means.
MAX_NUMBER_DIGITS: Final = 30
WHOLE_MESSAGE: Final = "$"

# --- server -> client --------------------------------------------------------------------

INIT: Final = "init"
BALANCE_UPDATE: Final = EventKind.BALANCE_UPDATE
TRADE_EVENT: Final = EventKind.TRADE_EVENT
POSITION_OPENED: Final = EventKind.POSITION_OPENED
POSITION_CLOSED: Final = EventKind.POSITION_CLOSED
SETTINGS_CHANGED: Final = EventKind.SETTINGS_CHANGED
STATUS_CHANGED: Final = EventKind.STATUS_CHANGED
ERROR: Final = "error"
# additions
ACK: Final = "ack"
OPPORTUNITIES_SNAPSHOT: Final = "opportunities_snapshot"
OPPORTUNITY_OPENED: Final = EventKind.OPPORTUNITY_OPENED
OPPORTUNITY_UPDATED: Final = EventKind.OPPORTUNITY_UPDATED
OPPORTUNITY_CLOSED: Final = EventKind.OPPORTUNITY_CLOSED
PNL_POINT: Final = EventKind.PNL_POINT
REFUSAL: Final = EventKind.REFUSAL
MAPPING_CHANGED: Final = EventKind.MAPPING_CHANGED
VENUE_STATUS: Final = EventKind.VENUE_STATUS
HEARTBEAT: Final = EventKind.HEARTBEAT
ALERT: Final = EventKind.ALERT
ALERT_DISMISSED: Final = EventKind.ALERT_DISMISSED
#: The worker sends ``heartbeat`` this often; a client that hears nothing for
#: :data:`STALE_AFTER_S` must treat what it shows as stale.
HEARTBEAT_S: Final = 1.0
STALE_AFTER_S: Final = 3.0
ALERT_KINDS: Final = tuple(k.value for k in AlertKind)
DISCOVERY_REFUSALS: Final = EventKind.DISCOVERY_REFUSALS
KILL_SWITCH_PROGRESS: Final = EventKind.KILL_SWITCH_PROGRESS
#: How many refused listings ``init``, ``/api/status`` and ``discovery_refusals`` carry.
DISCOVERY_REFUSALS_LIMIT: Final = 200

PLAN_TYPES: Final = frozenset(
    {INIT, BALANCE_UPDATE, TRADE_EVENT, POSITION_OPENED, POSITION_CLOSED, SETTINGS_CHANGED, STATUS_CHANGED, ERROR}
)
SERVER_TYPES: Final = PLAN_TYPES | {
    ACK,
    OPPORTUNITIES_SNAPSHOT,
    OPPORTUNITY_OPENED,
    OPPORTUNITY_UPDATED,
    OPPORTUNITY_CLOSED,
    PNL_POINT,
    REFUSAL,
    MAPPING_CHANGED,
    VENUE_STATUS,
    HEARTBEAT,
    ALERT,
    ALERT_DISMISSED,
    DISCOVERY_REFUSALS,
    KILL_SWITCH_PROGRESS,
}
# Event-bus event types the server forwards to every client as they are.
BROADCAST_TYPES: Final = SERVER_TYPES - {INIT, ERROR, ACK, OPPORTUNITIES_SNAPSHOT}

# Setting bounds for the dashboard's widgets (the worker still validates).
SETTING_BOUNDS: Final[Mapping[str, FieldSpec]] = {spec.name: spec for spec in FIELDS}


class BalancesData(TypedDict):
    """Dollars per venue; ``null`` while a venue's balance has never been read."""

    poly: Decimal | None
    kalshi: Decimal | None


class StatsData(TypedDict):
    trades: int
    pnl: Decimal
    wins: int


class DiscoveryRefusal(TypedDict):
    """One listing left out at discovery: ``venue`` (``kalshi``, ``polymarket``,
    ``polymarket_us``), ``id`` (the venue's market id: Kalshi ticker, Gamma market id,
    Polymarket US slug; ``event <id>`` for a whole event), ``reason``, ``at`` (first seen)."""

    venue: str
    id: str
    reason: str
    at: datetime


class DiscoveryData(TypedDict):
    """``discovery`` in ``init`` and ``/api/status``, and the ``discovery_refusals`` data:
    ``refused_count`` is the full count; ``refused`` the latest first seen, at most
    :data:`DISCOVERY_REFUSALS_LIMIT`; ``discovered_at`` null before any discovery ran."""

    refused_count: int
    refused: list[DiscoveryRefusal]
    discovered_at: datetime | None


class InitData(TypedDict, total=False):
    enabled: bool
    settings: dict[str, Any]
    balances: BalancesData
    stats: StatsData
    positions: list[dict[str, Any]]
    mode: str
    poly_venue: str
    limits: dict[str, Any]
    venues: dict[str, Any]
    uptime_s: Decimal
    server_time: str
    books: dict[str, Any] | None
    alerts: list[dict[str, Any]]
    discovery: DiscoveryData
    #: The last ``kill_switch_progress``'s data; null while none was published.
    kill_switch: dict[str, Any] | None


class ErrorMessage(TypedDict):
    type: Literal["error"]
    message: str
    field: str | None
    id: str | None


class AckMessage(TypedDict):
    type: Literal["ack"]
    action: str
    id: str | None
    data: dict[str, Any]


# --- client -> server --------------------------------------------------------------------

TOGGLE_ENABLED: Final = "toggle_enabled"
UPDATE_SETTINGS: Final = "update_settings"
CLOSE_POSITION: Final = "close_position"
CONFIRM_MAPPING: Final = "confirm_mapping"
REJECT_MAPPING: Final = "reject_mapping"
#: Returns a decided game to candidate: what undoing a decision on a new game sends.
REOPEN_MAPPING: Final = "reopen_mapping"
RETRY_UNWIND: Final = "retry_unwind"
RESOLVE_STRANDED: Final = "resolve_stranded"
KILL_SWITCH: Final = "kill_switch"
DISMISS_ALERT: Final = "dismiss_alert"

FieldKind = Literal["bool", "id", "note", "settings", "amount"]

# action -> its required fields and their kinds (the optional ``id`` is allowed on all).
ACTIONS: Final[Mapping[str, Mapping[str, FieldKind]]] = {
    TOGGLE_ENABLED: {"value": "bool"},
    UPDATE_SETTINGS: {"settings": "settings"},
    CLOSE_POSITION: {"position_id": "id"},
    CONFIRM_MAPPING: {"mapping_id": "id"},
    REJECT_MAPPING: {"mapping_id": "id"},
    REOPEN_MAPPING: {"mapping_id": "id"},
    RETRY_UNWIND: {"attempt_id": "id"},
    RESOLVE_STRANDED: {"attempt_id": "id", "note": "note"},
    KILL_SWITCH: {"flatten": "bool"},
    DISMISS_ALERT: {"alert_id": "id"},
}
# action -> fields it may carry besides the required ones.
OPTIONAL: Final[Mapping[str, Mapping[str, FieldKind]]] = {
    # What the stranded contracts brought in (sold by hand; 0 if worthless): the loss is
    # realised now. Without it the stranded leg is settled when its market resolves.
    RESOLVE_STRANDED: {"proceeds": "amount"},
    # The operator's reason for a decision on a mapping's game, stored with it.
    CONFIRM_MAPPING: {"note": "note"},
    REJECT_MAPPING: {"note": "note"},
    REOPEN_MAPPING: {"note": "note"},
}
#: The largest amount an action may name, in dollars.
MAX_AMOUNT: Final = Decimal(10_000_000)
ACTION_NAMES: Final = tuple(ACTIONS)


def size_at_bet(
    points: Sequence[tuple[Decimal, Decimal, Decimal]], max_bet: Decimal
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(size, cost, ROI %) the executor's sizing reaches with ``max_bet`` on an
    opportunity's curve (``(size, cost, ROI %)`` points), before its ROI bands and
    ``min_bet``: the same arithmetic as admission (a size between two points costs the
    segment's marginal price plus a cushion). None when not even the smallest fits."""
    curve = [CurvePoint(size, cost, size - cost, roi) for size, cost, roi in points]
    fits = [c for c in size_candidates(curve, max_bet) if c.cost <= max_bet]
    if not fits:
        return None
    best = fits[-1]
    return best.contracts, best.cost, best.roi_pct
