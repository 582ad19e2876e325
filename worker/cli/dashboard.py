"""The dashboard behind a login: ``python -m worker dashboard PANEL-SERVE-ARGS…``.

The Procfile's ``web:`` line. Runs ``panel serve PANEL-SERVE-ARGS… --basic-auth PASSWORD
--cookie-secret SECRET`` — panel's own login form at ``/login`` in front of every page —
in this process, so neither secret appears on a command line (``ps``):

* the password is ``EXECUTOR_DASHBOARD_PASSWORD``, else the file
  ``$EXECUTOR_DATA_DIR/dashboard-password`` (random, created once with mode 0600, like
  the API token). Any user name is accepted (panel's master-password mode);
* the cookie secret (signs the login cookie) is ``EXECUTOR_DASHBOARD_COOKIE_SECRET``, else
  ``$EXECUTOR_DATA_DIR/dashboard-cookie-secret`` (created the same way).

``python -m worker dashboard-password`` says where the password is (never the password);
``--path`` prints only the file's path (nothing when the variable is set). A bad value
exits 78 with one line naming the variable.
"""

from __future__ import annotations

import argparse
import os
import sys

from worker.cli.common import EX_CONFIG, config_or_exit
from worker.config import Config, ConfigError

# panel reads these too; the launcher's values must be the only ones.
_PANEL_SECRET_VARIABLES = ("PANEL_BASIC_AUTH", "PANEL_COOKIE_SECRET", "BOKEH_COOKIE_SECRET")
_OWN_OPTIONS = ("--basic-auth", "--cookie-secret")


def _secrets(config: Config) -> tuple[str, str]:
    try:
        return config.dashboard_password(), config.dashboard_cookie_secret()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
    except OSError as exc:
        print(f"dashboard: EXECUTOR_DATA_DIR={config.data_dir}: cannot create the dashboard's password or cookie "
              f"secret file ({exc.strerror})", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    for arg in argv:
        if arg.split("=", 1)[0] in _OWN_OPTIONS:
            print(f"dashboard: {arg.split('=', 1)[0]} is set from EXECUTOR_DASHBOARD_PASSWORD / "
                  "EXECUTOR_DASHBOARD_COOKIE_SECRET or their files; do not pass it", file=sys.stderr)
            return 2
    config = config_or_exit()
    password, cookie_secret = _secrets(config)
    for name in _PANEL_SECRET_VARIABLES:
        os.environ.pop(name, None)
    from panel.command import main as panel_main

    # "--option=value": a generated secret may begin with "-" (token_urlsafe's alphabet),
    # which argparse would take for an option if it stood alone.
    sys.argv = ["panel", "serve", *argv, f"--basic-auth={password}", f"--cookie-secret={cookie_secret}"]
    panel_main()
    return 0


def password_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m worker dashboard-password",
        description="Say where the dashboard's login password is (creating the file once); never print it.",
    )
    parser.add_argument("--path", action="store_true", help="print only the password file's path")
    args = parser.parse_args(argv)
    config = config_or_exit()
    _secrets(config)
    from_env = config.dashboard_password_env is not None
    if args.path:
        if not from_env:
            print(config.dashboard_password_path.resolve())
        return 0
    port = os.environ.get("PANEL_PORT") or "5006"
    where = ("EXECUTOR_DASHBOARD_PASSWORD" if from_env
             else f"the file {config.dashboard_password_path.resolve()}")
    print(f"dashboard: http://127.0.0.1:{port}/ — log in with any user name and the password in {where}")
    return 0
