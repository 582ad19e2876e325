"""A replay's report from constructed events, attempts and trade-log rows.

Every expected figure is worked out by hand from the legs and rows the inputs build
(``report_samples``: price × quantity + fee per leg, $1 per hedged pair), not by calling
the code under test twice. The attempt ids are fresh uuids on each build: the report must
not depend on them.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from tests.worker.replay.report_samples import END, NBA, NHL, T0, at, facts_of, ledger_inputs
from worker.domain.attempts import RefusalReason
from worker.domain.events import OpportunityRefused, TradeEvent
from worker.domain.tradelog import TradeStatus
from worker.replay.facts import ReplayFacts, dumps, headline_line, write_report
from worker.replay.report_html import write_html


def test_the_report_has_the_hand_worked_figures() -> None:
    attempts, trades = ledger_inputs()
    report = facts_of(attempts, trades).report()
    s = report["summary"]
    assert s["start"] == "2026-03-01T18:00:00+00:00" and s["span_seconds"] == 600.0
    assert s["book_updates"] == 1234 and s["opportunities_seen"] == 3
    assert s["attempts"] == 3 and s["attempts_by_state"] == {"HEDGED": 2, "ROLLED_BACK": 1} and s["hedged"] == 2
    assert s["locked_pnl"] == "0.98"  # 0.28 + 0.70
    assert s["realised_pnl"] == "-0.87"  # −1.15 + 0.28 (the SUCCESS rows are not realised)
    # Net after the settlement: realised −0.87 + B's still-open 0.70.
    assert s["net_pnl"] == "-0.17"
    # Net peaked at 0.98 (both hedges open) and fell to −0.17 with the roll-back.
    assert s["worst_drawdown"] == "1.15"
    assert report["drawdown"] == {"worst": "1.15", "peak_at": at(120).isoformat(), "trough_at": at(200).isoformat()}
    # A's position (9.72) from t=60 to t=400, B's (19.30) from t=120 on.
    assert s["peak_capital"] == "29.02"
    assert report["capital"] == [
        {"t": T0.isoformat(), "capital": "0"}, {"t": at(60).isoformat(), "capital": "9.72"},
        {"t": at(120).isoformat(), "capital": "29.02"}, {"t": at(400).isoformat(), "capital": "19.3"},
        {"t": END.isoformat(), "capital": "19.3"},
    ]
    assert [(p["t"], p["locked"], p["realised"], p["net"]) for p in report["pnl"]] == [
        (T0.isoformat(), "0", "0", "0"), (at(60).isoformat(), "0.28", "0", "0.28"),
        (at(120).isoformat(), "0.98", "0", "0.98"), (at(200).isoformat(), "0.98", "-1.15", "-0.17"),
        (at(400).isoformat(), "0.98", "-0.87", "-0.17"), (END.isoformat(), "0.98", "-0.87", "-0.17"),
    ]


def test_trades_refusals_opportunities_and_breakdowns() -> None:
    attempts, trades = ledger_inputs()
    report = facts_of(attempts, trades).report()
    rows = report["trades"]
    assert [(r["state"], r["league"], r["pair"], r["cost"], r["locked_pnl"], r["realised_pnl"]) for r in rows] == [
        ("HEDGED", "nba", "kalshi/polymarket", "9.72", "0.28", "0.28"),
        ("HEDGED", "nhl", "kalshi/polymarket_us", "19.3", "0.7", "0"),
        ("ROLLED_BACK", "nba", "kalshi/polymarket", "5.1", "0", "-1.15"),
    ]
    assert rows[0]["time"] == at(59).isoformat() and rows[0]["ended"] == at(60).isoformat()
    # Each trade names its game and mapping (stable across runs: what a live run is compared on).
    assert [(r["game"], r["mapping_id"]) for r in rows] == [(f"G-{m.id}", m.id) for m in (NBA, NHL, NBA)]
    assert not any(a.id in json.dumps(report) for a in attempts)
    assert report["refusals"] == {"total": 3, "by_reason": {"roi_below_min": 2, "stale_book": 1},
                                  "checks_by_reason": {"roi_below_min": 9}}
    opp = report["opportunities"]
    # Lifetimes 10 s, 20 s and 500 s (open from t=100 to the end at t=600).
    assert opp["count"] == 3 and opp["open_at_end"] == 1
    assert opp["lifetime_seconds"] == {"p50": 20.0, "p90": 500.0, "max": 500.0}
    assert opp["steps"] == {"closed": 2, "opened": 3, "updated": 2}
    roi = {b["from"]: b["count"] for b in opp["roi_pct_histogram"]}
    assert roi["3"] == 1 and roi["1"] == 1 and roi["2"] == 1 and sum(roi.values()) == 3  # best ROI 4.1, 1.2, 2.5
    edge = {b["from"]: b["count"] for b in opp["edge_histogram"]}
    assert edge["0.25"] == 2 and edge["0.1"] == 1  # best edges 0.40, 0.10, 0.30
    assert report["by_league"] == {
        "nba": {"opportunities": 2, "refusals": 2, "attempts": 2, "hedged": 1, "locked_pnl": "0.28",
                "realised_pnl": "-0.87"},
        "nhl": {"opportunities": 1, "refusals": 1, "attempts": 1, "hedged": 1, "locked_pnl": "0.7",
                "realised_pnl": "0"},
    }
    assert set(report["by_venue_pair"]) == {"kalshi/polymarket", "kalshi/polymarket_us"}
    assert report["settings"] == {"executor": {"max_bet": "25", "min_roi": "0.5"}, "latency_ms": {"kalshi": 60}}
    assert report["skipped"] == [{"path": "kalshi/part-7.parquet", "reason": "truncated"}]


def test_identical_inputs_give_a_byte_identical_report(tmp_path: Path) -> None:
    first = write_report(tmp_path / "one", facts_of(*ledger_inputs()).report()).read_bytes()
    attempts, trades = ledger_inputs()
    second = write_report(tmp_path / "two", facts_of(attempts[::-1], trades[::-1]).report()).read_bytes()
    assert first == second  # other uuids, other input order: the same bytes
    assert first.endswith(b"\n") and b": " not in first
    changed = facts_of(*ledger_inputs(), extra_events=[
        OpportunityRefused("opp-x", "x", RefusalReason.BET_SIZE, "", at(300))]).report()
    assert dumps(changed).encode() != first


def test_published_trade_events_stand_for_the_rows_when_none_are_given() -> None:
    attempts, trades = ledger_inputs()
    events = [TradeEvent("x", TradeStatus(t.status), t.timestamp, bet_size=t.bet_size, pnl=t.pnl,
                         attempt_id=t.attempt_id, position_id=t.position_id or "1", trade_id=t.id)
              if t.position_id else
              TradeEvent("x", TradeStatus(t.status), t.timestamp, bet_size=t.bet_size, pnl=t.pnl,
                         attempt_id=t.attempt_id, trade_id=t.id)
              for t in trades]
    from_rows = facts_of(attempts, trades).report()
    from_events = facts_of(attempts, None, extra_events=events).report()
    from_events.pop("published")
    from_rows.pop("published")
    assert from_events == from_rows


def test_an_empty_replay_reports_zeros() -> None:
    facts = ReplayFacts()
    facts.finish(attempts=[], mappings=[], start=None, end=None, book_updates=0)
    report = facts.report()
    assert report["summary"]["locked_pnl"] == "0" and report["summary"]["worst_drawdown"] == "0"
    assert report["pnl"] == [] and report["capital"] == [] and report["trades"] == []
    line = json.loads(headline_line(report, 2.0))
    assert line["speed_factor"] == 0.0 and line["opportunities_seen"] == 0


def test_the_headline_line_carries_the_speed_factor() -> None:
    report = facts_of(*ledger_inputs()).report()
    line = json.loads(headline_line(report, 4.0))
    assert line["speed_factor"] == 150.0  # 600 s replayed in 4 s
    assert line["locked_pnl"] == "0.98" and "\n" not in headline_line(report, 4.0)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []
        self.tags = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags += 1
        if tag in ("script", "link"):
            self.srcs += [v or "" for k, v in attrs if k in ("src", "href")]


def test_the_html_report_is_self_contained(tmp_path: Path) -> None:
    report = facts_of(*ledger_inputs()).report()
    path = write_html(tmp_path, report)
    text = path.read_text(encoding="utf-8")
    parser = _Scripts()
    parser.feed(text)
    parser.close()
    assert parser.tags > 10
    assert not [s for s in parser.srcs if s.startswith(("http://", "https://", "//"))]
    assert "Bokeh" in text and "cdn.bokeh.org" not in text
    # The headline and the breakdown are in the page as text.
    assert "0.98" in text and "kalshi/polymarket_us" in text and "roi_below_min" in text


def test_the_html_report_of_an_empty_replay_opens(tmp_path: Path) -> None:
    facts = ReplayFacts()
    facts.finish(attempts=[], mappings=[], start=None, end=None, book_updates=0)
    text = write_html(tmp_path, facts.report()).read_text(encoding="utf-8")
    assert "No trade" in text


def test_the_collector_writes_its_report_like_write_report(tmp_path: Path) -> None:
    facts = facts_of(*ledger_inputs())
    report = facts.report()
    assert facts.write(tmp_path / "a", report).read_text() == dumps(report)
