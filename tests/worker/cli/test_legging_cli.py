"""``python -m worker legging DIR``: counts a recording and our fills into the database and
prints one JSON line; a bad argument exits 2 with one ``legging: …`` line and writes nothing."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from db.engine import Database
from db.legging import BOOKS, FILLS, LeggingRepository
from tests.worker.replay.test_legging_books import record_pull
from worker.cli import legging as legging_cli
from worker.domain.legging import CellKey, LeggingTable


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in [k for k in os.environ if k.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "worker.db"
    monkeypatch.setenv("EXECUTOR_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.setenv("EXECUTOR_POLY_VENUE", "polymarket")
    return db


async def _stored(path: Path) -> tuple[dict[str, dict[CellKey, object]], LeggingTable | None]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        repo = LeggingRepository(db)
        return {s: dict(await repo.load_counts(s)) for s in (BOOKS, FILLS)}, await repo.load_table()
    finally:
        await db.dispose()


def test_the_command_stores_counts_and_estimates_and_prints_one_line(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec"
    record_pull(rec)
    assert legging_cli.main([str(rec), "--latency-ms", "kalshi=60,polymarket=150"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    # 40 samples of each direction, 4 sizes a sample (the Kalshi NO direction's sizes of
    # a thinner book may coincide, so at least the Kalshi YES direction's 160).
    assert line["samples"] >= 160 and line["failures"] >= 20
    assert set(line) == {"samples", "failures", "cells", "sparse_cells", "elapsed_s"}
    counts, table = asyncio.run(_stored(env))
    assert counts[FILLS] == {}  # no attempt in the database
    assert sum(c.samples for c in counts[BOOKS].values()) == line["samples"]  # type: ignore[attr-defined]
    assert table is not None and len(table.cells) == line["cells"] and table.samples == line["samples"]


@pytest.mark.parametrize(("argv", "says"), [
    (["--latency-ms", "abc"], "--latency-ms:"),
    (["--from", "2026-01-11T20:00:00"], "--from:"),
    (["--from", "2030-01-01T00:00:00Z"], "after the recording's end"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    argv: list[str], says: str, env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "rec"
    record_pull(rec)
    assert _run([str(rec), *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("legging: ") and says in lines[0], captured.err
    assert captured.out == ""
    assert not env.exists()


def test_a_directory_without_a_recording_exits_2(env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([str(tmp_path / "nowhere")]) == 2
    assert "no recording at" in capsys.readouterr().err
    assert not env.exists()


def _run(argv: list[str]) -> int:
    """The command's exit code (argparse's own errors exit through SystemExit)."""
    try:
        return legging_cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
