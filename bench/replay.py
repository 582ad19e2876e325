"""Replay speed: how many times faster than real time a recording replays.

    python bench/replay.py RECORDING_DIR [--settings FILE] [--runs N]
    python bench/replay.py --record-s 120          # record the paper world first, then replay

Runs ``python -m worker replay DIR --out TMP`` as a user does (a process of its own: its
start, reading the Parquet parts, the engine and both reports all count) and prints, per
run, the recorded span, the wall time, the ``speed_factor`` the command printed (recorded
span ÷ its wall time) and the process's own wall time including interpreter start, then
whether two runs wrote byte-identical ``report.json`` files.

The goal (issue 23): one recorded hour of the paper world (all games, all three venues;
``python -m worker record --out DIR --duration 3600``) in under 36 s on 2 cores, i.e. a
speed factor of at least 100. Without a directory the bench records ``--record-s``
seconds of the paper world first (a paper exchange is started if none answers), so the
figure it prints is for that shorter span.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def record(out: Path, seconds: float, env: dict[str, str]) -> None:
    print(f"recording {seconds:.0f} s of the paper world into {out} …", flush=True)
    subprocess.run(
        [sys.executable, "-m", "worker", "record", "--out", str(out), "--duration", str(seconds)],
        check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
    )


def replay(directory: Path, out: Path, settings: str | None, env: dict[str, str]) -> tuple[dict[str, object], float]:
    cmd = [sys.executable, "-m", "worker", "replay", str(directory), "--out", str(out)]
    if settings:
        cmd += ["--settings", settings]
    began = time.perf_counter()
    done = subprocess.run(cmd, check=True, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - began
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", help="a recording (default: record one first)")
    parser.add_argument("--settings", help="JSON settings file for the replay")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--record-s", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        env = dict(os.environ)
        env.setdefault("EXECUTOR_DATA_DIR", str(Path(tmp) / "data"))
        env.setdefault("EXECUTOR_DATABASE_URL", f"sqlite+aiosqlite:///{Path(tmp) / 'executor.db'}")
        env.setdefault("EXECUTOR_SUSPICIOUS_ROI", "1000")
        directory = Path(args.directory) if args.directory else Path(tmp) / "recording"
        if not args.directory:
            record(directory, args.record_s, env)
        settings = args.settings
        if settings is None:  # the replay reads the database's settings otherwise
            settings = str(Path(tmp) / "settings.json")
            Path(settings).write_text('{"min_roi": 1, "max_bet": 10}')
        reports = []
        for n in range(args.runs):
            out = Path(tmp) / f"report-{n}"
            line, wall = replay(directory, out, settings, env)
            reports.append(out / "report.json")
            print(
                f"run {n + 1}: span {line.get('span_seconds')} s, replay {line.get('wall_s')} s, "
                f"speed_factor {line.get('speed_factor')}x, process {wall:.1f} s, "
                f"book updates {line.get('book_updates')}, attempts {line.get('attempts')} {line.get('attempts_by_state')}, "
                f"locked P&L {line.get('locked_pnl')}",
                flush=True,
            )
        if len(reports) > 1:
            same = all(filecmp.cmp(reports[0], r, shallow=False) for r in reports[1:])
            print(f"report.json byte-identical across runs: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
