from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository
from worker.domain.settings import DEFAULTS, ExecutorSettings, SettingsError, from_stored
from worker.engine.settings_manager import ExecutorSettingsManager


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database, "paper")
    yield database
    await database.dispose()


@pytest.fixture
async def manager(db: Database) -> ExecutorSettingsManager:
    m = ExecutorSettingsManager(SettingsRepository(db))
    await m.load()
    return m


async def test_first_load_gives_the_plans_defaults(manager: ExecutorSettingsManager) -> None:
    s = manager.current
    assert s == DEFAULTS
    assert (s.enabled, s.min_bet, s.max_bet, s.min_roi, s.max_roi) == (
        False, Decimal("5"), Decimal("10"), Decimal("1.0"), Decimal("50.0"),
    )
    assert (s.max_daily_trades, s.max_daily_loss) == (50, Decimal("5.0"))


async def test_update_persists_and_is_read_back_exactly(db: Database, manager: ExecutorSettingsManager) -> None:
    await manager.update({"min_bet": Decimal("6.25"), "max_roi": 12, "max_daily_loss": Decimal("7.10")})
    fresh = ExecutorSettingsManager(SettingsRepository(db))
    loaded = await fresh.load()
    assert loaded.min_bet == Decimal("6.25")
    assert loaded.max_roi == Decimal("12")
    assert loaded.max_daily_loss == Decimal("7.10")
    assert loaded == manager.current


async def test_toggle_is_the_only_way_to_change_enabled(manager: ExecutorSettingsManager) -> None:
    with pytest.raises(SettingsError) as info:
        await manager.update({"min_bet": 6, "enabled": True})
    assert info.value.field == "enabled"
    assert manager.current == DEFAULTS
    await manager.set_enabled(True)
    assert manager.enabled is True
    with pytest.raises(SettingsError) as info:
        await manager.set_enabled(1)  # type: ignore[arg-type]
    assert info.value.field == "value"
    assert manager.enabled is True


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"min_bett": 5}, "min_bett"),
        ({"min_bet": True}, "min_bet"),
        ({"min_bet": "5"}, "min_bet"),
        ({"min_bet": None}, "min_bet"),
        ({"min_bet": [5]}, "min_bet"),
        ({"max_bet": math.nan}, "max_bet"),
        ({"max_bet": math.inf}, "max_bet"),
        ({"max_bet": Decimal("Infinity")}, "max_bet"),
        ({"max_bet": Decimal("NaN")}, "max_bet"),
        ({"min_roi": -1}, "min_roi"),
        ({"max_daily_loss": Decimal("-0.01")}, "max_daily_loss"),
        ({"min_bet": 0}, "min_bet"),
        ({"min_bet": 11}, "min_bet"),
        ({"max_bet": 4}, "max_bet"),
        ({"min_roi": 60}, "min_roi"),
        ({"max_roi": Decimal("0.5")}, "max_roi"),
        ({"min_bet": 20, "max_bet": 15}, "min_bet"),
        ({"max_daily_trades": 0}, "max_daily_trades"),
        ({"max_daily_trades": Decimal("2.5")}, "max_daily_trades"),
        ({"max_daily_trades": -3}, "max_daily_trades"),
        ({"min_bet": Decimal("5.001")}, "min_bet"),
        ({"max_bet": Decimal("1e999")}, "max_bet"),
        ({}, "settings"),
        ({"max_bet": 12, "bogus": 1}, "bogus"),
    ],
)
async def test_invalid_batches_name_the_field_and_change_nothing(
    db: Database, manager: ExecutorSettingsManager, patch: Mapping[str, Any], field: str
) -> None:
    before = await SettingsRepository(db).load()
    with pytest.raises(SettingsError) as info:
        await manager.update(patch)
    assert info.value.field == field
    assert manager.current == DEFAULTS
    assert await SettingsRepository(db).load() == before


async def test_a_batch_is_applied_all_or_nothing(manager: ExecutorSettingsManager) -> None:
    with pytest.raises(SettingsError):
        await manager.update({"min_bet": 7, "max_bet": 8, "max_daily_trades": 0})
    assert manager.current == DEFAULTS
    await manager.update({"min_bet": 20, "max_bet": 30})  # consistent as a whole
    assert (manager.current.min_bet, manager.current.max_bet) == (Decimal(20), Decimal(30))


class FailingStore:
    """A store whose disk write fails (disk full, database gone)."""

    def __init__(self, inner: SettingsRepository) -> None:
        self.inner = inner
        self.fail = False

    async def load(self) -> Mapping[str, Any] | None:
        return await self.inner.load()

    async def save(self, settings: ExecutorSettings) -> None:
        if self.fail:
            raise OSError("disk I/O error")
        await self.inner.save(settings)

    async def save_fields(self, fields: Mapping[str, Any], expected_version: int | None) -> int:
        if self.fail:
            raise OSError("disk I/O error")
        return await self.inner.save_fields(fields, expected_version)


async def test_failed_disk_write_leaves_the_cache_unchanged(db: Database) -> None:
    store = FailingStore(SettingsRepository(db))
    manager = ExecutorSettingsManager(store)
    await manager.load()
    seen: list[ExecutorSettings] = []
    manager.subscribe(lambda old, new: seen.append(new))
    store.fail = True
    with pytest.raises(OSError):
        await manager.update({"min_bet": 6})
    with pytest.raises(OSError):
        await manager.set_enabled(True)
    assert manager.current == DEFAULTS
    assert seen == []
    store.fail = False
    await manager.update({"min_bet": 6})
    assert manager.current.min_bet == Decimal(6)
    assert [s.min_bet for s in seen] == [Decimal(6)]


async def test_subscribers_see_each_committed_change_with_old_and_new(manager: ExecutorSettingsManager) -> None:
    changes: list[tuple[ExecutorSettings, ExecutorSettings]] = []

    async def listener(old: ExecutorSettings, new: ExecutorSettings) -> None:
        changes.append((old, new))

    unsubscribe = manager.subscribe(listener)
    await manager.update({"max_roi": 30})
    await manager.set_enabled(True)
    unsubscribe()
    await manager.update({"max_roi": 31})
    assert [(o.max_roi, n.max_roi, n.enabled) for o, n in changes] == [
        (Decimal(50), Decimal(30), False),
        (Decimal(30), Decimal(30), True),
    ]


async def test_concurrent_batches_never_interleave(manager: ExecutorSettingsManager) -> None:
    # Each batch is valid alone; together they would break min <= max. Whichever lands
    # second is validated against the first, so the result is always consistent.
    results = await asyncio.gather(
        manager.update({"min_bet": 9, "max_bet": 9}),
        manager.update({"min_bet": 3, "max_bet": 4}),
        manager.update({"max_bet": 8}),
        return_exceptions=True,
    )
    s = manager.current
    assert s.min_bet <= s.max_bet
    assert any(isinstance(r, ExecutorSettings) for r in results)


async def test_a_row_edited_while_stopped_applies_on_next_start(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute(sa.text("UPDATE executor_settings SET min_bet = 2.499999, max_daily_trades = 7"))
    manager = ExecutorSettingsManager(SettingsRepository(db))
    loaded = await manager.load()
    assert loaded.min_bet == Decimal("2.50")
    assert loaded.max_daily_trades == 7


async def test_a_broken_hand_edit_falls_back_to_defaults_loudly(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with db.write() as conn:
        await conn.execute(sa.text("UPDATE executor_settings SET min_bet = -4, max_daily_trades = 0"))
    loaded = await ExecutorSettingsManager(SettingsRepository(db)).load()
    assert (loaded.min_bet, loaded.max_daily_trades) == (DEFAULTS.min_bet, DEFAULTS.max_daily_trades)
    assert "min_bet" in caplog.text and "max_daily_trades" in caplog.text


ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import asyncio, json, sys
from db.engine import Database
from db.migrate import migrate
from db.repositories import SettingsRepository
from worker.engine.settings_manager import ExecutorSettingsManager
from decimal import Decimal

async def main(url, action):
    db = Database(url)
    await migrate(db, "paper")
    m = ExecutorSettingsManager(SettingsRepository(db))
    await m.load()
    if action == "write":
        await m.update({"min_bet": Decimal("7.25"), "max_daily_trades": 12})
        await m.set_enabled(True)
    print(json.dumps({k: str(v) for k, v in m.current.values().items()}))
    await db.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_settings_survive_a_restart_in_a_new_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'persist.db'}"
    root = ROOT

    def run(action: str) -> dict[str, str]:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, url, action], cwd=root, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)

    written = await asyncio.to_thread(run, "write")
    read_back = await asyncio.to_thread(run, "read")
    assert read_back == written
    assert read_back["min_bet"] == "7.25" and read_back["max_daily_trades"] == "12"
    assert read_back["enabled"] == "True"


async def test_reloading_announces_what_another_process_changed(db: Database) -> None:
    standby = ExecutorSettingsManager(SettingsRepository(db))
    await standby.load()
    seen: list[tuple[ExecutorSettings, ExecutorSettings]] = []
    standby.subscribe(lambda old, new: seen.append((old, new)))
    leader = ExecutorSettingsManager(SettingsRepository(db))
    await leader.load()
    await leader.update({"max_daily_trades": 9})
    await leader.set_enabled(True)
    assert await standby.load() == leader.current
    assert [(o.max_daily_trades, n.max_daily_trades, n.enabled) for o, n in seen] == [(50, 9, True)]
    await standby.load()  # nothing changed: nothing announced
    assert len(seen) == 1


async def test_a_write_from_a_stale_read_is_refused_and_a_pause_always_gets_through(db: Database) -> None:
    """Two processes on one settings row (a leader and a standby, or two dashboards' worker
    and another): each writes only the fields it names, a batch read before another's
    write is refused (and reloaded), and the toggle writes ``enabled`` alone."""
    leader = ExecutorSettingsManager(SettingsRepository(db))
    standby = ExecutorSettingsManager(SettingsRepository(db))
    await leader.load()
    await standby.load()
    await leader.set_enabled(True)
    await leader.update({"max_bet": 20})
    # The standby's cache still says paused, max_bet 10: a batch from it is refused…
    with pytest.raises(SettingsError) as err:
        await standby.update({"min_bet": 6})
    assert err.value.field == "settings" and "changed elsewhere" in err.value.message
    assert standby.current.max_bet == Decimal(20) and standby.current.enabled  # …and reloaded
    # Its pause writes that one field: the leader's max_bet stays.
    await standby.set_enabled(False)
    stored, _ = from_stored(await SettingsRepository(db).load() or {})
    assert stored.enabled is False and stored.max_bet == Decimal(20)
    # The leader follows the stored row (it refreshes every second).
    assert leader.current.enabled is True
    await leader.refresh()
    assert leader.current.enabled is False and leader.current.max_bet == Decimal(20)
