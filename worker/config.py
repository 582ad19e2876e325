"""Configuration from the environment: one typed object, validated at start-up.

Every variable is documented in the README's configuration table. A bad value stops
start-up with a :class:`ConfigError` naming the variable; no secret value is ever echoed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.notify.targets import BadNotifyUrl, NotifyTarget, parse_notify_urls

MODES = ("paper", "live")
POLY_VENUES = ("polymarket", "polymarket_us")
CONFIDENCES = ("HIGH", "MEDIUM", "LOW")
PAPER_BALANCE_VENUES = ("kalshi", "polymarket", "polymarket_us")
DEFAULT_PAPER_BALANCES = "kalshi=1000,polymarket=1000,polymarket_us=1000"
MIN_DASHBOARD_PASSWORD = 12
MIN_COOKIE_SECRET = 32
#: The smallest recording cap (``EXECUTOR_RECORD_MAX_GB``): about 10 MiB. Below a part's
#: size every part would be deleted as it closes.
MIN_RECORD_GB = Decimal("0.01")


class ConfigError(ValueError):
    """A configuration variable has a value the product cannot run with."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Config:
    """The validated configuration of every Executor process."""

    database_url: str
    data_dir: Path
    host: str
    port: int
    mode: str
    token_env: str | None = field(repr=False)
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    ws_url: str
    day_tz: ZoneInfo
    #: The zone the dashboard writes times in (``EXECUTOR_DISPLAY_TZ``, default ``day_tz``).
    display_tz: ZoneInfo
    seed: int
    paper_port: int
    paper_balances: Mapping[str, Decimal]
    poly_venue: str
    min_confidence: str = "HIGH"
    #: ``EXECUTOR_REQUIRE_CONFIRMATION``: only games an operator confirmed trade
    #: (default: on in live mode, off in paper mode).
    require_confirmation: bool = False
    max_book_age_ms: int = 2000
    no_trade_before_start_s: int = 60
    lease_ttl_s: int = 10
    reconcile_interval_s: int = 60
    refuse_cancellation_mismatch: bool = False
    #: ``EXECUTOR_PRICE_LEGGING_RISK``: ``min_roi`` applies to the expected ROI after
    #: legging risk instead of the locked ROI.
    price_legging_risk: bool = False
    #: ``EXECUTOR_LEGGING_REFRESH_S``: how often the legging estimates are refreshed.
    legging_refresh_s: int = 600
    #: ``EXECUTOR_SUSPICIOUS_ROI`` (percent): above this ROI only confirmed pairs trade.
    suspicious_roi: Decimal = Decimal("5")
    dashboard_password_env: str | None = field(default=None, repr=False)
    dashboard_cookie_secret_env: str | None = field(default=None, repr=False)
    #: ``EXECUTOR_NOTIFY_URLS``: where alerts are sent (the URLs hold secrets: not in repr).
    notify_urls: tuple[NotifyTarget, ...] = field(default=(), repr=False)
    #: ``EXECUTOR_RECORD_DIR``: record every venue's listings and books there (None: off).
    record_dir: Path | None = None
    #: ``EXECUTOR_RECORD_MAX_GB``: the recording's disk cap (oldest parts deleted first).
    record_max_gb: Decimal = Decimal("10")
    #: ``EXECUTOR_REPLAY_REPORTS``: where replay reports are kept, one directory each
    #: (default ``<data_dir>/replays``); ``/charts`` lists those holding a report.json.
    replay_reports: Path = Path("var/replays")

    @property
    def record_max_bytes(self) -> int:
        return int(self.record_max_gb * 1024**3)

    @property
    def token_path(self) -> Path:
        return self.data_dir / "token"

    @property
    def dashboard_password_path(self) -> Path:
        return self.data_dir / "dashboard-password"

    @property
    def dashboard_cookie_secret_path(self) -> Path:
        return self.data_dir / "dashboard-cookie-secret"

    def dashboard_password(self) -> str:
        """The dashboard login's password: ``EXECUTOR_DASHBOARD_PASSWORD`` or the password
        file (created once, mode 0600, like the API token)."""
        return _secret_from_file(
            self.dashboard_password_env, self.dashboard_password_path, 24, MIN_DASHBOARD_PASSWORD,
            "EXECUTOR_DASHBOARD_PASSWORD", "password file",
        )

    def dashboard_cookie_secret(self) -> str:
        """The key signing the dashboard's login cookie: ``EXECUTOR_DASHBOARD_COOKIE_SECRET``
        or its file (created once, mode 0600), so a login outlives a dashboard restart."""
        return _secret_from_file(
            self.dashboard_cookie_secret_env, self.dashboard_cookie_secret_path, 48, MIN_COOKIE_SECRET,
            "EXECUTOR_DASHBOARD_COOKIE_SECRET", "cookie secret file",
        )

    @property
    def paper_url(self) -> str:
        return f"http://127.0.0.1:{self.paper_port}"

    def token(self) -> str:
        """The API token: ``EXECUTOR_TOKEN`` or the shared token file (created once)."""
        if self.token_env:
            return self.token_env
        return ensure_token_file(self.token_path)

    def trading_account(self, env: Mapping[str, str] | None = None) -> str:
        """The account the single-trader lease is for: mode, venue pair and key ids.

        Only a hash of the key ids is used: the lease row must not carry credentials.
        """
        env = os.environ if env is None else env
        ids = "|".join(
            env.get(name, "") for name in ("KALSHI_KEY_ID", "POLYMARKET_API_KEY", "POLYMARKET_US_KEY_ID")
        )
        digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
        return f"{self.mode}:kalshi+{self.poly_venue}:{digest}"

    def sqlite_path(self) -> Path | None:
        """The file behind a SQLite URL (None for other databases or in-memory)."""
        return sqlite_file(self.database_url)


def sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def ensure_token_file(path: Path) -> str:
    """Read the token file, creating it atomically with mode 0600 if it is missing.

    An existing token is never regenerated.
    """
    token = ensure_file(path, lambda: secrets.token_urlsafe(32))
    if not token:
        raise ConfigError("EXECUTOR_TOKEN", f"token file {path} is empty")
    return token


def ensure_worker_id(data_dir: Path) -> str:
    """This data directory's worker id (the lease holder); created once, kept across restarts."""
    return ensure_file(data_dir / "worker-id", lambda: f"worker-{secrets.token_hex(8)}")


def ensure_file(path: Path, make: Callable[[], str]) -> str:
    """Read ``path``, creating it first with ``make()`` (mode 0600) if it does not exist.

    Several processes may race to create it; ``O_EXCL`` on a temporary name plus
    ``os.link`` makes exactly one win and everyone reads the winner's content.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(make() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        # Atomic: fails if another process won the race, and then we read its content.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _secret_from_file(from_env: str | None, path: Path, nbytes: int, minimum: int, variable: str, what: str) -> str:
    """``from_env`` when set, else the file at ``path`` (created once with
    ``secrets.token_urlsafe(nbytes)``, mode 0600); a file shorter than ``minimum`` is refused."""
    if from_env:
        return from_env
    secret = ensure_file(path, lambda: secrets.token_urlsafe(nbytes))
    if len(secret) < minimum:
        raise ConfigError(variable, f"{what} {path} holds fewer than {minimum} characters")
    return secret


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(name, f"expected an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(name, f"must be between {lo} and {hi}, got {value}")
    return value


def _decimal(env: Mapping[str, str], name: str, example: str) -> Decimal | None:
    """The variable's number (None when unset or blank); ``example`` shows what is wanted."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return Decimal(raw.strip())
    except ArithmeticError:
        raise ConfigError(name, f"expected {example}, got {raw!r}") from None


def _percent(env: Mapping[str, str], name: str, default: Decimal, hi: Decimal) -> Decimal:
    """A percentage in [0, ``hi``] with at most 2 decimal places."""
    value = _decimal(env, name, "a percentage such as 5 or 7.5")
    if value is None:
        return default
    if not value.is_finite() or not Decimal(0) <= value <= hi:
        raise ConfigError(name, f"must be between 0 and {hi} (percent), got {value}")
    if value != value.quantize(Decimal("0.01")):
        raise ConfigError(name, f"at most 2 decimal places, got {value}")
    return value


def _positive(env: Mapping[str, str], name: str, default: Decimal, minimum: Decimal) -> Decimal:
    """A finite number of at least ``minimum`` (a size in GB)."""
    value = _decimal(env, name, "a number such as 10 or 0.5")
    if value is None:
        return default
    if not value.is_finite() or value < minimum:
        raise ConfigError(name, f"must be a number of at least {minimum}, got {value}")
    return value


def directory_problem(path: Path) -> str | None:
    """Why files cannot be written in the directory ``path`` (None when they can), without
    creating anything: an existing ``path`` must be a writable directory, a missing one's
    nearest existing parent must be one (``path`` is created under it when first used)."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    created = "" if existing == path else f", so {path} cannot be created"
    if not existing.is_dir():
        return f"{existing} is not a directory{created}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable{created}"
    return None


def _writable_dir(env: Mapping[str, str], name: str) -> Path | None:
    """A directory files are written in (None when unset or blank); see :func:`directory_problem`."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    path = Path(raw)
    problem = directory_problem(path)
    if problem is not None:
        raise ConfigError(name, problem)
    return path


def _secret(env: Mapping[str, str], name: str, min_length: int) -> str | None:
    """A secret from the environment (None when unset or blank); never echoed in errors."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if len(raw) < min_length:
        raise ConfigError(name, f"must be at least {min_length} characters")
    return raw


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip()
    if raw not in choices:
        raise ConfigError(name, f"must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Strict boolean: ``1``/``true`` or ``0``/``false`` (any case); unset or empty is the
    default; anything else is refused rather than guessed."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise ConfigError(name, f"must be 1, 0, true or false, got {raw!r}")


def _csv(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def parse_paper_balances(raw: str) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        venue, sep, amount = part.partition("=")
        venue = venue.strip()
        if not sep or venue not in PAPER_BALANCE_VENUES:
            raise ConfigError(
                "EXECUTOR_PAPER_BALANCES",
                f"expected venue=amount with venue in {', '.join(PAPER_BALANCE_VENUES)}, got {part.strip()!r}",
            )
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            raise ConfigError("EXECUTOR_PAPER_BALANCES", f"{venue}: not a number: {amount.strip()!r}") from None
        if not value.is_finite() or value < 0:
            raise ConfigError("EXECUTOR_PAPER_BALANCES", f"{venue}: must be a finite amount >= 0")
        balances[venue] = value
    for venue in PAPER_BALANCE_VENUES:
        balances.setdefault(venue, Decimal(1000))
    return balances


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the :class:`Config` from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    data_dir = Path(env.get("EXECUTOR_DATA_DIR") or "var")
    database_url = (env.get("EXECUTOR_DATABASE_URL") or "sqlite+aiosqlite:///var/executor.db").strip()
    if not (database_url.startswith("sqlite") or database_url.startswith("postgresql")):
        raise ConfigError("EXECUTOR_DATABASE_URL", "must be a sqlite+aiosqlite:/// or postgresql+asyncpg:// URL")
    if database_url.startswith("sqlite") and "aiosqlite" not in database_url.split(":", 1)[0]:
        raise ConfigError("EXECUTOR_DATABASE_URL", "SQLite URLs must use the async driver: sqlite+aiosqlite:///PATH")
    if database_url.startswith("postgresql") and "asyncpg" not in database_url.split(":", 1)[0]:
        raise ConfigError("EXECUTOR_DATABASE_URL", "PostgreSQL URLs must use the async driver: postgresql+asyncpg://…")
    host = (env.get("EXECUTOR_HOST") or "127.0.0.1").strip()
    port = _int(env, "EXECUTOR_PORT", 8765, 1, 65535)
    mode = _choice(env, "EXECUTOR_MODE", "paper", MODES)
    token = env.get("EXECUTOR_TOKEN")
    if token is not None and token.strip() == "":
        token = None
    if token is not None and len(token.strip()) < 16:
        raise ConfigError("EXECUTOR_TOKEN", "must be at least 16 characters")
    allowed_hosts = _csv(env, "EXECUTOR_ALLOWED_HOSTS") or tuple(
        dict.fromkeys(("localhost", "127.0.0.1", "::1", host))
    )
    allowed_origins = _csv(env, "EXECUTOR_ALLOWED_ORIGINS")
    panel_port = _int(env, "PANEL_PORT", 5006, 1, 65535)
    if allowed_origins is None:
        allowed_origins = (f"http://127.0.0.1:{panel_port}", f"http://localhost:{panel_port}")
    for origin in allowed_origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError("EXECUTOR_ALLOWED_ORIGINS", f"not a full origin like http://127.0.0.1:5006: {origin!r}")
    ws_url = (env.get("EXECUTOR_WS_URL") or "").strip()
    if not ws_url:
        ws_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        if ":" in ws_host:
            ws_host = f"[{ws_host}]"
        ws_url = f"ws://{ws_host}:{port}/ws/executor"
    elif urlsplit(ws_url).scheme not in ("ws", "wss"):
        raise ConfigError("EXECUTOR_WS_URL", f"must be a ws:// or wss:// URL, got {ws_url!r}")
    dashboard_password = _secret(env, "EXECUTOR_DASHBOARD_PASSWORD", MIN_DASHBOARD_PASSWORD)
    if dashboard_password is not None and os.path.exists(dashboard_password):
        # panel serve would read an existing path given to --basic-auth as a users file.
        raise ConfigError("EXECUTOR_DASHBOARD_PASSWORD", "must be the password itself, not a path to a file")
    cookie_secret = _secret(env, "EXECUTOR_DASHBOARD_COOKIE_SECRET", MIN_COOKIE_SECRET)
    tz_name = (env.get("EXECUTOR_DAY_TZ") or "America/New_York").strip()
    try:
        day_tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("EXECUTOR_DAY_TZ", f"unknown time zone {tz_name!r}") from None
    display_tz_name = (env.get("EXECUTOR_DISPLAY_TZ") or "").strip()
    try:
        display_tz = ZoneInfo(display_tz_name) if display_tz_name else day_tz
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("EXECUTOR_DISPLAY_TZ", f"unknown time zone {display_tz_name!r}") from None
    try:
        notify_urls = parse_notify_urls(env.get("EXECUTOR_NOTIFY_URLS"))
    except BadNotifyUrl as exc:
        raise ConfigError("EXECUTOR_NOTIFY_URLS", str(exc)) from None
    return Config(
        database_url=database_url,
        data_dir=data_dir,
        host=host,
        port=port,
        mode=mode,
        token_env=token.strip() if token else None,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        ws_url=ws_url,
        day_tz=day_tz,
        display_tz=display_tz,
        seed=_int(env, "EXECUTOR_SEED", 1, 0, 2**63 - 1),
        paper_port=_int(env, "EXECUTOR_PAPER_PORT", 8780, 1, 65535),
        paper_balances=parse_paper_balances(env.get("EXECUTOR_PAPER_BALANCES") or DEFAULT_PAPER_BALANCES),
        poly_venue=_choice(env, "EXECUTOR_POLY_VENUE", "polymarket", POLY_VENUES),
        min_confidence=_choice(env, "EXECUTOR_MIN_CONFIDENCE", "HIGH", CONFIDENCES),
        require_confirmation=_bool(env, "EXECUTOR_REQUIRE_CONFIRMATION", mode == "live"),
        max_book_age_ms=_int(env, "EXECUTOR_MAX_BOOK_AGE_MS", 2000, 1, 600_000),
        no_trade_before_start_s=_int(env, "EXECUTOR_NO_TRADE_BEFORE_START_S", 60, 0, 86_400),
        lease_ttl_s=_int(env, "EXECUTOR_LEASE_TTL_S", 10, 2, 3600),
        reconcile_interval_s=_int(env, "EXECUTOR_RECONCILE_INTERVAL_S", 60, 1, 3600),
        refuse_cancellation_mismatch=_bool(env, "EXECUTOR_REFUSE_CANCELLATION_MISMATCH", False),
        price_legging_risk=_bool(env, "EXECUTOR_PRICE_LEGGING_RISK", False),
        legging_refresh_s=_int(env, "EXECUTOR_LEGGING_REFRESH_S", 600, 10, 86400),
        suspicious_roi=_percent(env, "EXECUTOR_SUSPICIOUS_ROI", Decimal("5"), Decimal("1000")),
        dashboard_password_env=dashboard_password,
        dashboard_cookie_secret_env=cookie_secret,
        notify_urls=notify_urls,
        record_dir=_writable_dir(env, "EXECUTOR_RECORD_DIR"),
        record_max_gb=_positive(env, "EXECUTOR_RECORD_MAX_GB", Decimal("10"), MIN_RECORD_GB),
        replay_reports=Path((env.get("EXECUTOR_REPLAY_REPORTS") or "").strip() or data_dir / "replays"),
    )
