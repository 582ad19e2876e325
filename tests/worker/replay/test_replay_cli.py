"""``python -m worker replay`` on bad input: exit 2, one ``replay: …`` line, no report."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.worker.replay.samples import T0, market, ref, update
from worker.cli import replay as replay_cli
from worker.domain.markets import Venue
from worker.replay.recording import ListingSnapshot
from worker.replay.writer import RecordWriter

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small valid recording of Kalshi and Polymarket, and a private environment."""
    for key in [k for k in os.environ if k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EXECUTOR_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.db'}")
    out = tmp_path / "rec"
    writer = RecordWriter(out, 10**9, poll_s=0.01)
    writer.start()
    for venue in (Venue.KALSHI, Venue.POLYMARKET):
        writer.offer(ListingSnapshot(venue, T0, (market(venue),)))
        writer.offer_update(venue, update(ref(venue), T0 + timedelta(seconds=1)))
    writer.close()
    return out


def _json(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _cases(tmp_path: Path, rec: Path) -> dict[str, tuple[list[str], str]]:
    ok = _json(tmp_path, "ok.json", '{"min_roi": 0.5}')
    (tmp_path / "notrec").mkdir()
    (tmp_path / "notrec" / "readme.txt").write_text("hello")
    return {
        "not a recording": ([str(tmp_path / "notrec"), "--settings", ok], "must hold Kalshi and a Polymarket venue"),
        "no such directory": ([str(tmp_path / "nowhere"), "--settings", ok], "no recording at"),
        "--from without a zone": ([str(rec), "--settings", ok, "--from", "2026-03-01T18:00:00"], "--from:"),
        "--from after --to": ([str(rec), "--settings", ok, "--from", "2026-03-01T19:00:00Z",
                               "--to", "2026-03-01T18:00:00Z"], "--from must be before --to"),
        "settings not JSON": ([str(rec), "--settings", _json(tmp_path, "bad.json", "{min_bet: 1")], "is not JSON"),
        "min_bet above max_bet": ([str(rec), "--settings", _json(tmp_path, "minmax.json",
                                   '{"min_bet": 50, "max_bet": 10}')], "--settings:"),
        "latency not a number": ([str(rec), "--settings", ok, "--latency-ms", "abc"], "--latency-ms:"),
        "balance not an amount": ([str(rec), "--settings", ok, "--balance", "-5"], "--balance:"),
        "decision lag not a number": ([str(rec), "--settings", ok, "--decision-ms", "-5"], "--decision-ms:"),
        "decision lag in other digits": ([str(rec), "--settings", ok, "--decision-ms", "\u00b2"], "--decision-ms:"),
        "--from after the recording": ([str(rec), "--settings", ok, "--from", "2030-01-01T00:00:00Z"],
                                       "after the recording's end"),
        "no settings and no database": ([str(rec)], "no database at"),
    }


@pytest.mark.parametrize("case", [
    "not a recording", "no such directory", "--from without a zone", "--from after --to", "settings not JSON",
    "min_bet above max_bet", "latency not a number", "balance not an amount", "--from after the recording",
    "no settings and no database",
])
def test_bad_input_exits_2_with_one_line_and_writes_no_report(
    case: str, recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, says = _cases(tmp_path, recording)[case]
    out = tmp_path / "report"
    assert replay_cli.main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replay: ") and says in lines[0], captured.err
    assert captured.out == ""
    assert not out.exists()  # nothing written, not even the directory
    assert not (tmp_path / "none.db").exists()  # the database is read, never created


def test_the_command_exits_2_as_a_process(recording: Path, tmp_path: Path) -> None:
    """The status reaches the shell, and stderr holds only the one line."""
    ok = _json(tmp_path, "ok.json", '{"min_roi": 0.5}')
    proc = subprocess.run(
        [sys.executable, "-m", "worker", "replay", str(recording), "--out", str(tmp_path / "r"), "--settings", ok,
         "--latency-ms", "abc"],
        cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["replay: --latency-ms: 'abc' is not a whole number of milliseconds in 0..60000"]
    assert not (tmp_path / "r" / "report.json").exists()


def test_the_replay_command_does_not_load_the_workers_venue_clients_or_server() -> None:
    """A replay trades on recorded books: importing the command leaves out the composition
    root, its venue clients (and their signing libraries) and the server, which cost
    about a second of every replay's start."""
    probe = ("import sys, worker.cli.replay; "
             "print(sorted(m for m in ('worker.bootstrap', 'worker.venues.polymarket.client', "
             "'worker.venues.kalshi.client', 'worker.api.server', 'eth_account', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"
