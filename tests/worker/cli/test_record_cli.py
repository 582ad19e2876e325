"""``python -m worker record``'s arguments, and stopping a paper exchange a command started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from worker.cli import record
from worker.cli.run import stop_paper_exchange


@pytest.mark.parametrize(("argv", "says"), [
    (["--duration", "nan"], "--duration: must be a finite number of seconds above 0, got 'nan'"),
    (["--duration", "inf"], "--duration: must be a finite number of seconds above 0, got 'inf'"),
    (["--duration", "-5"], "--duration: must be a finite number of seconds above 0, got '-5'"),
    (["--duration", "0"], "--duration: must be a finite number of seconds above 0, got '0'"),
    (["--duration", "soon"], "--duration: expected a number of seconds, got 'soon'"),
    (["--listing-s", "nan"], "--listing-s: must be a finite number of seconds above 0, got 'nan'"),
])
def test_bad_seconds_are_refused_by_the_parser(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        record.main(["--out", str(tmp_path / "rec"), *argv])
    assert exited.value.code == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "rec").exists()


def test_an_out_directory_that_cannot_be_created_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exited:
        record.main(["--out", str(blocker / "rec"), "--duration", "1"])
    assert exited.value.code == 2
    assert f"--out: {blocker} is not a directory" in capsys.readouterr().err


def _child(ignore_term: bool) -> subprocess.Popen[bytes]:
    code = "import signal, sys, time\n"
    if ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "sys.stdout.write('ready\\n'); sys.stdout.flush(); time.sleep(60)\n"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    return child


def test_stopping_the_paper_exchange_terminates_it() -> None:
    child = _child(ignore_term=False)
    stop_paper_exchange(child)
    assert child.stdout is not None
    child.stdout.close()
    assert child.returncode == -15  # SIGTERM was enough


def test_a_paper_exchange_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    child = _child(ignore_term=True)
    stop_paper_exchange(child, timeout_s=0.3)
    assert child.stdout is not None
    child.stdout.close()
    assert child.returncode == -9
