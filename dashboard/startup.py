"""``panel serve --setup dashboard/startup.py`` (the Procfile's ``web:`` line): what the
dashboard process does once, before any page is opened.

The feed to the worker and the ``worker_down`` watch start with the server's loop, not
with the first page: a dashboard restarted overnight with no browser open still tells
the trader's phone when the worker goes away (``dashboard/worker_watch.py``).
"""

from __future__ import annotations

from tornado.ioloop import IOLoop

from dashboard.feed import get_feed
from dashboard.worker_watch import watch_worker


def _start() -> None:
    watch_worker(get_feed())


# Run once the server's loop runs (the setup script runs before the server starts).
IOLoop.current().add_callback(_start)
