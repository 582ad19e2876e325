"""Shared start-up for the commands: logging, configuration, database.

Exit codes (``sysexits.h``): 78 ``EX_CONFIG`` — the configuration is wrong and running
again will not help (a supervisor must not restart); 69 ``EX_UNAVAILABLE`` — the database
cannot be reached now (a supervisor may retry); 1 — any other failure.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy.engine import make_url

from worker.config import Config, ConfigError, load_config

EX_CONFIG = 78
EX_UNAVAILABLE = 69
DATABASE_VARIABLE = "EXECUTOR_DATABASE_URL"
_URL_PASSWORD = re.compile(r"(//[^/@:]*:)[^/]*@")
# Driver errors that mean "this URL can never work": wrong user, password, database.
_CONFIG_DRIVER_ERRORS = frozenset({
    "InvalidPasswordError", "InvalidAuthorizationSpecificationError", "InvalidCatalogNameError",
    "InsufficientPrivilegeError",
})


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # One line per HTTP request is noise at INFO; the clients log what matters themselves.
    # The websockets client logs request headers (the bearer token) at DEBUG: keep it above.
    # Alembic announces its context on every start; the revision is logged by the caller.
    for name in ("httpx", "httpcore", "websockets", "websockets.client", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def config_or_exit() -> Config:
    """The configuration, or a one-line message naming the bad variable and exit 78."""
    try:
        return load_config()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None


def _password(url: str) -> str:
    """The URL's password as written (SQLAlchemy's reading: it may hold ``/``)."""
    try:
        parsed = make_url(url)
    except Exception:
        found = _URL_PASSWORD.search(url)
        return found.group(0)[len(found.group(1)):-1] if found else ""
    password = parsed.password
    return str(password) if password else ""


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    secret = _password(url)
    for written in {secret, quote(secret, safe="")} if secret else ():
        at = url.find(f":{written}@")
        if at != -1:
            return url[: at + 1] + "***" + url[at + 1 + len(written):]
    return _URL_PASSWORD.sub(lambda m: m.group(1) + "***@", url)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def describe_database_failure(exc: BaseException) -> tuple[int, str]:
    """(exit code, problem) for a failure to open, reach or migrate the database.

    The problem is one line without secrets: the driver's own message (never SQLAlchemy's,
    which appends the statement and a help link).
    """
    from alembic.util import CommandError
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from db.migrate import ModeMismatchError

    if isinstance(exc, ModeMismatchError):
        return EX_CONFIG, str(exc)
    if isinstance(exc, ArgumentError | ValueError) and not isinstance(exc, DBAPIError):
        return EX_CONFIG, f"not a valid database URL ({_one_line(str(exc))})"
    if isinstance(exc, CommandError):
        return EX_CONFIG, f"migration failed: {_one_line(str(exc))} (a database of another version?)"
    inner: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    cause = inner.__cause__ if inner.__cause__ is not None else inner
    names = {type(inner).__name__, type(cause).__name__}
    text = _one_line(str(inner))
    if names & _CONFIG_DRIVER_ERRORS:
        return EX_CONFIG, f"refused: {text}"
    if isinstance(inner, socket.gaierror) or isinstance(cause, socket.gaierror):
        return EX_UNAVAILABLE, f"unknown host ({text})"
    if isinstance(inner, ConnectionError | TimeoutError) or isinstance(cause, ConnectionError | TimeoutError):
        return EX_UNAVAILABLE, f"cannot connect ({text})"
    if "unable to open database file" in text or "readonly database" in text:
        return EX_CONFIG, f"cannot open the database file for writing ({text})"
    if isinstance(inner, OSError):
        return EX_CONFIG, f"cannot use the path ({text})"
    if isinstance(exc, DBAPIError):
        return 1, f"database error: {text}"
    return 1, f"{type(exc).__name__}: {text}"


@contextmanager
def database_errors(command: str, url: str) -> Iterator[None]:
    """Turn a failure to open, reach or migrate the database into ONE line on stderr
    naming ``EXECUTOR_DATABASE_URL`` (password hidden) and the exit code above."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt, ConfigError):
        raise
    except Exception as exc:
        code, problem = describe_database_failure(exc)
        secret = _password(url)
        if secret:  # a driver or parser may quote the URL back
            problem = problem.replace(secret, "***").replace(quote(secret, safe=""), "***")
        problem = redact_url(problem)
        print(f"{command}: {DATABASE_VARIABLE}={redact_url(url)}: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(code) from None
