from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from db.engine import Database
from db.lease import LeaseRepository
from db.migrate import migrate
from worker.clock import FakeClock
from worker.engine.lease import LeaseKeeper, LeaseLost, LeaseRole

ACCOUNT = "paper:kalshi+polymarket:abc"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await migrate(database, "paper")
    yield database
    await database.dispose()


async def test_exactly_one_of_many_simultaneous_claimants_gets_the_lease(db: Database) -> None:
    repo = LeaseRepository(db)
    grants = await asyncio.gather(*(repo.acquire(ACCOUNT, f"w{i}", 10) for i in range(12)))
    winners = [g for g in grants if g.held]
    assert len(winners) == 1
    assert all(g.holder == winners[0].holder for g in grants)


async def test_the_holder_renews_and_others_stand_by(db: Database) -> None:
    repo = LeaseRepository(db)
    first = await repo.acquire(ACCOUNT, "a", 10)
    renewed = await repo.acquire(ACCOUNT, "a", 10)
    other = await repo.acquire(ACCOUNT, "b", 10)
    assert first.held and renewed.held and not other.held
    assert renewed.expires_at is not None and first.expires_at is not None
    assert renewed.expires_at >= first.expires_at
    assert other.holder == "a"


async def test_an_expired_lease_is_taken_over_by_the_database_clock(db: Database) -> None:
    repo = LeaseRepository(db)
    assert (await repo.acquire(ACCOUNT, "a", 0.2)).held
    while True:  # the database clock decides; poll it rather than sleeping a guessed time
        grant = await repo.acquire(ACCOUNT, "b", 10)
        if grant.held:
            break
        assert grant.expires_at is not None
        await asyncio.sleep(max(0.0, (grant.expires_at - grant.db_now).total_seconds()))
    assert not (await repo.acquire(ACCOUNT, "a", 10)).held


async def test_a_released_lease_is_free_at_once_and_only_the_holder_can_release(db: Database) -> None:
    repo = LeaseRepository(db)
    await repo.acquire(ACCOUNT, "a", 60)
    assert not await repo.release(ACCOUNT, "b")
    assert not (await repo.acquire(ACCOUNT, "b", 60)).held
    assert await repo.release(ACCOUNT, "a")
    assert (await repo.acquire(ACCOUNT, "b", 60)).held


async def test_leases_of_different_accounts_are_independent(db: Database) -> None:
    repo = LeaseRepository(db)
    assert (await repo.acquire("paper:a", "w1", 60)).held
    assert (await repo.acquire("paper:b", "w2", 60)).held


async def test_keeper_reconciles_before_it_trades_and_a_second_process_waits_for_the_grant_to_end(db: Database) -> None:
    repo = LeaseRepository(db)
    events: list[str] = []
    keeper: LeaseKeeper

    async def reconcile() -> None:
        events.append(f"reconcile:{keeper.role}:{keeper.held()}")
        assert not keeper.trading()

    keeper = LeaseKeeper(repo, account=ACCOUNT, holder="w1/p1", ttl_s=30, on_acquired=reconcile)
    assert not keeper.held()
    with pytest.raises(LeaseLost):
        keeper.check()
    assert await keeper.beat()
    await keeper.wait_changed()  # reconciliation runs beside the heartbeat
    # The lease is ours while reconciling (attempts left in flight may be resumed), but
    # this worker does not trade new attempts until it has reconciled.
    assert events == ["reconcile:reconciling:True"]
    assert keeper.role == LeaseRole.LEADER and keeper.status == "leader" and keeper.trading()
    keeper.check()

    # Same data directory, another process (a twin started by accident, or a restart while
    # the first still runs): another holder. It stands by until the grant expires or is
    # released — never two traders on one account.
    twin = LeaseKeeper(repo, account=ACCOUNT, holder="w1/p2", ttl_s=30)
    assert not await twin.beat()
    await twin.wait_changed()
    assert twin.status == "standby" and twin.other_holder == "w1/p1"
    assert keeper.epoch == 1
    await keeper.release()
    assert await twin.beat()
    await twin.wait_changed()
    assert twin.trading() and twin.epoch == 2


async def test_a_paused_worker_stops_trusting_its_lease_without_asking_the_database(db: Database) -> None:
    clock = FakeClock()
    keeper = LeaseKeeper(LeaseRepository(db), account=ACCOUNT, holder="w1", ttl_s=10, clock=clock)
    assert await keeper.beat()
    await clock.advance(7.9)
    assert keeper.held()
    await clock.advance(0.2)  # past ttl minus the safety margin: a pause longer than that
    assert not keeper.held()
    with pytest.raises(LeaseLost):
        keeper.check()
    assert keeper.status == "expired"


async def test_clean_exit_releases_so_a_standby_takes_over_immediately(db: Database) -> None:
    repo = LeaseRepository(db)
    leader = LeaseKeeper(repo, account=ACCOUNT, holder="w1", ttl_s=60)
    standby = LeaseKeeper(repo, account=ACCOUNT, holder="w2", ttl_s=60)
    stop = asyncio.Event()
    task = asyncio.create_task(leader.run(stop))
    await leader.wait_changed()
    assert leader.held()
    assert not await standby.beat()
    stop.set()
    await task
    assert leader.role == LeaseRole.RELEASED and not leader.held()
    assert await standby.beat()


@dataclass(frozen=True)
class Grant:
    holder: str | None
    held: bool
    epoch: int


class MemoryLeases:
    """A lease store that always grants, and notes when (on ``clock``) it was asked."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.asked_at: list[float] = []

    async def acquire(self, account: str, holder: str, ttl_s: float) -> Grant:
        self.asked_at.append(self.clock.monotonic())
        return Grant(holder, True, 1)

    async def release(self, account: str, holder: str) -> bool:
        return True


async def test_the_heartbeat_renews_three_times_per_ttl_on_its_clock() -> None:
    clock = FakeClock(monotonic=0.0)
    store = MemoryLeases(clock)
    keeper = LeaseKeeper(store, account=ACCOUNT, holder="w1", ttl_s=30, clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(keeper.run(stop))
    await keeper.wait_changed()
    assert store.asked_at == [0.0] and keeper.trading()
    await clock.advance(9)
    assert store.asked_at == [0.0]  # not before the interval (ttl / 3)
    await clock.advance(21)
    assert store.asked_at == [0.0, 10.0, 20.0, 30.0] and keeper.trading()
    stop.set()  # stops at once, without waiting out the interval
    await asyncio.wait_for(task, 5)
    assert keeper.role == LeaseRole.RELEASED and store.asked_at == [0.0, 10.0, 20.0, 30.0]


async def test_the_heartbeat_keeps_renewing_while_a_takeover_reconciles(db: Database) -> None:
    repo = LeaseRepository(db)
    release = asyncio.Event()
    renewals: list[bool] = []

    async def slow_reconcile() -> None:
        await release.wait()

    keeper = LeaseKeeper(repo, account=ACCOUNT, holder="w1", ttl_s=30, on_acquired=slow_reconcile)
    assert await keeper.beat()
    for _ in range(3):  # reconciling: renewals go on, the lease stays ours, no new trades
        renewals.append(await keeper.beat())
    assert renewals == [True, True, True]
    assert keeper.role == LeaseRole.RECONCILING and keeper.held() and not keeper.trading()
    assert not (await repo.acquire(ACCOUNT, "w2", 30)).held
    release.set()
    await keeper.wait_changed()
    assert keeper.trading()


async def test_a_failed_reconciliation_is_retried_and_never_trades(db: Database) -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("venue said no")

    keeper = LeaseKeeper(LeaseRepository(db), account=ACCOUNT, holder="w1", ttl_s=30, on_acquired=flaky)
    await keeper.beat()
    await keeper.wait_changed()
    assert keeper.role == LeaseRole.STANDBY and not keeper.trading()
    await keeper.beat()
    await keeper.wait_changed()
    assert keeper.trading() and len(calls) == 2


class BrokenStore:
    async def acquire(self, account: str, holder: str, ttl_s: float) -> object:
        raise ConnectionError("database unreachable")

    async def release(self, account: str, holder: str) -> bool:
        raise ConnectionError("database unreachable")


async def test_an_unreachable_database_never_grants_the_lease() -> None:
    keeper = LeaseKeeper(BrokenStore(), account=ACCOUNT, holder="w1", ttl_s=10)  # type: ignore[arg-type]
    assert not await keeper.beat()
    assert keeper.role == LeaseRole.STANDBY


async def test_every_grant_has_a_new_epoch_and_a_renewal_or_a_release_keeps_it(db: Database) -> None:
    repo = LeaseRepository(db)
    assert (await repo.acquire(ACCOUNT, "a/1", 10)).epoch == 1
    assert (await repo.acquire(ACCOUNT, "a/1", 10)).epoch == 1  # renewal
    refused = await repo.acquire(ACCOUNT, "a/2", 10)
    assert not refused.held and refused.epoch == 1
    assert await repo.release(ACCOUNT, "a/1")
    assert (await repo.current(ACCOUNT)).epoch == 1  # the row stays, its epoch too
    assert (await repo.acquire(ACCOUNT, "a/2", 10)).epoch == 2
    assert await repo.release(ACCOUNT, "a/2")
    assert (await repo.acquire(ACCOUNT, "a/2", 10)).epoch == 3  # taken again after a release


async def test_an_attempt_write_under_a_stale_grant_is_refused_by_the_database(db: Database) -> None:
    """The fence: every attempt write commits only while the lease row names the writer's
    holder and epoch and has not expired (the venues cannot check a token: the database
    must, before the order is sent)."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    import sqlalchemy as sa

    from db.attempts import AttemptRepository
    from db.tables import arbitrage_attempts
    from worker.domain.attempts import AttemptRecord, AttemptState, ReservationLimits
    from worker.domain.errors import LeaseLost as DomainLeaseLost
    from worker.domain.storage import Fence

    leases = LeaseRepository(db)
    grant = await leases.acquire(ACCOUNT, "w/a", 30)
    mine = AttemptRepository(db, fence=lambda: Fence(ACCOUNT, "w/a", grant.epoch))
    now = datetime.now(UTC)
    attempt = AttemptRecord("att-1", "g", None, None, "t", AttemptState.PLANNED, now, now, Decimal(1),
                            Decimal(1), Decimal(0), Decimal("0.5"), path=["PLANNED"])
    limits = ReservationLimits(100, Decimal(100), now - timedelta(hours=1), now + timedelta(hours=1))
    assert isinstance(await mine.reserve(attempt, limits), AttemptRecord)
    attempt.move(AttemptState.LEG1_SENT, now)
    await mine.save(attempt)  # the write-ahead step, under the grant
    # Another process takes the lease over (the first was paused past its expiry).
    assert await leases.release(ACCOUNT, "w/a")
    assert (await leases.acquire(ACCOUNT, "w/b", 30)).epoch == grant.epoch + 1
    attempt.move(AttemptState.LEG1_FILLED, now)
    with pytest.raises(DomainLeaseLost):
        await mine.save(attempt)
    async with db.read() as conn:
        row = (await conn.execute(sa.select(arbitrage_attempts).where(arbitrage_attempts.c.id == "att-1"))).one()
    assert row.state == "LEG1_SENT" and row.epoch == grant.epoch  # untouched by the refused write
    # The same holder taking the lease again later is a new grant: the old token stays stale.
    assert await leases.release(ACCOUNT, "w/b")
    assert (await leases.acquire(ACCOUNT, "w/a", 30)).epoch == grant.epoch + 2
    with pytest.raises(DomainLeaseLost):
        await mine.save(attempt)
    assert LeaseLost is DomainLeaseLost  # the engine's and the database's are one error


async def test_losing_the_lease_to_another_worker_tells_the_operator_once(db: Database) -> None:
    repo = LeaseRepository(db)
    lost: list[str | None] = []
    leader = LeaseKeeper(repo, account=ACCOUNT, holder="w1", ttl_s=0.3, on_lost=lost.append)
    assert await leader.beat()
    leader.role = LeaseRole.LEADER  # as after its reconciliation
    while True:  # w2 takes over once the database clock says w1's grant ended
        grant = await repo.acquire(ACCOUNT, "w2", 10)
        if grant.held:
            break
        assert grant.expires_at is not None
        await asyncio.sleep(max(0.0, (grant.expires_at - grant.db_now).total_seconds()))
    assert not await leader.beat()
    assert not await leader.beat()  # still standing by: told once, not on every heartbeat
    assert lost == ["w2"] and leader.role == LeaseRole.STANDBY
    # A worker that never led is only standing by: nothing to tell.
    quiet: list[str | None] = []
    other = LeaseKeeper(repo, account=ACCOUNT, holder="w3", ttl_s=10, on_lost=quiet.append)
    assert not await other.beat()
    assert quiet == []


async def test_a_reconciliation_that_ends_after_the_local_deadline_trades_once_the_same_grant_is_renewed(
    db: Database,
) -> None:
    """A loop too busy to renew while the takeover reconciles (seen in CI: the worker then
    never said it traded, and stayed "reconciling" for good)."""
    clock = FakeClock()
    release = asyncio.Event()

    async def slow_reconcile() -> None:
        await release.wait()

    keeper = LeaseKeeper(LeaseRepository(db), account=ACCOUNT, holder="w1", ttl_s=10, on_acquired=slow_reconcile,
                         clock=clock)
    assert await keeper.beat()
    await clock.advance(8.5)  # no renewal in time: past ttl minus the safety margin
    release.set()
    await keeper.wait_changed()
    assert keeper.role == LeaseRole.RECONCILING and not keeper.held() and not keeper.trading()
    assert await keeper.beat()  # the database's lease had not expired: the same grant, renewed
    assert keeper.trading() and keeper.epoch == 1 and keeper.role == LeaseRole.LEADER


class ScriptedLeases:
    """A lease store that always grants, with the epochs it is given, one per call."""

    def __init__(self, epochs: list[int]) -> None:
        self.epochs = iter(epochs)

    async def acquire(self, account: str, holder: str, ttl_s: float) -> Grant:
        return Grant(holder, True, next(self.epochs))

    async def release(self, account: str, holder: str) -> bool:
        return True


async def test_a_new_grant_after_a_late_reconciliation_is_reconciled_again_before_trading() -> None:
    clock = FakeClock(monotonic=0.0)
    release = asyncio.Event()
    epochs: list[int] = []

    async def reconcile() -> None:
        epochs.append(keeper.epoch)
        await release.wait()

    keeper = LeaseKeeper(ScriptedLeases([1, 2, 2]), account=ACCOUNT, holder="w1", ttl_s=10,
                         on_acquired=reconcile, clock=clock)
    assert await keeper.beat()
    await clock.advance(8.5)
    release.set()
    await keeper.wait_changed()
    assert not keeper.trading()
    await keeper.beat()  # a new grant: another worker may have traded while ours had lapsed
    await keeper.wait_changed()
    assert keeper.trading() and epochs == [1, 2] and keeper.epoch == 2
    assert await keeper.beat() and keeper.trading() and epochs == [1, 2]  # renewals do not reconcile
