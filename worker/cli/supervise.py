"""``python -m worker supervise [-- COMMAND …]``: run the worker, restart it when it exits.

The Procfile's ``worker:`` line. Under ``honcho`` (``make run``) a process that exits stops
every other one, so a crashing worker would take the dashboard and the paper exchange down
with it; this keeps the ``worker:`` process alive instead:

* the worker (default ``python -m worker``, or ``COMMAND``) is restarted whenever it exits,
  after a pause of 1 s, doubling after each quick exit up to 30 s, back to 1 s once a run
  lasted ``--reset-after`` seconds (default 60);
* exit 78 (``EX_CONFIG``: a configuration error — restarting cannot help) is not restarted:
  the supervisor says so and exits 78 itself (honcho then stops the others: fix the
  configuration and start again);
* SIGTERM / SIGINT are passed to the worker, which stops in order; the supervisor then
  exits with the worker's code and restarts nothing. On Linux the worker also gets SIGTERM
  if the supervisor itself is killed, so no worker is left running unsupervised.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from types import FrameType

from worker.clock import SYSTEM_CLOCK

EX_CONFIG = 78


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGTERM this process when the supervisor dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def say(text: str) -> None:
    print(f"supervise: {text}", file=sys.stderr, flush=True)


class Supervisor:
    """Runs ``command`` until told to stop (see the module docstring)."""

    def __init__(self, command: list[str], initial_backoff: float, max_backoff: float, reset_after: float) -> None:
        self.command = command
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.reset_after = reset_after
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self._wake = threading.Event()

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)
        self._wake.set()

    def run(self) -> int:
        backoff = self.initial_backoff
        while True:
            started = SYSTEM_CLOCK.monotonic()
            self.child = subprocess.Popen(
                self.command, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None
            )
            if self.stopping:  # a signal arrived while it was being started
                self.child.send_signal(signal.SIGTERM)
            code = self.child.wait()
            ran = SYSTEM_CLOCK.monotonic() - started
            if self.stopping:
                return code if code >= 0 else 128 - code
            if code == EX_CONFIG:
                say(f"the worker {_describe(code)} (configuration error): not restarting; "
                    "fix the configuration (its message is above) and start again")
                return EX_CONFIG
            if ran >= self.reset_after:
                backoff = self.initial_backoff
            say(f"the worker {_describe(code)} after {ran:.1f} s; restarting in {backoff:g} s")
            if self._wake.wait(backoff) or self.stopping:
                return 0
            backoff = min(backoff * 2, self.max_backoff)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker supervise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--initial-backoff", type=float, default=1.0, help="first pause before a restart (s)")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest pause before a restart (s)")
    parser.add_argument("--reset-after", type=float, default=60.0,
                        help="a run this long (s) resets the pause to --initial-backoff")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND … (default: python -m worker)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else list(args.command)
    if not command:
        command = [sys.executable, "-m", "worker"]
    if not 0 < args.initial_backoff <= args.max_backoff:
        parser.error("need 0 < --initial-backoff <= --max-backoff")
    supervisor = Supervisor(command, args.initial_backoff, args.max_backoff, args.reset_after)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, supervisor.on_signal)
    return supervisor.run()
