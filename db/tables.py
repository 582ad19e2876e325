"""The database schema: the plan's three tables plus our exact-amount tables.

The plan's tables keep exactly its names, columns, defaults and indexes (section 5 of
the plan). Its REAL columns are written from exact values for display only; every limit
and every sum is computed from the ``*_micros`` / :class:`~db.types.Money` columns.
"""

from __future__ import annotations

import sqlalchemy as sa

from db.types import DecimalText, Money, UTCDateTime

metadata = sa.MetaData()

NOW = sa.text("CURRENT_TIMESTAMP")

# The plan's REAL: 8-byte on SQLite; PostgreSQL's REAL is 4-byte (0.6 would read back as
# 0.6000000238), so there the same columns are DOUBLE PRECISION. Display only either way.
REAL: sa.types.TypeEngine[float] = sa.REAL().with_variant(sa.DOUBLE_PRECISION(), "postgresql")


class Timestamp(UTCDateTime):
    """The plan's ``TIMESTAMP`` columns, aware UTC in Python."""

    impl = sa.TIMESTAMP(timezone=True)
    cache_ok = True


# --- the plan's tables -------------------------------------------------------------------

executor_settings = sa.Table(
    "executor_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, server_default=sa.text("1"), autoincrement=False),
    sa.Column("enabled", sa.Boolean, server_default=sa.false()),
    sa.Column("min_bet", REAL, server_default=sa.text("5.0")),
    sa.Column("max_bet", REAL, server_default=sa.text("10.0")),
    sa.Column("min_roi", REAL, server_default=sa.text("1.0")),
    sa.Column("max_roi", REAL, server_default=sa.text("50.0")),
    sa.Column("max_daily_trades", sa.Integer, server_default=sa.text("50")),
    sa.Column("max_daily_loss", REAL, server_default=sa.text("5.0")),
    sa.Column("updated_at", Timestamp, server_default=NOW),
    # ours: bumped by every write, so a write made from a stale read is refused
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.CheckConstraint("id = 1", name="ck_executor_settings_single_row"),
)

executor_trades = sa.Table(
    "executor_trades",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("timestamp", Timestamp, server_default=NOW),
    sa.Column("event_title", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("bet_size", REAL, nullable=False),
    sa.Column("pnl", REAL, server_default=sa.text("0")),
    sa.Column("roi", REAL),
    sa.Column("poly_order_id", sa.Text),
    sa.Column("kalshi_order_id", sa.Text),
    sa.Column("details", sa.JSON),
    # ours: exact amounts and provenance
    sa.Column("bet_size_micros", Money, nullable=False),
    sa.Column("pnl_micros", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("reason", sa.Text),
    sa.Column("attempt_id", sa.Text),
    sa.Column("position_id", sa.Integer),
    sa.Column("source", sa.Text, nullable=False, server_default=sa.text("'executor'")),
    sa.Column("dedup_key", sa.Text, nullable=False),
    sqlite_autoincrement=True,
)
sa.Index("idx_trades_timestamp", executor_trades.c.timestamp)
# A unique index (not a table constraint) so it can be added to an older plan table too.
sa.Index("uq_executor_trades_dedup_key", executor_trades.c.dedup_key, unique=True)
sa.Index("idx_trades_attempt", executor_trades.c.attempt_id)

executor_positions = sa.Table(
    "executor_positions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_key", sa.Text, nullable=False, unique=True),
    sa.Column("event_title", sa.Text, nullable=False),
    sa.Column("opened_at", Timestamp, server_default=NOW),
    sa.Column("poly_side", sa.Text),
    sa.Column("poly_price", REAL),
    sa.Column("poly_contracts", sa.Integer),
    sa.Column("kalshi_side", sa.Text),
    sa.Column("kalshi_price", REAL),
    sa.Column("kalshi_contracts", sa.Integer),
    sa.Column("status", sa.Text, server_default=sa.text("'open'")),
    # ours: closes, exact amounts, and what the legs are
    sa.Column("closed_at", Timestamp),
    sa.Column("realized_pnl", REAL),
    sa.Column("close_reason", sa.Text),
    sa.Column("realized_pnl_micros", Money),
    sa.Column("cost_micros", Money),
    sa.Column("attempt_id", sa.Text),
    sa.Column("game_key", sa.Text),
    sa.Column("poly_venue", sa.Text),
    sa.Column("poly_market", sa.Text),
    sa.Column("poly_contract", sa.Text),
    sa.Column("kalshi_ticker", sa.Text),
    sa.Column("expires_at", Timestamp),
    sqlite_autoincrement=True,
)
sa.Index("idx_positions_status", executor_positions.c.status)

# --- our tables --------------------------------------------------------------------------

executor_meta = sa.Table(
    "executor_meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

arbitrage_attempts = sa.Table(
    "arbitrage_attempts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("game_key", sa.Text, nullable=False),
    sa.Column("mapping_id", sa.Text),
    sa.Column("direction", sa.Text),
    sa.Column("event_title", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("contracts", Money, nullable=False),
    sa.Column("planned_cost", Money, nullable=False),
    sa.Column("expected_edge", Money, nullable=False),
    sa.Column("worst_case_loss", Money, nullable=False),
    sa.Column("pnl", Money),
    sa.Column("reason", sa.Text),
    sa.Column("path", sa.JSON, nullable=False),
    sa.Column("details", sa.JSON),
    sa.Column("trade_id", sa.Integer),
    sa.Column("position_id", sa.Integer),
    # The lease grant (epoch) of the last write (NULL where no lease fences the writes).
    sa.Column("epoch", sa.Integer),
)
sa.Index("idx_attempts_state", arbitrage_attempts.c.state)
sa.Index("idx_attempts_created", arbitrage_attempts.c.created_at)
sa.Index("idx_attempts_game", arbitrage_attempts.c.game_key)

attempt_legs = sa.Table(
    "attempt_legs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("attempt_id", sa.Text, sa.ForeignKey("arbitrage_attempts.id"), nullable=False),
    sa.Column("role", sa.Text, nullable=False),  # leg1, leg2, unwind, close
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("market_id", sa.Text, nullable=False),
    sa.Column("contract_id", sa.Text, nullable=False),
    sa.Column("contract_label", sa.Text, nullable=False),
    sa.Column("side", sa.Text, nullable=False),
    sa.Column("price", Money, nullable=False),
    sa.Column("quantity", Money, nullable=False),
    sa.Column("time_in_force", sa.Text, nullable=False),
    sa.Column("client_order_id", sa.Text, nullable=False),
    sa.Column("venue_order_id", sa.Text),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("filled_quantity", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("average_price", Money),
    sa.Column("fees", Money, nullable=False, server_default=sa.text("0")),
    sa.Column("error", sa.Text),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # True once the venue's own fills of the order are in order_fills and the leg's average
    # price and fees were taken from them (the books never rest on an estimate).
    sa.Column("fills_recorded", sa.Boolean, nullable=False, server_default=sa.false()),
    # The lease grant (epoch) the leg was sent under: written with its first sent state.
    sa.Column("epoch", sa.Integer),
    sa.UniqueConstraint("venue", "client_order_id", name="uq_attempt_legs_client_order"),
)
sa.Index("idx_legs_attempt", attempt_legs.c.attempt_id)
# Reconciliation matches venue orders to our legs by the venue's id.
sa.Index("idx_legs_venue_order", attempt_legs.c.venue, attempt_legs.c.venue_order_id)

order_fills = sa.Table(
    "order_fills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("venue_trade_id", sa.Text, nullable=False),
    sa.Column("leg_id", sa.Text, sa.ForeignKey("attempt_legs.id")),
    sa.Column("venue_order_id", sa.Text),
    sa.Column("price", Money, nullable=False),
    sa.Column("quantity", Money, nullable=False),
    sa.Column("fee", Money, nullable=False),
    sa.Column("filled_at", UTCDateTime, nullable=False),
    # In the leg's own terms: buy or sell of its contract side, at that side's price.
    sa.Column("action", sa.Text),
    sa.Column("contract_id", sa.Text),
    sa.UniqueConstraint("venue", "venue_trade_id", name="uq_order_fills_venue_trade"),
    sqlite_autoincrement=True,
)
sa.Index("idx_order_fills_leg", order_fills.c.leg_id)

# Cash that moved on a venue other than through a fill: settlement payouts and
# redemptions (kind settlement), deposits/withdrawals/interest (kind transfer). One row per
# movement, unique on (venue, ref) so recording it twice counts it once.
venue_cash = sa.Table(
    "venue_cash",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),  # settlement | transfer
    sa.Column("ref", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),  # signed: + into the account
    sa.Column("note", sa.Text),
    sa.Column("attempt_id", sa.Text),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("contract_id", sa.Text),
    # When the cash reached the account; NULL while it is owed (resolved, to redeem).
    sa.Column("received_at", UTCDateTime),
    sa.UniqueConstraint("venue", "ref", name="uq_venue_cash_ref"),
    sqlite_autoincrement=True,
)

market_mappings = sa.Table(
    "market_mappings",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kalshi_ticker", sa.Text, nullable=False),
    sa.Column("kalshi_event_ticker", sa.Text),
    sa.Column("poly_venue", sa.Text, nullable=False),  # polymarket | polymarket_us
    sa.Column("poly_market", sa.Text, nullable=False),  # CLOB token id, or the PM-US market slug
    sa.Column("poly_side", sa.Text, nullable=False, server_default=sa.text("''")),  # long | short | ''
    sa.Column("league", sa.Text, nullable=False),
    sa.Column("game_date", sa.Text, nullable=False),  # the game's local date, YYYY-MM-DD
    sa.Column("away_team", sa.Text),
    sa.Column("home_team", sa.Text),
    sa.Column("proposition_team", sa.Text),
    sa.Column("event_title", sa.Text),
    sa.Column("confidence", sa.Text, nullable=False),  # HIGH | MEDIUM | LOW
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'candidate'")),
    sa.Column("note", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime),
    sa.UniqueConstraint(
        "kalshi_ticker", "poly_venue", "poly_market", "poly_side", name="uq_market_mappings_pair"
    ),
)
sa.Index("idx_mappings_status", market_mappings.c.status)

balance_snapshots = sa.Table(
    "balance_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("venue", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("taken_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)
sa.Index("idx_balances_venue_time", balance_snapshots.c.venue, balance_snapshots.c.taken_at)

executor_lease = sa.Table(
    "executor_lease",
    metadata,
    sa.Column("account", sa.Text, primary_key=True),  # the trading account the lease is for
    sa.Column("holder", sa.Text, nullable=False),  # one process: its data dir's worker id / a per-start nonce
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("renewed_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime),  # the database's clock; NULL once released
    # Incremented by every grant (a new holder, or a lease taken again after it expired or
    # was released; never by a renewal, never reset): which grant a process trades under.
    sa.Column("epoch", sa.Integer, nullable=False, server_default=sa.text("0")),
)

# What the operator was alerted to (worker.domain.events.AlertKind): kept until dismissed,
# and after, as the record of what happened. ``key`` names the situation: a repeat while
# it is not dismissed updates the row (count, last_at) instead of adding one.
executor_alerts = sa.Table(
    "executor_alerts",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("severity", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("count", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
    sa.Column("dismissed_at", UTCDateTime),
)
sa.Index("idx_alerts_active", executor_alerts.c.dismissed_at, executor_alerts.c.last_at)

# Legging risk (worker.domain.legging, docs/legging.md): what each source observed per
# cell (recorded books, our fills), replaced whole at each refresh; and the estimates built
# from every source's counts (pool rows: '*' for league, bands, and venue for the overall).
legging_counts = sa.Table(
    "legging_counts",
    metadata,
    sa.Column("source", sa.Text, primary_key=True),  # books | fills
    sa.Column("venue", sa.Text, primary_key=True),
    sa.Column("league", sa.Text, primary_key=True),
    sa.Column("price_band", sa.Text, primary_key=True),
    sa.Column("depth_band", sa.Text, primary_key=True),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("cost_sum", DecimalText, nullable=False),  # dollars per contract, summed over failures
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

legging_estimates = sa.Table(
    "legging_estimates",
    metadata,
    sa.Column("venue", sa.Text, primary_key=True),
    sa.Column("league", sa.Text, primary_key=True),
    sa.Column("price_band", sa.Text, primary_key=True),
    sa.Column("depth_band", sa.Text, primary_key=True),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("raw_p_fail", DecimalText, nullable=False),
    sa.Column("raw_cost", DecimalText, nullable=False),
    sa.Column("p_fail", DecimalText, nullable=False),
    sa.Column("cost", DecimalText, nullable=False),
    sa.Column("weight", DecimalText, nullable=False),
    sa.Column("ci_low", DecimalText, nullable=False),
    sa.Column("ci_high", DecimalText, nullable=False),
    sa.Column("updated_at", UTCDateTime),  # the table's (NULL when it had none)
)

OUR_TABLES = tuple(metadata.sorted_tables)
