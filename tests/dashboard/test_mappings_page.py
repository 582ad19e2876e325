"""The ``/mappings`` review, headless (recorded wire messages through the real feed and
page) and in Chromium at 1440 and 390 px against the real stack (paper exchange, worker
with its trading engine, ``panel serve``): one group per game with both rows, the venues'
pages and names, search, filters, sort, bulk decisions with a note, Undo, a decision that
keeps the game where it was, rejected games in grey, and a phone layout without
horizontal scrolling whose tap targets are at least 44 px."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.conftest import replay
from tests.dashboard.live import CHROMIUM, PaperStack, logged_in_context, start_panel, stop_panel
from tests.dashboard.protocol import T0, init, wire
from worker.api import schemas
from worker.bootstrap import StoreMappingDecisions
from worker.domain.mapping import Confidence, MappingStatus, MarketMapping
from worker.domain.markets import Venue

TOKEN_HOU = "71321" + "4" * 72  # a Polymarket CLOB token id is a 77-digit number
TOKEN_LAL = "99999" + "7" * 72


def game_rows(n: int, status: str = "candidate", confidence: str = "HIGH", league: str = "nba",
              day: date = date(2026, 11, 29), starts_in_h: int = 0, note: str | None = None,
              names: bool = True) -> list[MarketMapping]:
    """Both rows of game ``n`` (Houston at Los Angeles), as the matcher makes them."""
    event = f"KX{league.upper()}GAME-26NOV29HOULAL{n}"
    tokens = {"HOU": f"{TOKEN_HOU[:-3]}{n:03d}", "LAL": f"{TOKEN_LAL[:-3]}{n:03d}"}
    outcomes = {"HOU": "Rockets", "LAL": "Lakers"}
    rows = []
    for team, other in (("HOU", "LAL"), ("LAL", "HOU")):
        rows.append(MarketMapping(
            kalshi_ticker=f"{event}-{team}", kalshi_event_ticker=event, poly_venue=Venue.POLYMARKET,
            poly_market=tokens[team], poly_side="", poly_opposite=tokens[other], league=league, game_date=day,
            away_team=f"{league}:HOU", home_team=f"{league}:LAL", proposition_team=f"{league}:{team}",
            event_title=f"Houston at Los Angeles #{n}", confidence=Confidence(confidence),
            reasons=("teams from structured fields",), start_time=T0 + timedelta(hours=starts_in_h),
            poly_market_id=f"5512{n}", status=MappingStatus(status), note=note,
            **({
                "kalshi_url": f"https://kalshi.com/markets/kx{league}game/{event.lower()}",
                "kalshi_outcome": {"HOU": "Houston", "LAL": "Los Angeles L"}[team],
                "poly_url": f"https://polymarket.com/event/{league}-hou-lal-{day.isoformat()}-{n}",
                "poly_title": f"Rockets vs. Lakers #{n}",
                "poly_outcome": outcomes[team],
                "poly_other_outcome": outcomes[other],
            } if names else {}),
        ))
    return rows


def wire_rows(*games: list[MarketMapping]) -> list[dict[str, Any]]:
    """The rows as ``/api/mappings`` sends them (each judged with its own game)."""
    out = []
    for rows in games:
        for m in rows:
            out.append(schemas.to_wire(StoreMappingDecisions(None, MappingStatus)._wire(m, rows)))
    return out


def listing(*games: list[MarketMapping]) -> dict[str, Any]:
    return {"type": "mappings_snapshot", "data": {"mappings": wire_rows(*games)}}


def changed_game(rows: list[MarketMapping], status: str, note: str | None = None) -> list[dict[str, Any]]:
    decided = [replace(m, status=MappingStatus(status), note=note) for m in rows]
    return [wire(schemas.MAPPING_CHANGED, data) for data in wire_rows(decided)]


def key(rows: list[MarketMapping]) -> str:
    return rows[0].review_key


def sent(feed) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [json.loads(t) for t in feed.socket.sent]


def ack(feed, page, message: dict[str, Any], *changes: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    replay(feed, page, {"type": "ack", "action": message["action"], "id": message["id"], "data": {}}, *changes)


GAMES = {
    1: game_rows(1, starts_in_h=5),
    2: game_rows(2, confidence="MEDIUM", starts_in_h=1, day=date(2026, 11, 30)),
    3: game_rows(3, status="rejected", confidence="LOW", league="nfl", starts_in_h=3, note="wrong game"),
    4: game_rows(4, status="confirmed", starts_in_h=9, names=False),
}


@pytest.fixture
def review(feed, page):  # type: ignore[no-untyped-def]
    p = page("mappings")
    replay(feed, p, init(), listing(*GAMES.values()))
    return p


def test_a_draw_is_named_by_its_proposition_not_as_a_teams_win(feed, page):  # type: ignore[no-untyped-def]
    event = "KXEPLGAME-26OCT10ARSLEE"
    draw = MarketMapping(
        kalshi_ticker=f"{event}-TIE", kalshi_event_ticker=event, poly_venue=Venue.POLYMARKET,
        poly_market=TOKEN_HOU, poly_side="", poly_opposite=TOKEN_LAL, league="epl", game_date=date(2026, 10, 10),
        away_team="epl:LEE", home_team="epl:ARS", proposition_team="", event_title="Arsenal vs Leeds United · Draw",
        confidence=Confidence.HIGH, reasons=("proposition draw on both venues",), start_time=T0,
        poly_market_id="7001", kalshi_outcome="Tie", poly_outcome="Yes", poly_other_outcome="No", proposition="draw",
    )
    p = page("mappings")
    replay(feed, p, init(), listing([draw]))
    html = p.view.list.items[key([draw])]["sum"]
    assert "Arsenal vs Leeds United · Draw" in html
    assert "Kalshi <b>Tie</b> ↔ Polymarket “Yes”" in html and "Tie</b> wins" not in html
    assert "Buy Kalshi YES Tie + Polymarket “No” · buy Kalshi NO Tie + Polymarket “Yes”" in html


def test_one_group_per_game_with_both_rows_names_and_venue_links(review):
    view = review.view
    assert len(view.list.order) == 4 and len(view.list.items) == 4  # 8 rows, 4 games
    item = view.list.items[key(GAMES[1])]
    html = item["sum"]
    for m in GAMES[1]:
        assert f'data-mapping="{m.id}"' in html
    # Both ways of buying each row's pair, by the venues' own names.
    assert "Buy Kalshi YES Houston + Polymarket “Lakers” · buy Kalshi NO Houston + Polymarket “Rockets”" in html
    assert "Buy Kalshi YES Los Angeles L + Polymarket “Rockets”" in html
    assert ('href="https://kalshi.com/markets/kxnbagame/kxnbagame-26nov29houlal1" target="_blank" '
            'rel="noopener noreferrer">Kalshi: Houston at Los Angeles #1 ↗</a>') in html
    assert 'href="https://polymarket.com/event/nba-hou-lal-2026-11-29-1"' in html and "Polymarket: Rockets vs. Lakers #1" in html
    # The 77-digit token only as a wrapping id, never as the pair's name.
    assert f'<code class="id">{GAMES[1][0].poly_market}</code>' in html
    assert f"“{GAMES[1][0].poly_market}”" not in html
    assert "teams from structured fields" in item["det"]
    # A row stored before the names were kept: its token stands in, no link is made up.
    old = view.list.items[key(GAMES[4])]["sum"]
    assert "Polymarket: Houston at Los Angeles #4</span>" in old and "polymarket.com" not in old
    assert f'Polymarket <code class="id">{GAMES[4][0].poly_market}</code>' in old


def test_rejected_games_are_grey_not_their_confidence_colour(review):
    item = review.view.list.items[key(GAMES[3])]
    assert item["cls"].split()[:2] == ["map-group", "rejected"]
    assert "Note: wrong game" in item["sum"]  # (the grey itself is checked in Chromium below)


def test_search_filters_and_sort(review):
    v = review.view
    assert v.list.order == [key(GAMES[n]) for n in (2, 3, 1, 4)]  # starts soonest
    v.search.value_input = "lakers #1"
    assert v.list.order == [key(GAMES[1])]
    v.search.value_input = GAMES[3][1].kalshi_ticker.lower()  # a ticker
    assert v.list.order == [key(GAMES[3])]
    v.search.value_input = "wrong"  # the note
    assert v.list.order == [key(GAMES[3])]
    v.search.value_input = ""
    assert v.league.options == ["All leagues", "nba", "nfl"]
    v.league.value = "nba"
    assert v.list.order == [key(GAMES[n]) for n in (2, 1, 4)]
    v.day.value = "2026-11-30"
    assert v.list.order == [key(GAMES[2])]
    v.day.value = "All dates"
    v.confidence.value = "HIGH"
    assert v.list.order == [key(GAMES[n]) for n in (1, 4)]
    v.confidence.value = "Any confidence"
    v.league.value = "All leagues"
    v.status.value = "pending"
    assert v.list.order == [key(GAMES[n]) for n in (2, 1)]
    v.status.value = "rejected"
    assert v.list.order == [key(GAMES[3])]
    v.status.value = "all"
    v.sort.value = "Weakest confidence first"
    assert v.list.order == [key(GAMES[n]) for n in (3, 2, 1, 4)]
    v.sort.value = "League"
    assert v.list.order == [key(GAMES[n]) for n in (2, 1, 4, 3)]
    assert 'data-shown="4" data-games="4"' in v.count.object


def test_bulk_confirm_with_a_note_goes_one_game_at_a_time_and_keeps_the_order(feed, review):
    v = review.view
    order = list(v.list.order)
    for n in (1, 3):
        v.list.click(key(GAMES[n]), "pick", "")
    assert v.selected == {key(GAMES[1]), key(GAMES[3])}
    assert 'checked' in v.list.items[key(GAMES[1])]["sum"] and v.confirm_selected.name == "Confirm selected (2)"
    before = len(feed.socket.sent)
    v.note.value = "checked both venues"
    v.confirm_selected.clicks += 1
    first = sent(feed)[before:]
    # One at a time: the second goes once the worker answered the first.
    assert len(first) == 1
    assert (first[0]["action"], first[0]["mapping_id"], first[0]["note"]) == (
        "confirm_mapping", GAMES[3][0].id, "checked both venues")  # in the order shown: game 3 starts first
    ack(feed, review, first[0], *changed_game(GAMES[3], "confirmed", "checked both venues"))
    second = sent(feed)[before + 1:]
    assert [(m["action"], m["mapping_id"], m["note"]) for m in second] == [
        ("confirm_mapping", GAMES[1][0].id, "checked both venues")]
    ack(feed, review, second[0], *changed_game(GAMES[1], "confirmed", "checked both venues"))
    assert v.list.order == order  # decisions move nothing
    assert v.selected == set() and v.undo.name == "Undo (2)" and not v.undo.disabled
    item = v.list.items[key(GAMES[3])]
    assert item["cls"].split()[1] == "confirmed" and "✓ confirmed" in item["sum"]
    assert "Note: checked both venues" in item["sum"]

    # Undo restores exactly what each game was: game 3 rejected with its note, game 1 pending.
    before = len(feed.socket.sent)
    v.undo.clicks += 1
    one = sent(feed)[before:]
    assert [(m["action"], m["mapping_id"], m.get("note")) for m in one] == [
        ("reject_mapping", GAMES[3][0].id, "wrong game")]
    ack(feed, review, one[0], *changed_game(GAMES[3], "rejected", "wrong game"))
    two = sent(feed)[before + 1:]
    assert [(m["action"], m["mapping_id"], m.get("note")) for m in two] == [("reopen_mapping", GAMES[1][0].id, None)]
    ack(feed, review, two[0], *changed_game(GAMES[1], "candidate"))
    assert v.list.items[key(GAMES[1])]["cls"].split()[1] == "candidate"
    assert v.list.items[key(GAMES[3])]["cls"].split()[1] == "rejected"
    assert v.undo.disabled and v.list.order == order


def test_a_game_s_reject_sends_its_note_and_its_own_undo_reopens_it(feed, review):
    v = review.view
    game = key(GAMES[2])
    v.list.click(game, "reject", "  same teams, other day  ")
    msg = sent(feed)[-1]
    assert (msg["action"], msg["mapping_id"], msg["note"]) == ("reject_mapping", GAMES[2][0].id, "same teams, other day")
    ack(feed, review, msg, *changed_game(GAMES[2], "rejected", "same teams, other day"))
    item = v.list.items[game]
    assert item["cls"].split()[1] == "rejected" and 'data-action="undo"' in item["sum"]
    assert 'data-action="reject" data-confirm="Reject game?" disabled' in item["sum"]
    v.list.click(game, "undo", "")
    msg = sent(feed)[-1]
    assert (msg["action"], msg["mapping_id"], msg.get("note")) == ("reopen_mapping", GAMES[2][0].id, None)
    ack(feed, review, msg, *changed_game(GAMES[2], "candidate"))
    item = v.list.items[game]
    assert item["cls"].split()[1] == "candidate" and "✓ back to pending" in item["sum"]
    assert 'data-action="undo"' not in item["sum"]


def test_a_refused_decision_is_shown_and_not_offered_for_undo(feed, review):
    v = review.view
    game = key(GAMES[1])
    v.list.click(game, "confirm", "")
    msg = sent(feed)[-1]
    replay(feed, review, {"type": "error", "message": "the worker is on standby", "field": "action", "id": msg["id"]})
    assert "⚠ the worker is on standby" in v.list.items[game]["sum"]
    assert 'data-action="undo"' not in v.list.items[game]["sum"]
    assert v.last == [] and v.undo.disabled


def test_a_note_typed_in_a_game_survives_selecting_it(feed, review):
    game = key(GAMES[1])
    review.view.list.click(game, "pick", "half typed")
    assert 'value="half typed"' in review.view.list.items[game]["sum"]


def test_new_games_join_after_the_shown_order(feed, review):
    v = review.view
    v.sort.value = "Weakest confidence first"
    order = list(v.list.order)
    late = game_rows(5, confidence="LOW", starts_in_h=0)
    replay(feed, review, listing(*GAMES.values(), late))
    assert v.list.order == [*order, key(late)]  # the weakest, yet after what was shown


# --- in Chromium ---------------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
in_chromium = [
    pytest.mark.browser,
    pytest.mark.timeout(240),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed at /usr/bin/chromium"),
]


def browser_test(fn: Any) -> Any:
    for mark in in_chromium:
        fn = mark(fn)
    return fn


def paused_stack(root: Path, **env: str) -> Iterator[tuple[PaperStack, str]]:
    """The real stack, trading paused, and ``panel serve`` against it (``env`` added to
    the processes' environment)."""
    stack = PaperStack(root, seed=3)
    stack.env.update(env)
    try:
        stack.start_exchange()
        stack.start_worker()
        stack.action("toggle_enabled", value=False)
        proc, base = start_panel(stack.ws_url)
        try:
            yield stack, base
        finally:
            stop_panel(proc)
    finally:
        stack.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PaperStack, str]]:
    yield from paused_stack(tmp_path_factory.mktemp("mappings-stack"))


@pytest.fixture(scope="module")
def context(browser, live):  # type: ignore[no-untyped-def]
    ctx = logged_in_context(browser, live[1])
    yield ctx
    ctx.close()


def open_mappings(context, base: str, width: int, height: int = 900):  # type: ignore[no-untyped-def]
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.set_default_timeout(20_000)
    page.goto(base + "/mappings")
    return page


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def rgb(css: str) -> tuple[float, ...]:
    """A computed colour's red, green and blue, 0-255 (``rgb(…)`` or ``color(srgb …)``)."""
    numbers = [float(x) for x in re.findall(r"[\d.]+", css.split("(", 1)[1])][:3]
    return tuple(n * 255 for n in numbers) if css.startswith("color(") else tuple(numbers)


def game_of(mappings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    games: dict[str, list[dict[str, Any]]] = {}
    for m in mappings:
        games.setdefault(m["review_key"], []).append(m)
    return games


def group(page, review_key: str):  # type: ignore[no-untyped-def]
    return page.locator(f".map-game[data-game='{review_key}']")


def shown_keys(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(k) for k in page.locator(".map-game").evaluate_all("els => els.map(e => e.dataset.game)")]


@browser_test
def test_the_review_at_1440_px_search_filter_bulk_and_undo(live, context):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    stack, base = live
    games = game_of(stack.mappings())
    assert len(games) >= 4 and all(len(rows) == 2 for rows in games.values())
    page = open_mappings(context, base, 1440)
    expect(page.locator(".map-game")).to_have_count(len(games))
    expect(page.locator("[data-mapping]")).to_have_count(2 * len(games))
    first_key, rows = next(iter(sorted(games.items(), key=lambda kv: kv[1][0]["kalshi_ticker"])))
    first = group(page, first_key)
    # The venues' pages and names, as the worker's venue clients read them.
    kalshi, poly = rows[0]["kalshi_url"], rows[0]["poly_url"]
    assert kalshi.startswith("https://kalshi.com/markets/") and poly.startswith("https://polymarket.com/event/")
    expect(first.locator(f"a.venue-link[href='{kalshi}']")).to_be_visible()
    expect(first.locator(f"a.venue-link[href='{poly}']")).to_be_visible()
    expect(first).to_contain_text(rows[0]["poly_title"])
    expect(first).to_contain_text(f"“{rows[0]['poly_outcome']}”")
    shot(page, "mappings-1440")

    # Search by a team's name on Polymarket narrows to its games.
    name = rows[0]["poly_outcome"]
    want = sorted(k for k, rs in games.items() if any(name.lower() in (r["poly_outcome"] + r["poly_other_outcome"]
                                                                          + r["poly_title"] + r["event_title"]).lower()
                                                      for r in rs))
    search = page.get_by_placeholder("Search teams, titles, tickers")
    search.fill(name)
    expect(page.locator(".klist.map-list")).to_have_attribute("data-shown", str(len(want)))
    assert sorted(shown_keys(page)) == want
    search.fill("")
    expect(page.locator(".klist.map-list")).to_have_attribute("data-shown", str(len(games)))
    order = shown_keys(page)

    # Bulk: the second and third games shown are confirmed with a note; neither moves.
    chosen = order[1:3]
    for k in chosen:
        group(page, k).locator("input[data-action=pick]").check()
    confirm = page.get_by_role("button", name="Confirm selected (2)")
    expect(confirm).to_be_enabled()
    page.get_by_placeholder("Note for the selected (optional)").fill("both venues checked")
    confirm.click()
    for k in chosen:
        expect(group(page, k).locator(".game-status")).to_have_text("confirmed")
    listed = game_of(stack.mappings())
    for k in chosen:
        assert {(r["status"], r["note"]) for r in listed[k]} == {("confirmed", "both venues checked")}
    assert shown_keys(page) == order
    shot(page, "mappings-1440-confirmed")

    # Undo puts exactly those games back.
    page.get_by_role("button", name="Undo (2)").click()
    for k in chosen:
        expect(group(page, k).locator(".game-status")).to_have_text("pending")
    listed = game_of(stack.mappings())
    for k in chosen:
        assert {(r["status"], r["note"]) for r in listed[k]} == {("candidate", None)}

    # A game's own Reject (two taps), with a note: it stays where it was, in grey.
    target = order[0]
    box = group(page, target)
    box.locator("input.note").fill("not the same game")
    box.get_by_role("button", name="Reject", exact=True).click()
    box.get_by_role("button", name="Reject game?").click()
    expect(box.locator(".game-status")).to_have_text("rejected")
    assert shown_keys(page) == order
    box.scroll_into_view_if_needed()
    shot(page, "mappings-1440-rejected")
    grey = page.locator(f".map-group:has(.map-game[data-game='{target}'])").evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderLeftColor]")
    green = page.locator(".map-group.candidate.conf-high").first.evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).borderLeftColor]")
    r, g, b = rgb(grey[0])
    assert max(r, g, b) - min(r, g, b) <= 8, grey  # a grey, not a confidence colour
    r, g, b = rgb(grey[1])
    assert g <= max(r, b), grey
    # ... while a HIGH pending game is green.
    r, g, b = rgb(green[0])
    assert g - max(r, b) > 4, green
    r, g, b = rgb(green[1])
    assert g - max(r, b) > 40, green
    assert {r["status"] for r in game_of(stack.mappings())[target]} == {"rejected"}
    box.get_by_role("button", name="Undo", exact=True).click()
    expect(box.locator(".game-status")).to_have_text("pending")

    # Filters: rejected only, then the league filter.
    page.get_by_role("button", name="rejected", exact=True).click()
    expect(page.locator(".klist.map-list")).to_have_attribute("data-shown", "0")
    page.get_by_role("button", name="all", exact=True).click()
    expect(page.locator(".klist.map-list")).to_have_attribute("data-shown", str(len(games)))
    page.close()


@browser_test
def test_the_review_on_a_390_px_phone_fits_and_its_tap_targets_are_44_px(live, context):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    stack, base = live
    games = game_of(stack.mappings())
    page = open_mappings(context, base, 390, 844)
    expect(page.locator(".map-game")).to_have_count(len(games))
    shot(page, "mappings-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # A game selected: the bulk bar (note, Confirm / Reject selected) shows, and is measured too.
    page.locator(".map-game input[data-action=pick]").first.check()
    expect(page.get_by_role("button", name="Confirm selected (1)")).to_be_visible()
    expect(page.get_by_placeholder("Note for the selected (optional)")).to_be_visible()
    shot(page, "mappings-390-selected")
    # Every control of the review (filters, bulk bar, each game's checkbox, links, note,
    # buttons) on the first screens: at least 44 × 44 px where it can be tapped.
    sizes = page.evaluate("""() => {
      const inReview = (el) => {
        for (let n = el; n; n = n.parentNode || n.host) {
          if (n.nodeType === 1 && n.matches('.map-filters, .map-bulk, .map-list')) return true;
        }
        return false;
      };
      const out = [];
      const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
          if (el.shadowRoot) walk(el.shadowRoot);
          const tag = el.tagName.toLowerCase();
          const tappable = ['button', 'select', 'a', 'summary'].includes(tag)
                           || (tag === 'input' && el.type !== 'checkbox') || (tag === 'label' && el.matches('.pick'));
          const r = el.getBoundingClientRect();
          if (!tappable || !r.width || !r.height || r.top > 3000) continue;
          out.push({tag, text: (el.textContent || el.placeholder || '').trim().slice(0, 30),
                    w: Math.round(r.width), h: Math.round(r.height), review: inReview(el)});
        }
      };
      walk(document);
      return out;
    }""")
    review = [s for s in sizes if s["review"]]
    assert len(review) > 20, sizes
    small = [s for s in review if s["w"] < 44 or s["h"] < 44]
    assert not small, small
    texts = {s["text"] for s in review}
    assert {"Confirm selected (1)", "Reject selected (1)", "Confirm", "Reject", "Why matched"} <= texts, texts
    assert any(s["tag"] == "label" for s in review) and any(s["tag"] == "a" for s in review)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Every page element stays inside the phone's width.
    page.get_by_placeholder("Search teams, titles, tickers").fill(next(iter(games.values()))[0]["poly_outcome"])
    expect(page.locator(".klist.map-list")).not_to_have_attribute("data-shown", str(len(games)))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "mappings-390-search")
    page.close()


def test_a_second_decision_before_the_first_came_back_undoes_to_the_first(feed, review):
    """Confirm, then reject the same game before the worker's ``mapping_changed`` for the
    confirmation arrived: the reject's Undo restores "confirmed" (what the game was once
    the confirmation applied), not the page's older "pending"."""
    v = review.view
    game = key(GAMES[2])
    v.list.click(game, "confirm", "")
    first = sent(feed)[-1]
    replay(feed, review, {"type": "ack", "action": "confirm_mapping", "id": first["id"], "data": {}})
    v.list.click(game, "reject", "")  # mapping_changed for the confirmation not here yet
    assert v.undos[game].status == "confirmed"
    second = sent(feed)[-1]
    assert second["action"] == "reject_mapping"
    ack(feed, review, second, *changed_game(GAMES[2], "rejected"))
    v.list.click(game, "undo", "")
    assert sent(feed)[-1]["action"] == "confirm_mapping"
