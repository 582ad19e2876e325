"""``python -m worker replay DIR --out REPORT_DIR --sweep NAME=V1,V2,… [--scheduler ADDRESS]``.

The replay command's sweep branch (:mod:`worker.replay.sweep`): every combination of the
swept settings, on the base settings the replay would use, is checked before anything
runs; then each is replayed as a task of its own — on local processes, or on the Dask
cluster whose scheduler ``--scheduler`` names — into ``REPORT_DIR/runs/NNN/``, and
``REPORT_DIR/sweep.csv`` and ``sweep.html`` are written. Standard output: the rows as a
fixed-width table, then one line of JSON (the output directory, the combinations, the
scheduler or ``local``, the wall time).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.clock import SYSTEM_CLOCK
from worker.replay.driver import ReplayOptions
from worker.replay.sweep import (
    CSV_FILE,
    SweepError,
    SweepFailed,
    connect,
    parse_sweep,
    run_dask,
    run_local,
    sweep_jobs,
    table_text,
    write_outputs,
)

EX_USAGE = 2
EX_FAILED = 1


def sweep_command(specs: Sequence[str] | None, scheduler: str | None, directory: str, out: Path,
                  options: ReplayOptions) -> int:
    """Run the sweep (``options``: the replay's, checked; their settings are the base).
    A bad argument or an unreachable scheduler: one ``replay: …`` line, exit 2, nothing
    written; a failed run: exit 1."""
    began = SYSTEM_CLOCK.monotonic()
    client: Any = None
    try:
        if not specs:
            raise SweepError("--scheduler needs --sweep (a scheduler runs a sweep's combinations)")
        sweep = parse_sweep(specs, options.settings)
        if scheduler is not None:
            client = connect(scheduler)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SweepError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
    except (SweepError, SweepFailed) as exc:
        if client is not None:
            client.close()
        print(f"replay: {exc}", file=sys.stderr)
        return EX_USAGE
    jobs = sweep_jobs(sweep, options, out.resolve())
    absolute = str(Path(directory).resolve())
    try:
        rows = run_local(absolute, jobs) if client is None else run_dask(client, absolute, jobs)
    except SweepFailed as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return EX_FAILED
    write_outputs(out, sweep, rows)
    sys.stdout.write(table_text(sweep.columns, rows))
    summary = {"out": str(out), "csv": str(out / CSV_FILE), "combinations": len(rows),
               "scheduler": scheduler or "local", "wall_s": round(SYSTEM_CLOCK.monotonic() - began, 3)}
    print(json.dumps(summary, sort_keys=True, separators=(",", ":")), flush=True)
    return 0
