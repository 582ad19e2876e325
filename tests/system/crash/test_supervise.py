"""``python -m worker supervise`` (the Procfile's ``worker:`` line): a worker that exits is
restarted with a growing pause; a configuration error (exit 78) is not; a stop is passed
on; under honcho the other processes keep running while the worker crashes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.waiting import wait_until_blocking

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def child_script(tmp_path: Path, body: str) -> list[str]:
    """A stand-in worker: appends one line per run to ``runs`` and then does ``body``
    (``n`` is this run's number, from 1)."""
    runs = tmp_path / "runs"
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import signal, sys, time
            from pathlib import Path
            runs = Path({str(runs)!r})
            with runs.open("a") as f:
                f.write(f"{{time.monotonic()}}\\n")
            n = len(runs.read_text().splitlines())
            """
        )
        + textwrap.dedent(body)
    )
    return [sys.executable, str(script)]


def runs(tmp_path: Path) -> list[float]:
    path = tmp_path / "runs"
    return [float(x) for x in path.read_text().split()] if path.exists() else []


def supervise(*args: str, command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "supervise", *args, "--", *command],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def pauses(stderr: str) -> list[float]:
    return [float(x) for x in re.findall(r"restarting in ([0-9.]+) s", stderr)]


def test_a_worker_that_exits_1_is_restarted_with_doubling_pauses_and_78_is_not(tmp_path: Path) -> None:
    command = child_script(tmp_path, "sys.exit(1 if n < 4 else 78)\n")
    proc = supervise("--initial-backoff", "0.2", "--max-backoff", "0.5", command=command)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 78, err
    starts = runs(tmp_path)
    assert len(starts) == 4  # three restarts after exit 1, none after 78
    assert pauses(err) == [0.2, 0.4, 0.5]  # doubling, capped
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.5, gaps
    assert err.count("exited with code 1") == 3
    assert "exited with code 78 (configuration error): not restarting" in err


def test_the_pause_resets_after_a_run_that_lasted(tmp_path: Path) -> None:
    # Runs 1-2 exit at once; run 3 lasts 2.5 s (> --reset-after 2); run 4 exits 78.
    command = child_script(tmp_path, "time.sleep(2.5 if n == 3 else 0)\nsys.exit(1 if n < 4 else 78)\n")
    proc = supervise("--initial-backoff", "0.1", "--reset-after", "2", command=command)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 78, err
    assert pauses(err) == [0.1, 0.2, 0.1]


def test_sigterm_stops_the_worker_and_restarts_nothing(tmp_path: Path) -> None:
    command = child_script(
        tmp_path,
        """
        def stop(*_):
            Path(str(runs) + ".stopped").write_text("SIGTERM")
            sys.exit(0)
        signal.signal(signal.SIGTERM, stop)
        Path(str(runs) + ".ready").write_text("ready")
        time.sleep(60)
        """,
    )
    proc = supervise(command=command)
    wait_until_blocking((tmp_path / "runs.ready").exists, 30, "the worker's start", every=0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert (tmp_path / "runs.stopped").read_text() == "SIGTERM"
    assert len(runs(tmp_path)) == 1 and "restarting" not in err


def test_sigterm_during_the_pause_ends_at_once(tmp_path: Path) -> None:
    command = child_script(tmp_path, "sys.exit(1)\n")
    proc = supervise("--initial-backoff", "30", command=command)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "…exited with code 1…; restarting in 30 s"
    assert "restarting in 30 s" in line
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    assert time.monotonic() - sent < 5
    assert proc.returncode == 0 and len(runs(tmp_path)) == 1


def test_the_real_worker_with_a_configuration_error_is_not_restarted(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if not k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))}
    env.update(EXECUTOR_DATA_DIR=str(tmp_path), EXECUTOR_PORT="http")
    proc = subprocess.run([sys.executable, "-m", "worker", "supervise"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 78
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("configuration error: EXECUTOR_PORT")
    assert "not restarting" in lines[1]


@pytest.mark.timeout(120)
def test_under_honcho_a_crashing_worker_does_not_stop_the_other_processes(tmp_path: Path) -> None:
    honcho = Path(sys.executable).with_name("honcho")
    if not honcho.exists():
        pytest.skip("honcho is not installed in this environment")
    crash = child_script(tmp_path, "sys.exit(1)\n")
    alive = tmp_path / "other.alive"
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"worker: {sys.executable} -m worker supervise --initial-backoff 0.1 --max-backoff 0.2 -- {' '.join(crash)}\n"
        f"other: {sys.executable} -c \"import pathlib, time; pathlib.Path({str(alive)!r}).write_text('up'); time.sleep(120)\"\n"
    )
    proc = subprocess.Popen([str(honcho), "start", "-f", str(procfile), "-d", str(ROOT)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_blocking(lambda: len(runs(tmp_path)) >= 4 and alive.exists(), 60, "three restarts of the crashing worker",
                   every=0.05)
        assert proc.poll() is None  # honcho (and so the other process) still runs
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "restarting in" in out
