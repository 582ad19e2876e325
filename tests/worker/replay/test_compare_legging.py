"""``python -m worker replay DIR --out R --compare-legging`` on a recording with injected
leg-2 failures: the adjustment refuses the trades whose second leg keeps failing, so the
run with it unwinds less.

The recording (the driver test's game: Kalshi "Houston wins" YES against Gamma's Kings
token) repeats one trap every 2 s: the Kings token is offered at 0.50 (500 deep) while
Kalshi YES asks 0.45 (60 deep), an edge of 1 − 0.95 less fees; 50 ms later the Kings offer
is pulled (ask 0.70). Kalshi, the thinner leg, goes first and fills at t + 100 ms; the
Kings order arrives at t + 200 ms and finds 0.70: leg 2 fails and the Kalshi leg is sold
back at its bid, 0.38, a loss of 7 cents a contract. The books recorded say so too: every
sample taken when the offer appears fails, at that cost, so the expected edge is below
zero and ``min_roi`` refuses it when legging risk is priced.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.worker.replay.test_driver import (
    GAMMA,
    KALSHI,
    KINGS_REF,
    ROCKETS_REF,
    T0,
    kalshi_books,
    token_book,
)
from worker.cli import replay as replay_cli
from worker.domain.markets import Venue
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter

CYCLES = 30
PERIOD_S = 2


def record(directory: Path) -> None:
    writer = RecordWriter(directory, 10**9, poll_s=0.01)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (KALSHI,)))
    writer.offer(ListingSnapshot(Venue.POLYMARKET, T0, (GAMMA,)))
    events: list[RecordedBook] = []
    for k in range(CYCLES):
        t = T0 + timedelta(seconds=1 + PERIOD_S * k)
        # Mid-cycle (and at the start) the other books are sent again, so none is stale.
        for at in (t - timedelta(seconds=1), t + timedelta(seconds=1) - timedelta(milliseconds=500)):
            events += kalshi_books(at, "0.38", "0.45", "60")
            events.append(token_book(ROCKETS_REF, at, "0.48", "0.62", "500"))
        events.append(token_book(KINGS_REF, t, "0.38", "0.50", "500"))  # the offer appears
        events.append(token_book(KINGS_REF, t + timedelta(milliseconds=50), "0.38", "0.70", "500"))  # pulled
    for event in sorted(events, key=lambda e: e.book.received_at):
        writer.offer(event)
    writer.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXECUTOR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("EXECUTOR_SUSPICIOUS_ROI", "1000")


def test_compare_legging_unwinds_less_with_the_adjustment(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    record(rec)
    settings = tmp_path / "settings.json"
    settings.write_text('{"min_roi": 1, "max_bet": 10, "max_daily_loss": 1000}', encoding="utf-8")
    argv = [str(rec), "--out", str(out), "--settings", str(settings), "--latency-ms", "100", "--compare-legging"]
    assert replay_cli.main(argv) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    result = json.loads((out / "compare.json").read_text())
    assert printed == result
    without, with_ = result["without"], result["with"]
    # Without the adjustment the trap is taken again and again and unwound each time leg 1
    # fills (an attempt whose leg 1 finds the depth our earlier ones took fails, unfilled).
    assert without["unwinds"] >= 5 and without["unwinds"] == without["rolled_back"]
    assert without["hedged"] == 0
    assert Decimal(without["realised_pnl"]) < 0
    # With it, min_roi applies to the expected edge: nothing is taken, nothing unwound.
    assert with_["unwinds"] < without["unwinds"]
    assert with_["attempts"] == 0 and with_["stranded"] == 0
    assert with_["refusals"].get("roi_below_min", 0) > 0
    # The estimates: one sample each time the offer appears, and the failures among them.
    assert result["legging"]["failures"] >= CYCLES - 1
    for name in ("without", "with"):
        report = json.loads((out / name / "report.json").read_text())
        assert report["summary"]["attempts"] == result[name]["attempts"]
        assert report["settings"]["executor"]["min_roi"] == "1"
        assert report["settings"]["risk"]["price_legging_risk"] is (name == "with")
    assert json.loads((out / "with" / "report.json").read_text())["summary"]["attempts"] == 0


def test_compare_legging_does_not_combine_with_a_sweep(env: None, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rec, out = tmp_path / "rec", tmp_path / "out"
    record(rec)
    argv = [str(rec), "--out", str(out), "--settings", str(tmp_path / "none.json"),
            "--compare-legging", "--sweep", "min_roi=1,2"]
    (tmp_path / "none.json").write_text("{}", encoding="utf-8")
    assert replay_cli.main(argv) == 2
    assert "--compare-legging" in capsys.readouterr().err
    assert not out.exists()
