"""The issue's matching traps, each asserting the exact pairs and their polarity.

Fixtures are written in the venues' real formats (``proposition_fixtures``); the expected
pairs are read off them by hand: which Gamma token is the Yes of which question, which
outcome is the named team's. A mapping's ``poly_market`` is the contract paying when the
Kalshi market's YES proposition holds, ``poly_opposite`` the one paying when it does not.
"""

from __future__ import annotations

import pytest

from worker.domain.mapping import Confidence, MarketMapping
from worker.engine.scanner.matcher import MatchResult, match_markets
from worker.venues.common.propositions import terms_of
from worker.venues.normalize import NORMALISERS

from .proposition_fixtures import (
    gamma,
    gamma_event,
    gamma_market,
    kalshi,
    kalshi_event,
    kalshi_market,
    token,
)


def _match(k: list, p: list) -> MatchResult:  # type: ignore[type-arg]
    return match_markets(k, p, NORMALISERS)


def _by_ticker(result: MatchResult) -> dict[str, MarketMapping]:
    return {m.kalshi_ticker: m for m in result.mappings}


def _why(result: MatchResult, market_id: str) -> str:
    return next(why for _, mid, why in result.unmatched if mid == market_id)


# -- MLB doubleheaders ----------------------------------------------------------------------

G1, G2 = "KXMLBGAME-26JUL041305NYYBOSG1", "KXMLBGAME-26JUL041910NYYBOSG2"
SLUG = "mlb-nyy-bos-2026-07-04"


def _doubleheader_kalshi() -> list:  # type: ignore[type-arg]
    return kalshi(
        kalshi_event(G1, "New York Y vs Boston", [kalshi_market(G1, "NYY", "New York Y"), kalshi_market(G1, "BOS", "Boston")]),
        kalshi_event(G2, "New York Y vs Boston", [kalshi_market(G2, "NYY", "New York Y"), kalshi_market(G2, "BOS", "Boston")]),
    )


def _gamma_game(start: str) -> dict:  # type: ignore[type-arg]
    return gamma_event(SLUG, "Yankees vs. Red Sox", [gamma_market(SLUG, "Yankees vs. Red Sox", ["Yankees", "Red Sox"], start=start)])


def test_a_doubleheader_pairs_each_game_with_the_one_starting_with_it() -> None:
    # 1:05 PM and 7:10 PM EDT are 17:05Z and 23:10Z; Gamma lists game 2 first.
    poly = gamma(_gamma_game("2026-07-04 23:10:00+00"), _gamma_game("2026-07-04 17:05:00+00"))
    game2_yankees, game2_red_sox = poly[0].outcomes[0].contract_id, poly[0].outcomes[1].contract_id
    game1_yankees, game1_red_sox = poly[1].outcomes[0].contract_id, poly[1].outcomes[1].contract_id
    by = _by_ticker(_match(_doubleheader_kalshi(), poly))
    assert {t: (m.poly_market, m.poly_opposite) for t, m in by.items()} == {
        f"{G1}-NYY": (game1_yankees, game1_red_sox),
        f"{G1}-BOS": (game1_red_sox, game1_yankees),
        f"{G2}-NYY": (game2_yankees, game2_red_sox),
        f"{G2}-BOS": (game2_red_sox, game2_yankees),
    }


def test_game_one_never_pairs_with_game_two() -> None:
    poly = gamma(_gamma_game("2026-07-04 23:10:00+00"))  # Gamma lists only game 2
    result = _match(_doubleheader_kalshi(), poly)
    assert sorted(_by_ticker(result)) == [f"{G2}-BOS", f"{G2}-NYY"]
    assert _why(result, f"{G1}-NYY") == "no partner listing"


def test_a_single_game_far_from_the_kalshi_start_is_not_its_partner() -> None:
    event = "KXMLBGAME-26JUL041305NYYBOS"
    k = kalshi(kalshi_event(event, "New York Y vs Boston", [kalshi_market(event, "NYY", "New York Y")]))
    result = _match(k, gamma(_gamma_game("2026-07-04 23:10:00+00")))
    assert not result.mappings
    assert _why(result, f"{event}-NYY") == "scheduled starts differ by more than 90 min"


# -- a game after midnight UTC ----------------------------------------------------------------


def test_a_late_game_pairs_on_its_local_date() -> None:
    event = "KXMLBGAME-26JUL042210SDLAD"  # 10:10 PM EDT on Jul 4 is 02:10Z on Jul 5
    slug = "mlb-sd-lad-2026-07-04"
    k = kalshi(kalshi_event(event, "San Diego vs Los Angeles D", [kalshi_market(event, "LAD", "Los Angeles D")]))
    poly = gamma(gamma_event(slug, "Padres vs. Dodgers", [
        gamma_market(slug, "Padres vs. Dodgers", ["Padres", "Dodgers"], start="2026-07-05 02:10:00+00")
    ]))
    (m,) = _match(k, poly).mappings
    assert (m.poly_market, m.poly_opposite) == (token(poly, slug, "Dodgers"), token(poly, slug, "Padres"))
    assert m.game_date.isoformat() == "2026-07-04" and m.confidence is Confidence.HIGH


# -- soccer: three markets, the tie, a home that differs --------------------------------------

EPL = "KXEPLGAME-26OCT10ARSLEE"  # Kalshi: Arsenal at home (home first)


def _epl_kalshi() -> list:  # type: ignore[type-arg]
    return kalshi(kalshi_event(EPL, "Arsenal vs Leeds United", [
        kalshi_market(EPL, "ARS", "Arsenal"),
        kalshi_market(EPL, "LEE", "Leeds United"),
        kalshi_market(EPL, "TIE", "Tie", rules="If Tie is the result of the Arsenal vs Leeds United game, then the market resolves to Yes."),
    ]))


def _epl_gamma(slug: str, home: str, away: str, with_moneyline: bool = False) -> list:  # type: ignore[type-arg]
    markets = [
        gamma_market(f"{slug}-{home[:3].lower()}", f"Will {home} win on 2026-10-10?", ["Yes", "No"]),
        gamma_market(f"{slug}-draw", f"Will {home} vs. {away} end in a draw?", ["Yes", "No"]),
        gamma_market(f"{slug}-{away[:3].lower()}", f"Will {away} win on 2026-10-10?", ["Yes", "No"]),
    ]
    if with_moneyline:
        markets.append(gamma_market(slug, f"{home} vs. {away}", [home, away]))
    return gamma(gamma_event(slug, f"{home} vs. {away}", markets))


def test_each_soccer_market_pairs_with_the_same_proposition_and_its_no() -> None:
    slug = "epl-ars-lee-2026-10-10"
    poly = _epl_gamma(slug, "Arsenal FC", "Leeds United FC")
    result = _match(_epl_kalshi(), poly)
    by = _by_ticker(result)
    assert {t: (m.proposition, m.poly_market, m.poly_opposite) for t, m in by.items()} == {
        f"{EPL}-ARS": ("win:epl:ARS", token(poly, f"{slug}-ars", "Yes"), token(poly, f"{slug}-ars", "No")),
        f"{EPL}-LEE": ("win:epl:LEE", token(poly, f"{slug}-lee", "Yes"), token(poly, f"{slug}-lee", "No")),
        f"{EPL}-TIE": ("draw", token(poly, f"{slug}-draw", "Yes"), token(poly, f"{slug}-draw", "No")),
    }
    assert all(m.confidence is Confidence.HIGH for m in by.values())
    assert by[f"{EPL}-TIE"].event_title == "Arsenal vs Leeds United · Draw"
    assert by[f"{EPL}-ARS"].event_title == "Arsenal vs Leeds United · Arsenal FC wins"


def test_one_teams_win_is_never_paired_with_the_other_teams_win_in_soccer() -> None:
    slug = "epl-ars-lee-2026-10-10"
    poly = _epl_gamma(slug, "Arsenal FC", "Leeds United FC", with_moneyline=True)
    result = _match(_epl_kalshi(), poly)
    moneyline = next(m for m in poly if m.slug == slug)
    used = {c for m in result.mappings for c in (m.poly_market, m.poly_opposite)}
    assert not used & {o.contract_id for o in moneyline.outcomes}
    assert "where a draw is a market of its own" in next(r.reason for r in result.refused if r.market_id == moneyline.market_id)
    # every pair buys one market's Yes against the same market's No, never Arsenal's Yes
    # against Leeds' Yes (a draw would make both lose)
    for m in result.mappings:
        (market,) = [p for p in poly if m.poly_market in {o.contract_id for o in p.outcomes}]
        assert {m.poly_market, m.poly_opposite} == {o.contract_id for o in market.outcomes}


def test_a_fixture_whose_home_differs_still_pairs_by_proposition() -> None:
    slug = "epl-lee-ars-2026-10-10"  # Gamma names Leeds first, i.e. as the home club
    poly = _epl_gamma(slug, "Leeds United FC", "Arsenal FC")
    by = _by_ticker(_match(_epl_kalshi(), poly))
    assert (by[f"{EPL}-ARS"].poly_market, by[f"{EPL}-ARS"].poly_opposite) == (
        token(poly, f"{slug}-ars", "Yes"), token(poly, f"{slug}-ars", "No"))
    assert by[f"{EPL}-TIE"].poly_market == token(poly, f"{slug}-draw", "Yes")
    assert all(m.confidence is Confidence.MEDIUM for m in by.values())
    assert any("home/away order differs" in r for r in by[f"{EPL}-ARS"].reasons)


# -- neutral site, postponed and relisted -------------------------------------------------


def test_a_neutral_site_game_listed_in_either_order_pairs_with_the_right_polarity() -> None:
    event = "KXNCAAFGAME-26AUG29ISUKSU"  # Kalshi: Iowa St. first
    slug = "cfb-kanst-iowast-2026-08-29"  # Gamma: Kansas St. first
    k = kalshi(kalshi_event(event, "Iowa St. vs Kansas St.", [
        kalshi_market(event, "ISU", "Iowa St."), kalshi_market(event, "KSU", "Kansas St.")]))
    poly = gamma(gamma_event(slug, "Kansas State Wildcats vs. Iowa State Cyclones", [
        gamma_market(slug, "Kansas State Wildcats vs. Iowa State Cyclones", ["Kansas State Wildcats", "Iowa State Cyclones"])]))
    by = _by_ticker(_match(k, poly))
    isu, ksu = token(poly, slug, "Iowa State Cyclones"), token(poly, slug, "Kansas State Wildcats")
    assert (by[f"{event}-ISU"].poly_market, by[f"{event}-ISU"].poly_opposite) == (isu, ksu)
    assert (by[f"{event}-KSU"].poly_market, by[f"{event}-KSU"].poly_opposite) == (ksu, isu)


def test_a_postponed_game_pairs_only_its_relisting_with_the_relisting() -> None:
    old, new = "KXMLBGAME-26JUL041305NYYBOS", "KXMLBGAME-26JUL071305NYYBOS"
    k = kalshi(
        kalshi_event(old, "New York Y vs Boston", [kalshi_market(old, "NYY", "New York Y")]),
        kalshi_event(new, "New York Y vs Boston", [kalshi_market(new, "NYY", "New York Y")]),
    )
    slug = "mlb-nyy-bos-2026-07-07"
    poly = gamma(gamma_event(slug, "Yankees vs. Red Sox", [
        gamma_market(slug, "Yankees vs. Red Sox", ["Yankees", "Red Sox"], start="2026-07-07 17:05:00+00")]))
    result = _match(k, poly)
    assert [m.kalshi_ticker for m in result.mappings] == [f"{new}-NYY"]
    assert _why(result, f"{old}-NYY") == "no partner listing"


# -- spreads and totals on identical lines only --------------------------------------------

NFL_SPREAD, NFL_TOTAL = "KXNFLSPREAD-26OCT11LVKC", "KXNFLTOTAL-26OCT11LVKC"
NFL_SLUG = "nfl-lv-kc-2026-10-11"


def _nfl_kalshi() -> list:  # type: ignore[type-arg]
    return kalshi(
        kalshi_event(NFL_SPREAD, "Las Vegas at Kansas City: Spread", [
            kalshi_market(NFL_SPREAD, "KC8", "Kansas City wins by over 7.5 points", line=7.5),
            kalshi_market(NFL_SPREAD, "KC4", "Kansas City wins by over 3.5 points", line=3.5),
        ]),
        kalshi_event(NFL_TOTAL, "Las Vegas at Kansas City: Total Points", [
            kalshi_market(NFL_TOTAL, "45", "Over 44.5 points scored", line=44.5),
            kalshi_market(NFL_TOTAL, "48", "Over 47.5 points scored", line=47.5),
        ]),
    )


def _nfl_gamma(description: str = "") -> list:  # type: ignore[type-arg]
    return gamma(gamma_event(NFL_SLUG, "Raiders vs. Chiefs", [
        gamma_market(f"{NFL_SLUG}-spread-home-7pt5", "Spread: Chiefs (-7.5)", ["Chiefs", "Raiders"], "spreads", line=-7.5),
        gamma_market(f"{NFL_SLUG}-spread-home-4pt5", "Spread: Chiefs (-4.5)", ["Chiefs", "Raiders"], "spreads", line=-4.5),
        gamma_market(f"{NFL_SLUG}-total-44pt5", "Raiders vs. Chiefs: O/U 44.5", ["Over", "Under"], "totals", line=44.5,
                     description=description),
        gamma_market(f"{NFL_SLUG}-total-48pt5", "Raiders vs. Chiefs: O/U 48.5", ["Over", "Under"], "totals", line=48.5),
    ]))


def test_a_spread_and_a_total_pair_only_on_the_same_line_with_the_right_sides() -> None:
    poly = _nfl_gamma()
    result = _match(_nfl_kalshi(), poly)
    by = _by_ticker(result)
    spread, total = f"{NFL_SLUG}-spread-home-7pt5", f"{NFL_SLUG}-total-44pt5"
    assert {t: (m.proposition, m.poly_market, m.poly_opposite) for t, m in by.items()} == {
        f"{NFL_SPREAD}-KC8": ("spread:nfl:KC:-7.5", token(poly, spread, "Chiefs"), token(poly, spread, "Raiders")),
        f"{NFL_TOTAL}-45": ("total:over:44.5", token(poly, total, "Over"), token(poly, total, "Under")),
    }
    assert by[f"{NFL_TOTAL}-45"].event_title == "Las Vegas at Kansas City: Total Points · Over 44.5"
    # a point apart: refused with the lines named (both venues list half points only; a
    # whole-number line is refused where it is read: test_real_propositions.py)
    assert _why(result, f"{NFL_SPREAD}-KC4") == (
        "lines differ: kalshi Kansas City Chiefs -3.5, other venue Kansas City Chiefs -4.5, Kansas City Chiefs -7.5"
    )
    assert _why(result, f"{NFL_TOTAL}-48") == "lines differ: kalshi Over 47.5, other venue Over 44.5, Over 48.5"


def test_a_regulation_only_total_is_not_the_full_game_total() -> None:
    poly = _nfl_gamma(description="Overtime does not count: the total of regulation time only.")
    result = _match(_nfl_kalshi(), poly)
    assert f"{NFL_TOTAL}-45" not in _by_ticker(result)
    assert _why(result, f"{NFL_TOTAL}-45").startswith("settlement terms differ: kalshi Over 44.5, other venue")


# -- tennis: players by name, robust to initials and order -----------------------------------


def test_a_tennis_match_pairs_by_the_players_names_whatever_their_order() -> None:
    event = "KXATPMATCH-26SEP13ZVESHE"
    k = kalshi(kalshi_event(event, "Zverev vs Shelton", [
        kalshi_market(event, "ZVE", "Alexander Zverev"), kalshi_market(event, "SHE", "Ben Shelton")]))
    slug = "atp-shelton-zverev-2026-09-13"  # Gamma lists Shelton first, Zverev by initial
    poly = gamma(gamma_event(slug, "US Open: Ben Shelton vs A. Zverev", [
        gamma_market(slug, "US Open: Ben Shelton vs A. Zverev", ["Ben Shelton", "A. Zverev"])]))
    by = _by_ticker(_match(k, poly))
    zverev, shelton = token(poly, slug, "A. Zverev"), token(poly, slug, "Ben Shelton")
    assert {t: (m.proposition, m.poly_market, m.poly_opposite) for t, m in by.items()} == {
        f"{event}-ZVE": ("win:atp:zverev-a", zverev, shelton),
        f"{event}-SHE": ("win:atp:shelton-b", shelton, zverev),
    }
    # the pair rests on names: never HIGH, so it waits for the operator's confirmation
    assert all(m.confidence is Confidence.MEDIUM for m in by.values())


def test_a_wta_match_never_pairs_with_an_atp_match_of_the_same_names() -> None:
    event = "KXWTAMATCH-26SEP13WILWIL"
    k = kalshi(kalshi_event(event, "Williams vs Williams", [
        kalshi_market(event, "SWI", "Serena Williams"), kalshi_market(event, "VWI", "Venus Williams")]))
    slug = "atp-swillia-vwillia-2026-09-13"
    poly = gamma(gamma_event(slug, "Exhibition", [gamma_market(slug, "Exhibition", ["Serena Williams", "Venus Williams"])]))
    assert not _match(k, poly).mappings


def test_a_line_of_the_next_days_game_of_a_series_is_not_this_games_partner() -> None:
    # A series: the same teams on Jul 4 and Jul 5. Kalshi's Jul 4 total is 8.5; Gamma lists
    # Jul 4 with 9.5 only and Jul 5 with 8.5: the Jul 5 total is another game's.
    event = "KXMLBTOTAL-26JUL041305NYYBOS"
    k = kalshi(kalshi_event(event, "New York Y vs Boston: Total", [kalshi_market(event, "9", "Over 8.5 runs scored", line=8.5)]))
    poly = gamma(*(
        gamma_event(f"mlb-nyy-bos-2026-07-0{day}", "Yankees vs. Red Sox", [
            gamma_market(f"mlb-nyy-bos-2026-07-0{day}-total-{int(line)}pt5", f"Yankees vs. Red Sox: O/U {line}",
                         ["Over", "Under"], "totals", line=line)])
        for day, line in ((4, 9.5), (5, 8.5))
    ))
    result = _match(k, poly)
    assert not result.mappings
    assert _why(result, f"{event}-9") == "lines differ: kalshi Over 8.5, other venue Over 9.5"


# -- found in review: each would have paired a different proposition or game ---------------


def test_a_day_apart_on_both_venues_identifiers_is_another_game() -> None:
    # Kalshi's Jan 11 total and Gamma's Jan 10 game of the same teams (a series), both
    # dated by their identifiers: two games, never one a day off.
    event = "KXNBATOTAL-26JAN11HOUSAC"
    k = kalshi(kalshi_event(event, "Houston at Sacramento: Total", [kalshi_market(event, "221", "Over 220.5 points scored", line=220.5)]))
    slug = "nba-hou-sac-2026-01-10"
    poly = gamma(gamma_event(slug, "Rockets vs. Kings", [
        gamma_market(f"{slug}-total-220pt5", "Rockets vs. Kings: O/U 220.5", ["Over", "Under"], "totals", line=220.5)]))
    result = _match(k, poly)
    assert not result.mappings and _why(result, f"{event}-221") == "no partner listing"
    # The same slug whose start falls on Kalshi's date (a late game dated by UTC) pairs.
    late = gamma(gamma_event(slug, "Rockets vs. Kings", [
        gamma_market(f"{slug}-total-220pt5", "Rockets vs. Kings: O/U 220.5", ["Over", "Under"], "totals", line=220.5,
                     start="2026-01-12 03:00:00+00")]))
    assert [m.kalshi_ticker for m in _match(k, late).mappings] == [f"{event}-221"]


def test_two_games_of_a_doubleheader_never_share_one_partner() -> None:
    # Both Kalshi games carry the same placeholder time; Gamma's 17:05 game fits both.
    g1, g2 = "KXMLBGAME-26JUL041305NYYBOSG1", "KXMLBGAME-26JUL041305NYYBOSG2"
    k = kalshi(*(kalshi_event(e, "New York Y vs Boston", [kalshi_market(e, "NYY", "New York Y")]) for e in (g1, g2)))
    poly = gamma(_gamma_game("2026-07-04 17:05:00+00"), _gamma_game("2026-07-04 20:40:00+00"))
    result = _match(k, poly)
    assert not result.mappings
    assert {_why(result, f"{e}-NYY") for e in (g1, g2)} == {"another Kalshi listing claims the same partner"}


def test_a_doubleheader_game_without_a_partner_start_is_refused() -> None:
    g2 = "KXMLBGAME-26JUL041910NYYBOSG2"
    k = kalshi(kalshi_event(g2, "New York Y vs Boston", [kalshi_market(g2, "NYY", "New York Y")]))
    result = _match(k, gamma(_gamma_game("")))
    assert not result.mappings and _why(result, f"{g2}-NYY") == "game 2 of a doubleheader: no partner starting with it"


def _soccer_market(question: str, suffix: str) -> list:  # type: ignore[type-arg]
    slug = "epl-ars-lee-2026-10-10"
    return gamma(gamma_event(slug, "Arsenal FC vs. Leeds United FC", [gamma_market(f"{slug}-{suffix}", question, ["Yes", "No"])]))


def test_yes_no_markets_that_are_not_a_teams_win_or_the_draw_are_refused() -> None:
    for question, suffix in (
        ("Will Arsenal FC win or draw?", "ars-or-draw"),
        ("Will Arsenal FC win by 2 or more goals?", "ars-2plus"),
        ("Will Arsenal FC win the first half?", "1h-ars"),
        ("Will Arsenal FC win on 2026-10-10?", "lee"),  # the suffix names the other club
    ):
        result = _match(_epl_kalshi(), _soccer_market(question, suffix))
        assert not result.mappings, question
        assert result.refused and all(r.venue.value == "polymarket" for r in result.refused), question


def test_a_win_in_regulation_is_not_the_games_winner() -> None:
    event = "KXNHLGAME-26JAN11NYRBOS"
    k = kalshi(kalshi_event(event, "NY Rangers at Boston", [kalshi_market(event, "BOS", "Boston")]))
    slug = "nhl-nyr-bos-2026-01-11"
    poly = gamma(gamma_event(slug, "Rangers vs. Bruins", [
        gamma_market(f"{slug}-bos", "Will Boston Bruins win in regulation?", ["Yes", "No"])]))
    assert not _match(k, poly).mappings


def test_a_tennis_market_of_a_set_is_not_the_match() -> None:
    event = "KXATPMATCH-26SEP13ZVESHE"
    k = kalshi(kalshi_event(event, "Zverev vs Shelton", [
        kalshi_market(event, "ZVE", "Alexander Zverev"), kalshi_market(event, "SHE", "Ben Shelton")]))
    slug = "atp-zverev-shelton-2026-09-13"
    poly = gamma(gamma_event(slug, "US Open: Alexander Zverev vs Ben Shelton", [
        gamma_market(f"{slug}-first-set-winner", "First set winner", ["Alexander Zverev", "Ben Shelton"], smt="")]))
    assert not _match(k, poly).mappings


def test_a_first_five_innings_total_is_not_the_games_total() -> None:
    event = "KXMLBTOTAL-26JUL041305NYYBOS"
    k = kalshi(kalshi_event(event, "New York Y vs Boston: Total", [kalshi_market(event, "5", "Over 4.5 runs scored", line=4.5)]))
    poly = gamma(gamma_event(SLUG, "Yankees vs. Red Sox", [
        gamma_market(f"{SLUG}-f5-total-4pt5", "Yankees vs. Red Sox: 1st 5 Innings O/U 4.5", ["Over", "Under"], "totals",
                     line=4.5, start="2026-07-04 17:05:00+00")]))
    result = _match(k, poly)
    assert not result.mappings
    assert "is not the game's totals line" in next(r.reason for r in result.refused)


def test_a_kalshi_line_worded_otherwise_than_its_strike_is_refused() -> None:
    for label, extra in (
        ("Las Vegas wins by over 6.5 points", {}),  # another line in words
        ("Kansas City wins by over 7.5 points", {"strike_type": "less"}),
        ("Under 7.5 points", {}),
    ):
        market = {**kalshi_market(NFL_SPREAD, "KC8", label, line=7.5), **extra}
        result = _match(kalshi(kalshi_event(NFL_SPREAD, "Las Vegas at Kansas City: Spread", [market])), _nfl_gamma())
        assert not result.mappings, label
        assert result.refused[0].market_id == f"{NFL_SPREAD}-KC8", label


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Note: This market includes overtime.", ""),  # Kalshi WNBA, real capture
        ("\nOvertime is included if played", ""),
        # Gamma NBA, real capture (tests/fixtures/real/rules/gamma_nba_mem_lal_2026-01-04_moneyline.json)
        ("The result will be determined based on the final score including any overtime periods.", ""),
        ("The result will be determined based on the final score including any overtime periods and shootouts.", ""),
        ("If the game is tied in regulation, overtime counts.", None),  # both readings: refused
        ("This market resolves on the score at the end of regulation time only.", "regulation"),
        ("Overtime is not included.", "regulation"),
        ("OT not included.", "regulation"),
        ("Resolves by the total of points scored.", ""),
        ("Overtime shall be settled by the Governing League's ruling.", None),  # unclear: refused
    ],
)
def test_settlement_terms_are_read_or_refused_never_guessed(text: str, terms: str | None) -> None:
    assert terms_of(text) == terms
