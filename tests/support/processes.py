"""Small helpers for the foundation tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_worker(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m worker ARGS`` in a fresh process with ``env`` over a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))}
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
