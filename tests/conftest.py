"""Shared fixtures: databases on SQLite (always) and PostgreSQL (when configured).

``EXECUTOR_TEST_POSTGRES_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``)
enables the PostgreSQL variants; each test then gets a database of its own, created and
dropped around it. Without it those variants skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.quiet import pause_if_asked

POSTGRES_URL = os.environ.get("EXECUTOR_TEST_POSTGRES_URL", "").strip()
NO_POSTGRES = "EXECUTOR_TEST_POSTGRES_URL is not set: PostgreSQL variants need a server (CI sets it)"


def _postgres_param() -> object:
    return pytest.param(
        "postgres", marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]
    )


BACKENDS = ["sqlite", _postgres_param()]


async def create_postgres_database() -> str:
    """A fresh, empty PostgreSQL database; returns its URL."""
    name = f"executor_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    admin = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'executor.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


#: Modules whose tests share one module-scoped stack (a browser and a running worker, a
#: server thread, an exchange of their own). Under ``pytest -n`` (``make test``) each runs
#: whole on one worker, which builds the stack once, in the order a plain run uses.
ONE_WORKER_MODULES = frozenset(
    {
        "tests/dashboard/test_browser.py",
        "tests/dashboard/test_cards_theme_browser.py",
        "tests/dashboard/test_console_browser.py",
        "tests/dashboard/test_keyed_browser.py",
        "tests/dashboard/test_replay_reports_browser.py",
        "tests/dashboard/test_legging_browser.py",
        "tests/dashboard/test_leagues_browser.py",
        "tests/dashboard/test_settings_kill_switch_browser.py",
        "tests/dashboard/test_kill_switch_reconnect_browser.py",
        "tests/dashboard/test_mappings_page.py",
        "tests/worker/api/test_fuzz.py",
        "tests/worker/venues/contract/test_books_on_paper.py",
    }
)


#: Modules that start many processes (replays in process pools, a Dask cluster, a live
#: worker beside its replay, two workers racing for the lease): under ``pytest -n`` they
#: run one after another on one worker,
#: so that they do not load the machine together (the fuzz test's 1,500 round trips and the
#: live-vs-replay comparison are sensitive to that load).
HEAVY_MODULES = frozenset(
    {
        "tests/system/replay/test_sweep.py",
        "tests/system/replay/test_replay_end_to_end.py",
        # Two workers racing for the lease, timed to the second: never beside the replays
        # above, nor in the burst of tests starting when the live-vs-replay run ends.
        "tests/system/scale/test_lease_two_workers.py",
        "tests/worker/replay/test_compare_legging.py",
    }
)


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def _shares_a_fixture_wider_than_a_test(item: pytest.Item) -> bool:
    infos = getattr(item, "_fixtureinfo", None)
    if infos is None:
        return False
    return any(defs and defs[-1].scope in ("module", "class") for defs in infos.name2fixturedefs.values())


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup``: xdist's load balancing, one group per module of
    :data:`ONE_WORKER_MODULES`, one group for :data:`HEAVY_MODULES`, every other test on its own (xdist's own ``xdist_group``
    marks are not seen by its scheduler under pytest 9)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = _module(nodeid)
            if module in HEAVY_MODULES:
                return "heavy"
            return module if module in ONE_WORKER_MODULES else nodeid

    return ModuleGroups(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n``: the long modules first, and a warning for a module that shares a
    stack but is not in :data:`ONE_WORKER_MODULES`.

    Modules with a browser or slow test start first, so that the longest tests do not end
    up alone at the tail of the run (xdist hands tests out in collection order, groups
    first). The order within a module is kept.
    """
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: the plain order

    def long(item: pytest.Item) -> bool:
        return item.get_closest_marker("slow") is not None or item.get_closest_marker("browser") is not None

    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(_module(item.nodeid), []).append(item)
    for path, module_items in modules.items():
        if path not in ONE_WORKER_MODULES | HEAVY_MODULES and any(_shares_a_fixture_wider_than_a_test(i) for i in module_items):
            module_items[0].warn(pytest.PytestWarning(
                f"{path}: its tests share a module-scoped fixture, which each worker builds anew; "
                "add the module to ONE_WORKER_MODULES in tests/conftest.py to run it on one worker"
            ))
    ordered = sorted(modules.values(), key=lambda its: not any(long(i) for i in its))
    items[:] = [item for module in ordered for item in module]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Before a test starts (its fixtures, and outside pytest-timeout's clock, whose
    wrapper runs inside this one): wait while another worker measures on a quiet machine
    (:mod:`tests.support.quiet`)."""
    pause_if_asked()
    yield


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An environment with no EXECUTOR_* variables but a private data dir and database."""
    for key in list(os.environ):
        if key.startswith(("EXECUTOR_", "KALSHI_", "POLYMARKET_")) and key != "EXECUTOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    env = {
        "EXECUTOR_DATA_DIR": str(tmp_path / "data"),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'executor.db'}",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
