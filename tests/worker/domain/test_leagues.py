"""The league table: the expected resolution of a game no venue dates comes from its
league's row (the scanner's only league knowledge)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from tests.worker.engine.scanner.test_detection_equivalence import START, _pair
from worker.domain.fees import FeeSchedule
from worker.domain.leagues import League, game_length
from worker.engine.scanner.pair import build_pair


def test_game_lengths_come_from_the_table() -> None:
    assert game_length("nfl") == timedelta(hours=3, minutes=30)
    assert game_length(League.NBA) == timedelta(hours=3)
    assert game_length("epl") == timedelta(hours=2)
    assert game_length("curling") == timedelta(hours=3)  # not in the table


def test_a_pair_without_a_close_time_resolves_a_game_length_after_its_start() -> None:
    base = _pair(FeeSchedule.kalshi(), FeeSchedule.polymarket(Decimal("0.03")), Decimal(1))
    assert base.expected_resolution == START + timedelta(hours=3)  # Kalshi's close time
    for league, length in (("nfl", timedelta(hours=3, minutes=30)), ("nhl", timedelta(hours=3))):
        kalshi = dataclasses.replace(base.kalshi, close_time=None, league=League(league))
        mapping = dataclasses.replace(base.mapping, league=league)
        pair = build_pair(mapping, kalshi, base.poly)
        assert pair.expected_resolution == START + length
