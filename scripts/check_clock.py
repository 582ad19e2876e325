"""Fail when anything in worker/ or paper_exchange/ but the worker's clock module reads or
waits on time by itself.

Every engine and API component takes a ``worker.clock.Clock`` from the composition root;
tests give it a ``FakeClock`` and advance it. Reading the wall clock (``datetime.now``),
the monotonic clock (``time.monotonic``) or sleeping (``asyncio.sleep``) anywhere else
would make that component untestable without waiting, and would escape replay's clock.

    python scripts/check_clock.py [ROOT]      exit 1 and list the offending lines
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

FORBIDDEN = re.compile(
    r"datetime\.now|datetime\.utcnow|time\.monotonic|time\.time\(|asyncio\.sleep"
    r"|from\s+time\s+import|from\s+asyncio\s+import[^\n]*\bsleep\b"
)
ALLOWED = {Path("worker/clock.py")}
#: The packages checked: the worker and the paper exchange (which takes the same clock).
PACKAGES = ("worker", "paper_exchange")


def offences(root: Path) -> list[str]:
    found = []
    paths = [p for package in PACKAGES for p in sorted((root / package).rglob("*.py"))]
    for path in paths:
        rel = path.relative_to(root)
        if rel in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    found = offences(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} place(s) read or wait on time outside worker/clock.py: "
              "take a worker.clock.Clock instead", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
