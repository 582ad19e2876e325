"""Every market of the real captures of the new leagues and kinds, read to its proposition.

The captures (``tests/fixtures/real``, each with its sidecar) are Kalshi ``/markets`` or
``/events`` pages and a Gamma ``/events`` page. Kalshi's ``/markets`` pages are grouped
into their events here, as the worker receives them (``/events`` with nested markets);
the market objects are the captured ones, unchanged.

Two oracles, neither the normaliser's own reading: the expected propositions written by
hand from the files, and, for every line market, Kalshi's own wording of the line
(``yes_sub_title``: "Over 44.5 points scored", "PHI Eagles wins by over 7.5 points"),
which the normaliser does not read (it reads the ticker and ``floor_strike``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from worker.domain.listings import Listing, NotNormalised
from worker.domain.markets import Market
from worker.venues.kalshi.normalize import normalize as kalshi_normalize
from worker.venues.kalshi.parse import parse_events as parse_kalshi
from worker.venues.polymarket.normalize import normalize as gamma_normalize
from worker.venues.polymarket.parse import parse_events as parse_gamma

REAL = Path(__file__).parents[2] / "fixtures" / "real"


def _market_objects(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if "ticker" in x and "event_ticker" in x:
                found.append(x.get("market_data") or x)  # an author's wrapper keeps the raw market inside
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(doc)
    return found


def kalshi_listings(name: str) -> dict[str, Listing | NotNormalised]:
    """Each market of a capture, grouped into its event, parsed and normalised."""
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in _market_objects(json.loads((REAL / "kalshi" / name).read_text("utf-8"))):
        events[m["event_ticker"]].append(m)
    page = {"events": [{"event_ticker": e, "series_ticker": e.partition("-")[0], "markets": ms} for e, ms in events.items()]}
    markets, _ = parse_kalshi(page)
    return {m.market_id: kalshi_normalize(m) for m in markets}


def _props(found: dict[str, Listing | NotNormalised]) -> dict[str, str]:
    return {t: (next(iter(n.offers)) if isinstance(n, Listing) else f"refused: {n.reason}") for t, n in found.items()}


EXPECTED = {
    "epl_game_markets.json": {
        "KXEPLGAME-26OCT10ARSLEE-ARS": "win:epl:ARS",
        "KXEPLGAME-26OCT10ARSLEE-LEE": "win:epl:LEE",
        "KXEPLGAME-26OCT10ARSLEE-TIE": "draw",
        "KXEPLGAME-26OCT10CFCBOU-CFC": "win:epl:CHE",
        "KXEPLGAME-26OCT10SUNBRI-BRI": "win:epl:BHA",
    },
    "epl_total_settled_markets.json": {"KXEPLTOTAL-26SEP20FULMUN-3": "total:over:2.5"},
    "mlb_game_event.json": {"KXMLBGAME-26SEP231940CWSKC-CWS": "win:mlb:CWS", "KXMLBGAME-26SEP231940CWSKC-KC": "win:mlb:KC"},
    "mlb_spread_event.json": {"KXMLBSPREAD-26SEP231940CWSKC-KC4": "spread:mlb:KC:-3.5"},
    "nfl_lines.json": {"KXNFLSPREAD-26SEP17DETBUF-BUF2": "spread:nfl:BUF:-1.5", "KXNFLTOTAL-26SEP17DETBUF-50": "total:over:49.5"},
    "nfl_total_markets.json": {"KXNFLTOTAL-26SEP20CARATL-45": "total:over:44.5"},
    "ncaaf_game_markets.json": {"KXNCAAFGAME-26SEP19FRESSJSU-SJSU": "win:ncaaf:SJSU"},
    "game_lines_by_series.json": {
        "KXWNBAGAME-26SEP24LVPHX-LV": "win:wnba:LVA",
        "KXWNBASPREAD-26SEP23ATLNY-NY7": "spread:wnba:NYL:-6.5",
        "KXMLBTOTAL-26SEP231940CWSKC-9": "total:over:8.5",
        "KXNFLGAME-26OCT05ATLNO-NO": "win:nfl:NO",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_market_of_a_real_capture_reads_to_its_proposition(name: str) -> None:
    props = _props(kalshi_listings(name))
    assert not [p for p in props.values() if p.startswith("refused")], props
    assert {t: props[t] for t in EXPECTED[name]} == EXPECTED[name]


_WORDED = re.compile(r"^(?:(?P<team>.+?) wins by over |over )(?P<line>\d+(?:\.\d+)?)", re.IGNORECASE)


@pytest.mark.parametrize("name", ["epl_total_settled_markets.json", "game_lines_by_series.json", "mlb_spread_event.json", "nfl_lines.json", "nfl_total_markets.json"])
def test_each_line_is_the_one_kalshi_words_in_its_sub_title(name: str) -> None:
    checked = 0
    for m in _market_objects(json.loads((REAL / "kalshi" / name).read_text("utf-8"))):
        if "SPREAD" not in m["ticker"] and "TOTAL" not in m["ticker"]:
            continue
        worded = _WORDED.match(m["yes_sub_title"])
        assert worded, m["yes_sub_title"]
        (listing,) = [n for t, n in kalshi_listings(name).items() if t == m["ticker"]]
        assert isinstance(listing, Listing)
        (offer,) = listing.offers.values()
        line = Decimal(worded.group("line"))
        assert offer.proposition.line == (-line if worded.group("team") else line), m["ticker"]
        checked += 1
    assert checked


def test_games_against_schools_outside_division_one_are_refused_in_the_ncaamb_capture() -> None:
    found = kalshi_listings("ncaamb_game_markets_wrapped.json")
    read = [n for n in found.values() if isinstance(n, Listing)]
    refused = {t: n.reason for t, n in found.items() if isinstance(n, NotNormalised)}
    # 266 markets of 133 games; the 21 games against schools outside Division I (Morris
    # College, Penn State-Hazleton, Bethesda, La Sierra …) are refused, both markets,
    # never guessed as a Division I school: La Sierra's LAS is not La Salle.
    assert len(found) == 266 and len(read) == 224
    assert refused["KXNCAAMBGAME-25DEC18MCUNCA-MC"] == "ticker suffix MC is no ncaab team code"
    assert refused["KXNCAAMBGAME-25DEC19LASHP-LAS"] == "ticker suffix LAS is no ncaab team code"
    assert refused["KXNCAAMBGAME-25DEC19LASHP-HP"] == "cannot identify both teams of KXNCAAMBGAME-25DEC19LASHP"
    assert {next(iter(n.offers)) for n in read if n.market.market_id.startswith("KXNCAAMBGAME-25DEC18FURMAN-")} == {
        "win:ncaab:FUR", "win:ncaab:MAN"
    }


def test_the_real_gamma_college_football_event_reads_its_winner_spreads_and_totals() -> None:
    markets: list[Market] = parse_gamma(json.loads((REAL / "polymarket" / "gamma_event_cfb_mia_wake_2026-09-18.json").read_text("utf-8")))
    props = {m.slug: sorted(n.offers) if isinstance(n := gamma_normalize(m), Listing) else n.reason for m in markets}
    assert props == {
        "cfb-mia-wake-2026-09-18": ["win:ncaaf:MIA", "win:ncaaf:WAKE"],
        "cfb-mia-wake-2026-09-18-spread-away-19pt5": ["spread:ncaaf:MIA:-19.5"],
        "cfb-mia-wake-2026-09-18-spread-away-20pt5": ["spread:ncaaf:MIA:-20.5"],
        "cfb-mia-wake-2026-09-18-total-50pt5": ["total:over:50.5"],
        "cfb-mia-wake-2026-09-18-total-51pt5": ["total:over:51.5"],
        "cfb-mia-wake-2026-09-18-total-52pt5": ["total:over:52.5"],
        "cfb-mia-wake-2026-09-18-total-53pt5": ["total:over:53.5"],
    }
    spread = next(m for m in markets if m.slug and m.slug.endswith("spread-away-19pt5"))
    listing = gamma_normalize(spread)
    assert isinstance(listing, Listing)
    (offer,) = listing.offers.values()
    assert (offer.pays.label, offer.against.label) == ("Miami (FL)", "Wake Forest")  # the question names Miami at -19.5


def test_a_line_a_score_can_land_on_is_refused_on_both_venues() -> None:
    """A whole-number line can be landed on. Kalshi settles that as NO (``strike_type``
    ``greater``: over means more than). Polymarket's sports oracle creates half-point lines
    only (Polymarket/uma-sports-oracle@04331bef3f1e0e813014bdfd851533ae1e29df09,
    ``src/libraries/LineLib.sol`` ``_isValidLine``: ``line % ONE == HALF_POINT``, checked by
    ``createSpreadsMarket`` and ``createTotalsMarket``), so a Gamma market on one says
    nothing we know about a score landing on it. Both are refused with their reason: no
    pair ever rests on a push. The markets are the real captures with the line moved."""
    kalshi = _market_objects(json.loads((REAL / "kalshi" / "nfl_total_markets.json").read_text("utf-8")))[0]
    kalshi = {**kalshi, "floor_strike": 44, "ticker": "KXNFLTOTAL-26SEP20CARATL-44", "title": "Full Game: over 44 points scored?",
              "yes_sub_title": "Over 44 points scored", "no_sub_title": "Over 44 points scored"}
    (market,), _ = parse_kalshi({"events": [{"event_ticker": kalshi["event_ticker"], "series_ticker": "KXNFLTOTAL", "markets": [kalshi]}]})
    found = kalshi_normalize(market)
    assert isinstance(found, NotNormalised)
    assert found.reason == ("integer line 44: a score can land on it (Kalshi settles that NO) and "
                            "Polymarket lists half points only: refused, never paired")

    (event,) = json.loads((REAL / "polymarket" / "gamma_event_cfb_mia_wake_2026-09-18.json").read_text("utf-8"))
    total = next(m for m in event["markets"] if m["slug"].endswith("-total-52pt5"))
    moved = {**total, "slug": total["slug"].replace("52pt5", "52"), "question": "Miami (FL) vs. Wake Forest: O/U 52", "line": 52}
    (gamma,) = [m for m in parse_gamma([{**event, "markets": [moved]}]) if m.slug == moved["slug"]]
    refused = gamma_normalize(gamma)
    assert isinstance(refused, NotNormalised)
    assert refused.reason == ("integer line 52: Polymarket's sports oracle creates half-point lines only, "
                              "so how a score landing on it settles is not known (no push is ever paired)")
    # The same markets at their real half-point lines read (the refusal is the line's).
    assert isinstance(gamma_normalize(next(m for m in parse_gamma([event]) if m.slug == total["slug"])), Listing)
