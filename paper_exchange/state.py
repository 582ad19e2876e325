"""What a running paper exchange is made of (:class:`ServerState`: the exchange, the
credentials, the faults, the switches) and how it is opened from a data directory.

:func:`build_exchange` opens the matching engine and its store without any server: the
snapshot command and the benches use it as a plain library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from paper_exchange import credentials
from paper_exchange.credentials import PaperCredentials
from paper_exchange.faults import Faults, FaultSpec
from paper_exchange.matching import PaperExchange
from paper_exchange.store import Store
from paper_exchange.world import World, floor_epoch
from paper_exchange.world_extra import paper_leagues
from paper_exchange.world_leagues import build_world, exchange_class
from worker.clock import SYSTEM_CLOCK, Clock


@dataclass
class ServerState:
    """What every handler shares."""

    exchange: PaperExchange[World]
    creds: PaperCredentials
    faults: Faults
    latency_s: float = 0.0
    tick_s: float = 0.5
    orders_placed: int = 0
    updates_sent: int = 0
    #: The scripting endpoints under ``/paper/admin/`` (pinned books, scripted faults,
    #: balances) exist only when enabled (tests; ``EXECUTOR_PAPER_CONTROL=1``).
    control: bool = False
    #: Real time at the wire: how fresh a request's signed timestamp is, the server time
    #: the exchange reports, latency, hangs and the tick. The market's own time
    #: (``exchange.clock``) may be a test's fake clock; a client's signature and its read
    #: timeout are real time all the same.
    wall: Clock = SYSTEM_CLOCK


def store_path(data_dir: Path, seed: int) -> Path:
    """One store per seed: a different seed is a different world."""
    return data_dir / "paper" / f"exchange-seed{seed}.db"


def build_exchange(
    data_dir: Path,
    seed: int,
    balances: Mapping[str, Decimal],
    faults: Faults | None = None,
    clock: Clock | None = None,
    leagues: frozenset[str] | None = None,
) -> PaperExchange[World]:
    """Open (or create) the persisted exchange of a seed; its epoch is kept in the store
    so that a restart lists the same games under the same identifiers. ``leagues``
    (default ``EXECUTOR_PAPER_LEAGUES``) adds the MLB/EPL stream when it names them."""
    clock = clock or SYSTEM_CLOCK
    if leagues is None:
        leagues = paper_leagues(os.environ.get("EXECUTOR_PAPER_LEAGUES"))
    store = Store(store_path(data_dir, seed))
    raw = store.get_meta("epoch")
    if raw is None:
        epoch = floor_epoch(clock.now())
        store.set_meta("epoch", epoch.isoformat())
        store.set_meta("seed", str(seed))
    else:
        epoch = datetime.fromisoformat(raw)
    world = build_world(seed, epoch, leagues)
    return exchange_class(world)(world, store, clock, balances, faults)


def build_state(
    data_dir: Path,
    seed: int,
    balances: Mapping[str, Decimal],
    fault_spec: FaultSpec | None = None,
    clock: Clock | None = None,
    latency_ms: int = 0,
    tick_s: float = 0.5,
    control: bool | None = None,
) -> ServerState:
    """Everything a server needs; ``control`` defaults to ``EXECUTOR_PAPER_CONTROL=1``."""
    faults = Faults(fault_spec or FaultSpec(), seed)
    exchange = build_exchange(data_dir, seed, balances, faults, clock)
    creds = credentials.ensure_credentials(data_dir)
    if control is None:
        control = os.environ.get("EXECUTOR_PAPER_CONTROL", "").strip() == "1"
    return ServerState(exchange, creds, faults, latency_ms / 1000, tick_s, control=control)
