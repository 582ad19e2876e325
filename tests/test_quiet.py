"""tests/support/quiet.py: one worker's request for a quiet machine holds the others' next
tests until it ends (two processes, as xdist runs them)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from tests.support.quiet import _shared, pause_if_asked, quiet_machine
from tests.system.crash.test_sigkill import REPO

PAUSER = "from tests.support.quiet import pause_if_asked; pause_if_asked(); print('went on', flush=True)"


def test_a_request_holds_the_other_worker_until_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    run = f"quiet-test-{uuid.uuid4().hex}"  # not this pytest run's own id: its workers go on
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", run)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw1"}
    with quiet_machine(settle_s=1) as paused:
        other = subprocess.Popen([sys.executable, "-c", PAUSER], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert paused == 0  # it started after the request settled: nobody had paused yet
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(timeout=2)  # held while the request stands
    out, _ = other.communicate(timeout=30)
    assert out == "went on\n"


def test_the_request_waits_for_the_others_to_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    run = f"quiet-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", run)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw0"}
    # gw0 asks for quiet and reports how many paused; this process (gw1) then pauses.
    asker = (
        "from tests.support.quiet import quiet_machine\n"
        "with quiet_machine(settle_s=30) as n: print(n, flush=True)\n"
    )
    other = subprocess.Popen([sys.executable, "-c", asker], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    shared = _shared()
    assert shared is not None
    folder = shared[0]
    for _ in range(300):  # the asker's request file appears within its start-up
        if any(folder.glob("request-gw0")):
            break
        time.sleep(0.1)
    pause_if_asked()  # returns once the asker has run its body and withdrawn its request
    out, _ = other.communicate(timeout=30)
    assert out == "1\n"
