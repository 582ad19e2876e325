from __future__ import annotations

import os
import stat
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from worker.config import ConfigError, ensure_token_file, load_config


def test_defaults_are_the_documented_ones() -> None:
    config = load_config({})
    assert config.database_url == "sqlite+aiosqlite:///var/executor.db"
    assert config.data_dir == Path("var")
    assert (config.host, config.port, config.mode) == ("127.0.0.1", 8765, "paper")
    assert config.ws_url == "ws://127.0.0.1:8765/ws/executor"
    assert config.day_tz.key == "America/New_York"
    assert (config.seed, config.paper_port, config.poly_venue) == (1, 8780, "polymarket")
    assert dict(config.paper_balances) == {
        "kalshi": Decimal(1000),
        "polymarket": Decimal(1000),
        "polymarket_us": Decimal(1000),
    }
    assert "localhost" in config.allowed_hosts and "127.0.0.1" in config.allowed_hosts
    assert "http://127.0.0.1:5006" in config.allowed_origins
    assert config.token_env is None


def test_the_display_zone_defaults_to_the_trading_day_s() -> None:
    assert str(load_config({"EXECUTOR_DAY_TZ": "Europe/London"}).display_tz) == "Europe/London"
    assert str(load_config({"EXECUTOR_DISPLAY_TZ": "Asia/Tokyo"}).display_tz) == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EXECUTOR_PORT", "eighty"),
        ("EXECUTOR_PORT", "70000"),
        ("EXECUTOR_MODE", "demo"),
        ("EXECUTOR_POLY_VENUE", "betfair"),
        ("EXECUTOR_DAY_TZ", "Mars/Olympus"),
        ("EXECUTOR_DISPLAY_TZ", "Mars/Olympus"),
        ("EXECUTOR_PAPER_BALANCES", "kalshi=lots"),
        ("EXECUTOR_PAPER_BALANCES", "nyse=100"),
        ("EXECUTOR_PAPER_BALANCES", "kalshi=-5"),
        ("EXECUTOR_DATABASE_URL", "mysql://x"),
        ("EXECUTOR_DATABASE_URL", "sqlite:///plain-driver.db"),
        ("EXECUTOR_ALLOWED_ORIGINS", "127.0.0.1:5006"),
        ("EXECUTOR_WS_URL", "http://127.0.0.1:8765/ws/executor"),
        ("EXECUTOR_SEED", "-1"),
        ("EXECUTOR_PAPER_PORT", "0"),
        ("EXECUTOR_TOKEN", "short"),
        ("EXECUTOR_SUSPICIOUS_ROI", "-1"),
        ("EXECUTOR_SUSPICIOUS_ROI", "five"),
        ("EXECUTOR_SUSPICIOUS_ROI", "5.001"),
        ("EXECUTOR_SUSPICIOUS_ROI", "NaN"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({variable: value})
    assert info.value.variable == variable
    assert variable in str(info.value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),  # paper mode: unconfirmed pairs may trade (by confidence)
        ({"EXECUTOR_MODE": "live"}, True),  # live: only confirmed games trade
        ({"EXECUTOR_MODE": "live", "EXECUTOR_REQUIRE_CONFIRMATION": "false"}, False),
        ({"EXECUTOR_MODE": "paper", "EXECUTOR_REQUIRE_CONFIRMATION": "true"}, True),
        ({"EXECUTOR_REQUIRE_CONFIRMATION": " TRUE "}, True),
        ({"EXECUTOR_MODE": "live", "EXECUTOR_REQUIRE_CONFIRMATION": ""}, True),  # empty = unset
    ],
)
def test_require_confirmation_defaults_by_mode(env: dict[str, str], expected: bool) -> None:
    assert load_config(env).require_confirmation is expected


@pytest.mark.parametrize("value", ["yes", "no", "on", "tru", "false!", "True False", "2"])
def test_require_confirmation_is_a_strict_boolean(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"EXECUTOR_MODE": "live", "EXECUTOR_REQUIRE_CONFIRMATION": value})
    assert info.value.variable == "EXECUTOR_REQUIRE_CONFIRMATION"
    assert str(info.value) == f"EXECUTOR_REQUIRE_CONFIRMATION: must be 1, 0, true or false, got {value!r}"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("TRUE", True), ("false", False)])
def test_require_confirmation_takes_the_same_booleans_as_every_switch(value: str, expected: bool) -> None:
    # One rule for every boolean variable (EXECUTOR_REFUSE_CANCELLATION_MISMATCH=1 too).
    assert load_config({"EXECUTOR_MODE": "live", "EXECUTOR_REQUIRE_CONFIRMATION": value}).require_confirmation is expected


def test_bad_token_error_does_not_echo_the_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"EXECUTOR_TOKEN": "s3cr3t-x"})
    assert "s3cr3t-x" not in str(info.value)


def test_ws_url_follows_host_and_port() -> None:
    config = load_config({"EXECUTOR_HOST": "localhost", "EXECUTOR_PORT": "9001"})
    assert config.ws_url == "ws://localhost:9001/ws/executor"
    assert "localhost" in config.allowed_hosts


def test_paper_balances_parse_exactly() -> None:
    config = load_config({"EXECUTOR_PAPER_BALANCES": "kalshi=250.55,polymarket_us=10"})
    assert config.paper_balances["kalshi"] == Decimal("250.55")
    assert config.paper_balances["polymarket_us"] == Decimal("10")
    assert config.paper_balances["polymarket"] == Decimal("1000")


def test_token_from_environment_wins_over_file(tmp_path: Path) -> None:
    config = load_config({"EXECUTOR_TOKEN": "x" * 32, "EXECUTOR_DATA_DIR": str(tmp_path)})
    assert config.token() == "x" * 32
    assert not (tmp_path / "token").exists()


def test_token_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    config = load_config({"EXECUTOR_DATA_DIR": str(tmp_path / "d")})
    first = config.token()
    path = tmp_path / "d" / "token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 32
    assert config.token() == first
    assert load_config({"EXECUTOR_DATA_DIR": str(tmp_path / "d")}).token() == first


def _token_in_process(path: str) -> str:
    return ensure_token_file(Path(path))


def test_processes_racing_to_create_the_token_all_read_the_same_one(tmp_path: Path) -> None:
    path = str(tmp_path / "race" / "token")
    with ProcessPoolExecutor(max_workers=4) as pool:
        tokens = set(pool.map(_token_in_process, [path] * 16))
    assert len(tokens) == 1
    assert list((tmp_path / "race").iterdir()) == [Path(path)]


@pytest.mark.parametrize(
    ("variable", "value", "minimum"),
    [("EXECUTOR_DASHBOARD_PASSWORD", "short-pw", 12), ("EXECUTOR_DASHBOARD_COOKIE_SECRET", "x" * 31, 32)],
)
def test_a_short_dashboard_secret_is_refused_without_echoing_it(variable: str, value: str, minimum: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({variable: value})
    assert info.value.variable == variable
    assert str(info.value) == f"{variable}: must be at least {minimum} characters"


def test_a_dashboard_password_that_names_a_file_is_refused(tmp_path: Path) -> None:
    # panel serve would read an existing path given to --basic-auth as a users file.
    existing = tmp_path / "users-file-name"
    existing.write_text("{}")
    with pytest.raises(ConfigError) as info:
        load_config({"EXECUTOR_DASHBOARD_PASSWORD": str(existing)})
    assert info.value.variable == "EXECUTOR_DASHBOARD_PASSWORD"


def test_dashboard_password_and_cookie_secret_files_are_created_once_with_mode_0600(tmp_path: Path) -> None:
    config = load_config({"EXECUTOR_DATA_DIR": str(tmp_path)})
    password, secret = config.dashboard_password(), config.dashboard_cookie_secret()
    assert (tmp_path / "dashboard-password").read_text().strip() == password
    assert (tmp_path / "dashboard-cookie-secret").read_text().strip() == secret
    for name in ("dashboard-password", "dashboard-cookie-secret"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert len(password) >= 12 and len(secret) >= 32 and password != secret
    again = load_config({"EXECUTOR_DATA_DIR": str(tmp_path)})
    assert (again.dashboard_password(), again.dashboard_cookie_secret()) == (password, secret)
    assert password not in repr(config) and secret not in repr(config)


def test_dashboard_password_from_the_environment_wins_and_creates_no_file(tmp_path: Path) -> None:
    config = load_config({"EXECUTOR_DATA_DIR": str(tmp_path), "EXECUTOR_DASHBOARD_PASSWORD": "operator-password-1"})
    assert config.dashboard_password() == "operator-password-1"
    assert not (tmp_path / "dashboard-password").exists()
    assert "operator-password-1" not in repr(config)


def test_suspicious_roi_is_a_percentage_defaulting_to_five() -> None:
    from decimal import Decimal

    assert load_config({}).suspicious_roi == Decimal("5")
    assert load_config({"EXECUTOR_SUSPICIOUS_ROI": " 7.5 "}).suspicious_roi == Decimal("7.5")
    assert load_config({"EXECUTOR_SUSPICIOUS_ROI": "0"}).suspicious_roi == Decimal("0")
