"""The paper exchange's own persistent store (SQLite, stdlib), apart from the worker's DB.

Orders, fills, balances, positions and resolutions live here so that they outlive both a
worker crash and an exchange restart: a worker killed and restarted finds exactly what a
real venue would show it. Every state change is one transaction committed before the
HTTP answer that reports it, so an acknowledged order is never lost. Money is stored as
exact decimal strings.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (venue TEXT PRIMARY KEY, balance TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    venue TEXT NOT NULL, order_id TEXT NOT NULL, client_order_id TEXT,
    instrument_id TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
    quantity TEXT NOT NULL, filled TEXT NOT NULL, cost TEXT NOT NULL, fees TEXT NOT NULL,
    status TEXT NOT NULL, tif TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    extra TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (venue, order_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS orders_client ON orders (venue, client_order_id)
    WHERE client_order_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS orders_status ON orders (status);
CREATE TABLE IF NOT EXISTS fills (
    venue TEXT NOT NULL, fill_id TEXT NOT NULL, order_id TEXT NOT NULL,
    instrument_id TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
    quantity TEXT NOT NULL, fee TEXT NOT NULL, is_taker INTEGER NOT NULL,
    created TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (venue, fill_id)
);
CREATE INDEX IF NOT EXISTS fills_order ON fills (venue, order_id);
CREATE TABLE IF NOT EXISTS positions (
    venue TEXT NOT NULL, instrument_id TEXT NOT NULL, quantity TEXT NOT NULL,
    cost TEXT NOT NULL, fees TEXT NOT NULL, realized TEXT NOT NULL, traded TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (venue, instrument_id)
);
CREATE TABLE IF NOT EXISTS resolutions (
    game_index INTEGER PRIMARY KEY, home_settlement TEXT NOT NULL, resolved TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS settlements (
    venue TEXT NOT NULL, instrument_id TEXT NOT NULL, quantity TEXT NOT NULL,
    price TEXT NOT NULL, payout TEXT NOT NULL, settled TEXT NOT NULL,
    PRIMARY KEY (venue, instrument_id)
);
"""


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class OrderRow:
    """An order as the exchange keeps it; ``side`` and ``price`` are on the instrument."""

    venue: str
    order_id: str
    client_order_id: str | None
    instrument_id: str
    side: str
    price: Decimal
    quantity: Decimal
    filled: Decimal
    cost: Decimal
    fees: Decimal
    status: str
    tif: str
    created: datetime
    updated: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled if self.status == "open" else Decimal(0)

    @property
    def avg_price(self) -> Decimal | None:
        return self.cost / self.filled if self.filled else None


@dataclass
class FillRow:
    venue: str
    fill_id: str
    order_id: str
    instrument_id: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    is_taker: bool
    created: datetime
    seq: int = 0


@dataclass
class PositionRow:
    """A signed position: > 0 long/YES/tokens held, < 0 short/NO (Kalshi, Polymarket US).
    ``cost`` is the net cash paid into the position (fees excluded)."""

    venue: str
    instrument_id: str
    quantity: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    traded: Decimal = Decimal(0)
    updated: datetime | None = None


class Store:
    """SQLite store; one connection guarded by a lock (the server is single-threaded but
    the snapshot and test code may read from other threads)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a committed order survives a kill of the exchange process (what the
        # crash tests do); only a power cut could lose the last transactions.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(settlements)")}
        if "redeemed" not in columns:
            # A store from before redemption was modelled: what it settled was paid at once.
            self._db.execute("ALTER TABLE settlements ADD COLUMN redeemed TEXT")
            self._db.execute("UPDATE settlements SET redeemed = settled")
        self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested uses join the outer one."""
        with self._lock:
            if self._depth == 0:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        with self._lock:
            self._db.execute(sql, args)

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self._exec("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def next_seq(self, name: str) -> int:
        with self.transaction():
            current = int(self.get_meta(f"seq:{name}") or "0") + 1
            self.set_meta(f"seq:{name}", str(current))
            return current

    # -- accounts -----------------------------------------------------------------------
    def ensure_account(self, venue: str, initial: Decimal) -> None:
        self._exec(
            "INSERT OR IGNORE INTO accounts(venue, balance) VALUES (?, ?)", (venue, str(initial))
        )

    def balance(self, venue: str) -> Decimal:
        row = self._one("SELECT balance FROM accounts WHERE venue=?", (venue,))
        return Decimal(row["balance"]) if row else Decimal(0)

    def add_balance(self, venue: str, delta: Decimal) -> Decimal:
        with self.transaction():
            new = self.balance(venue) + delta
            self._exec("UPDATE accounts SET balance=? WHERE venue=?", (str(new), venue))
            return new

    # -- orders -------------------------------------------------------------------------
    def save_order(self, o: OrderRow) -> None:
        if o.seq == 0:
            o.seq = self.next_seq("orders")
        self._exec(
            "INSERT OR REPLACE INTO orders VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                o.venue, o.order_id, o.client_order_id, o.instrument_id, o.side, str(o.price),
                str(o.quantity), str(o.filled), str(o.cost), str(o.fees), o.status, o.tif,
                iso(o.created), iso(o.updated), json.dumps(o.extra), o.seq,
            ),
        )

    @staticmethod
    def _order(row: sqlite3.Row) -> OrderRow:
        return OrderRow(
            venue=row["venue"], order_id=row["order_id"], client_order_id=row["client_order_id"],
            instrument_id=row["instrument_id"], side=row["side"], price=Decimal(row["price"]),
            quantity=Decimal(row["quantity"]), filled=Decimal(row["filled"]),
            cost=Decimal(row["cost"]), fees=Decimal(row["fees"]), status=row["status"],
            tif=row["tif"], created=parse_iso(row["created"]), updated=parse_iso(row["updated"]),
            extra=json.loads(row["extra"]), seq=row["seq"],
        )

    def get_order(self, venue: str, order_id: str) -> OrderRow | None:
        row = self._one("SELECT * FROM orders WHERE venue=? AND order_id=?", (venue, order_id))
        return None if row is None else self._order(row)

    def order_by_client_id(self, venue: str, client_order_id: str) -> OrderRow | None:
        row = self._one(
            "SELECT * FROM orders WHERE venue=? AND client_order_id=?", (venue, client_order_id)
        )
        return None if row is None else self._order(row)

    def orders(
        self, venue: str | None = None, instrument_id: str | None = None, status: str | None = None
    ) -> list[OrderRow]:
        sql, args = "SELECT * FROM orders WHERE 1=1", []
        if venue is not None:
            sql += " AND venue=?"
            args.append(venue)
        if instrument_id is not None:
            sql += " AND instrument_id=?"
            args.append(instrument_id)
        if status is not None:
            sql += " AND status=?"
            args.append(status)
        return [self._order(r) for r in self._all(sql + " ORDER BY seq", tuple(args))]

    # -- fills --------------------------------------------------------------------------
    def add_fill(self, f: FillRow) -> None:
        if f.seq == 0:
            f.seq = self.next_seq("fills")
        self._exec(
            "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                f.venue, f.fill_id, f.order_id, f.instrument_id, f.side, str(f.price),
                str(f.quantity), str(f.fee), int(f.is_taker), iso(f.created), f.seq,
            ),
        )

    def fills(
        self, venue: str, order_id: str | None = None, instrument_id: str | None = None
    ) -> list[FillRow]:
        sql, args = "SELECT * FROM fills WHERE venue=?", [venue]
        if order_id is not None:
            sql += " AND order_id=?"
            args.append(order_id)
        if instrument_id is not None:
            sql += " AND instrument_id=?"
            args.append(instrument_id)
        return [
            FillRow(
                venue=r["venue"], fill_id=r["fill_id"], order_id=r["order_id"],
                instrument_id=r["instrument_id"], side=r["side"], price=Decimal(r["price"]),
                quantity=Decimal(r["quantity"]), fee=Decimal(r["fee"]),
                is_taker=bool(r["is_taker"]), created=parse_iso(r["created"]), seq=r["seq"],
            )
            for r in self._all(sql + " ORDER BY seq", tuple(args))
        ]

    # -- positions ----------------------------------------------------------------------
    def position(self, venue: str, instrument_id: str) -> PositionRow:
        r = self._one(
            "SELECT * FROM positions WHERE venue=? AND instrument_id=?", (venue, instrument_id)
        )
        if r is None:
            return PositionRow(venue, instrument_id)
        return self._position(r)

    @staticmethod
    def _position(r: sqlite3.Row) -> PositionRow:
        return PositionRow(
            venue=r["venue"], instrument_id=r["instrument_id"], quantity=Decimal(r["quantity"]),
            cost=Decimal(r["cost"]), fees=Decimal(r["fees"]), realized=Decimal(r["realized"]),
            traded=Decimal(r["traded"]), updated=parse_iso(r["updated"]),
        )

    def save_position(self, p: PositionRow, now: datetime) -> None:
        p.updated = now
        self._exec(
            "INSERT OR REPLACE INTO positions VALUES (?,?,?,?,?,?,?,?)",
            (
                p.venue, p.instrument_id, str(p.quantity), str(p.cost), str(p.fees),
                str(p.realized), str(p.traded), iso(now),
            ),
        )

    def positions(self, venue: str) -> list[PositionRow]:
        return [
            self._position(r)
            for r in self._all("SELECT * FROM positions WHERE venue=? ORDER BY instrument_id", (venue,))
        ]

    # -- resolutions --------------------------------------------------------------------
    def resolution(self, game_index: int) -> Decimal | None:
        r = self._one("SELECT home_settlement FROM resolutions WHERE game_index=?", (game_index,))
        return None if r is None else Decimal(r["home_settlement"])

    def resolved_at(self, game_index: int) -> datetime:
        r = self._one("SELECT resolved FROM resolutions WHERE game_index=?", (game_index,))
        if r is None:
            raise KeyError(f"game {game_index} is not resolved")
        return parse_iso(str(r["resolved"]))

    def resolved_games(self) -> dict[int, Decimal]:
        return {
            int(r["game_index"]): Decimal(r["home_settlement"])
            for r in self._all("SELECT game_index, home_settlement FROM resolutions")
        }

    def add_resolution(self, game_index: int, home_settlement: Decimal, now: datetime) -> None:
        self._exec(
            "INSERT OR IGNORE INTO resolutions VALUES (?,?,?)",
            (game_index, str(home_settlement), iso(now)),
        )

    def add_settlement(
        self, venue: str, instrument_id: str, quantity: Decimal, price: Decimal,
        payout: Decimal, now: datetime, redeemed: bool = True,
    ) -> None:
        """A settled holding; ``redeemed`` False while its payout waits to be redeemed."""
        self._exec(
            "INSERT OR REPLACE INTO settlements"
            " (venue, instrument_id, quantity, price, payout, settled, redeemed) VALUES (?,?,?,?,?,?,?)",
            (venue, instrument_id, str(quantity), str(price), str(payout), iso(now), iso(now) if redeemed else None),
        )

    def unredeemed(self, venue: str) -> list[dict[str, str]]:
        return [
            dict(r)
            for r in self._all("SELECT * FROM settlements WHERE venue=? AND redeemed IS NULL", (venue,))
        ]

    def mark_redeemed(self, venue: str, instrument_id: str, now: datetime) -> None:
        self._exec(
            "UPDATE settlements SET redeemed=? WHERE venue=? AND instrument_id=? AND redeemed IS NULL",
            (iso(now), venue, instrument_id),
        )

    def settlements(self, venue: str) -> list[dict[str, str]]:
        return [
            dict(r) for r in self._all("SELECT * FROM settlements WHERE venue=?", (venue,))
        ]
