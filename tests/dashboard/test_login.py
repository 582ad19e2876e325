"""The dashboard's login without a browser: the Procfile's ``web:`` line (the launcher,
``python -m worker dashboard``) with no password configured creates the password and
cookie-secret files once (mode 0600), keeps both off its command line, and panel's
``/login`` lets in only that password; a login survives a restart of the dashboard.
(The browser side — every page — is in test_browser.py.)"""

from __future__ import annotations

import http.client
import stat
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from tests.dashboard.live import start_panel, stop_panel

pytestmark = [pytest.mark.timeout(120)]
NO_WORKER = "ws://127.0.0.1:1/ws/executor"  # the pages render (reconnecting) without one


def request(base: str, method: str, path: str, cookie: str = "", body: dict[str, str] | None = None
            ) -> http.client.HTTPResponse:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def log_in(base: str, password: str) -> str:
    """POST the login form; the signed cookies it sets ("" when refused)."""
    response = request(base, "POST", "/login", body={"username": "operator", "password": password})
    assert response.status == 302
    cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
    return "; ".join(c for c in cookies if c.split("=", 1)[0] in ("user", "id_token") and c.split("=", 1)[1])


def test_the_password_file_is_created_once_kept_off_the_command_line_and_required(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"EXECUTOR_DATA_DIR": str(data), "EXECUTOR_DASHBOARD_PASSWORD": "", "EXECUTOR_DASHBOARD_COOKIE_SECRET": ""}
    proc, base = start_panel(NO_WORKER, extra_env=env)
    try:
        password_file, secret_file = data / "dashboard-password", data / "dashboard-cookie-secret"
        for f in (password_file, secret_file):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
        password = password_file.read_text().strip()
        secret = secret_file.read_text().strip()
        assert len(password) >= 12 and len(secret) >= 32 and password != secret
        if sys.platform.startswith("linux"):
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
            assert password.encode() not in cmdline and secret.encode() not in cmdline

        out = request(base, "GET", "/executor")
        assert out.status == 302 and "login?next=" in out.headers["Location"]
        assert log_in(base, password + "x") == ""
        assert log_in(base, "") == ""
        cookie = log_in(base, password)
        assert cookie
        assert request(base, "GET", "/executor", cookie).status == 200
    finally:
        stop_panel(proc)

    proc, base = start_panel(NO_WORKER, extra_env=env)  # a restart keeps both files
    try:
        assert password_file.read_text().strip() == password
        assert secret_file.read_text().strip() == secret
        assert request(base, "GET", "/executor", cookie).status == 200  # still logged in
        assert request(base, "GET", "/executor").status == 302
    finally:
        stop_panel(proc)


def test_a_password_and_cookie_secret_beginning_with_a_dash_still_log_in() -> None:
    """A generated secret (``secrets.token_urlsafe``) begins with "-" one time in 64; the
    launcher must still hand it to panel as the value, not as an option."""
    password, secret = "-Xq3dash-first-password-0123", "-dash-first-cookie-secret-0123456789abcdef"
    env = {"EXECUTOR_DASHBOARD_PASSWORD": password, "EXECUTOR_DASHBOARD_COOKIE_SECRET": secret}
    proc, base = start_panel(NO_WORKER, extra_env=env)
    try:
        assert log_in(base, password[1:]) == ""
        cookie = log_in(base, password)
        assert cookie
        assert request(base, "GET", "/executor", cookie).status == 200
    finally:
        stop_panel(proc)
