"""What a client is sent of the worker's state: ``init``'s data and ``GET /api/status``,
from one :class:`~worker.domain.operator.ConsoleSnapshot`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from worker.api import schemas
from worker.domain.operator import ConsoleSnapshot


def _balances(snapshot: ConsoleSnapshot) -> dict[str, Decimal | None]:
    return {"poly": snapshot.balances.poly, "kalshi": snapshot.balances.kalshi}


def _venues(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    return {
        v.venue: {"state": v.state, "data_age_ms": v.data_age_ms, "detail": v.detail, "since": v.since}
        for v in snapshot.venues
    }


def _uptime(snapshot: ConsoleSnapshot) -> Decimal:
    return Decimal((snapshot.taken_at - snapshot.started_at).total_seconds()).quantize(Decimal("0.001"))


def _discovery(snapshot: ConsoleSnapshot) -> Any:
    """Listings refused at discovery (``schemas.DiscoveryData``); empty, with
    ``discovered_at`` null, while no discovery ran in this process."""
    found = snapshot.extra.get("discovery")
    return found if found is not None else {"refused_count": 0, "refused": [], "discovered_at": None}


def _positions(snapshot: ConsoleSnapshot) -> list[Any] | None:
    return None if snapshot.positions is None else [schemas.to_wire(p) for p in snapshot.positions]


def _kill_switch(snapshot: ConsoleSnapshot) -> Any:
    """The last ``kill_switch_progress``'s data, or null while none was published."""
    progress = snapshot.extra.get("kill_switch")
    return None if progress is None else schemas.event_message(progress)["data"]


def init_data(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    """The plan's ``init`` data plus our extra keys.

    While the database is down (``database.state``), ``stats`` and ``positions`` are the
    last ones read (``database.figures_as_of``), or ``null`` if none was.
    """
    stats = snapshot.stats
    return {
        "enabled": snapshot.settings.enabled,
        "settings": schemas.settings_to_wire(snapshot.settings),
        "balances": _balances(snapshot),
        "stats": None if stats is None else {"trades": stats.trades, "pnl": stats.pnl, "wins": stats.wins},
        "positions": _positions(snapshot),
        "mode": snapshot.mode,
        "poly_venue": snapshot.poly_venue,
        "limits": snapshot.limits,
        "venues": _venues(snapshot),
        "executor_running": snapshot.executor_running,
        "uptime_s": _uptime(snapshot),
        "server_time": snapshot.taken_at,
        "protocol": schemas.PROTOCOL_VERSION,
        "books": snapshot.extra.get("books"),
        "alerts": snapshot.extra.get("alerts") or [],
        "discovery": _discovery(snapshot),
        "database": snapshot.extra.get("database"),
        "kill_switch": _kill_switch(snapshot),
    }


def status_data(snapshot: ConsoleSnapshot) -> dict[str, Any]:
    """``GET /api/status``: the plan's "executor status" (``database`` as in :func:`init_data`)."""
    stats = snapshot.stats
    return {
        "enabled": snapshot.settings.enabled,
        "mode": snapshot.mode,
        "poly_venue": snapshot.poly_venue,
        "uptime_s": _uptime(snapshot),
        "started_at": snapshot.started_at,
        "balances": _balances(snapshot),
        "stats": None
        if stats is None
        else {"day": stats.day, "trades": stats.trades, "pnl": stats.pnl, "wins": stats.wins},
        "limits": snapshot.limits,
        "settings": schemas.settings_to_wire(snapshot.settings),
        "open_positions": None if snapshot.positions is None else len(snapshot.positions),
        "last_trade_at": snapshot.last_trade_at,
        "venues": _venues(snapshot),
        "executor_running": snapshot.executor_running,
        "opportunities": len(snapshot.opportunities),
        "lease": snapshot.extra.get("lease"),
        "books": snapshot.extra.get("books"),
        "alerts": snapshot.extra.get("alerts") or [],
        "discovery": _discovery(snapshot),
        "database": snapshot.extra.get("database"),
        "kill_switch": _kill_switch(snapshot),
        "server_time": snapshot.taken_at,
    }
