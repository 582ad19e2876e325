"""``python -m worker notify-test``: one test message to each ``EXECUTOR_NOTIFY_URLS`` target.

Prints one line per target — its position, format and ``scheme://host/…`` (never the
path or query: they hold the webhook's secret or the bot's token) and the HTTP status it
answered, e.g. ``1. slack https://hooks.slack.com/… → 200``. Exit 0 when every target
answered 2xx, 1 otherwise, 78 when the variable is unset or wrong. One attempt each: no
retry, no collapse (this is the check that the URLs work).
"""

from __future__ import annotations

import asyncio
import sys

from worker.cli.common import EX_CONFIG, config_or_exit
from worker.clock import utcnow
from worker.notify.message import TEST, Notification
from worker.notify.sender import Notifier
from worker.notify.targets import NotifyTarget

TEST_TITLE = "Executor test notification"
TEST_MESSAGE = "notify-test: alerts from this Executor reach you here."


def sample_notification() -> Notification:
    return Notification(kind=TEST, severity="info", title=TEST_TITLE, message=TEST_MESSAGE, at=utcnow(), key=TEST)


async def _send_all(targets: tuple[NotifyTarget, ...]) -> list[tuple[str, bool]]:
    notifier = Notifier(targets)
    message = sample_notification()
    lines: list[tuple[str, bool]] = []
    try:
        for target in targets:
            try:
                response = await notifier.post(target, message)
            except Exception as exc:  # any failure, by its type only (its text may hold the URL): test the rest
                lines.append((f"{target.position}. {target.shown} → failed ({type(exc).__name__})", False))
                continue
            status = response.status_code
            lines.append((f"{target.position}. {target.shown} → {status}", 200 <= status < 300))
    finally:
        await notifier.stop(drain_s=0)
    return lines


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if argv:
        print(f"notify-test: takes no arguments, got {len(argv)}", file=sys.stderr)
        return 2
    config = config_or_exit()
    if not config.notify_urls:
        print("notify-test: EXECUTOR_NOTIFY_URLS is not set: no target to test", file=sys.stderr)
        return EX_CONFIG
    lines = asyncio.run(_send_all(config.notify_urls))
    for line, _ in lines:
        print(line)
    return 0 if all(ok for _, ok in lines) else 1
