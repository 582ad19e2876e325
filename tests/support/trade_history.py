"""A trade log of 130 rows written straight into a worker's database, for the history
routes' and the trade log page's tests: what was written is the oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from db.engine import Database
from db.repositories import TradeRepository
from db.tables import arbitrage_attempts, market_mappings
from worker.domain.tradelog import TradeRecord, TradeStatus

T0 = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
STATUSES = (TradeStatus.SUCCESS, TradeStatus.CLOSED, TradeStatus.FAILED)


def _details(n: int) -> dict[str, Any]:
    """A row's details as the executor writes them (``records.leg_detail``), two legs."""
    return {
        "legs": [
            {"role": "leg1", "venue": "kalshi", "contract": f"NO KXNBAGAME-{n}", "contract_id": f"KX-{n}",
             "side": "no", "action": "buy", "price": "0.44", "quantity": "10", "tif": "ioc",
             "client_order_id": f"c-k-{n}", "venue_order_id": f"kx-order-{n}", "state": "filled", "filled": "10",
             "avg_price": "0.44", "fees": "0.18", "error": None, "sent_at": None},
            {"role": "leg2", "venue": "polymarket", "contract": "Rockets", "contract_id": f"tok-{n}",
             "side": "token", "action": "buy", "price": "0.52", "quantity": "10", "tif": "fok",
             "client_order_id": f"c-p-{n}", "venue_order_id": f"pm-order-{n}", "state": "filled", "filled": "10",
             "avg_price": "0.52", "fees": "0.01", "error": None, "sent_at": None},
        ],
        "fees": "0.19",
        "path": [],
    }  # fmt: skip


async def write_history(db: Database) -> list[dict[str, Any]]:
    """130 trades, one a minute, three of them sharing one time; every third an NHL
    attempt's, the rest NBA's. Returns what was written, newest first."""
    now = datetime.now(UTC)
    async with db.write() as conn:
        for league in ("nba", "nhl"):
            await conn.execute(
                market_mappings.insert().values(
                    id=f"map_{league}", kalshi_ticker=f"KX{league}", poly_venue="polymarket", poly_market="1",
                    poly_side="", league=league, game_date="2026-12-05", confidence="HIGH", reasons=[],
                    status="confirmed", created_at=now, updated_at=now,
                )
            )  # fmt: skip
    repo = TradeRepository(db)
    written: list[dict[str, Any]] = []
    for n in range(130):
        at = T0 + timedelta(minutes=min(n, 60) if n < 63 else n - 2)  # n = 60, 61, 62 share a time
        league = "nhl" if n % 3 == 0 else "nba"
        attempt = f"att-{n}"
        async with db.write() as conn:
            await conn.execute(
                arbitrage_attempts.insert().values(
                    id=attempt, game_key=f"g{n}", mapping_id=f"map_{league}", direction="kalshi_yes",
                    event_title=f"Game {n}", state="DONE", created_at=at, updated_at=at, contracts=Decimal(1),
                    planned_cost=Decimal("0.97"), expected_edge=Decimal("0.03"), worst_case_loss=Decimal(0), path=[],
                )
            )  # fmt: skip
        title = "=HYPERLINK(\"x\")" if n == 7 else f"Game {n}"
        stored = await repo.record_trade(
            TradeRecord(
                event_title=title, status=STATUSES[n % 3], bet_size=Decimal("10.00"),
                pnl=Decimal("-0.25") if n % 3 == 2 else Decimal("0.30"), timestamp=at,
                attempt_id=attempt, dedup_key=f"t{n}", details=_details(n),
                kalshi_order_id=f"kx-order-{n}" if n % 3 != 2 else None,
            )
        )  # fmt: skip
        assert stored is not None
        written.append({"id": stored.id, "at": at, "n": n, "league": league, "status": STATUSES[n % 3].value})
    written.sort(key=lambda w: (w["at"], int(w["id"])), reverse=True)
    return written
