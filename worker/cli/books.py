"""``python -m worker books``: do our books match each venue's cash, to the cent?

Prints, per venue and in total: cash when our records began, cash now (read from the
venue), realised P&L on our books, what is still held at cost, payouts won but still to
redeem at the venue, other cash movements (deposits, withdrawals, interest), and the
difference ``cash now − cash at start − other movements − (realised − held at cost −
to redeem)``.

Exit status: 0 when every venue agrees to the cent (and the trade log's realised P&L
equals the venues' realised sum), 1 when one does not, 2 while an attempt is in flight
(its fills are not in the books yet: run it again when it has ended).

``--record-transfer VENUE AMOUNT NOTE`` first records cash that moved outside trading
(a deposit is positive, a withdrawal negative), once per call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from decimal import Decimal, InvalidOperation

from db.attempts import AttemptRepository
from db.engine import Database
from db.ledger import LedgerRepository
from db.migrate import ModeMismatchError, migrate
from db.repositories import TradeRepository
from worker.api import schemas
from worker.bootstrap import build_venues, venue_env
from worker.cli.common import config_or_exit, setup_logging
from worker.clock import utcnow
from worker.config import Config
from worker.domain.errors import VenueError
from worker.domain.markets import Venue
from worker.domain.tradelog import trading_day_bounds
from worker.engine.books import Books, BooksKeeper
from worker.engine.executor.settlement import REDEEM_STEP

AGREE, DIFFER, IN_FLIGHT = 0, 1, 2
MAX_TRANSFER = Decimal(100_000_000)


def _money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = format(value.quantize(Decimal("0.000001")).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def render(books: Books, config: Config) -> str:
    cols = ("cash at start", "cash now", "realised", "held at cost", "to redeem", "other movements", "difference")
    rows: list[tuple[str, ...]] = []
    for venue, b in books.venues.items():
        rows.append((venue.value, _money(b.cash_at_start), _money(b.cash_now), _money(b.realised),
                     _money(b.open_cost), _money(b.to_redeem), _money(b.transfers), _money(b.difference)))
    t = books.total()
    rows.append(("total", _money(t["cash_at_start"]), _money(t["cash"]), _money(t["realised"]),
                 _money(t["open_cost"]), _money(t["to_redeem"]), _money(t["other_movements"]),
                 _money(t["difference"])))
    widths = [max(len(r[i]) for r in [("venue", *cols), *rows]) for i in range(len(cols) + 1)]
    lines = [f"books ({config.mode} mode)"]
    for r in [("venue", *cols), *rows]:
        lines.append("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True))))
    for venue, b in books.venues.items():
        if b.cash_at_start is None:
            lines.append(f"{venue.value}: no opening balance yet (the worker records it at its first balance read)")
        if b.cash_error:
            lines.append(f"{venue.value}: cash not read: {b.cash_error}")
        elif not b.agrees and b.difference is not None:
            lines.append(f"{venue.value}: DIFFERS by {_money(b.difference)}")
    venues_realised = sum((b.realised for b in books.venues.values()), Decimal(0))
    lines.append(
        f"trade log realised P&L {_money(books.trade_log_realised)}; venues' realised {_money(venues_realised)}"
        + ("" if books.trade_log_agrees else " — DIFFERS")
    )
    lines.append(f"realised today {_money(books.realised_today)}; locked edge of open positions {_money(books.locked_edge)}")
    for e in books.redeem:
        lines.append(f"resolved, to redeem: {_money(e.amount)} on {e.venue.value} ({e.note}): {REDEEM_STEP}")
    if books.in_flight:
        lines.append(f"{books.in_flight} attempt(s) in flight: run again when they have ended")
    lines.append("books agree" if books.agrees and not books.in_flight else "books do NOT agree" if not books.in_flight else "")
    return "\n".join(line for line in lines if line)


def _transfer(raw: list[str]) -> tuple[Venue, Decimal, str]:
    venue_name, amount_text, note = raw
    try:
        venue = Venue(venue_name)
    except ValueError:
        raise SystemExit(f"books: unknown venue {venue_name!r} (kalshi, polymarket, polymarket_us)") from None
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise SystemExit(f"books: amount {amount_text!r} is not a number") from None
    if not amount.is_finite() or amount == 0 or abs(amount) > MAX_TRANSFER or amount != amount.quantize(Decimal("0.000001")):
        raise SystemExit("books: the amount must be a non-zero number of dollars (6 decimals at most)")
    if not note.strip():
        raise SystemExit("books: a note is required (what the transfer was)")
    return venue, amount, note.strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker books", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record-transfer", nargs=3, metavar=("VENUE", "AMOUNT", "NOTE"),
                        help="record a deposit (+) or withdrawal (-) first")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    setup_logging()
    config = config_or_exit()
    transfer = _transfer(args.record_transfer) if args.record_transfer else None

    async def run() -> tuple[Books, str]:
        db = Database(config.database_url)
        venues = build_venues(venue_env(config), config.poly_venue)
        try:
            await migrate(db, config.mode)
            keeper = BooksKeeper(LedgerRepository(db), AttemptRepository(db), TradeRepository(db), venues)
            now = utcnow()
            if transfer is not None:
                venue, amount, note = transfer
                await keeper.record_transfer(venue, amount, note, f"transfer:{uuid.uuid4().hex}", now)
            _, day_start, _ = trading_day_bounds(now, config.day_tz)
            books = await keeper.books(day_start)
            out = render(books, config)
            if args.json:
                out = schemas.dumps(books.wire())
            return books, out
        finally:
            for port in venues.values():
                await port.aclose()
            await db.dispose()

    try:
        books, out = asyncio.run(run())
    except ModeMismatchError as exc:
        print(f"books: {exc}", file=sys.stderr)
        return DIFFER
    except VenueError as exc:
        print(f"books: {exc.message}", file=sys.stderr)
        return DIFFER
    print(out)
    if books.in_flight:
        return IN_FLIGHT
    return AGREE if books.agrees else DIFFER



