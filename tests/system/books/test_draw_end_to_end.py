"""A soccer draw, end to end in paper mode, against the venue's own ledger.

A real paper exchange listing the second stream of leagues (``EXECUTOR_PAPER_LEAGUES=all``:
EPL games with home, draw and away markets on Kalshi and Gamma, MLB games, spreads and
totals) and a real worker. The worker trades until it holds a pair on an EPL game; the
test ends that game in a draw through the exchange's control API and every other game
with a position as the home team's win. Once everything is settled and redeemed, each
venue's cash at the exchange (its own store and arithmetic) must have moved by exactly our
books' realised P&L, to the cent; the EPL pair's two legs must have paid $1 per pair
between them (one of the two was the draw's or a team's complement); and nothing may be
left open.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from db.tables import executor_positions, venue_cash
from tests.support.processes import run_worker
from tests.support.waiting import wait_until
from tests.system.books.test_books_end_to_end import CENT, Desk, _cents
from worker.domain.attempts import IN_FLIGHT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


async def _epl_positions(desk: Desk) -> list:  # type: ignore[type-arg]
    rows = await desk.rows(executor_positions)
    return [p for p in rows if (p.game_key or "").startswith("KXEPLGAME-")]


async def test_a_soccer_draw_settles_in_the_books_as_the_venues_pay_it(tmp_path: Path, database_url: str) -> None:
    desk = Desk(tmp_path, database_url, "polymarket")
    desk.exchange_env["EXECUTOR_PAPER_LEAGUES"] = "all"
    desk.exchange_env["EXECUTOR_PAPER_FAULTS"] = ""
    try:
        await desk.start()
        await desk.action({"action": "update_settings",
                           "settings": {"max_bet": 20, "max_daily_loss": 1000, "max_daily_trades": 500}})

        async def holds_epl() -> bool:
            return any(p.status == "open" for p in await _epl_positions(desk))

        await desk.trade_until("an open position on an EPL game", holds_epl, within_s=240)
        (epl, *_) = [p for p in await _epl_positions(desk) if p.status == "open"]
        assert " · " in epl.event_title  # the card and trade log name the proposition

        # A game's winner, spread and total events share the ticker's part after the series
        # (``KXEPLTOTAL-26OCT10ARSLEE`` is the game of ``KXEPLGAME-26OCT10ARSLEE``).
        world = await desk.paper("/paper/world")
        game_of = {g["kalshi_event"].split("-", 1)[1]: g for g in world["games"] if g["kalshi_event"]}
        held = {p.game_key.split("-", 1)[1] for p in await desk.rows(executor_positions, executor_positions.c.status == "open")}
        drawn = epl.game_key.split("-", 1)[1]
        for key in held:
            game = game_of[key]
            r = await desk.paper("/paper/admin/resolve", {"index": game["index"], "outcome": "draw" if key == drawn else "home"})
            assert r["resolved"] == game["id"]

        async def all_settled() -> bool:
            busy = await desk.rows(executor_positions, executor_positions.c.status.in_(["open"]))
            return not busy and await desk.idle()

        await wait_until(all_settled, 90, "every position settled", every=0.5)
        await desk.paper_post_json("/paper/redeem", {})

        async def none_to_redeem() -> bool:
            return not await desk.rows(executor_positions, executor_positions.c.status == "to_redeem")

        await wait_until(none_to_redeem, 60, "the redeemed payouts received", every=0.5)

        # The EPL pair paid $1 per pair: the draw made exactly one of its two legs pay.
        (settled,) = [p for p in await _epl_positions(desk) if p.id == epl.id]
        assert settled.status == "closed" and settled.close_reason == "settled"
        pairs = Decimal(min(settled.kalshi_contracts, settled.poly_contracts))
        paid = await desk.rows(venue_cash, venue_cash.c.attempt_id == settled.attempt_id, venue_cash.c.kind == "settlement")
        assert pairs > 0 and {c.venue for c in paid} <= {"kalshi", "polymarket"}
        assert sum((c.amount for c in paid), Decimal(0)) == pairs, [(c.venue, c.amount, c.note) for c in paid]

        result = run_worker(["books", "--json"], desk.worker_env, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        books = json.loads(result.stdout)
        cash_now = desk.exchange_cash()
        for venue in ("kalshi", "polymarket"):
            ours = books["venues"][venue]
            moved = cash_now[venue] - desk.cash_at_start[venue]
            print(f"DRAW BOOKS {venue}: exchange cash moved {moved}, our realised {ours['realised']}")
            assert _cents(moved) == _cents(Decimal(str(ours["realised"]))), (venue, moved, ours)
            assert Decimal(str(ours["open_cost"])) == 0
            assert abs(Decimal(str(ours["difference"]))) < CENT / 2
        assert not await desk.rows(executor_positions, executor_positions.c.status.in_([s.value for s in IN_FLIGHT]))
    except BaseException:
        print(desk.log())
        raise
    finally:
        await desk.stop()
