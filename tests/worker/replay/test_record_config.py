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
