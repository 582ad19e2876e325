"""The single-trader lease, from the worker's side.

One worker trades an account at a time. :class:`LeaseKeeper` takes the lease at start (or
waits in standby), renews it on a heartbeat, and answers :meth:`LeaseKeeper.held` before
every venue call that could open exposure.

Why a local deadline: the database judges expiry by its own clock, ``expires_at = db_now +
ttl`` at each renewal, and ``db_now`` is no earlier than the moment we *sent* the renewal.
So we hold the lease at least until ``sent + ttl`` on our monotonic clock; we stop trusting
it a safety margin before that. A worker paused (SIGSTOP, GC, swap) past its deadline sees
the monotonic clock jump and refuses to send, without asking the database — even if its
renewal task has not had a chance to run yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from worker.clock import SYSTEM_CLOCK, Clock, within
from worker.domain.errors import LeaseLost, VenueError
from worker.domain.storage import Fence, LeaseStore

log = logging.getLogger(__name__)


__all__ = ["LeaseKeeper", "LeaseLost", "LeaseRole"]


class LeaseRole(StrEnum):
    STANDBY = "standby"
    RECONCILING = "reconciling"  # just acquired: reconciling before it trades
    LEADER = "leader"
    RELEASED = "released"


class LeaseKeeper:
    """Holds, renews and checks the trading lease of one account."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        account: str,
        holder: str,
        ttl_s: float,
        on_acquired: Callable[[], Awaitable[None]] | None = None,
        on_lost: Callable[[str | None], object] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        safety: float = 0.2,
    ) -> None:
        self._store = store
        self.account = account
        self.holder = holder
        self.ttl_s = ttl_s
        self._on_acquired = on_acquired
        self._on_lost = on_lost
        self._clock = clock
        self._margin = ttl_s * safety
        self._deadline = float("-inf")
        self.role = LeaseRole.STANDBY
        self.other_holder: str | None = None
        #: The epoch of this process's current grant (0 before the first).
        self.epoch = 0
        self._changed = asyncio.Event()
        self._reconcile_task: asyncio.Task[None] | None = None
        #: The grant (epoch) whose reconciliation finished while the local deadline had
        #: lapsed: the next beat that renews that same grant makes this worker the leader.
        self._reconciled_epoch: int | None = None

    @property
    def interval_s(self) -> float:
        """Heartbeat period: three renewals per TTL."""
        return self.ttl_s / 3

    def held(self) -> bool:
        """True while the lease is ours and our local deadline has not passed.

        Also while reconciling after a takeover: reconciliation resumes attempts left in
        flight (a leg 2 to hedge, an unwind), which needs the lease; new attempts wait for
        :meth:`trading` (the executor admits nothing before it has reconciled).
        """
        return (
            self.role in (LeaseRole.LEADER, LeaseRole.RECONCILING) and self._clock.monotonic() < self._deadline
        )

    def trading(self) -> bool:
        """True once reconciled and leading, with the lease still valid."""
        return self.role == LeaseRole.LEADER and self.held()

    def fence(self) -> Fence:
        """The token the database checks each attempt write against (this grant)."""
        return Fence(self.account, self.holder, self.epoch)

    def check(self) -> None:
        """Raise :class:`LeaseLost` unless :meth:`held` — call before opening exposure."""
        if not self.held():
            raise LeaseLost(f"lease for {self.account} not held (role {self.role})")

    @property
    def status(self) -> str:
        """For ``/api/status``: ``leader`` or ``standby`` (or ``released``)."""
        if self.role in (LeaseRole.LEADER, LeaseRole.RECONCILING) and not self.held():
            return "expired"
        return "leader" if self.role in (LeaseRole.LEADER, LeaseRole.RECONCILING) else str(self.role)

    async def beat(self) -> bool:
        """One heartbeat: renew if we lead, try to take over if we wait. Returns held()."""
        if self.role == LeaseRole.RELEASED:
            return False
        sent = self._clock.monotonic()
        try:
            grant = await self._store.acquire(self.account, self.holder, self.ttl_s)
        except Exception as exc:  # the database is unreachable: we can't prove we hold it
            log.warning("lease renewal failed: %s", exc)
            return self.held()
        if grant.held:
            self._deadline = sent + self.ttl_s - self._margin
            self.epoch = grant.epoch
            if self.role == LeaseRole.STANDBY:
                log.info(
                    "lease for %s acquired by %s (epoch %d); reconciling before trading",
                    self.account, self.holder, self.epoch,
                )
                self.role = LeaseRole.RECONCILING
                self._start_reconciling()
            elif self.role == LeaseRole.RECONCILING and self._reconciled_epoch is not None:
                # Reconciled while the local deadline had lapsed (a loop too busy to renew
                # in time). The same grant renewed: nobody else held it meanwhile, so the
                # reconciliation stands. A new grant: another worker may have traded in
                # between, so reconcile again before trading.
                if grant.epoch == self._reconciled_epoch:
                    self._lead()
                else:
                    log.info("lease for %s granted anew (epoch %d) after its reconciliation; reconciling again",
                             self.account, self.epoch)
                    self._start_reconciling()
        elif self.role != LeaseRole.STANDBY or self.other_holder != grant.holder:
            self._lose(grant.holder)
        return self.held()

    def _start_reconciling(self) -> None:
        """Reconcile under the current grant, beside the heartbeat (which keeps renewing
        the lease however long it takes)."""
        self._reconciled_epoch = None
        self._reconcile_task = asyncio.create_task(self._reconcile(self.epoch), name="lease-takeover")

    async def _reconcile(self, epoch: int) -> None:
        try:
            if self._on_acquired is not None:
                await self._on_acquired()
        except Exception as exc:
            # Still ours: the next heartbeat finds the lease held and tries again.
            if isinstance(exc, VenueError):
                log.warning("reconciliation after taking the lease stopped: %s; retrying", exc.message)
            else:
                log.exception("reconciliation after taking the lease failed; retrying on the next heartbeat")
            if self.role == LeaseRole.RECONCILING:
                self.role = LeaseRole.STANDBY
            self._changed.set()
            return
        if self.role != LeaseRole.RECONCILING:
            return  # lost (or released) meanwhile
        if self.held() and self.epoch == epoch:
            self._lead()
        else:
            self._reconciled_epoch = epoch  # the next beat decides (see beat)
            self._changed.set()

    def _lead(self) -> None:
        self._reconciled_epoch = None
        self.role = LeaseRole.LEADER
        log.info("lease for %s held: trading", self.account)
        self._changed.set()

    def _lose(self, other: str | None) -> None:
        was = self.role
        self._stop_reconciling()
        self.role = LeaseRole.STANDBY
        self.other_holder = other
        self._deadline = float("-inf")
        if was in (LeaseRole.LEADER, LeaseRole.RECONCILING):
            log.error("lease for %s lost to %s: standing by", self.account, other)
            if self._on_lost is not None:
                try:
                    self._on_lost(other)
                except Exception:
                    log.exception("lease-lost hook failed")
        else:
            log.info("lease for %s held by %s: standing by", self.account, other)
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat until ``stop`` is set, then release the lease if we hold it."""
        try:
            while not stop.is_set():
                await self.beat()
                await self._pause(stop)
        finally:
            await self.release()

    async def _pause(self, stop: asyncio.Event) -> None:
        """Wait one heartbeat interval on the clock, or less if ``stop`` is set."""
        await within(self._clock, stop.wait(), self.interval_s)

    async def wait_changed(self) -> None:
        await self._changed.wait()
        self._changed.clear()

    def _stop_reconciling(self) -> None:
        if self._reconcile_task is not None and not self._reconcile_task.done():
            self._reconcile_task.cancel()
        self._reconcile_task = None
        self._reconciled_epoch = None

    async def release(self) -> None:
        """Clean exit: give the lease up so a standby takes over at once."""
        self._stop_reconciling()
        if self.role in (LeaseRole.LEADER, LeaseRole.RECONCILING):
            try:
                await self._store.release(self.account, self.holder)
                log.info("lease for %s released", self.account)
            except Exception as exc:
                log.warning("lease release failed (it will expire): %s", exc)
        self.role = LeaseRole.RELEASED
        self._deadline = float("-inf")
