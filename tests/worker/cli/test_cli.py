from __future__ import annotations

import json
import socket
import sqlite3
from pathlib import Path

import pytest

from tests.support.processes import run_worker
from worker.cli.common import database_errors


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "EXECUTOR_DATA_DIR": str(tmp_path / "data"),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'executor.db'}",
        **extra,
    }


def test_migrate_on_a_new_path_creates_the_schema_and_prints_the_revision(tmp_path: Path) -> None:
    result = run_worker(["migrate"], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "revision 0001" in result.stdout or "revision" in result.stdout
    with sqlite3.connect(tmp_path / "new" / "dir" / "executor.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"executor_settings", "executor_trades", "executor_positions"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again = run_worker(["migrate"], _env(tmp_path))
    assert again.returncode == 0 and again.stdout == result.stdout


def test_migrate_refuses_the_other_mode_with_a_clear_message(tmp_path: Path) -> None:
    assert run_worker(["migrate"], _env(tmp_path)).returncode == 0
    live = run_worker(["migrate"], _env(tmp_path, EXECUTOR_MODE="live"))
    assert live.returncode == 78  # EX_CONFIG: a supervisor does not restart it
    assert "created for paper mode" in live.stderr
    assert "Traceback" not in live.stderr


def test_bad_configuration_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    result = run_worker(["migrate"], _env(tmp_path, EXECUTOR_PORT="http"))
    assert result.returncode == 78
    assert "EXECUTOR_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def _future_database(path: Path) -> str:
    """A SQLite database stamped with a revision this build does not have."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE executor_alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO executor_alembic_version VALUES ('9999_future')")
    return f"sqlite+aiosqlite:///{path}"


@pytest.mark.parametrize("command", [["migrate"], []], ids=["migrate", "worker"])
@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("bad-url", 78, "not a valid database URL"),
        ("unparseable-url", 78, "not a valid database URL"),
        ("unreachable", 69, "cannot connect"),
        ("unwritable-path", 78, "cannot use the path"),
        ("failed-migration", 78, "migration failed: Can't locate revision identified by '9999_future'"),
    ],
)
def test_database_start_up_failure_is_one_line_naming_the_variable(
    tmp_path: Path, command: list[str], case: str, code: int, says: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    url = {
        "bad-url": "postgresql+asyncpg://executor:s3cret-pw@127.0.0.1:notaport/executor",
        "unparseable-url": "postgresql+asyncpg//executor:s3cret-pw@127.0.0.1/executor",
        "unreachable": f"postgresql+asyncpg://executor:s3cret-pw@127.0.0.1:{_closed_port()}/executor",
        "unwritable-path": f"sqlite+aiosqlite:///{blocker}/sub/executor.db",
        "failed-migration": _future_database(tmp_path / "future.db"),
    }[case]
    result = run_worker(command, _env(tmp_path, EXECUTOR_DATABASE_URL=url, EXECUTOR_PORT=str(_closed_port())))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("migrate: EXECUTOR_DATABASE_URL=", "worker: EXECUTOR_DATABASE_URL=")), lines[0]
    assert says in lines[0]
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr
    if "s3cret" in url:
        assert "executor:***@127.0.0.1" in lines[0]


def test_an_error_that_quotes_the_url_back_loses_its_password_too(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+asyncpg://u:pw-9x@h/db"
    with pytest.raises(SystemExit) as info, database_errors("migrate", url):
        raise ValueError(f"cannot parse {url!r}; password pw-9x")
    err = capsys.readouterr().err
    assert info.value.code == 78
    assert err == ("migrate: EXECUTOR_DATABASE_URL=postgresql+asyncpg://u:***@h/db: not a valid database URL "
                   "(cannot parse 'postgresql+asyncpg://u:***@h/db'; password ***)\n")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unknown_command_is_refused(tmp_path: Path) -> None:
    result = run_worker(["frobnicate"], _env(tmp_path))
    assert result.returncode == 2 and "unknown command" in result.stderr


LINES = [
    {"timestamp": "2026-01-10T19:32:15Z", "event": "LAL vs BOS", "status": "SUCCESS", "bet_size": 5.00,
     "pnl": 0.12, "roi": 2.4, "poly_order_id": "0xabc", "kalshi_order_id": "k-1", "strategy": "v1"},
    {"timestamp": "2026-01-10T19:28:03+00:00", "event_title": "MIA vs NYK", "status": "ROLLED_BACK",
     "bet_size": 5.0, "pnl": -0.80, "roi": None, "note": "Poly fail"},
    {"timestamp": "2026-01-10T20:00:00", "event": "DEN vs PHX", "status": "failed", "bet_size": 10, "pnl": 0},
]


def _write(path: Path, rows: list[object], extra: list[str] | None = None) -> Path:
    text = "\n".join(json.dumps(r) if not isinstance(r, str) else r for r in rows)
    if extra:
        text += "\n" + "\n".join(extra)
    path.write_text(text + "\n")
    return path


def _rows(tmp_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "new" / "dir" / "executor.db") as conn:
        return conn.execute(
            "SELECT event_title, status, bet_size_micros, pnl_micros, details FROM executor_trades ORDER BY id"
        ).fetchall()


def test_import_trades_is_idempotent_and_keeps_extra_keys(tmp_path: Path) -> None:
    log = _write(tmp_path / "log.jsonl", LINES)
    first = run_worker(["import-trades", str(log)], _env(tmp_path))
    assert first.returncode == 0, first.stderr
    assert "imported 3, skipped 0 duplicates, rejected 0" in first.stdout
    second = run_worker(["import-trades", str(log)], _env(tmp_path))
    assert "imported 0, skipped 3 duplicates, rejected 0" in second.stdout
    rows = _rows(tmp_path)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("LAL vs BOS", "SUCCESS", 5_000_000, 120_000),
        ("MIA vs NYK", "ROLLED_BACK", 5_000_000, -800_000),
        ("DEN vs PHX", "FAILED", 10_000_000, 0),
    ]
    assert json.loads(rows[0][4]) == {"strategy": "v1"}
    assert json.loads(rows[1][4]) == {"note": "Poly fail"}


def test_overlapping_files_add_each_trade_once(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", LINES[:2])
    later = {"timestamp": "2026-01-11T01:00:00Z", "event": "GSW vs LAC", "status": "SUCCESS",
             "bet_size": 7.5, "pnl": 0.2, "poly_order_id": "0xdef"}
    b = _write(tmp_path / "b.jsonl", [*LINES[1:], later])
    assert "imported 2," in run_worker(["import-trades", str(a)], _env(tmp_path)).stdout
    out = run_worker(["import-trades", str(b)], _env(tmp_path)).stdout
    assert "imported 2, skipped 1 duplicates, rejected 0" in out
    assert len(_rows(tmp_path)) == 4


def test_bad_lines_are_reported_by_number_and_never_abort_the_rest(tmp_path: Path) -> None:
    bad = [
        "{not json",
        json.dumps({"event": "A vs B", "status": "SUCCESS", "bet_size": 5}),  # no timestamp
        json.dumps({"timestamp": "2026-01-10T10:00:00Z", "event": "A vs B", "status": "WON", "bet_size": 5}),
        json.dumps({"timestamp": "2026-01-10T10:00:00Z", "event": "A vs B", "status": "SUCCESS", "bet_size": True}),
        '{"timestamp": "2026-01-10T10:00:00Z", "event": "A vs B", "status": "SUCCESS", "bet_size": NaN}',
        json.dumps([1, 2]),
        json.dumps({"timestamp": "yesterday", "event": "A vs B", "status": "SUCCESS", "bet_size": 5}),
    ]
    log = _write(tmp_path / "mixed.jsonl", [LINES[0], *bad, LINES[1]])
    result = run_worker(["import-trades", str(log)], _env(tmp_path))
    assert result.returncode == 0
    assert "imported 2, skipped 0 duplicates, rejected 7" in result.stdout
    for number in range(2, 9):
        assert f"line {number}:" in result.stdout
    assert "timestamp" in result.stdout and "unknown status 'WON'" in result.stdout
    assert len(_rows(tmp_path)) == 2


def test_unreadable_file_exits_non_zero(tmp_path: Path) -> None:
    result = run_worker(["import-trades", str(tmp_path / "missing.jsonl")], _env(tmp_path))
    assert result.returncode != 0
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_dashboard_password_command_says_where_the_password_is_never_what(tmp_path: Path) -> None:
    env = _env(tmp_path)
    said = run_worker(["dashboard-password"], env)
    path = (tmp_path / "data" / "dashboard-password").resolve()
    password = path.read_text().strip()
    assert said.returncode == 0, said.stderr
    assert str(path) in said.stdout and password not in said.stdout + said.stderr
    only_path = run_worker(["dashboard-password", "--path"], env)
    assert only_path.returncode == 0 and only_path.stdout == f"{path}\n"
    assert path.read_text().strip() == password  # created once
    from_env = run_worker(["dashboard-password"], _env(tmp_path, EXECUTOR_DASHBOARD_PASSWORD="chosen-password-1"))
    assert "EXECUTOR_DASHBOARD_PASSWORD" in from_env.stdout and "chosen-password-1" not in from_env.stdout
