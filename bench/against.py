"""``--against REF``: run a benchmark on another version of the code, on this machine, in
this run, so that two versions are compared under the same conditions.

The other version is checked out with ``git worktree add --detach`` into a temporary
directory and its own copy of the same script is run there with the same arguments
(minus ``--against``) and the same interpreter; the worktree is removed afterwards. The
script must exist at that version (``bench/detection.py`` and
``bench/detection_instructions.py`` do from 42e3d5f on).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def strip_against(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--against REF`` / ``--against=REF``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--against":
            skip = True
        elif not arg.startswith("--against="):
            out.append(arg)
    return out


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A temporary worktree of ``ref``; removed on exit."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if sha.returncode != 0:
        raise SystemExit(f"--against {ref}: not a commit of this repository")
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), sha.stdout.strip()],
            check=True,
        )  # fmt: skip
        try:
            yield tree
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )


def run_other(ref: str, script: str, argv: Sequence[str]) -> str:
    """Run ``bench/<script>`` of version ``ref`` with ``argv``; its standard output."""
    with checkout(ref) as tree:
        path = tree / "bench" / script
        if not path.exists():
            raise SystemExit(f"--against {ref}: bench/{script} does not exist at that version")
        # The same hash seed as this version's run (the instruction count depends on it).
        env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")}
        done = subprocess.run(
            [*no_aslr(), sys.executable, str(path), *strip_against(argv)], cwd=tree, env=env, capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"bench/{script} at {ref} failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return done.stdout


def no_aslr() -> list[str]:
    """``setarch <arch> -R``: the command's processes (and their children) run without
    address-space randomisation, so that counts that depend on addresses (object hashes,
    dict layouts) repeat; empty where ``setarch`` is missing."""
    if shutil.which("setarch") is None:
        return []
    return ["setarch", platform.machine(), "-R"]


def head() -> str:
    """This checkout's commit, short, with ``+changes`` when the tree has uncommitted ones."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return sha + ("+changes" if dirty else "")
