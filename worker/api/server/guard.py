"""The server's settings and the checks every route makes before anything else: the Host
header in the allow-list, a browser's Origin allowed, the bearer token (compared in
constant time)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import tornado.web

from worker.api import schemas


@dataclass(frozen=True)
class ServerSettings:
    """The server's knobs (the token is kept out of ``repr``)."""

    token: str
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    max_message_bytes: int = schemas.MAX_MESSAGE_BYTES
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    client_queue: int = 512
    actions_per_second: float = 50.0
    action_burst: int = 100

    def __repr__(self) -> str:
        return f"ServerSettings(allowed_hosts={self.allowed_hosts!r}, allowed_origins={self.allowed_origins!r})"


def host_name(host_header: str) -> str:
    """The host part of a Host header (``[::1]:8765`` → ``::1``), lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


class Guarded:
    """Host, Origin and token checks shared by the HTTP and WebSocket handlers."""

    request: Any
    application: Any
    require_token = True

    @property
    def server_settings(self) -> ServerSettings:
        settings: ServerSettings = self.application.settings["executor"]
        return settings

    def guard(self) -> None:
        cfg = self.server_settings
        if host_name(self.request.headers.get("Host", "")) not in cfg.allowed_hosts:
            raise tornado.web.HTTPError(403, reason="Host not allowed")
        origin = self.request.headers.get("Origin")
        if origin is not None and origin.rstrip("/") not in cfg.allowed_origins:
            raise tornado.web.HTTPError(403, reason="Origin not allowed")
        if self.require_token and not self._token_ok(cfg.token):
            raise tornado.web.HTTPError(401, reason="Unauthorized")

    def _token_ok(self, token: str) -> bool:
        header = self.request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer":
            presented = ""
        # compare_digest on bytes of any length: time does not depend on where they differ.
        return hmac.compare_digest(presented.strip().encode(), token.encode())
