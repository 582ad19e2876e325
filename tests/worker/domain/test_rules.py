"""Settlement rules read from real venue texts (tests/fixtures/real/rules/), the payout
table of a pair, the card's warning and the env switch.

Expected values are written from reading the texts by hand, not from the code.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from dashboard.shown import ShownOpportunity
from dashboard.views.arbitrage import card_details, card_summary
from paper_exchange.kalshi.wire import kalshi_rules_secondary
from paper_exchange.polymarket.wire import poly_description
from worker.api import schemas
from worker.config import ConfigError, load_config
from worker.domain.markets import Venue
from worker.domain.rules import Scenario, Settle, extract, pair_payouts
from worker.engine.scanner.rules import compare_rules

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "rules"


def gamma_description() -> str:
    notes = (REAL / "gamma_nba_gsw_phx_2026-02-05_notes.md").read_text()
    return notes.split("## Description\n", 1)[1].split("\n\n## ", 1)[0]


def kalshi_ncaamb() -> str:
    m = json.loads((REAL / "kalshi_ncaamb_isu_byu_2026-02-21.json").read_text())
    return f"{m['rules_primary']}\n\n{m['rules_secondary']}"  # as worker/venues/kalshi/parse.py joins them


def kalshi_nfl() -> str:
    return json.loads((REAL / "kalshi_nfl_game_secondary.json").read_text())["rules_secondary"]


def test_every_fixture_names_its_source() -> None:
    for f in REAL.iterdir():
        if f.suffix in (".md", ".json") and not f.name.endswith(".source.json") and f.name != "README.md":
            side = json.loads((REAL / f"{f.name}.source.json").read_text())
            assert "repository" in side and "commit" in side and "path" in side
            if side["repository"] is not None:
                assert len(side["commit"]) == 40 and int(side["commit"], 16) >= 0


# -- facts -------------------------------------------------------------------------------
def test_gamma_description_facts() -> None:
    f = extract(gamma_description())
    assert f.cancelled.payout.settle is Settle.PAYS and f.cancelled.payout.value == D("0.5")
    assert f.cancelled.quote == "If the game is canceled entirely, with no make-up game, this market will resolve 50-50."
    assert f.postponed.waits and f.postponed.deadline is None
    assert f.postponed.quote == "If the game is postponed, this market will remain open until the game has been completed."
    assert f.tie.payout.settle is Settle.UNKNOWN and f.tie.quote == ""  # NBA text: ties not mentioned


def test_a_second_gamma_capture_reads_the_same() -> None:
    m = json.loads((REAL / "gamma_nba_mem_lal_2026-01-04_moneyline.json").read_text())
    f = extract(m["description"])  # worker/venues/polymarket/parse.py keeps it as the market's rules
    assert f.cancelled.payout.value == D("0.5") and f.cancelled.quote.endswith("this market will resolve 50-50.")
    assert f.postponed.waits and f.postponed.deadline is None and f.tie.payout.settle is Settle.UNKNOWN


def test_kalshi_college_basketball_facts() -> None:
    f = extract(kalshi_ncaamb())
    cancel = (
        "If the cancelled game is not played or is rescheduled further than two weeks out, the market will "
        "resolve to a fair price for each team in accordance with the rules."
    )
    assert f.cancelled.payout.settle is Settle.FAIR_PRICE and f.cancelled.payout.value is None
    assert f.cancelled.quote == cancel
    assert f.postponed.waits
    assert (f.postponed.deadline, f.postponed.deadline_hours) == ("two weeks", 14 * 24)
    assert f.postponed.after is not None and f.postponed.after.settle is Settle.FAIR_PRICE
    assert f.postponed.quote.startswith(
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled "
        "game has finished (within two weeks)."
    )
    assert f.postponed.quote.endswith(cancel)
    assert f.tie.payout.settle is Settle.UNKNOWN


def test_kalshi_nfl_facts() -> None:
    f = extract(kalshi_nfl())
    assert f.tie.payout.settle is Settle.PAYS and f.tie.payout.value == D("0.5")
    assert f.tie.quote == "If the game ends in a tie, the market will resolve to $0.50 for each team."
    assert f.cancelled.payout.settle is Settle.FAIR_PRICE
    assert f.cancelled.quote == "If the game is not started within 48 hours, the market will resolve to a fair market price."
    assert f.postponed.waits and f.postponed.deadline_hours == 48
    assert f.postponed.after is not None and f.postponed.after.settle is Settle.FAIR_PRICE


def gamma_nfl() -> str:
    return json.loads((REAL / "gamma_nfl_ten_nyg_2026-09-27_description.json").read_text())["description"]


def test_gamma_nfl_facts() -> None:
    f = extract(gamma_nfl())
    sentence = "If the game is canceled entirely or ends in a tie, with no make-up game, this market will resolve 50-50."
    assert f.tie.payout.value == D("0.5") and f.tie.quote == sentence
    assert f.cancelled.payout.value == D("0.5") and f.cancelled.quote == sentence
    assert f.postponed.waits and f.postponed.deadline is None


def test_nfl_pair_on_real_texts_pays_a_dollar_on_a_tie_but_not_when_cancelled() -> None:
    for yes in (True, False):
        t = rows(kalshi_nfl(), gamma_nfl(), "nfl", yes)
        assert t[Scenario.TIE] == (D(1), D(1))  # 50¢ + 50¢
        assert t[Scenario.CANCELLED] == (D("0.5"), D("1.5"))  # a fair market price + 50¢
        # Not started within 48 hours: Kalshi's fair price, Polymarket still waits (0 or 1).
        assert t[Scenario.POSTPONED] == (D(0), D(2))
        check = compare_rules(kalshi_nfl(), gamma_nfl(), "nfl", kalshi_side_yes=yes)
        assert check.outcome_problem == "" and len(check.differences) == 2 and check.worst_loss == D(1)


def test_a_deadline_without_a_stated_sequel_is_unknown_after_it() -> None:
    # The cancellation sentence speaks of a game never played, not of one rescheduled late:
    # what is paid after the two weeks is not stated, so it is not taken from it.
    text = (
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished (within two weeks). If the game is canceled entirely, with no make-up game, this market "
        "will resolve 50-50."
    )
    f = extract(text)
    assert f.postponed.waits and f.postponed.deadline_hours == 336 and f.postponed.after is None
    t = rows(text, gamma_description(), "nba", True)
    assert t[Scenario.CANCELLED] == (D(1), D(1))
    assert t[Scenario.POSTPONED] == (None, None)  # past two weeks: unknown, shown as such


def test_a_text_that_says_nothing_stays_unknown() -> None:
    f = extract("If Houston wins the Houston at Sacramento game originally scheduled for Jan 11, 2026, then the market resolves to Yes.")
    assert not f.cancelled.known and not f.postponed.known and not f.tie.known


# -- payout table ----------------------------------------------------------------------------
def rows(k: str, p: str, league: str, yes: bool) -> dict[Scenario, tuple[D | None, D | None]]:
    return {r.scenario: (r.lo, r.hi) for r in pair_payouts(extract(k), extract(p), league, yes)}


def test_payout_table_kalshi_college_basketball_against_gamma() -> None:
    for yes in (True, False):
        t = rows(kalshi_ncaamb(), gamma_description(), "ncaab", yes)
        assert t[Scenario.HOME_WINS] == (D(1), D(1)) and t[Scenario.AWAY_WINS] == (D(1), D(1))
        assert Scenario.TIE not in t  # college basketball has no ties
        # Kalshi leg: a fair price in [0, 1]; Polymarket leg: 50¢.
        assert t[Scenario.CANCELLED] == (D("0.5"), D("1.5"))
        # Postponed past two weeks: Kalshi pays its fair price, Polymarket still waits (0 or 1).
        assert t[Scenario.POSTPONED] == (D(0), D(2))


def test_fifty_fifty_on_both_sides_pays_a_dollar() -> None:
    paper_kalshi = (
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished. If the game is cancelled entirely, with no make-up game, the market will resolve to $0.50 for each team."
    )
    for yes in (True, False):
        t = rows(paper_kalshi, gamma_description(), "nba", yes)
        assert t[Scenario.CANCELLED] == (D(1), D(1))
        assert t[Scenario.POSTPONED] == (D(1), D(1))


def test_nfl_pair_whose_polymarket_text_does_not_say_what_a_tie_pays_is_refused() -> None:
    # Kalshi pays 50¢ each on a tie; Gamma's NBA-worded text says nothing about ties.
    check = compare_rules(kalshi_nfl(), gamma_description(), "nfl", Venue.POLYMARKET, kalshi_side_yes=True)
    assert check.outcome_problem.startswith("Tie: Kalshi pays 50¢/50¢, Polymarket does not say")
    nba = compare_rules(kalshi_nfl(), gamma_description(), "nba", Venue.POLYMARKET, kalshi_side_yes=True)
    assert nba.outcome_problem == ""  # no ties in the NBA


def test_a_tie_paying_other_than_a_dollar_is_refused() -> None:
    # Kalshi resolves a tie to $0.50 each; a Polymarket text splitting ties 50-50 pays $1.
    poly_tie = "If the game is canceled entirely, with no make-up game, or ends in a tie, this market will resolve 50-50."
    assert compare_rules(kalshi_nfl(), poly_tie, "nfl").outcome_problem == ""
    # A Kalshi text whose tie resolves the market No: YES leg 0 + 50¢ = 50¢ per pair.
    k_no = "If the game ends in a tie, the market resolves to No."
    yes = compare_rules(k_no, poly_tie, "nfl", kalshi_side_yes=True)
    assert "pays $0.50 per pair" in yes.outcome_problem
    no = compare_rules(k_no, poly_tie, "nfl", kalshi_side_yes=False)  # NO leg 1 + 50¢
    assert "pays $1.50 per pair" in no.outcome_problem


# -- the card ----------------------------------------------------------------------------------
NOW = datetime(2026, 2, 5, 20, 0, tzinfo=UTC)


def card(check: object, part: str = "summary") -> str:
    # An opportunity object as the wire carries it (numbers exact, every key it sends).
    wire = {
        "id": "opp_x_kalshi_yes", "mapping_id": "map_x", "event_title": "Warriors vs. Suns", "league": "nba",
        "confidence": "HIGH", "roi_pct": D("2.0"), "roi_per_day_pct": D("2.0"), "size": D(10), "cost": D("9.80"),
        "kalshi_leg": {"contract": {"venue": "kalshi", "market_id": "K", "contract_id": "K", "side": "yes"},
                       "label": "YES K", "price": D("0.49"), "size": D(10)},
        "poly_leg": {"contract": {"venue": "polymarket", "market_id": "P", "contract_id": "P", "side": "token"},
                     "label": "Suns", "price": D("0.49"), "size": D(10)},
        "curve": [], "volume": None, "kalshi_volume": None, "expires_at": None, "updated_at": "2026-02-05T19:59:00Z",
        "rules": schemas.to_wire(check),
    }
    opp = ShownOpportunity.from_wire(wire)
    return card_summary(opp, NOW) if part == "summary" else card_details(opp)


def test_card_shows_nothing_when_the_rules_agree() -> None:
    k = kalshi_rules_secondary_for_test()
    html = card(compare_rules(k, gamma_description(), "nba"))
    assert "rules differ" not in html and "Cancelled" not in html and "warn-mark" not in html.split("figs")[1]


def test_card_shows_the_cancellation_difference_with_its_worst_case() -> None:
    html = card(compare_rules(kalshi_ncaamb(), gamma_description(), "ncaab"))
    assert "Cancelled: Kalshi pays a price it sets ($0 to $1), Polymarket pays 50¢/50¢" in html
    assert "worst case −$0.50 per pair" in html
    assert "Postponed: Kalshi waits two weeks" in html
    # Postponed: a pair may pay nothing; the 10 pairs cost $9.80, so that is the worst case.
    assert "Worst case for 10 pairs: −$9.80" in html
    details = card(compare_rules(kalshi_ncaamb(), gamma_description(), "ncaab"), "details")
    assert (
        "Kalshi, cancelled: pays a price it sets ($0 to $1) — &quot;If the cancelled game is not played or is "
        "rescheduled further than two weeks out"
    ) in details
    assert "Polymarket, tie: does not say (unknown) — not stated" in details


def kalshi_rules_secondary_for_test() -> str:
    return (
        "If this game is postponed or delayed, the market will remain open and close after the rescheduled game "
        "has finished. If the game is cancelled entirely, with no make-up game, the market will resolve to $0.50 for each team."
    )


def test_paper_texts_agree_for_every_league() -> None:
    from paper_exchange.world import World

    world = World(seed=1, epoch=NOW)
    seen: set[str] = set()
    for game in (world.game(i) for i in range(60)):
        if game.league in seen:
            continue
        seen.add(game.league)
        k = kalshi_rules_secondary(game)
        for poly in (poly_description(game, game.away.poly_outcome, game.home.poly_outcome),
                     poly_description(game, game.away.pmus_short, game.home.pmus_short)):
            for yes in (True, False):
                check = compare_rules(k, poly, game.league, kalshi_side_yes=yes)
                assert check.differences == () and check.outcome_problem == "", (game.league, check)
    assert seen  # the paper has games


# -- the env switch ------------------------------------------------------------------------------
def test_refuse_cancellation_mismatch_is_a_strict_boolean() -> None:
    assert load_config({}).refuse_cancellation_mismatch is False
    for raw, want in (("1", True), ("true", True), ("TRUE", True), ("0", False), ("false", False), ("", False)):
        assert load_config({"EXECUTOR_REFUSE_CANCELLATION_MISMATCH": raw}).refuse_cancellation_mismatch is want
    for bad in ("yes", "2", "on", "tru"):
        with pytest.raises(ConfigError, match="EXECUTOR_REFUSE_CANCELLATION_MISMATCH"):
            load_config({"EXECUTOR_REFUSE_CANCELLATION_MISMATCH": bad})


def test_an_attributed_real_kalshi_game_market_with_no_secondary_rules_says_nothing_of_cancellation() -> None:
    """zane180/nba-market-engine's captured KXNBAGAME event (tests/fixtures/real/kalshi/
    nba_event.json, sidecar there): ``rules_primary`` names the winner, ``rules_secondary``
    is empty. Read by hand: nothing about cancellation, postponement or ties, so every one
    of them is unknown (never guessed) and the card warns against the Gamma text."""
    event = json.loads((REAL.parent / "kalshi" / "nba_event.json").read_text())
    market = next(m for m in event["markets"] if m["ticker"].endswith("-SAS"))
    assert market["rules_secondary"] == ""
    text = f"{market['rules_primary']}\n\n{market['rules_secondary']}"
    facts = extract(text)
    for fact in (facts.cancelled, facts.postponed, facts.tie):
        assert fact.payout.settle is Settle.UNKNOWN and fact.quote == ""
    check = compare_rules(text, gamma_description(), "nba")
    assert not check.outcome_problem  # NBA games do not tie: a winner pays $1 a pair
    assert check.differences and check.worst_loss is None  # cancelled: Kalshi does not say


# -- a tennis match that ends early --------------------------------------------------------------
KALSHI_REAL_TENNIS = Path(__file__).resolve().parents[2] / "fixtures" / "real" / "kalshi" / "tennis_settled_markets.json"
TENNIS_TEXT = (
    "If the match is postponed, the market will remain open until the match has been completed. "
    "If the match is cancelled entirely, the market will resolve 50-50."
)


def test_kalshi_has_settled_tennis_matches_at_a_price_it_set() -> None:
    # The evidence the worker quotes when Kalshi's text says nothing of a match ending early.
    markets = json.loads(KALSHI_REAL_TENNIS.read_text())["markets"]
    scalar = {m["ticker"]: D(m["settlement_value_dollars"]) for m in markets if m["result"] == "scalar"}
    assert len({t.rsplit("-", 1)[0] for t in scalar}) == 12 and len({m["event_ticker"] for m in markets}) == 40
    assert scalar["KXATPMATCH-26AUG30JODKOK-KOK"] == D("0.11") and scalar["KXATPMATCH-26AUG30JODKOK-JOD"] == D("0.89")


def test_a_tennis_pair_shows_that_a_match_ending_early_may_not_pay_a_dollar() -> None:
    for yes in (True, False):
        check = compare_rules(TENNIS_TEXT, TENNIS_TEXT, "atp", kalshi_side_yes=yes)
        assert check.outcome_problem == ""  # the winner pays on both venues
        # Kalshi pays a price it sets ($0–$1), Polymarket's text does not say: unknown.
        assert check.differences == (
            "A player retires or does not start: Kalshi pays a price it sets ($0 to $1), "
            "Polymarket does not say (unknown) → unknown payout",
        )
        assert check.worst_loss is None
        assert ('Kalshi, retired: pays a price it sets ($0 to $1) — "not in its text; its settled matches show it: '
                '"result": "scalar", KXATPMATCH-26AUG30JODKOK-KOK at $0.11 and -JOD at $0.89"') in check.facts
        assert "Polymarket, retired: does not say (unknown) — not stated" in check.facts
    html = card(compare_rules(TENNIS_TEXT, TENNIS_TEXT, "wta"))
    assert "A player retires or does not start: Kalshi pays a price it sets ($0 to $1)" in html
    # Team games have no such scenario.
    assert compare_rules(TENNIS_TEXT, TENNIS_TEXT, "nba").differences == ()


def test_a_retirement_both_texts_settle_alike_is_no_difference() -> None:
    said = TENNIS_TEXT + " If a player retires or is disqualified, the market will resolve 50-50."
    check = compare_rules(said, said, "atp")
    assert check.differences == () and check.worst_loss == 0
    # Kalshi's own text wins over what its settled markets show; a price it sets against
    # 50¢ is a difference with its worst case.
    fair = TENNIS_TEXT + " If a player retires, the market will settle at the last fair market price."
    one_sided = compare_rules(fair, said, "atp", kalshi_side_yes=False)
    assert one_sided.differences == (
        "A player retires or does not start: Kalshi pays a price it sets ($0 to $1), Polymarket pays 50¢/50¢ "
        "→ pays $0.50 to $1.50 per pair, worst case −$0.50 per pair",
    )
    assert one_sided.worst_loss == D("0.50")
