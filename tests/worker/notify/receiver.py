"""A local HTTP endpoint that records what is posted to it and answers as scripted.

``Receiver`` runs on the test's own event loop (``await receiver.start()``);
``ThreadedReceiver`` runs one on a loop of its own in a thread, for a test that waits on
a subprocess. Every answer is 200 unless :meth:`Receiver.answer` queued others (status,
headers) — consumed one per request, in order — or :attr:`Receiver.hold` is set, which
keeps requests waiting until it is set again.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from tests.support.processes import free_port


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: str
    content_type: str
    body: Any


class _Record(RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def post(self, _path: str) -> None:
        receiver = self.receiver
        receiver.requests.append(Received(
            "POST", self.request.path, self.request.query,
            self.request.headers.get("Content-Type", ""), json.loads(self.request.body or b"null"),
        ))
        if receiver.hold is not None:
            await receiver.hold.wait()
        status, headers = receiver.answers.popleft() if receiver.answers else (200, {})
        self.set_status(status)
        for name, value in headers.items():
            self.set_header(name, value)
        self.write({"ok": 200 <= status < 300})


class Receiver:
    """Records every POST (path, query, content type, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        self.hold: asyncio.Event | None = None
        self.port = 0
        self._server: HTTPServer | None = None

    def answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.answers.append((status, headers or {}))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> Receiver:
        self.port = free_port()
        # No access log: the test about secrets in logs reads every record the process writes.
        app = Application([(r"/(.*)", _Record, {"receiver": self})], log_function=lambda _handler: None)
        self._server = HTTPServer(app)
        self._server.listen(self.port, "127.0.0.1")
        return self

    async def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()


class ThreadedReceiver:
    """A :class:`Receiver` on a loop of its own in a daemon thread; a context manager."""

    def __init__(self) -> None:
        self.receiver = Receiver()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.receiver.start(), self._loop).result(10)
        return self.receiver

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.receiver.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
