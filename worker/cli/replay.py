"""``python -m worker replay DIR --out REPORT_DIR [--settings FILE] [--from T] [--to T] [--latency-ms N] [--decision-ms N]``

Replays a recording (``python -m worker record`` or ``EXECUTOR_RECORD_DIR``) through the
worker's own scanner, risk manager and executor on a replay clock, against a throwaway
database and the replay venues (the paper exchange's matching engine over the recorded
books; no venue is called). Writes ``REPORT_DIR/report.json`` (byte-identical for the
same recording, settings and options) and ``REPORT_DIR/report.html`` (Bokeh, opens
without a server), and prints one line of JSON: the headline figures, ``speed_factor``
(recorded span ÷ wall time) and what was skipped.

``--settings FILE`` is a JSON object of the plan's settings (``min_bet``, ``max_bet``,
``min_roi``, ``max_roi``, ``max_daily_trades``, ``max_daily_loss``; any subset, the
rest default); without it, the settings stored in the current database
(``EXECUTOR_DATABASE_URL``). The environment's risk settings (``EXECUTOR_MIN_CONFIDENCE``,
``EXECUTOR_SUSPICIOUS_ROI``, …) and ``EXECUTOR_POLY_VENUE`` apply as they do to the
worker. ``--latency-ms`` is one figure for every venue, or ``kalshi=60,polymarket=150``
(defaults: :data:`~worker.replay.driver.DEFAULT_LATENCY_MS`); ``--decision-ms`` how long
after a quote changes the executor decides, on the books as they then stand (default 0:
at once; a live worker's own lag is its attempts' ``created_at`` less
``details.quoted.at``); ``--balance`` each venue's opening cash (default $1,000, as the
paper exchange opens accounts).

``--sweep NAME=V1,V2,…`` (repeatable) replays every combination of the swept settings
(:mod:`worker.cli.replay_sweep`); ``--compare-legging`` replays twice, without and with
legging risk priced into ``min_roi``, and writes ``compare.json``
(:mod:`worker.replay.compare`). With ``EXECUTOR_PRICE_LEGGING_RISK=1`` a replay prices
legging risk with estimates made from the replayed window's own books.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from db.engine import Database
from db.repositories import SettingsRepository
from worker.cli.common import config_or_exit, setup_logging
from worker.clock import SYSTEM_CLOCK
from worker.config import Config
from worker.domain.markets import Venue
from worker.domain.settings import DEFAULTS, SettingsError, apply_patch, from_stored
from worker.replay.compare import compare_legging
from worker.replay.compare import estimates as legging_estimates
from worker.replay.driver import DEFAULT_LATENCY_MS, Replay, ReplayOptions
from worker.replay.facts import headline_line
from worker.replay.reader import open_recording
from worker.replay.recording import Recording
from worker.replay.report_html import write_html
from worker.risk_env import risk_config

EX_USAGE = 2


class UsageError(Exception):
    """A bad argument: the message says which and why; nothing was written."""


def parse_time(text: str, flag: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not an ISO-8601 time (e.g. 2026-12-07T14:00:00Z)") from None
    if when.utcoffset() is None:
        raise UsageError(f"{flag}: {text!r} has no time zone (write e.g. 2026-12-07T14:00:00Z)")
    return when


def parse_ms(value: str, flag: str) -> int:
    """A whole number of milliseconds in 0..60000 (ASCII digits only)."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 60_000:
        raise UsageError(f"{flag}: {value!r} is not a whole number of milliseconds in 0..60000")
    return int(text)


def parse_latency(text: str) -> dict[Venue, int]:
    """``N`` (every venue) or ``venue=N,…`` (the others keep their defaults), in ms."""

    def ms(value: str) -> int:
        return parse_ms(value, "--latency-ms")

    if "=" not in text:
        return {v: ms(text) for v in Venue}
    out = dict(DEFAULT_LATENCY_MS)
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            venue = Venue(name.strip())
        except ValueError:
            raise UsageError(f"--latency-ms: unknown venue {name.strip()!r} (kalshi, polymarket, polymarket_us)") from None
        out[venue] = ms(value)
    return out


def parse_balance(text: str) -> Decimal:
    try:
        amount = Decimal(text.strip())
    except ArithmeticError:
        raise UsageError(f"--balance: {text!r} is not an amount of dollars") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise UsageError(f"--balance: {text!r} must be above 0 with at most 2 decimals")
    return amount


def settings_from_file(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise UsageError(f"--settings: cannot read {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--settings: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(raw, dict):
        raise UsageError(f"--settings: {path} must hold a JSON object of settings")
    patch = {k: v for k, v in raw.items() if k != "enabled"}
    if not patch:
        return DEFAULTS.values()
    try:
        return apply_patch(DEFAULTS, patch).values()
    except SettingsError as exc:
        raise UsageError(f"--settings: {exc.message}") from None


def settings_from_database(config: Config) -> dict[str, Any]:
    """The settings stored in the worker's database (read only: nothing is written; a
    SQLite database that does not exist is not created)."""
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise UsageError(
            f"no --settings file and no database at {url.database or '(memory)'} to read the settings from; "
            "pass --settings FILE"
        )
    return asyncio.run(_stored_settings(config))


async def _stored_settings(config: Config) -> dict[str, Any]:
    db = Database(config.database_url)
    try:
        row = await SettingsRepository(db).load()
    except Exception as exc:
        raise UsageError(
            f"no --settings file and the database's settings cannot be read ({type(exc).__name__}); "
            "pass --settings FILE or run `python -m worker migrate`"
        ) from None
    finally:
        await db.dispose()
    if row is None:
        return DEFAULTS.values()
    settings, _ = from_stored(row)
    return settings.values()


def traded_venue(config: Config, recording: Recording) -> Venue:
    """The Polymarket venue traded: ``EXECUTOR_POLY_VENUE`` if recorded, else the one recorded."""
    recorded = [v for v in recording.info.venues if v is not Venue.KALSHI]
    if Venue.KALSHI not in recording.info.venues or not recorded:
        names = ", ".join(v.value for v in recording.info.venues) or "none"
        raise UsageError(f"the recording must hold Kalshi and a Polymarket venue (it holds: {names})")
    wanted = Venue(config.poly_venue)
    if wanted in recorded:
        return wanted
    if len(recorded) == 1:
        return recorded[0]
    raise UsageError(f"EXECUTOR_POLY_VENUE={wanted.value} is not in the recording")


def options_from(args: argparse.Namespace, config: Config, recording: Recording, settings: dict[str, Any]) -> ReplayOptions:
    """Every argument checked (raises :class:`UsageError`); nothing is written."""
    options = ReplayOptions(
        poly_venue=traded_venue(config, recording),
        settings=settings,
        risk=risk_config(config),
        latency_ms=parse_latency(args.latency_ms) if args.latency_ms else dict(DEFAULT_LATENCY_MS),
        balances={v: parse_balance(args.balance) for v in Venue},
        start=parse_time(args.start, "--from") if args.start else None,
        end=parse_time(args.end, "--to") if args.end else None,
        decision_ms=parse_ms(args.decision_ms, "--decision-ms"),
    )
    check_window(options.start, options.end, recording)
    return options


def check_window(start: datetime | None, end: datetime | None, recording: Recording) -> None:
    """``--from`` before ``--to``, and the window inside the recording (:class:`UsageError`)."""
    if start and end and start >= end:
        raise UsageError("--from must be before --to")
    info = recording.info
    if info.start is not None and info.end is not None:
        span = f"the recording runs from {info.start.isoformat()} to {info.end.isoformat()}"
        if start is not None and start >= info.end:
            raise UsageError(f"--from is after the recording's end: {span}")
        if end is not None and end <= info.start:
            raise UsageError(f"--to is before the recording's start: {span}")


async def replay(options: ReplayOptions, recording: Recording, out: Path) -> str:
    began = SYSTEM_CLOCK.monotonic()
    outcome = await Replay(recording, options).run()
    report = outcome.facts.report()
    outcome.facts.write(out, report)
    write_html(out, report)
    return headline_line(report, SYSTEM_CLOCK.monotonic() - began)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", help="the recording's directory")
    parser.add_argument("--out", required=True, help="where report.json and report.html go")
    parser.add_argument("--settings", help="JSON file of the plan's settings (default: the database's)")
    parser.add_argument("--from", dest="start", help="replay from this time (ISO-8601 with zone)")
    parser.add_argument("--to", dest="end", help="replay up to this time (ISO-8601 with zone)")
    parser.add_argument("--latency-ms", help="order latency: N for every venue, or venue=N,…")
    parser.add_argument("--decision-ms", default="0",
                        help="how long after a quote changes the executor decides (default 0: at once)")
    parser.add_argument("--balance", default="1000", help="each venue's opening cash in dollars (default 1000)")
    parser.add_argument("--sweep", action="append", metavar="NAME=V1,V2,…",
                        help="sweep a setting over these values (repeatable: every combination is replayed)")
    parser.add_argument("--compare-legging", action="store_true",
                        help="replay twice, without and with legging risk priced into min_roi, and compare")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --sweep: run the combinations on this Dask scheduler (tcp://host:8786)")
    args = parser.parse_args(argv)
    setup_logging()
    config = config_or_exit()
    try:
        try:
            recording = open_recording(Path(args.directory))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{args.directory}: {exc}") from None
        if args.settings:
            settings = settings_from_file(Path(args.settings))
        else:
            settings = settings_from_database(config)
        options = options_from(args, config, recording, settings)
        if options.risk.price_legging_risk and not args.compare_legging:
            # EXECUTOR_PRICE_LEGGING_RISK=1: estimates from the replayed window's own books
            # (made once; a sweep's runs all price with them).
            options = replace(options, legging=legging_estimates(recording, options))
        if args.compare_legging and (args.sweep or args.scheduler is not None):
            raise UsageError("--compare-legging replays one setting twice: it does not combine with --sweep")
        if args.sweep or args.scheduler is not None:
            from worker.cli.replay_sweep import sweep_command

            return sweep_command(args.sweep, args.scheduler, args.directory, Path(args.out), options)
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out: cannot create {out}: {exc.strerror or exc}") from None
        if args.compare_legging:
            result = asyncio.run(compare_legging(options, recording, out))
            line = json.dumps(result, sort_keys=True, separators=(",", ":"))
        else:
            line = asyncio.run(replay(options, recording, out))
    except UsageError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return EX_USAGE
    print(line, flush=True)
    return 0
