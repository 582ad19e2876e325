"""Fail when a production module is longer than 500 lines.

A module past that size does more than one thing: split it along what it does (its
importers name the new module) rather than grow it further. Every ``*.py`` file under
the production packages counts; tests, benchmarks and scripts do not.

    python scripts/check_module_size.py [ROOT]      exit 1 and list the modules too long
"""

from __future__ import annotations

import sys
from pathlib import Path

MAX_LINES = 500
PACKAGES = ("worker", "db", "dashboard", "paper_exchange")


def offences(root: Path, packages: tuple[str, ...] = PACKAGES, limit: int = MAX_LINES) -> list[str]:
    found = []
    for package in packages:
        base = root / package
        if not base.is_dir():
            found.append(f"{package}/: no such package (the check expects it)")
            continue
        for path in sorted(base.rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = offences(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problem(s): production modules are at most {MAX_LINES} lines; "
              "split the ones above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
