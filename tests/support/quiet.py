"""A quiet machine for the few measurements that need one, under ``pytest -n``.

The live-vs-replay comparison (``tests/system/replay/test_replay_end_to_end.py``) measures
how closely a replay reproduces a live worker's trades. A live worker on a machine whose
cores are busy with other tests' browsers and servers decides later than the books it saw
(seen in CI: 146 ms late on a 2-core machine, enough to miss a fill that a replay makes),
so it would measure the machine, not the replay. :func:`quiet_machine` asks the other
xdist workers to start no new test while it runs; :func:`pause_if_asked`, called before
every test's setup (``tests/conftest.py``), honours the request. Tests already running go
on to their end; the request waits for the others to pause, at most ``settle_s``. When it
ends, the paused workers go on a few seconds apart, not in one burst.

Without xdist (one process) both are no-ops. The workers of one run share a directory
named by xdist's ``PYTEST_XDIST_TESTRUNUID``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: How long a paused worker waits for the request to end before it goes on regardless.
PAUSE_LIMIT_S = 300.0
#: The polling period of both sides (file checks between processes: nothing to await).
POLL_S = 0.2
#: Seconds between paused workers going on again (``gw1`` after one, ``gw2`` after two …).
STAGGER_S = 4.0


def _shared() -> tuple[Path, str, int] | None:
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not (run and worker and count):
        return None
    folder = Path(tempfile.gettempdir()) / f"executor-quiet-{run}"
    folder.mkdir(exist_ok=True)
    return folder, worker, int(count)


@contextlib.contextmanager
def quiet_machine(settle_s: float = 60.0) -> Iterator[int]:
    """Hold the other workers' next tests while the body runs; yields how many paused."""
    shared = _shared()
    if shared is None:
        yield 0
        return
    folder, worker, count = shared
    request = folder / f"request-{worker}"
    request.touch()
    try:
        deadline = time.monotonic() + settle_s
        paused = 0
        while time.monotonic() < deadline:
            paused = len(list(folder.glob("paused-*")))
            if paused >= count - 1:
                break
            time.sleep(POLL_S)
        yield paused
    finally:
        request.unlink(missing_ok=True)


def pause_if_asked() -> None:
    """Wait, before a test starts, while another worker asks for a quiet machine."""
    shared = _shared()
    if shared is None:
        return
    folder, worker, _ = shared
    if not any(p.name != f"request-{worker}" for p in folder.glob("request-*")):
        return
    mark = folder / f"paused-{worker}"
    mark.touch()
    try:
        deadline = time.monotonic() + PAUSE_LIMIT_S
        while time.monotonic() < deadline and any(p.name != f"request-{worker}" for p in folder.glob("request-*")):
            time.sleep(POLL_S)
    finally:
        mark.unlink(missing_ok=True)
    # The paused workers go on one after another, not all at once (their next tests may
    # each start a stack of processes, a burst that slows the tests still running).
    time.sleep(STAGGER_S * int("".join(c for c in worker if c.isdigit()) or 0))
