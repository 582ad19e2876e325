"""The rules check of a mapped pair: both venues' texts read as facts, the pair's payout
in each scenario, and what must be refused or shown (see :mod:`worker.domain.rules`).

Computed once per pair and direction when the pair is built (never on the hot path).
"""

from __future__ import annotations

from dataclasses import replace

from worker.domain.leagues import players_league
from worker.domain.mapping import RulesCheck
from worker.domain.markets import Venue
from worker.domain.rules import (
    Fact,
    Payout,
    RulesFacts,
    Scenario,
    Settle,
    check_pair,
    extract,
    fact_lines,
    pair_payouts,
)

POLY_NAMES = {Venue.POLYMARKET: "Polymarket", Venue.POLYMARKET_US: "Polymarket US"}
#: What Kalshi does when a tennis match ends early, where its text does not say: it has
#: settled such matches at a price it set (real settled markets,
#: tests/fixtures/real/kalshi/tennis_settled_markets.json: 12 of 40 matches "scalar").
KALSHI_MATCH_ENDS_EARLY = Fact(
    Scenario.RETIRED, Payout(Settle.FAIR_PRICE),
    'not in its text; its settled matches show it: "result": "scalar", '
    "KXATPMATCH-26AUG30JODKOK-KOK at $0.11 and -JOD at $0.89",
)


def _kalshi_match_rules(facts: RulesFacts) -> RulesFacts:
    return facts if facts.retired.known else replace(facts, retired=KALSHI_MATCH_ENDS_EARLY)


def compare_rules(
    kalshi: str,
    poly: str,
    league: str = "",
    poly_venue: Venue = Venue.POLYMARKET,
    kalshi_side_yes: bool = True,
    team_win: bool = True,
) -> RulesCheck:
    """Both texts, their facts, the payout table of the pair whose Kalshi leg is YES
    (``kalshi_side_yes``) or NO, and the differences that matter (empty when they agree).
    ``team_win``: the pair is one team's win against the other's (a tie, where a league
    has them, is then a scenario of its own); else it pays by its proposition."""
    players = players_league(league)
    k, p = extract(kalshi), extract(poly)
    if players:
        k = _kalshi_match_rules(k)
    poly_name = POLY_NAMES.get(poly_venue, "Polymarket")
    checked = check_pair(pair_payouts(k, p, league if team_win else "", kalshi_side_yes, players), poly_name)
    return RulesCheck(
        kalshi=kalshi,
        poly=poly,
        differences=checked.differences,
        outcome_problem=checked.outcome_problem,
        worst_loss=checked.worst_loss,
        facts=fact_lines("Kalshi", k, players) + fact_lines(poly_name, p, players),
    )
