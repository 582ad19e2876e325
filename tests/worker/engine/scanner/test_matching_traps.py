"""Matching traps on hand-written fixtures in the venues' documented formats.

The expected pairs below were written from the fixtures by hand (which token carries
which outcome name, which Polymarket US side is marked long), not from the team tables.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from worker.domain.mapping import Confidence
from worker.domain.markets import Venue
from worker.engine.scanner.matcher import match_markets
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.normalize import NORMALISERS
from worker.venues.polymarket.parse import parse_events as parse_gamma
from worker.venues.polymarket_us.parse import parse_events as parse_pmus

FIX = Path(__file__).parent / "fixtures"


def raw(name: str) -> Any:
    return json.loads((FIX / name).read_text())


def kalshi_markets(doc: Any = None) -> list[Any]:
    return parse_kalshi(doc if doc is not None else raw("kalshi_events.json"))[0]


# Kalshi ticker -> Gamma token of the SAME proposition (read off the fixture by hand).
GAMMA_EXPECTED = {
    "KXNBAGAME-26JAN11HOUSAC-HOU": "5002",  # outcomes listed ["Kings", "Rockets"]
    "KXNBAGAME-26JAN11HOUSAC-SAC": "5001",
    "KXNBAGAME-26JAN11LALGSW-LAL": "5011",  # late game: gameStartTime is the next UTC day
    "KXNBAGAME-26JAN11LALGSW-GSW": "5012",
    "KXNHLGAME-26JAN11LAVGK-LA": "5022",  # NHL Kings, same date as NBA Kings game
    "KXNHLGAME-26JAN11LAVGK-VGK": "5021",
    "KXNFLGAME-26JAN04JACTEN-JAC": "5031",  # JAC on Kalshi, jax on Gamma
    "KXNFLGAME-26JAN04JACTEN-TEN": "5032",
    "KXNFLGAME-25NOV30LACAR-LA": "5041",  # LA (Rams) vs LAC (Chargers) same day
    "KXNFLGAME-25NOV30LACAR-CAR": "5042",
    "KXNFLGAME-25NOV30LACKC-LAC": "5052",
    "KXNFLGAME-25NOV30LACKC-KC": "5051",
    "KXNHLGAME-26MAR01NYRNYI-NYR": "5071",  # same two teams on consecutive days
    "KXNHLGAME-26MAR01NYRNYI-NYI": "5072",
    "KXNHLGAME-26MAR02NYINYR-NYI": "5081",
    "KXNHLGAME-26MAR02NYINYR-NYR": "5082",
    "KXNHLGAME-26JAN11UTACOL-UTA": "5091",  # Gamma still says "Utah Hockey Club"
    "KXNHLGAME-26JAN11UTACOL-COL": "5092",
}
NOT_WINNER_TOKENS = {"5003", "5004", "5005", "5006", "5007", "5008", "5101", "5102"}

# Kalshi ticker -> (Polymarket US slug, side whose team is the Kalshi market's team).
PMUS_EXPECTED = {
    "KXNBAGAME-26JAN11HOUSAC-HOU": ("aec-nba-hou-sac-2026-01-11", "short"),  # long = Kings
    "KXNBAGAME-26JAN11HOUSAC-SAC": ("aec-nba-hou-sac-2026-01-11", "long"),
    "KXNBAGAME-26JAN11LALGSW-LAL": ("aec-nba-lal-gsw-2026-01-11", "short"),
    "KXNBAGAME-26JAN11LALGSW-GSW": ("aec-nba-lal-gsw-2026-01-11", "long"),
    "KXNHLGAME-26JAN11LAVGK-LA": ("aec-nhl-lak-vgk-2026-01-11", "long"),
    "KXNHLGAME-26JAN11LAVGK-VGK": ("aec-nhl-lak-vgk-2026-01-11", "short"),
    "KXNFLGAME-26JAN04JACTEN-JAC": (
        "aec-nfl-jax-ten-2026-01-04",
        "long",
    ),  # sides listed short first
    "KXNFLGAME-26JAN04JACTEN-TEN": ("aec-nfl-jax-ten-2026-01-04", "short"),
    "KXNHLGAME-26MAR01NYRNYI-NYR": ("aec-nhl-nyr-nyi-2026-03-01", "long"),
    "KXNHLGAME-26MAR01NYRNYI-NYI": ("aec-nhl-nyr-nyi-2026-03-01", "short"),
    "KXNHLGAME-26MAR02NYINYR-NYI": ("aec-nhl-nyi-nyr-2026-03-02", "short"),  # long = home Rangers
    "KXNHLGAME-26MAR02NYINYR-NYR": ("aec-nhl-nyi-nyr-2026-03-02", "long"),
}
PMUS_NOT_WINNER = {"tsc-nba-hou-sac-2026-01-11-224pt5", "aec-nba-hou-sac-2026-01-11-first-half"}


def test_gamma_traps_pair_every_game_winner_with_the_same_proposition_token() -> None:
    result = match_markets(kalshi_markets(), parse_gamma(raw("gamma_events.json")), NORMALISERS)
    got = {m.kalshi_ticker: m.poly_market for m in result.mappings}
    assert got == GAMMA_EXPECTED
    assert all(m.confidence is Confidence.HIGH for m in result.mappings)


def test_gamma_spreads_totals_and_futures_are_never_paired() -> None:
    result = match_markets(kalshi_markets(), parse_gamma(raw("gamma_events.json")), NORMALISERS)
    used = {m.poly_market for m in result.mappings} | {m.poly_opposite for m in result.mappings}
    assert not used & NOT_WINNER_TOKENS
    assert not any(
        "SPREAD" in m.kalshi_ticker or "TOTAL" in m.kalshi_ticker for m in result.mappings
    )
    refused = {r.market_id for r in result.refused}
    assert {
        "700004",  # a spread's slug without sportsMarketType: no line field to read
        "700101",
        "KXNBA-26-HOU",
        "KXNBASPREAD-26JAN11HOUSAC-HOU5",  # no floor_strike: the line cannot be read
    } <= refused
    # A spread and a total are propositions of their own: read, but with no Kalshi
    # partner of the same line they stay unpaired, never paired with a winner.
    unmatched = {market_id: why for _, market_id, why in result.unmatched}
    assert unmatched["700002"] == unmatched["700003"] == "no kalshi partner"


def test_gamma_opposite_token_is_the_other_team() -> None:
    result = match_markets(kalshi_markets(), parse_gamma(raw("gamma_events.json")), NORMALISERS)
    by = {m.kalshi_ticker: m for m in result.mappings}
    assert by["KXNBAGAME-26JAN11HOUSAC-HOU"].poly_opposite == "5001"
    assert by["KXNBAGAME-26JAN11HOUSAC-SAC"].poly_opposite == "5002"


def test_nfl_panthers_never_pair_with_nhl_panthers() -> None:
    result = match_markets(kalshi_markets(), parse_gamma(raw("gamma_events.json")), NORMALISERS)
    assert all(m.poly_market not in {"5061", "5062"} for m in result.mappings)
    assert (Venue.POLYMARKET, "700061", "no kalshi partner") in result.unmatched


def test_polymarket_us_traps_pair_the_side_whose_team_matches() -> None:
    result = match_markets(kalshi_markets(), parse_pmus(raw("pmus_events.json")), NORMALISERS)
    got = {m.kalshi_ticker: (m.poly_market, m.poly_side) for m in result.mappings}
    assert got == PMUS_EXPECTED
    assert all(m.confidence is Confidence.HIGH for m in result.mappings)
    assert not {m.poly_market for m in result.mappings} & PMUS_NOT_WINNER


@pytest.mark.parametrize("reverse", [False, True])
def test_gamma_polarity_holds_whatever_the_outcome_order(reverse: bool) -> None:
    doc = raw("gamma_events.json")
    for ev in doc:
        for m in ev["markets"]:
            names, tokens = json.loads(m["outcomes"]), json.loads(m["clobTokenIds"])
            if reverse:
                names, tokens = names[::-1], tokens[::-1]
            m["outcomes"], m["clobTokenIds"] = json.dumps(names), json.dumps(tokens)
    result = match_markets(kalshi_markets(), parse_gamma(doc), NORMALISERS)
    assert {m.kalshi_ticker: m.poly_market for m in result.mappings} == GAMMA_EXPECTED


def test_polymarket_us_polarity_follows_the_long_flag_not_the_list_order() -> None:
    doc = raw("pmus_events.json")
    flipped = copy.deepcopy(doc)
    for ev in flipped["events"]:
        for m in ev["markets"]:
            m["marketSides"] = m["marketSides"][::-1]
    a = match_markets(kalshi_markets(), parse_pmus(doc), NORMALISERS)
    b = match_markets(kalshi_markets(), parse_pmus(flipped), NORMALISERS)
    assert {(m.kalshi_ticker, m.poly_side) for m in a.mappings} == {
        (m.kalshi_ticker, m.poly_side) for m in b.mappings
    }
    # Swapping which side is long must swap the mapped side.
    swapped = copy.deepcopy(doc)
    for ev in swapped["events"]:
        for m in ev["markets"]:
            for s in m["marketSides"]:
                s["long"] = not s["long"]
    c = match_markets(kalshi_markets(), parse_pmus(swapped), NORMALISERS)
    flip = {"long": "short", "short": "long"}
    assert {m.kalshi_ticker: m.poly_side for m in c.mappings} == {
        t: flip[side] for t, (_, side) in PMUS_EXPECTED.items()
    }


def test_kalshi_market_whose_sub_title_names_the_other_team_is_refused() -> None:
    doc = raw("kalshi_events.json")
    doc["events"] = [doc["events"][0]]
    doc["events"][0]["markets"][0]["yes_sub_title"] = "Sacramento"  # ticker says HOU
    result = match_markets(kalshi_markets(doc), parse_gamma(raw("gamma_events.json")), NORMALISERS)
    assert "KXNBAGAME-26JAN11HOUSAC-HOU" not in {m.kalshi_ticker for m in result.mappings}
    assert any(r.market_id == "KXNBAGAME-26JAN11HOUSAC-HOU" for r in result.refused)


def test_gamma_outcomes_naming_other_teams_than_the_slug_are_refused() -> None:
    doc = raw("gamma_events.json")
    doc[0]["markets"][0]["outcomes"] = json.dumps(["Kings", "Lakers"])
    result = match_markets(kalshi_markets(), parse_gamma(doc), NORMALISERS)
    assert all(m.poly_market not in {"5001", "5002"} for m in result.mappings)


def test_fuzzy_outcome_names_cap_confidence_at_medium() -> None:
    doc = raw("gamma_events.json")
    doc[0]["markets"][0]["outcomes"] = json.dumps(["Sacramento Kingz", "Houston Rocket"])
    result = match_markets(kalshi_markets(), parse_gamma(doc), NORMALISERS)
    by = {m.kalshi_ticker: m for m in result.mappings}
    hou = by["KXNBAGAME-26JAN11HOUSAC-HOU"]
    assert hou.poly_market == "5002"
    assert hou.confidence is Confidence.MEDIUM
    assert any("similarity" in r for r in hou.reasons)


def test_date_one_day_off_matches_at_medium_only_without_an_exact_partner() -> None:
    doc = raw("gamma_events.json")
    doc[3]["slug"] = doc[3]["markets"][0]["slug"] = "nfl-jax-ten-2026-01-05"
    result = match_markets(kalshi_markets(), parse_gamma(doc), NORMALISERS)
    jac = next(m for m in result.mappings if m.kalshi_ticker.endswith("JACTEN-JAC"))
    assert jac.poly_market == "5031"
    assert jac.confidence is Confidence.MEDIUM
    # The consecutive-day NYR/NYI games still pair exactly, never across days.
    by = {m.kalshi_ticker: m.poly_market for m in result.mappings}
    assert by["KXNHLGAME-26MAR01NYRNYI-NYR"] == "5071"
    assert by["KXNHLGAME-26MAR02NYINYR-NYR"] == "5082"


def test_consecutive_day_game_with_only_one_listing_does_not_take_the_other_day() -> None:
    doc = [ev for ev in raw("gamma_events.json") if ev["slug"] != "nhl-nyr-nyi-2026-03-01"]
    result = match_markets(kalshi_markets(), parse_gamma(doc), NORMALISERS)
    tickers = {m.kalshi_ticker for m in result.mappings}
    assert "KXNHLGAME-26MAR01NYRNYI-NYR" not in tickers
    assert "KXNHLGAME-26MAR02NYINYR-NYR" in tickers
