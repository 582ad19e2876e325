"""``EXECUTOR_PAPER_LEAGUES``: the MLB/EPL stream with spreads and totals, listed in the
venues' formats, paired by the worker's own normalisers and matcher, and settled by each
market's proposition; the NBA/NFL/NHL stream unchanged."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from paper_exchange.matching import PaperExchange, PlaceRequest
from paper_exchange.snapshot import snapshot
from paper_exchange.state import build_exchange
from paper_exchange.world import Game, World
from paper_exchange.world_extra import (
    ALL_LEAGUES,
    DEFAULT_LEAGUES,
    EXTRA_BASE,
    ExtraGame,
    paper_leagues,
)
from paper_exchange.world_leagues import LeaguesWorld
from tests.paper_exchange.conftest import BALANCES, T0, start_paper, stop_paper
from worker.clock import FakeClock
from worker.domain.mapping import Confidence
from worker.engine.scanner.matcher import match_markets
from worker.venues.kalshi.parse import parse_events as kalshi_events
from worker.venues.normalize import NORMALISERS
from worker.venues.polymarket.parse import parse_events as gamma_events
from worker.venues.polymarket_us.parse import parse_events as pmus_events

ALL = frozenset(ALL_LEAGUES)
ONE = Decimal(1)


def _exchange(tmp_path: Path, leagues: frozenset[str]) -> PaperExchange[World]:
    return build_exchange(tmp_path, 1, BALANCES, clock=FakeClock(T0), leagues=leagues)


def _extra(world: World, now: datetime = T0) -> list[ExtraGame]:
    return [g for g in world.games(now) if isinstance(g, ExtraGame)]


def test_leagues_variable() -> None:
    assert paper_leagues(None) == paper_leagues("") == frozenset(DEFAULT_LEAGUES)
    assert paper_leagues("all") == paper_leagues(" ALL ") == ALL
    assert paper_leagues("nba,nfl,nhl,mlb,epl") == ALL
    assert paper_leagues("mlb") == frozenset({"mlb"})
    with pytest.raises(ValueError, match="cricket"):
        paper_leagues("nba,cricket")


def test_default_is_the_plain_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXECUTOR_PAPER_LEAGUES", raising=False)
    ex = build_exchange(tmp_path, 1, BALANCES, clock=FakeClock(T0))
    assert type(ex.world) is World and type(ex) is PaperExchange
    assert all(g.league in DEFAULT_LEAGUES for g in ex.world.games(T0))


def test_second_stream_leaves_the_first_untouched(tmp_path: Path) -> None:
    plain = _exchange(tmp_path / "a", frozenset(DEFAULT_LEAGUES))
    more = _exchange(tmp_path / "b", ALL)
    assert isinstance(more.world, LeaguesWorld)
    first = [g for g in more.world.games(T0) if g.index < EXTRA_BASE]
    assert [g.game_id for g in first] == [g.game_id for g in plain.world.games(T0)]
    # Every first-stream market, instrument and book is the same (the second stream has
    # generated the first a day further ahead: the plain world generates as many).
    generated = [g.index for g in more.world.all_games() if g.index < EXTRA_BASE]
    assert generated == list(range(len(generated)))
    plain.world.game(len(generated) - 1)
    keys = {m.key for m in plain.world.markets() if m.game_index < len(generated)}
    assert {m.key for m in more.world.markets() if m.game_index < EXTRA_BASE} == keys
    assert all(more.world.instrument(k.split(":", 1)[1]) == plain.world.instrument(k.split(":", 1)[1])
               for k in keys if not k.startswith("polymarket:"))
    for when in (T0, T0 + timedelta(minutes=47, seconds=13), T0 + timedelta(hours=5)):
        for m in (m for m in plain.world.markets() if m.game_index < len(generated)):
            other = more.world.market(m.key)
            assert other == m
            assert more.world.base_levels(other, when) == plain.world.base_levels(m, when)
    # The listings of the first stream's games are identical, byte for byte.
    a, b = snapshot(plain.world, plain, T0), snapshot(more.world, more, T0)
    first_tickers = {g.kalshi_event_ticker for g in first}
    first_slugs = {g.gamma_slug for g in first}
    assert json.dumps(a["kalshi_events.json"]["events"]) == json.dumps(
        [e for e in b["kalshi_events.json"]["events"] if e["event_ticker"] in first_tickers]
    )
    assert json.dumps(a["polymarket_events.json"]) == json.dumps(
        [e for e in b["polymarket_events.json"] if e["slug"] in first_slugs and int(e["id"]) < 3_000_000]
    )
    leagues = {g.league for g in _extra(more.world)}
    assert leagues == {"mlb", "epl", "nba", "nfl"}
    # The second stream's NBA/NFL teams never play a first-stream game on the same date.
    days = {(g.league, g.local_date, t.id) for g in first for t in (g.home, g.away)}
    assert not any((g.league, g.local_date, t.id) in days for g in _extra(more.world) for t in (g.home, g.away))
    # Nor do the same two teams meet on consecutive dates (first or second stream).
    met: dict[tuple[str, frozenset[str]], list[Game]] = {}
    for g in more.world.all_games():
        met.setdefault((g.league, frozenset({g.home.id, g.away.id})), []).append(g)
    clashes = [
        (a.game_id, b.game_id)
        for meetings in met.values() for a in meetings for b in meetings
        if isinstance(a, ExtraGame) and b is not a and abs((a.local_date - b.local_date).days) <= 1
        and not (a.game_number and b.game_number and a.local_date == b.local_date)
    ]
    assert not clashes


def _expected(g: ExtraGame) -> dict[str, str]:
    """Kalshi ticker → the Gamma token that pays on the same proposition (same lines)."""
    out = {}
    kalshi = set(g.kalshi_kinds())
    for kind in g.gamma_kinds():
        t0, t1 = g.token_ids(kind)
        if kind == "moneyline":
            out[g.kalshi_market_ticker("k-away")] = t0
            out[g.kalshi_market_ticker("k-home")] = t1
        elif f"k-{kind}" in kalshi:
            out[g.kalshi_market_ticker(f"k-{kind}")] = t0
    return out


def _first_doubleheader(world: World) -> ExtraGame:
    assert isinstance(world, LeaguesWorld)
    for k in range(1000):
        g = world.extra_game(EXTRA_BASE + k)
        if g.game_number == 1 and {"kalshi", "polymarket"} <= g.venues:
            return g
    raise AssertionError("no doubleheader in 1000 games")


@pytest.mark.parametrize("at", ["epoch", "two days on", "doubleheader"])
def test_matcher_pairs_the_second_stream(tmp_path: Path, at: str) -> None:
    ex = _exchange(tmp_path, ALL)
    now = {"epoch": T0, "two days on": T0 + timedelta(days=2, minutes=17)}.get(at)
    now = now or _first_doubleheader(ex.world).start - timedelta(hours=2)
    payloads = snapshot(ex.world, ex, now)
    kalshi = kalshi_events(payloads["kalshi_events.json"])[0]
    gamma = gamma_events(payloads["polymarket_events.json"])
    result = match_markets(kalshi, gamma, NORMALISERS)
    paired = {m.kalshi_ticker: m for m in result.mappings}
    games = [g for g in _extra(ex.world, now) if {"kalshi", "polymarket"} <= g.venues and g.tradable(now)]
    assert {g.league for g in games} == {"mlb", "epl", "nba", "nfl"}
    doubleheaders = [g for g in games if g.game_number]
    if at == "doubleheader":
        assert len(doubleheaders) >= 2 and {g.gamma_slug for g in doubleheaders} < {g.gamma_slug for g in games}
    seen = {"win": 0, "draw": 0, "spread": 0, "total": 0}
    for g in games:
        expected = _expected(g)
        for ticker, token in expected.items():
            assert ticker in paired, (ticker, [u for u in result.unmatched if u[1] == ticker])
            assert paired[ticker].poly_market == token, ticker
            assert paired[ticker].confidence is Confidence.HIGH, paired[ticker].reasons
            kind = next(k for k in g.kalshi_kinds() if g.kalshi_market_ticker(k) == ticker)
            seen[g.proposition(kind)[0]] += 1
        # Kalshi lines Gamma does not list stay unpaired, and so do Gamma's own lines.
        for kind in g.kalshi_kinds():
            ticker = g.kalshi_market_ticker(kind)
            if ticker not in expected:
                assert ticker not in paired, ticker
        only_gamma = [k for k in g.gamma_kinds() if k != "moneyline" and f"k-{k}" not in g.kalshi_kinds()]
        assert only_gamma
        tokens = {t for k in only_gamma for t in g.token_ids(k)}
        assert not any(m.poly_market in tokens or m.poly_opposite in tokens for m in result.mappings)
    assert all(n > 0 for n in seen.values()), seen
    # A doubleheader's game 1 never pairs with game 2.
    for g in doubleheaders:
        mine = {t for k in g.gamma_kinds() for t in g.token_ids(k)}
        for ticker in _expected(g):
            assert paired[ticker].poly_market in mine
    # No second-stream Kalshi market pairs with anything but its own game.
    for m in result.mappings:
        if m.kalshi_event_ticker.startswith(("KXMLB", "KXEPL")):
            g = ex.world.game_by_kalshi_event(m.kalshi_event_ticker)
            assert isinstance(g, ExtraGame)
            assert m.kalshi_ticker in _expected(g)


def test_polymarket_us_pairs_mlb_winners(tmp_path: Path) -> None:
    ex = _exchange(tmp_path, ALL)
    payloads = snapshot(ex.world, ex, T0)
    kalshi = kalshi_events(payloads["kalshi_events.json"])[0]
    pmus = pmus_events(payloads["polymarket_us_events.json"])
    result = match_markets(kalshi, pmus, NORMALISERS)
    games = [g for g in _extra(ex.world) if {"kalshi", "polymarket_us"} <= g.venues]
    assert games and all(g.league != "epl" for g in games) and any(g.league == "mlb" for g in games)
    paired = {m.kalshi_ticker: m for m in result.mappings}
    for g in games:
        for home in (True, False):
            m = paired[g.kalshi_ticker(home)]
            assert m.poly_market == g.pmus_winner_slug
            assert m.poly_side == ("long" if home == g.pmus_long_is_home else "short")


def _quote(ex: PaperExchange[World], key: str) -> Decimal:
    m = ex.world.market(key)
    assert m is not None
    bids, asks = ex.world.base_levels(m, T0)
    return (bids[0][0] + asks[0][0]) / 2


def test_soccer_books_sum_to_about_one(tmp_path: Path) -> None:
    ex = _exchange(tmp_path, ALL)
    for g in (g for g in _extra(ex.world) if g.soccer and g.tradable(T0)):
        kalshi = sum(_quote(ex, f"kalshi:{g.kalshi_market_ticker(k)}") for k in ("k-home", "k-draw", "k-away"))
        assert abs(kalshi - ONE) <= Decimal("0.05"), (g.game_id, kalshi)
        if "polymarket" in g.venues:
            gamma = sum(_quote(ex, f"polymarket:{g.condition_id(k)}") for k in ("home", "draw", "away"))
            assert abs(gamma - ONE) <= Decimal("0.05"), (g.game_id, gamma)


def test_a_drawn_epl_game_pays_the_draw(tmp_path: Path) -> None:
    from paper_exchange.kalshi.wire_extra import extra_market
    from paper_exchange.polymarket.wire_extra import extra_market as gamma_market

    ex = _exchange(tmp_path, ALL)
    world = ex.world
    assert isinstance(world, LeaguesWorld)
    world.ensure(T0 + timedelta(days=6))
    drawn = next(
        g for g in world.all_games()
        if isinstance(g, ExtraGame) and g.soccer and not g.cancelled and g.home_score == g.away_score
        and {"kalshi", "polymarket"} <= g.venues
    )
    assert drawn.home_settlement() == 0
    # Buy 10 TIE YES and 10 of the home team's YES on Kalshi before the game.
    ex.clock.set(drawn.start - timedelta(minutes=30))  # type: ignore[attr-defined]
    tie_ticker, home_ticker = drawn.kalshi_market_ticker("k-draw"), drawn.kalshi_market_ticker("k-home")
    for ticker in (tie_ticker, home_ticker):
        market = world.market(f"kalshi:{ticker}")
        assert market is not None
        ask = ex.book(market)[1][0][0]
        ex.place(PlaceRequest("kalshi", ticker, "buy", ask, Decimal(10), "IOC"))
        assert ex.store.position("kalshi", ticker).quantity == 10
    before = ex.store.balance("kalshi")
    ex.clock.set(drawn.resolve_at)  # type: ignore[attr-defined]
    assert drawn in [r.game for r in ex.resolve_due(drawn.resolve_at)]
    assert ex.store.balance("kalshi") == before + 10  # the tie pays $1 a contract, the team 0
    now = drawn.resolve_at
    tie = extra_market(ex, drawn, "k-draw", now)
    assert tie["ticker"].endswith("-TIE") and tie["result"] == "yes" and tie["settlement_value_dollars"] == "1.0000"
    for kind in ("k-home", "k-away"):
        team = extra_market(ex, drawn, kind, now)
        assert team["result"] == "no" and team["settlement_value_dollars"] == "0.0000"
    draw = gamma_market(ex, drawn, "draw", now)
    assert draw["slug"].endswith("-draw") and json.loads(draw["outcomePrices"]) == ["1", "0"]
    for kind in ("home", "away"):
        assert json.loads(gamma_market(ex, drawn, kind, now)["outcomePrices"]) == ["0", "1"]
    # Lines by the score: the total is over its line exactly when the goals are.
    goals = drawn.home_score + drawn.away_score
    for kind in drawn.kalshi_kinds():
        what = drawn.proposition(kind)
        m = world.market(f"kalshi:{drawn.kalshi_market_ticker(kind)}")
        assert m is not None
        value = ex.settlement_price(m, drawn.home_settlement())
        if what[0] == "total":
            assert value == (ONE if goals > what[1] else 0)
        if what[0] == "spread":
            assert value == 0  # nobody wins by anything in a draw


def test_every_market_settles_by_its_proposition(tmp_path: Path) -> None:
    ex = _exchange(tmp_path, ALL)
    for g in _extra(ex.world):
        if g.cancelled:
            continue
        h, a = g.home_score, g.away_score
        assert g.home_wins == (h > a)
        if not g.soccer:
            assert h != a
        for m in ex.world.markets():
            if m.game_index != g.index:
                continue
            value = ex.settlement_price(m, g.home_settlement())
            what = g.proposition(m.kind)
            if what[0] == "win":
                assert value == (ONE if (h > a if what[1] else a > h) else 0)
            elif what[0] == "draw":
                assert value == (ONE if h == a else 0)
            elif what[0] == "spread":
                assert value == (ONE if ((h - a) if what[1] else (a - h)) > what[2] else 0)
            else:
                assert value == (ONE if h + a > what[1] else 0)


async def test_served_by_the_venues_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_PAPER_LEAGUES", "all")
    paper = await start_paper(tmp_path, control=True)
    try:
        r = await paper.kalshi("GET", "/events?series_ticker=KXEPLGAME&with_nested_markets=true&limit=1000")
        assert r.status_code == 200
        events = r.json()["events"]
        assert events and all(e["series_ticker"] == "KXEPLGAME" for e in events)
        assert all(len(e["markets"]) == 3 for e in events)
        tie = next(m for m in events[0]["markets"] if m["ticker"].endswith("-TIE"))
        assert (tie["title"], tie["yes_sub_title"]) == ("Tie is the result", "Tie")
        r = await paper.kalshi("GET", "/events?series_ticker=KXMLBTOTAL&with_nested_markets=true")
        total = r.json()["events"][0]["markets"][0]
        assert total["floor_strike"] % 1 == 0.5 and total["strike_type"] == "greater"
        r = await paper.kalshi("GET", f"/markets/{total['ticker']}")
        assert r.status_code == 200 and r.json()["market"]["ticker"] == total["ticker"]
        r = await paper.kalshi("GET", f"/markets?event_ticker={total['event_ticker']}")
        assert {m["ticker"] for m in r.json()["markets"]} >= {total["ticker"]}
        r = await paper.kalshi("GET", f"/markets/{tie['ticker']}/orderbook")
        assert r.status_code == 200 and r.json()["orderbook_fp"]["yes_dollars"]
        r = await paper.http.get("/polymarket/gamma/events", params={"tag_slug": "epl"})
        ev = r.json()[0]
        assert [m["sportsMarketType"] for m in ev["markets"][:3]] == ["moneyline"] * 3
        assert ev["markets"][1]["question"].endswith("end in a draw?")
        r = await paper.http.get("/polymarket/gamma/markets", params={"slug": ev["markets"][1]["slug"]})
        assert [m["id"] for m in r.json()] == [ev["markets"][1]["id"]]
        world = await paper.http.get("/paper/world")
        index = next(g["index"] for g in world.json()["games"] if g["league"] == "mlb")
        r = await paper.http.post("/paper/admin/resolve", json={"index": index, "outcome": "home"})
        assert r.status_code == 200, r.text
        # the control API ends a soccer game level: the tie and the draw pay, both teams' markets do not
        r = await paper.http.post("/paper/admin/resolve", json={"index": index, "outcome": "draw"})
        assert r.status_code == 400 and "no soccer game" in r.text
        games = world.json()["games"]
        epl = next(g for g in games if g["league"] == "epl" and {"kalshi", "polymarket"} <= set(g["venues"]))
        r = await paper.http.post("/paper/admin/resolve", json={"index": epl["index"], "outcome": "draw"})
        assert r.status_code == 200, r.text
        r = await paper.kalshi("GET", f"/events/{epl['kalshi_event']}?with_nested_markets=true")
        results = {m["ticker"].rsplit("-", 1)[1]: m["result"] for m in r.json()["markets"]}
        assert sorted(results.values()) == ["no", "no", "yes"] and results["TIE"] == "yes"
        r = await paper.http.get("/polymarket/gamma/events", params={"slug": epl["gamma_slug"]})
        prices = {m["slug"].rsplit("-", 1)[1]: json.loads(m["outcomePrices"]) for m in r.json()[0]["markets"]
                  if m["sportsMarketType"] == "moneyline"}
        assert prices.pop("draw") == ["1", "0"] and list(prices.values()) == [["0", "1"], ["0", "1"]]
    finally:
        await stop_paper(paper)
