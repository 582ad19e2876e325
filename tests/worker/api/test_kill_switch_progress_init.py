"""``kill_switch`` in ``init`` and ``/api/status``: the last ``kill_switch_progress``, for
a client that was not listening when it was published (it connected, or reconnected,
mid-flatten or after it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from tests.support.waiting import wait_until
from tests.worker.api.conftest import TOKEN, connect_ready
from worker.api import schemas
from worker.bootstrap import Worker
from worker.domain.events import KillSwitchProgress

T0 = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


async def status_kill_switch(worker: Worker) -> object:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{worker.port}", headers=headers) as http:
        return (await http.get("/api/status")).json(parse_float=Decimal)["kill_switch"]


async def test_a_client_that_connects_mid_flatten_or_after_it_learns_how_far_it_got(worker: Worker) -> None:
    listening, init = await connect_ready(worker)
    assert init["data"]["kill_switch"] is None  # none was published in this process
    assert await status_kill_switch(worker) is None
    worker.bus.publish(KillSwitchProgress(T0, 3, 1, 0, done=False))
    heard = await listening.recv_type(schemas.KILL_SWITCH_PROGRESS)
    late, init = await connect_ready(worker)
    assert init["data"]["kill_switch"] == heard["data"] == {
        "started_at": "2026-12-08T12:00:00Z", "total": 3, "closed": 1, "failed": 0, "done": False}
    worker.bus.publish(KillSwitchProgress(T0, 3, 2, 1, done=True))
    await late.recv_type(schemas.KILL_SWITCH_PROGRESS)
    after, init = await connect_ready(worker)
    ended = {"started_at": "2026-12-08T12:00:00Z", "total": 3, "closed": 2, "failed": 1, "done": True}
    assert init["data"]["kill_switch"] == ended
    assert await status_kill_switch(worker) == ended
    for client in (listening, late, after):
        await client.close()


async def test_progress_the_console_may_have_missed_is_forgotten_not_shown_stale(worker: Worker) -> None:
    """The console's follower fell behind (more events at once than its queue holds):
    it may have lost the last progress, so it shows none rather than an old count."""
    worker.bus.publish(KillSwitchProgress(T0, 3, 1, 0, done=False))
    await wait_until(lambda: worker.console.kill_progress is not None, 5, "the console to follow the progress")
    assert worker.console.kill_progress == KillSwitchProgress(T0, 3, 1, 0, done=False)
    for closed in range(10_001):  # in one go: the follower's queue overflows
        worker.bus.publish(KillSwitchProgress(T0, 20_000, closed, 0, done=False))
    await wait_until(lambda: worker.console.kill_progress is None, 5, "the console to forget the progress")
    assert await status_kill_switch(worker) is None
