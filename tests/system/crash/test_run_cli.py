"""``python -m worker run``: the headless paper run's summary, and SIGTERM's orderly stop."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.support.waiting import wait_until_blocking
from tests.system.crash.test_sigkill import World

pytestmark = pytest.mark.timeout(180)


def test_sigterm_stops_admitting_lets_attempts_end_and_prints_the_summary(tmp_path: Path) -> None:
    world = World(tmp_path / "w", seed=3)
    try:
        proc = world.worker(duration=120)
        log = world.root / "worker.log"

        def trading() -> bool:
            assert proc.poll() is None, "the run exited before trading"
            return "held: trading" in (log.read_text() if log.exists() else "")

        # Stop it once it trades (its log says so); the lease line is the event we wait on.
        wait_until_blocking(trading, 60, "the run trading")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 0
        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert set(summary) >= {"opportunities_seen", "attempts", "pnl", "refusals", "clean_shutdown"}
        assert summary["clean_shutdown"] is True
        assert summary["duration_s"] < 60  # stopped by the signal, not by --duration
        con = world.db()
        try:
            states = {r[0] for r in con.execute("SELECT state FROM arbitrage_attempts")}
        finally:
            con.close()
        assert not states & {"PLANNED", "LEG1_SENT", "LEG1_FILLED", "LEG2_SENT", "UNWINDING"}
        assert "Traceback" not in (world.root / "worker.log").read_text()
    finally:
        world.close()
