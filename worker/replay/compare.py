"""``python -m worker replay DIR --out REPORT_DIR --compare-legging``: the same recording
replayed twice, without and with legging risk priced into ``min_roi``.

The legging estimates are made from the recording's own books over the replayed window
(:func:`worker.replay.legging.count_recording`, with the replay's latencies), so
the comparison is in-sample: it shows what the adjustment refuses and what that changes,
not how well estimates from yesterday predict today. Both runs publish the expected edge;
only the second applies ``min_roi`` to it (``EXECUTOR_PRICE_LEGGING_RISK=1``).

Writes ``REPORT_DIR/without/`` and ``REPORT_DIR/with/`` (each a full replay report) and
``REPORT_DIR/compare.json``: for each run its P&L (locked, realised, net), attempts,
hedged, unwinds (attempts that had to sell leg 1 back, in part or whole), STRANDED count
and refusals by reason, and the estimates' sample count. The printed line is that JSON.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from worker.domain.attempts import AttemptRecord, AttemptState
from worker.domain.legging import LeggingTable, build_table
from worker.replay.driver import Replay, ReplayOptions
from worker.replay.legging import count_recording
from worker.replay.recording import Recording
from worker.replay.report_html import write_html

#: The two runs: without the adjustment, then with it.
RUNS: tuple[tuple[str, bool], ...] = (("without", False), ("with", True))


def unwinds(attempts: list[AttemptRecord]) -> int:
    """Attempts that had to sell leg 1 back (in part or whole): their path went through
    UNWINDING."""
    return sum(1 for a in attempts if AttemptState.UNWINDING.value in a.path)


def _run_figures(report: dict[str, Any], attempts: list[AttemptRecord]) -> dict[str, Any]:
    summary = report["summary"]
    states = Counter(a.state.value for a in attempts)
    return {
        "attempts": len(attempts),
        "hedged": states.get(AttemptState.HEDGED.value, 0),
        "unwinds": unwinds(attempts),
        "rolled_back": states.get(AttemptState.ROLLED_BACK.value, 0),
        "stranded": states.get(AttemptState.STRANDED.value, 0),
        "locked_pnl": summary["locked_pnl"],
        "realised_pnl": summary["realised_pnl"],
        "net_pnl": summary["net_pnl"],
        "refusals": report["refusals"].get("by_reason", {}),
    }


def estimates(recording: Recording, options: ReplayOptions) -> LeggingTable:
    """The legging estimates of the replayed window's books, at the replay's latencies."""
    found = count_recording(
        recording, poly_venue=options.poly_venue, latency_ms=options.latency_ms, start=options.start, end=options.end
    )
    return build_table(found.counts)


async def compare_legging(options: ReplayOptions, recording: Recording, out: Path) -> dict[str, Any]:
    """Both runs, their reports written; returns what ``compare.json`` holds."""
    table = estimates(recording, options)
    result: dict[str, Any] = {
        "legging": {
            "samples": table.samples,
            "failures": table.overall.failures,
            "cells": len(table.cells),
            "sparse_cells": sum(1 for e in table.cells.values() if e.samples < 30),
            "pooled_p_fail": str(table.overall.p_fail),
            "pooled_cost": str(table.overall.cost),
        },
    }
    for name, on in RUNS:
        run_options = replace(options, legging=table, risk=replace(options.risk, price_legging_risk=on))
        outcome = await Replay(recording, run_options).run()
        report = outcome.facts.report()
        directory = out / name
        directory.mkdir(parents=True, exist_ok=True)
        outcome.facts.write(directory, report)
        write_html(directory, report)
        result[name] = _run_figures(report, outcome.attempts)
    (out / "compare.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result
