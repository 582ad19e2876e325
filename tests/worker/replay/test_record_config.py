"""``EXECUTOR_RECORD_DIR`` and ``EXECUTOR_RECORD_MAX_GB``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from worker.config import ConfigError, load_config


def test_recording_is_off_unless_a_directory_is_given() -> None:
    config = load_config({})
    assert config.record_dir is None
    assert config.record_max_gb == Decimal("10") and config.record_max_bytes == 10 * 1024**3


def test_the_directory_and_cap_are_read() -> None:
    config = load_config({"EXECUTOR_RECORD_DIR": "/tmp/rec", "EXECUTOR_RECORD_MAX_GB": "0.5"})
    assert config.record_dir == Path("/tmp/rec")
    assert config.record_max_bytes == 512 * 1024**2


@pytest.mark.parametrize("value", ["0", "-1", "ten", "NaN", "Infinity"])
def test_a_bad_cap_stops_start_up_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"EXECUTOR_RECORD_MAX_GB": value})
    assert raised.value.variable == "EXECUTOR_RECORD_MAX_GB"


@pytest.mark.parametrize("value", ["1e-12", "0.009"])
def test_a_cap_below_the_minimum_is_refused_naming_the_variable(value: str) -> None:
    # 1e-12 GB is 0 bytes: the writer would refuse it with a traceback at start-up; a cap
    # below one part's size would delete every part as it closes.
    with pytest.raises(ConfigError) as raised:
        load_config({"EXECUTOR_RECORD_MAX_GB": value})
    assert raised.value.variable == "EXECUTOR_RECORD_MAX_GB" and "0.01" in raised.value.problem


def test_the_minimum_cap_is_taken() -> None:
    assert load_config({"EXECUTOR_RECORD_MAX_GB": "0.01"}).record_max_bytes == int(Decimal("0.01") * 1024**3)


def test_a_record_dir_that_cannot_be_created_stops_start_up_naming_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for bad in (blocker / "rec", blocker / "deeper" / "rec", blocker):
        with pytest.raises(ConfigError) as raised:
            load_config({"EXECUTOR_RECORD_DIR": str(bad)})
        assert raised.value.variable == "EXECUTOR_RECORD_DIR"
        assert f"{blocker} is not a directory" in raised.value.problem
    assert blocker.read_text() == "not a directory"


def test_a_record_dir_that_can_be_created_is_taken_without_creating_it(tmp_path: Path) -> None:
    config = load_config({"EXECUTOR_RECORD_DIR": str(tmp_path / "new" / "rec")})
    assert config.record_dir == tmp_path / "new" / "rec"
    assert not (tmp_path / "new").exists()  # created by the writer when it starts
    assert load_config({"EXECUTOR_RECORD_DIR": str(tmp_path)}).record_dir == tmp_path
