"""The worker sends its alerts to ``EXECUTOR_NOTIFY_URLS``, and never shows the URLs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.waiting import wait_until
from tests.worker.api.conftest import connect_ready, make_config, start_worker
from tests.worker.notify.receiver import Receiver
from worker.domain.events import AlertKind


async def test_an_alert_raised_in_the_worker_reaches_the_endpoint(tmp_path: Path) -> None:
    receiver = await Receiver().start()
    url = receiver.url("/hook/SECRET-worker")
    worker = await start_worker(make_config(tmp_path, EXECUTOR_NOTIFY_URLS=f"{url},slack+{url}"))
    try:
        assert worker.alerts is not None and worker.notifications is not None
        client, init = await connect_ready(worker)
        await client.close()
        assert "SECRET" not in json.dumps(init, default=str)  # not in what the dashboard is sent
        worker.alerts.raise_alert(AlertKind.KILL_SWITCH, "Kill switch", "trading stopped by the operator", key="ks")
        await wait_until(lambda: len(receiver.requests) == 2, 10, "both targets")
    finally:
        await worker.stop()
        await receiver.stop()
    plain, slack = sorted(receiver.requests, key=lambda r: "text" in r.body)
    assert plain.body["kind"] == "kill_switch" and plain.body["severity"] == "warning"
    assert plain.body["message"] == "trading stopped by the operator"
    assert slack.body == {"text": f"[WARNING] Kill switch\ntrading stopped by the operator\n{plain.body['at']}"}
    assert worker.notifications.notifier.sent == 2


async def test_without_urls_the_worker_has_no_notifier(tmp_path: Path) -> None:
    worker = await start_worker(make_config(tmp_path))
    try:
        assert worker.notifications is None
    finally:
        await worker.stop()
