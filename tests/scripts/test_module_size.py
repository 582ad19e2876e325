"""The module-size check of ``make lint`` (scripts/check_module_size.py)."""

from __future__ import annotations

from pathlib import Path

from scripts.check_module_size import offences


def test_a_module_over_the_limit_is_named_and_one_at_it_is_not(tmp_path: Path) -> None:
    for package in ("worker", "db"):
        (tmp_path / package / "sub").mkdir(parents=True)
    (tmp_path / "worker" / "sub" / "long.py").write_text("x = 1\n" * 501)
    (tmp_path / "db" / "fits.py").write_text("x = 1\n" * 500)
    (tmp_path / "worker" / "notes.txt").write_text("x\n" * 900)  # not a module
    assert offences(tmp_path, ("worker", "db")) == ["worker/sub/long.py: 501 lines"]


def test_a_missing_package_is_reported_not_skipped(tmp_path: Path) -> None:
    (tmp_path / "worker").mkdir()
    assert offences(tmp_path, ("worker", "paper_exchange")) == [
        "paper_exchange/: no such package (the check expects it)"
    ]
