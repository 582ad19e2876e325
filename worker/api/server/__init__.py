"""The worker's Tornado server: ``/ws/executor`` and the ``/api/*`` routes.

Security (ARCHITECTURE.md, "Security"): every route but ``/api/health`` needs
``Authorization: Bearer <token>`` (compared in constant time); the Host header must be in
the allow-list (stops DNS rebinding); a browser ``Origin`` must be an allowed origin (a
client sending none, like the dashboard's server side, is judged by its token alone).
WebSocket messages are capped at 64 KiB, idle clients are pinged and dropped when they
stop answering, actions are rate limited per connection, and a client that cannot keep up
is disconnected (close code 4001) without slowing anyone else; it resyncs from ``init``.

Fan-out (the concurrency rule): one broadcaster task reads the event bus, encodes each event once,
and offers the text to every client's own bounded queue without waiting. Each client has
one sender task that awaits its socket; a full queue means that client is too slow and it
is closed. Nothing a client does can block the broadcaster or another client.

Its parts: the checks (:mod:`~worker.api.server.guard`), the ``/api`` routes
(:mod:`~worker.api.server.routes`), the WebSocket and its broadcaster
(:mod:`~worker.api.server.executor_socket`), the snapshot's wire shapes
(:mod:`~worker.api.server.snapshots`) and the application
(:mod:`~worker.api.server.executor_server`); every name is given here.
"""

from __future__ import annotations

from worker.api.server.executor_server import ExecutorServer, make_app
from worker.api.server.executor_socket import (
    BROADCAST_OVERFLOW_CLOSE,
    SLOW_CLIENT_CLOSE,
    Broadcaster,
    ExecutorSocket,
)
from worker.api.server.guard import ServerSettings
from worker.api.server.routes import History
from worker.api.server.snapshots import init_data, status_data

__all__ = [
    "BROADCAST_OVERFLOW_CLOSE",
    "Broadcaster",
    "ExecutorServer",
    "ExecutorSocket",
    "History",
    "SLOW_CLIENT_CLOSE",
    "ServerSettings",
    "init_data",
    "make_app",
    "status_data",
]
