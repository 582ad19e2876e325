"""Settings sweeps: one replay per combination of swept settings, side by side.

``python -m worker replay DIR --out REPORT_DIR --sweep min_roi=0.5,1,2 --sweep max_bet=10,20``
replays the recording once per combination (the cartesian product, in the order given)
of the swept settings applied on top of the base settings, each as an independent task:
:func:`run_combination` takes the recording's path and plain picklable data
(:func:`job_of`), opens the recording itself, runs :class:`~worker.replay.driver.Replay`
under :func:`asyncio.run`, writes that combination's whole report into
``REPORT_DIR/runs/NNN/`` and returns one small row. The tasks run on local processes
(:func:`run_local`) or on a Dask distributed cluster (:func:`run_dask`); only the jobs
and the rows go through the scheduler, never a book.

A row (:data:`COLUMNS`): the swept values, ``trades`` (the report's ``attempts``: every
attempt the executor made), ``hedged`` (those that ended hedged), locked and realised P&L
and the worst drawdown (the report's summary), ``capital_days`` (the time integral of
the report's capital-in-use series over the replayed window, in dollar-days) and
``roi_per_capital_day_pct`` ((locked + realised) ÷ capital-days × 100; empty when no
capital was in use). Every amount is exact decimal text; the same recording, settings
and options give a byte-identical ``sweep.csv``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import dataclasses
import enum
import importlib
import io
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from worker.domain.markets import Venue
from worker.domain.settings import (
    FIELD_NAMES,
    FIELDS,
    ExecutorSettings,
    SettingsError,
    apply_patch,
    parse_text,
)
from worker.engine.executor import RiskConfig
from worker.replay.driver import Replay, ReplayOptions
from worker.replay.facts import jsonable
from worker.replay.figures import amount
from worker.replay.reader import open_recording
from worker.replay.report_html import write_html

CSV_FILE = "sweep.csv"
RUNS_DIR = "runs"
#: The figures of each row, after the run's number and the swept settings.
FIGURES = ("trades", "hedged", "locked_pnl", "realised_pnl", "worst_drawdown", "capital_days",
           "roi_per_capital_day_pct")
#: Precision of the two divided figures (the others are the report's exact text).
CAPITAL_DAYS_PLACES = Decimal("1e-9")
ROI_PLACES = Decimal("1e-4")
_US_PER_DAY = Decimal(86_400_000_000)
#: How long reaching a Dask scheduler may take before the sweep gives up.
CONNECT_TIMEOUT_S = 10
_SPECS = {spec.name: spec for spec in FIELDS}


class SweepError(ValueError):
    """A bad ``--sweep``: the message says which and why; nothing was run or written."""


class SweepFailed(RuntimeError):
    """A combination's replay failed, or the Dask scheduler could not be used."""


@dataclass(frozen=True)
class Sweep:
    """The swept settings (names in the order given) and every combination's settings."""

    names: tuple[str, ...]
    #: Per combination: the swept values as the settings show them (``0.50``, ``20``).
    values: tuple[tuple[str, ...], ...]
    #: Per combination: the whole settings (the base with the combination applied).
    settings: tuple[ExecutorSettings, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return ("run", *self.names, *FIGURES)


def parse_sweep(specs: Sequence[str], base: Mapping[str, Any]) -> Sweep:
    """``name=v1,v2,…`` per swept setting; every combination applied on ``base`` and
    checked by the settings' own rules. Raises :class:`SweepError`."""
    axes: list[tuple[str, list[Decimal | int]]] = []
    for spec in specs:
        name, eq, text = spec.partition("=")
        name = name.strip()
        if not eq or not name:
            raise SweepError(f"--sweep: {spec!r} is not NAME=V1,V2,… (e.g. min_roi=0.5,1,2)")
        if name not in FIELD_NAMES:
            raise SweepError(f"--sweep: unknown setting {name!r} (one of: {', '.join(FIELD_NAMES)})")
        if any(name == seen for seen, _ in axes):
            raise SweepError(f"--sweep: {name} is swept twice; give all its values in one --sweep")
        values: list[Decimal | int] = []
        for raw in text.split(","):
            if not raw.strip():
                raise SweepError(f"--sweep: {name} has an empty value in {text!r}")
            try:
                value = parse_text(name, raw)
            except SettingsError as exc:
                raise SweepError(f"--sweep: {name}={raw.strip()}: {exc.message}") from None
            if value in values:
                raise SweepError(f"--sweep: {name} lists {_SPECS[name].shown(value)} twice")
            values.append(value)
        axes.append((name, values))
    if not axes:
        raise SweepError("--sweep: no setting to sweep")
    current = ExecutorSettings(**dict(base))
    names = tuple(name for name, _ in axes)
    shown: list[tuple[str, ...]] = []
    settings: list[ExecutorSettings] = []
    for combo in itertools.product(*(values for _, values in axes)):
        patch = dict(zip(names, combo, strict=True))
        words = " ".join(f"{n}={_SPECS[n].shown(v)}" for n, v in patch.items())
        try:
            settings.append(apply_patch(current, patch))
        except SettingsError as exc:
            raise SweepError(f"--sweep: the combination {words} is refused: {exc.message}") from None
        shown.append(tuple(_SPECS[n].shown(v) for n, v in patch.items()))
    return Sweep(names, tuple(shown), tuple(settings))


# -- one combination: plain data in, a small row out ---------------------------------------
def job_of(options: ReplayOptions, settings: ExecutorSettings, number: int, width: int, out: Path,
           swept: Mapping[str, str]) -> dict[str, Any]:
    """Everything :func:`run_combination` needs, as plain picklable data (text, numbers;
    an option this module does not know is passed on as it is)."""
    known = {"poly_venue", "settings", "risk", "latency_ms", "balances", "start", "end"}
    return {
        "run": f"{number:0{width}d}",
        "swept": dict(swept),
        "out": str(out / RUNS_DIR / f"{number:0{width}d}"),
        "poly_venue": options.poly_venue.value,
        "settings": jsonable(settings.values()),
        "latency_ms": {v.value: ms for v, ms in options.latency_ms.items()},
        "balances": {v.value: str(b) for v, b in options.balances.items()},
        "start": None if options.start is None else options.start.isoformat(),
        "end": None if options.end is None else options.end.isoformat(),
        "risk": {f.name: _plain(getattr(options.risk, f.name)) for f in dataclasses.fields(options.risk)},
        "other": {f.name: getattr(options, f.name) for f in dataclasses.fields(options) if f.name not in known},
    }


def _plain(value: Any) -> Any:
    """A risk setting as (kind, text) so that it comes back as the same type."""
    if isinstance(value, enum.Enum):
        return ("enum", type(value).__module__, type(value).__qualname__, value.value)
    if isinstance(value, ZoneInfo):
        return ("zone", value.key)
    if isinstance(value, Decimal):
        return ("decimal", str(value))
    return ("value", value)


def _unplain(plain: Sequence[Any]) -> Any:
    kind = plain[0]
    if kind == "enum":
        owner: Any = importlib.import_module(plain[1])
        for part in plain[2].split("."):
            owner = getattr(owner, part)
        return owner(plain[3])
    if kind == "zone":
        return ZoneInfo(plain[1])
    if kind == "decimal":
        return Decimal(plain[1])
    return plain[1]


def options_of(job: Mapping[str, Any]) -> ReplayOptions:
    """The :class:`ReplayOptions` a job stands for (the inverse of :func:`job_of`)."""
    settings = dict(job["settings"])
    return ReplayOptions(
        poly_venue=Venue(job["poly_venue"]),
        settings={k: (v if k == "enabled" or isinstance(v, int) else Decimal(v)) for k, v in settings.items()},
        risk=RiskConfig(**{name: _unplain(plain) for name, plain in job["risk"].items()}),
        latency_ms={Venue(v): int(ms) for v, ms in job["latency_ms"].items()},
        balances={Venue(v): Decimal(b) for v, b in job["balances"].items()},
        start=None if job["start"] is None else datetime.fromisoformat(job["start"]),
        end=None if job["end"] is None else datetime.fromisoformat(job["end"]),
        **job.get("other", {}),
    )


def run_combination(directory: str, job: Mapping[str, Any]) -> dict[str, str]:
    """One combination's replay (a task: top level, picklable arguments): opens the
    recording at ``directory`` itself, writes the report into ``job["out"]`` and returns
    its row (:func:`row_of`)."""
    options = options_of(job)
    recording = open_recording(Path(directory))
    outcome = asyncio.run(Replay(recording, options).run())
    report = outcome.facts.report()
    out = Path(job["out"])
    outcome.facts.write(out, report)
    write_html(out, report)
    return {"run": job["run"], **job["swept"], **row_of(report)}


def capital_days(points: Sequence[Mapping[str, str]]) -> tuple[Decimal, Decimal]:
    """(dollar-microseconds, dollar-days rounded) of a report's capital-in-use series:
    each point's capital holds until the next point's time (the series runs from the
    replayed window's start to its end)."""
    total = Decimal(0)
    for here, after in itertools.pairwise(points):
        span = datetime.fromisoformat(after["t"]) - datetime.fromisoformat(here["t"])
        micros = (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
        total += Decimal(here["capital"]) * micros
    return total, (total / _US_PER_DAY).quantize(CAPITAL_DAYS_PLACES, rounding=ROUND_HALF_EVEN)


def row_of(report: Mapping[str, Any]) -> dict[str, str]:
    """A report's figures as a sweep row (every value text; see the module's docstring)."""
    s = report["summary"]
    locked, realised = Decimal(s["locked_pnl"]), Decimal(s["realised_pnl"])
    dollar_us, days = capital_days(report["capital"])
    roi = ""
    if dollar_us:
        roi = amount(((locked + realised) * 100 * _US_PER_DAY / dollar_us).quantize(ROI_PLACES, ROUND_HALF_EVEN))
    return {
        "trades": str(s["attempts"]),
        "hedged": str(s["hedged"]),
        "locked_pnl": amount(locked),
        "realised_pnl": amount(realised),
        "worst_drawdown": s["worst_drawdown"],
        "capital_days": amount(days),
        "roi_per_capital_day_pct": roi,
    }


# -- running every combination --------------------------------------------------------------
def run_local(directory: str, jobs: Sequence[Mapping[str, Any]], workers: int | None = None) -> list[dict[str, str]]:
    """Every job on local processes (one per core; started fresh, never forked: the
    parent may hold threads); rows in the jobs' order."""
    count = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = [pool.submit(run_combination, directory, job) for job in jobs]
        return [_result(job, future.result) for job, future in zip(jobs, futures, strict=True)]


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``; :class:`SweepFailed` naming the
    address when it cannot be reached."""
    Client = _distributed_client()
    try:
        return Client(address, timeout=f"{CONNECT_TIMEOUT_S}s", set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError (a malformed address), …
        raise SweepFailed(f"--scheduler: cannot reach the Dask scheduler at {address} ({_why(exc)})") from None


def _distributed_client() -> Any:
    """``distributed.Client``, imported here (a local sweep or a replay does not need it)
    without the logging configuration Dask applies on import: it sets other libraries'
    loggers (``tornado`` to CRITICAL, ``bokeh``…), which would silence this process's own
    request log. Every logger but Dask's own gets back the level it had."""
    manager = logging.Logger.manager
    before = {name: lg.level for name, lg in manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    root = logging.getLogger().level
    from distributed import Client

    for name, lg in list(manager.loggerDict.items()):
        if isinstance(lg, logging.Logger) and not name.startswith(("distributed", "dask")):
            lg.setLevel(before.get(name, logging.NOTSET))
    logging.getLogger().setLevel(root)
    return Client


def run_dask(client: Any, directory: str, jobs: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Every job as a task of the cluster behind ``client`` (closed at the end); each task
    reads its recording's parts itself, so only jobs and rows go through the scheduler."""
    try:
        futures = client.map(run_combination, [directory] * len(jobs), list(jobs), pure=False)
        return [_result(job, future.result) for job, future in zip(jobs, futures, strict=True)]
    finally:
        client.close()


def _result(job: Mapping[str, Any], get: Callable[[], dict[str, str]]) -> dict[str, str]:
    try:
        return get()
    except Exception as exc:
        raise SweepFailed(f"run {job['run']} ({_words(job['swept'])}) failed: {_why(exc)}") from exc


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _words(swept: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in swept.items())


# -- the sweep's outputs ---------------------------------------------------------------------
def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """``sweep.csv``'s text: a header and one row per combination, ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return buffer.getvalue()


def table_text(columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    """The rows as a fixed-width text table (numbers right-aligned), for standard output."""
    widths = [max(len(c), *(len(r[c]) for r in rows)) if rows else len(c) for c in columns]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(r[c].rjust(w) for c, w in zip(columns, widths, strict=True)) for r in rows]
    return "".join(line.rstrip() + "\n" for line in lines)


def sweep_jobs(sweep: Sweep, options: ReplayOptions, out: Path) -> list[dict[str, Any]]:
    """One job per combination, numbered from 1 (``runs/001``, …)."""
    width = max(3, len(str(len(sweep.settings))))
    return [
        job_of(options, settings, i, width, out, dict(zip(sweep.names, values, strict=True)))
        for i, (values, settings) in enumerate(zip(sweep.values, sweep.settings, strict=True), start=1)
    ]


def write_outputs(out: Path, sweep: Sweep, rows: Sequence[Mapping[str, str]]) -> Path:
    """``sweep.csv`` and ``sweep.html`` into ``out``; returns the CSV's path."""
    from worker.replay.sweep_html import write_sweep_html

    path = out / CSV_FILE
    path.write_text(csv_text(sweep.columns, rows), encoding="utf-8")
    write_sweep_html(out, sweep.names, sweep.columns, rows)
    return path
