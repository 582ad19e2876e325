"""``python -m worker replay DIR --out REPORT_DIR --sweep …`` (settings sweeps).

The recording is the driver test's arbitrage (a Kalshi game-winner market and the Gamma
market of the same game, with a clear edge at T0 + 1 s), refreshed every 20 s up to
T0 + 61 s so that a hedge holds capital over most of the window. Sweeping ``min_roi``
(1: trades; 30: above the edge, refuses) and ``max_bet`` (10 or 20 dollars a trade):

* each combination's row equals what a single replay of that combination's settings
  (the normal ``replay`` command, no sweep code) reports, the figures computed here from
  that single ``report.json`` (capital-days with exact fractions);
* the Dask path (a ``LocalCluster`` of two worker processes) writes the same ``sweep.csv``
  bytes as the local path;
* a bad ``--sweep`` or ``--scheduler`` exits 2 with one ``replay: …`` line and writes
  nothing.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import socket
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

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
from worker.replay import sweep as sweep_module
from worker.replay.recording import ListingSnapshot, RecordedBook
from worker.replay.writer import RecordWriter

MIN_ROI = ("1", "30")
MAX_BET = ("10", "20")
#: The combinations in the order the sweep runs them (the product, the first axis outer).
COMBINATIONS = [(r, b) for r in MIN_ROI for b in MAX_BET]
FIGURE_COLUMNS = ["trades", "hedged", "locked_pnl", "realised_pnl", "worst_drawdown", "capital_days",
                  "roi_per_capital_day_pct"]


def _record(directory: Path) -> None:
    writer = RecordWriter(directory, 10**9, poll_s=0.01)
    writer.start()
    writer.offer(ListingSnapshot(Venue.KALSHI, T0, (KALSHI,)))
    writer.offer(ListingSnapshot(Venue.POLYMARKET, T0, (GAMMA,)))
    events: list[RecordedBook] = []
    for second in (1, 21, 41, 61):
        t = T0 + timedelta(seconds=second)
        events += [token_book(KINGS_REF, t, "0.38", "0.40", "500"), token_book(ROCKETS_REF, t, "0.60", "0.62", "500"),
                   *kalshi_books(t, "0.38", "0.40", "60")]
    for event in events:
        writer.offer(event)
    writer.close()


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The recording, a private environment (no database: settings come from a file) and
    the base settings file."""
    for key in [k for k in os.environ if k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXECUTOR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("EXECUTOR_SUSPICIOUS_ROI", "1000")  # the edge is ~25 %: no confirmation needed
    rec = tmp_path / "rec"
    _record(rec)
    (tmp_path / "base.json").write_text('{"min_bet": 5, "max_daily_loss": 50}', encoding="utf-8")
    return rec


def _sweep_argv(rec: Path, out: Path) -> list[str]:
    return [str(rec), "--out", str(out), "--settings", str(rec.parent / "base.json"), "--latency-ms", "100",
            "--sweep", "min_roi=" + ",".join(MIN_ROI), "--sweep", "max_bet=" + ",".join(MAX_BET)]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _expected_row(report: dict[str, Any]) -> dict[str, Decimal | int | None]:
    """The sweep row's figures, computed from one report.json with exact fractions."""
    s = report["summary"]
    dollar_seconds = Fraction(0)
    points = report["capital"]
    for here, after in zip(points, points[1:], strict=False):
        span = datetime.fromisoformat(after["t"]) - datetime.fromisoformat(here["t"])
        held = Fraction(span.days * 86_400 + span.seconds) + Fraction(span.microseconds, 10**6)
        dollar_seconds += Fraction(Decimal(here["capital"])) * held
    days = dollar_seconds / 86_400
    pnl = Fraction(Decimal(s["locked_pnl"])) + Fraction(Decimal(s["realised_pnl"]))
    roi = None if days == 0 else _round(pnl / days * 100, "0.0001")
    return {"trades": s["attempts"], "hedged": s["hedged"], "locked_pnl": Decimal(s["locked_pnl"]),
            "realised_pnl": Decimal(s["realised_pnl"]), "worst_drawdown": Decimal(s["worst_drawdown"]),
            "capital_days": _round(days, "0.000000001"), "roi_per_capital_day_pct": roi}


def _round(value: Fraction, places: str) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), ROUND_HALF_EVEN)


def _as_figures(row: dict[str, str]) -> dict[str, Decimal | int | None]:
    return {"trades": int(row["trades"]), "hedged": int(row["hedged"]),
            **{k: Decimal(row[k]) for k in ("locked_pnl", "realised_pnl", "worst_drawdown", "capital_days")},
            "roi_per_capital_day_pct": Decimal(row["roi_per_capital_day_pct"]) if row["roi_per_capital_day_pct"]
            else None}


def test_a_sweep_equals_single_replays_of_each_combination(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sweep"
    assert replay_cli.main(_sweep_argv(recording, out)) == 0
    printed = capsys.readouterr().out
    rows = _rows(out / "sweep.csv")
    assert [(r["min_roi"], r["max_bet"]) for r in rows] == [(f"{r}.00", f"{b}.00") for r, b in COMBINATIONS]
    assert [r["run"] for r in rows] == ["001", "002", "003", "004"]
    assert (out / "sweep.html").read_text(encoding="utf-8").count("Settings sweep") >= 1
    # Standard output: the table (every row's run and figures), then one line of JSON.
    lines = printed.strip().splitlines()
    assert lines[0].split() == ["run", "min_roi", "max_bet", *FIGURE_COLUMNS]
    assert [line.split()[0] for line in lines[2:6]] == ["001", "002", "003", "004"]
    assert json.loads(lines[-1])["combinations"] == 4

    for (min_roi, max_bet), row in zip(COMBINATIONS, rows, strict=True):
        single = tmp_path / f"single-{min_roi}-{max_bet}"
        settings = tmp_path / f"settings-{min_roi}-{max_bet}.json"
        settings.write_text(json.dumps({"min_bet": 5, "max_daily_loss": 50, "min_roi": int(min_roi),
                                        "max_bet": int(max_bet)}), encoding="utf-8")
        assert replay_cli.main([str(recording), "--out", str(single), "--settings", str(settings),
                                "--latency-ms", "100"]) == 0
        capsys.readouterr()
        report_bytes = (single / "report.json").read_bytes()
        assert (out / "runs" / row["run"] / "report.json").read_bytes() == report_bytes
        assert (out / "runs" / row["run"] / "report.html").is_file()
        assert _as_figures(row) == _expected_row(json.loads(report_bytes)), (min_roi, max_bet)

    by = {(r["min_roi"], r["max_bet"]): _as_figures(r) for r in rows}
    # The settings make a difference (else equality would prove little): min_roi 30 is
    # above the edge; at min_roi 1 a $20 bet locks more than a $10 one, and capital is
    # in use (so ROI per capital-day is a number).
    assert by[("30.00", "10.00")]["trades"] == by[("30.00", "20.00")]["trades"] == 0
    assert by[("30.00", "10.00")]["roi_per_capital_day_pct"] is None
    small, large = by[("1.00", "10.00")], by[("1.00", "20.00")]
    assert small["hedged"] and large["hedged"]
    assert large["locked_pnl"] > small["locked_pnl"] > 0  # type: ignore[operator]
    assert small["capital_days"] > 0 and small["roi_per_capital_day_pct"] is not None  # type: ignore[operator]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_dask_path_equals_the_local_path(recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tornado = logging.getLogger("tornado").level
    local = tmp_path / "local"
    assert replay_cli.main(_sweep_argv(recording, local)) == 0
    sweep_module._distributed_client()  # Dask imported as the sweep imports it
    from distributed import LocalCluster

    # Importing Dask left this process's other loggers as they were (the server's request
    # log, which other tests in this process read, among them).
    assert logging.getLogger("tornado").level == tornado
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        dask = tmp_path / "dask"
        assert replay_cli.main([*_sweep_argv(recording, dask), "--scheduler", cluster.scheduler_address]) == 0
        workers = set(cluster.scheduler_info["workers"])
    printed = capsys.readouterr().out
    assert json.loads(printed.strip().splitlines()[-1])["scheduler"] == cluster.scheduler_address
    assert len(workers) == 2
    assert (dask / "sweep.csv").read_bytes() == (local / "sweep.csv").read_bytes()
    assert len(_rows(dask / "sweep.csv")) == 4
    for run in ("001", "002", "003", "004"):
        assert (dask / "runs" / run / "report.json").read_bytes() == (local / "runs" / run / "report.json").read_bytes()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD = {
    "unknown setting": (["--sweep", "min_edge=1,2"], "unknown setting 'min_edge'"),
    "not name=values": (["--sweep", "min_roi"], "is not NAME=V1,V2"),
    "empty value": (["--sweep", "min_roi=1,,2"], "empty value"),
    "duplicate value": (["--sweep", "min_roi=1,1.0"], "lists 1.00 twice"),
    "same setting twice": (["--sweep", "min_roi=1", "--sweep", "min_roi=2"], "min_roi is swept twice"),
    "a value refused": (["--sweep", "max_bet=abc"], "--sweep: max_bet=abc: Max bet must be a number"),
    "a combination refused": (["--sweep", "min_roi=1,60"], "min_roi=60.00 is refused: Min ROI must not exceed max ROI"),
    "min above max across axes": (["--sweep", "min_bet=5,15", "--sweep", "max_bet=10,20"],
                                  "min_bet=15.00 max_bet=10.00 is refused"),
    "scheduler without sweep": (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --sweep"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_arguments_exit_2_and_write_nothing(
    case: str, recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra, says = BAD[case]
    out = tmp_path / "report"
    argv = [str(recording), "--out", str(out), "--settings", str(tmp_path / "base.json"), *extra]
    assert replay_cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replay: ") and says in lines[0], captured.err
    assert captured.out == ""
    assert not out.exists()


def test_an_unreachable_scheduler_exits_2_naming_it(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sweep_module, "CONNECT_TIMEOUT_S", 2)
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "report"
    argv = [*_sweep_argv(recording, out), "--scheduler", address]
    assert replay_cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"replay: --scheduler: cannot reach the Dask scheduler at {address}")
    assert not out.exists()


def test_a_job_carries_every_replay_option() -> None:
    """What a task rebuilds from its plain data is the replay's options, risk included."""
    from zoneinfo import ZoneInfo

    from worker.domain.mapping import Confidence
    from worker.domain.settings import DEFAULTS, apply_patch
    from worker.engine.executor import RiskConfig
    from worker.replay.driver import ReplayOptions

    settings = apply_patch(DEFAULTS, {"min_roi": Decimal("2.5"), "max_daily_trades": 7})
    options = ReplayOptions(
        poly_venue=Venue.POLYMARKET_US, settings=DEFAULTS.values(),
        risk=RiskConfig(min_confidence=Confidence.MEDIUM, require_confirmation=True, max_book_age_ms=1500,
                        no_trade_before_start_s=30, day_tz=ZoneInfo("Europe/London"),
                        refuse_cancellation_mismatch=True, suspicious_roi=Decimal("7.25")),
        latency_ms={Venue.KALSHI: 10, Venue.POLYMARKET: 20, Venue.POLYMARKET_US: 30},
        balances={v: Decimal("250.50") for v in Venue},
        start=T0, end=T0 + timedelta(minutes=5), decision_ms=25,
    )
    job = sweep_module.job_of(options, settings, 3, 3, Path("/tmp/out"), {"min_roi": "2.50"})
    import pickle

    rebuilt = sweep_module.options_of(pickle.loads(pickle.dumps(job)))
    assert rebuilt.settings == settings.values()
    assert rebuilt.risk == options.risk
    assert (rebuilt.poly_venue, rebuilt.latency_ms, rebuilt.balances, rebuilt.start, rebuilt.end,
            rebuilt.decision_ms) == (
        options.poly_venue, options.latency_ms, options.balances, options.start, options.end, 25)
    assert job["out"] == "/tmp/out/runs/003"
