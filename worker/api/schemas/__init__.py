"""The ``/ws/executor`` protocol: every message, its fields, validation and exact JSON.

This is the one package the dashboard imports from the worker besides the decoders
(:mod:`worker.api.views`, re-exported here), so it imports nothing of ours but the domain
and those decoders. Its parts: the vocabulary (:mod:`~worker.api.schemas.protocol`), client
messages in (:mod:`~worker.api.schemas.client_messages`), exact JSON out
(:mod:`~worker.api.schemas.encoding`) and the engine's events as server messages
(:mod:`~worker.api.schemas.event_messages`); every name is given here.

**The plan's messages keep their shapes** (section 3 of the plan). Server → client
messages are ``{"type": T, "data": {...}}``; additions are new types, never changed
shapes; extra keys inside ``data`` are allowed (``init`` also carries ``mode``,
``poly_venue``, ``limits``, ``venues``, ``uptime_s``, ``server_time``)::

    init              {enabled, settings, balances {poly, kalshi}, stats {trades, pnl, wins},
                       positions [...], + mode, poly_venue, limits, venues, uptime_s, server_time,
                       kill_switch (the last kill_switch_progress, or null)}
    balance_update    {poly, kalshi}
    trade_event       {event, status, ...trade row}
    position_opened   {...position}
    position_closed   {...position}
    settings_changed  {...complete settings after the change, enabled included}
    status_changed    {enabled, ...}
    --- additions
    opportunities_snapshot  {opportunities: [...]}       right after init
    opportunity_opened / opportunity_updated  {...opportunity, tradeable, why_not}
    opportunity_closed      {id, reason, ...}
    pnl_point         {t, pnl (cumulative realised), delta, trade_id}
    refusal           {opportunity_id, reason, detail, at}
    mapping_changed   {...mapping, review_key, tradeable, why_not}  one per row of the game
    venue_status      {venues: {name: {state, data_age_ms, ...}}}
    heartbeat         {server_time, uptime_s, enabled, executor_running}   every second
    alert             {...alert}: id, kind (AlertKind), severity, title, message, count, ...
    alert_dismissed   {...alert, dismissed_at}
    discovery_refusals {refused_count, refused [{venue, id, reason, at}] latest first,
                        at most 200, discovered_at}   when the refused listings change
    kill_switch_progress {started_at, total, closed, failed, done}   the kill switch
                        flattening: before the first close, then after each
    ack               {"type": "ack", "action", "id", "data"}  one per accepted action
    error             {"type": "error", "message", "field", "id"}  one per refused message

Client → server messages are objects with an ``action`` and that action's fields (see
:data:`ACTIONS`), plus an optional ``id`` (a string) echoed in the ``ack`` / ``error``.

**Numbers.** Money, prices, ROI and counts are JSON numbers on the wire in both
directions. The server parses them exactly (``parse_float=Decimal``); :func:`dumps`
writes a ``Decimal`` as the exact JSON number it is (``5.00`` stays ``5.00``), never
through a float. Strings where numbers are due, booleans, null, NaN, Infinity and
numbers too large to be meant (``1e999``) are refused. Ids on the wire are strings.

**Errors** name the first offending field: a top-level key (``action``, ``value``,
``position_id`` …), a setting's name inside ``settings`` (``min_bet``), or ``"$"`` for
the message as a whole (not JSON, not an object, too large). A setting's refusal says it
in the rules' plain words ("Min bet must not exceed max bet"); a client checks a form
with the same rules (:func:`settings_problems`, :func:`parse_setting`).
"""


from __future__ import annotations

from worker.api.schemas.client_messages import (
    BadNumber,
    ClientMessage,
    ProtocolError,
    loads,
    parse_client_message,
)
from worker.api.schemas.encoding import (
    ack,
    decimal_text,
    decode_server_message,
    dumps,
    error,
    message,
    settings_to_wire,
    to_wire,
    trade_event_data,
)
from worker.api.schemas.event_messages import event_message, mapping_data
from worker.api.schemas.protocol import (
    ACK,
    ACTION_NAMES,
    ACTIONS,
    ALERT,
    ALERT_DISMISSED,
    ALERT_KINDS,
    BALANCE_UPDATE,
    BROADCAST_TYPES,
    CLOSE_POSITION,
    CONFIRM_MAPPING,
    DISCOVERY_REFUSALS,
    DISCOVERY_REFUSALS_LIMIT,
    DISMISS_ALERT,
    ERROR,
    HEARTBEAT,
    HEARTBEAT_S,
    INIT,
    KILL_SWITCH,
    KILL_SWITCH_PROGRESS,
    MAPPING_CHANGED,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_MESSAGE_BYTES,
    MAX_NOTE_LENGTH,
    MAX_NUMBER_DIGITS,
    OPPORTUNITIES_SNAPSHOT,
    OPPORTUNITY_CLOSED,
    OPPORTUNITY_OPENED,
    OPPORTUNITY_UPDATED,
    OPTIONAL,
    PLAN_TYPES,
    PNL_POINT,
    POSITION_CLOSED,
    POSITION_OPENED,
    PROTOCOL_VERSION,
    REFUSAL,
    REJECT_MAPPING,
    REOPEN_MAPPING,
    RESOLVE_STRANDED,
    RETRY_UNWIND,
    SERVER_TYPES,
    SETTING_BOUNDS,
    SETTINGS_CHANGED,
    STALE_AFTER_S,
    STATUS_CHANGED,
    TOGGLE_ENABLED,
    TRADE_EVENT,
    UPDATE_SETTINGS,
    VENUE_STATUS,
    WHOLE_MESSAGE,
    AckMessage,
    BalancesData,
    DiscoveryData,
    DiscoveryRefusal,
    ErrorMessage,
    FieldKind,
    InitData,
    StatsData,
    size_at_bet,
)
from worker.api.views import *  # noqa: F403 - the decoders, the client side of this protocol
from worker.domain.settings import FIELD_NAMES, FIELDS, FieldSpec
from worker.domain.settings import parse_text as parse_setting
from worker.domain.settings import problems as settings_problems

__all__ = [
    "ACK",
    "ACTIONS",
    "ACTION_NAMES",
    "ALERT",
    "ALERT_DISMISSED",
    "ALERT_KINDS",
    "AckMessage",
    "BALANCE_UPDATE",
    "BROADCAST_TYPES",
    "BadNumber",
    "BalancesData",
    "CLOSE_POSITION",
    "CONFIRM_MAPPING",
    "ClientMessage",
    "DISCOVERY_REFUSALS",
    "DISCOVERY_REFUSALS_LIMIT",
    "KILL_SWITCH_PROGRESS",
    "DISMISS_ALERT",
    "DiscoveryData",
    "DiscoveryRefusal",
    "ERROR",
    "ErrorMessage",
    "FIELDS",
    "FIELD_NAMES",
    "FieldKind",
    "FieldSpec",
    "parse_setting",
    "settings_problems",
    "HEARTBEAT",
    "HEARTBEAT_S",
    "INIT",
    "InitData",
    "KILL_SWITCH",
    "MAPPING_CHANGED",
    "MAX_AMOUNT",
    "MAX_ID_LENGTH",
    "MAX_MESSAGE_BYTES",
    "MAX_NOTE_LENGTH",
    "MAX_NUMBER_DIGITS",
    "OPPORTUNITIES_SNAPSHOT",
    "OPPORTUNITY_CLOSED",
    "OPPORTUNITY_OPENED",
    "OPPORTUNITY_UPDATED",
    "OPTIONAL",
    "PLAN_TYPES",
    "PNL_POINT",
    "POSITION_CLOSED",
    "POSITION_OPENED",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "REFUSAL",
    "REJECT_MAPPING",
    "REOPEN_MAPPING",
    "RESOLVE_STRANDED",
    "RETRY_UNWIND",
    "SERVER_TYPES",
    "SETTINGS_CHANGED",
    "SETTING_BOUNDS",
    "STALE_AFTER_S",
    "STATUS_CHANGED",
    "StatsData",
    "TOGGLE_ENABLED",
    "TRADE_EVENT",
    "UPDATE_SETTINGS",
    "VENUE_STATUS",
    "WHOLE_MESSAGE",
    "ack",
    "decimal_text",
    "decode_server_message",
    "dumps",
    "error",
    "event_message",
    "loads",
    "mapping_data",
    "message",
    "parse_client_message",
    "settings_to_wire",
    "size_at_bet",
    "to_wire",
    "trade_event_data",
]
