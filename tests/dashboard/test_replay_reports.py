"""The /charts page's replay reports, headless: the list under ``EXECUTOR_REPLAY_REPORTS``,
a picked report's figures and P&L beside the live chart, and a bad report's one line.

The reports are written by the replay's own writer from the hand-worked inputs of
``tests/worker/replay/report_samples.py`` (locked $0.98, realised −$0.87, net −$0.17,
worst drawdown $1.15, peak capital $29.02)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard.views.replay import NONE, BadReport, list_reports, load_report
from tests.dashboard.conftest import replay
from tests.dashboard.protocol import init
from tests.worker.replay.report_samples import facts_of, ledger_inputs
from worker.replay.facts import write_report
from worker.replay.report_html import write_html


def write_reports(root: Path) -> None:
    report = facts_of(*ledger_inputs()).report()
    write_report(root / "good", report)
    write_html(root / "good", report)
    (root / "broken").mkdir()
    (root / "broken" / "report.json").write_text("{not json")
    (root / "no-pnl").mkdir()
    (root / "no-pnl" / "report.json").write_text('{"summary": {}}')
    (root / "empty-dir").mkdir()  # no report.json: not listed
    os.utime(root / "good" / "report.json", (2_000_000_000, 2_000_000_000))  # the newest


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "replays"
    root.mkdir()
    write_reports(root)
    monkeypatch.setenv("EXECUTOR_REPLAY_REPORTS", str(root))
    return root


def test_the_reports_with_a_report_json_are_listed_newest_first(reports: Path) -> None:
    names = list_reports(reports)
    assert names[0] == "good" and sorted(names) == ["broken", "good", "no-pnl"]
    assert list_reports(reports / "missing") == []


def test_a_picked_report_shows_its_figures_and_p_and_l_beside_the_live_chart(feed, page, reports: Path) -> None:
    p = page("charts")
    replay(feed, p, init())
    view = p.view.replay
    assert view.select.options[:2] == [NONE, "good"] and sorted(view.select.options[2:]) == ["broken", "no-pnl"]
    assert not view.column.visible
    view.select.value = "good"
    assert view.column.visible and view.chart.visible
    shown = view.summary.object
    for figure in ("+$0.98", "-$0.87", "-$0.17", "$1.15", "$29.02", "HEDGED 2", "ROLLED_BACK 1"):
        assert figure in shown, figure
    assert view.src.data["net"] == [0.0, 0.28, 0.98, -0.17, -0.17, -0.17]
    assert view.src.data["locked_s"][-1] == "+$0.98"
    assert view.download.visible and view.download.file == str(reports / "good" / "report.html")
    assert str(reports / "good" / "report.html") in view.where.object and view.note.object == ""
    # The live P&L chart is still there, beside it.
    assert p.view.panes["pnl"] in p.view.layout.objects[2].objects[0].objects


@pytest.mark.parametrize(("name", "says"), [("broken", "not JSON"), ("no-pnl", "no summary or pnl")])
def test_a_bad_report_says_why_in_one_line(feed, page, reports: Path, name: str, says: str) -> None:
    p = page("charts")
    replay(feed, p, init())
    view = p.view.replay
    view.select.value = "good"
    view.select.value = name
    assert not view.column.visible
    assert "replay-error" in view.note.object and says in view.note.object
    view.select.value = NONE
    assert not view.column.visible and view.note.object == ""


def test_a_report_removed_after_listing_is_a_message_and_names_cannot_leave_the_directory(reports: Path) -> None:
    with pytest.raises(BadReport, match="no report named"):
        load_report(reports, "../replays/good")
    with pytest.raises(BadReport, match="cannot read"):
        load_report(reports, "gone")
    assert load_report(reports, "good").summary["locked_pnl"] == "0.98"


def test_without_reports_the_page_says_where_they_would_be(feed, page, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXECUTOR_REPLAY_REPORTS", str(tmp_path / "none"))
    p = page("charts")
    replay(feed, p, init())
    assert p.view.replay.select.options == [NONE]
    assert "No replay report in" in p.view.replay.note.object
    # Reports written later appear on reload.
    write_reports(tmp_path / "none")
    p.view.replay.reload.clicks += 1
    assert "good" in p.view.replay.select.options
