"""ExecutorSettingsManager: the plan's settings, cached in memory, persisted in one row.

Reads (:attr:`current`) never do I/O: the risk manager reads every limit at decision
time from the cache. Writes are atomic: a batch is validated as a whole, written to the
database, and only then swapped into the cache and announced — if the write fails the
cache is unchanged. Writers are serialised by a lock so two concurrent batches can't
interleave their validate/persist steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from worker.domain.settings import (
    DEFAULTS,
    ExecutorSettings,
    SettingsError,
    apply_patch,
    from_stored,
)
from worker.domain.storage import SettingsConflict, SettingsStore

log = logging.getLogger(__name__)

Listener = Callable[[ExecutorSettings, ExecutorSettings], Awaitable[None] | None]


class ExecutorSettingsManager:
    """Memory cache + persistence + change subscription for the executor's settings."""

    def __init__(self, store: SettingsStore) -> None:
        self._store = store
        self._current = DEFAULTS
        self._lock = asyncio.Lock()
        self._listeners: list[Listener] = []
        self._loaded = False
        self._version: int | None = None  # the stored row's version the cache was read at

    @property
    def current(self) -> ExecutorSettings:
        return self._current

    @property
    def enabled(self) -> bool:
        return self._current.enabled

    async def load(self) -> ExecutorSettings:
        """Load the stored row (at start). A row that was edited by hand applies now.

        Loading again later (a standby taking over the trading lease, whose cache may be
        stale) announces the difference to subscribers like any other change.
        """
        async with self._lock:
            old = self._current
            row = await self._store.load()
            if row is None:
                log.warning("no settings row stored; using and storing the defaults")
                await self._store.save(DEFAULTS)
                new = DEFAULTS
            else:
                new, problems = from_stored(row)
                for problem in problems:
                    log.warning("stored settings: %s", problem)
            self._version = 0 if row is None else int(row.get("version") or 0)
            self._current = new
            announce = self._loaded and new != old
            self._loaded = True
            if announce:
                await self._notify(old, new)
            return new

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(old, new)`` after every committed change; returns an unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    async def update(self, patch: Mapping[str, object]) -> ExecutorSettings:
        """Validate and apply a batch of settings, all or nothing.

        Only the fields named are written, and only if nobody changed the settings since
        this process read them (the row's version): a write made from a stale read — a
        second dashboard, a standby worker — is refused and the settings are reloaded.
        Raises :class:`~worker.domain.settings.SettingsError` (naming the field) and leaves
        everything as it was; raises the store's error if persisting fails, with the cache
        unchanged.
        """
        async with self._lock:
            new = apply_patch(self._current, patch)
            fields = {name: getattr(new, name) for name in patch}
            try:
                return await self._commit(new, fields, check_version=True)
            except SettingsConflict:
                pass
        await self.load()
        raise SettingsError(
            "settings", "the settings were changed elsewhere meanwhile; they are reloaded: check them and send again"
        )

    async def set_enabled(self, value: bool) -> ExecutorSettings:
        """The toggle: the only way ``enabled`` changes. It writes that one field, whatever
        else changed meanwhile (a pause must always get through)."""
        if not isinstance(value, bool):
            raise SettingsError("value", "value must be true or false")
        # The cache may lag another process's change by up to a second: a toggle that the
        # cache says is already done might not be (a pause must never be skipped).
        await self.refresh()
        async with self._lock:
            if value == self._current.enabled:
                return self._current
            return await self._commit(replace(self._current, enabled=value), {"enabled": value}, check_version=False)

    async def refresh(self) -> ExecutorSettings:
        """Follow the stored row: reload (and announce) when another process changed it.
        The trading worker calls this every second, so a pause written anywhere applies
        within a second."""
        row = await self._store.load()
        if row is not None and int(row.get("version") or 0) != self._version:
            return await self.load()
        return self._current

    async def _commit(
        self, new: ExecutorSettings, fields: Mapping[str, object], *, check_version: bool
    ) -> ExecutorSettings:
        old = self._current
        if new == old:
            return old
        version = await self._store.save_fields(fields, self._version if check_version else None)  # raises -> cache untouched
        if not check_version and version != (self._version or 0) + 1:
            # Somebody else wrote meanwhile, so what we hold of the other fields may be
            # stale: a version that matches nothing makes the next refresh reload them and
            # refuses a settings write made from them.
            version = -1
        self._version = version
        self._current = new
        await self._notify(old, new)
        return new

    async def _notify(self, old: ExecutorSettings, new: ExecutorSettings) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(old, new)
                if result is not None:
                    await result
            except Exception:  # a broken listener must not undo a committed change
                log.exception("settings listener failed")
