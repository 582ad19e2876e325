"""What a notification says, and its body in each target's format.

A :class:`Notification` is an operator alert (:meth:`Notification.from_alert`) or one of
the few the worker's alerts cannot raise themselves: the dashboard's ``worker_down`` /
``worker_up`` and ``notify-test``'s test message. :func:`body` writes it for a target:

* plain JSON: ``{"kind", "message", "severity", "at", "data"}`` (``at`` ISO 8601 UTC,
  ``data`` the alert's data; Decimals as exact strings);
* Slack incoming webhook: ``{"text": …}``;
* Discord webhook: ``{"content": …}`` cut to Discord's 2000 characters, mentions off
  (an alert's text must never ping ``@everyone``);
* Telegram ``sendMessage``: ``{"chat_id", "text"}`` (plain text: no ``parse_mode``, so
  nothing in a message needs escaping), cut to Telegram's 4096 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from worker.domain.events import Alert
from worker.notify.targets import NotifyFormat, NotifyTarget

#: The dashboard's notifications (the worker cannot raise an alert while it is down).
WORKER_DOWN = "worker_down"
WORKER_UP = "worker_up"
#: ``python -m worker notify-test``'s message.
TEST = "test"
#: A kind that ends another's situation: sending it forgets the other's collapse, so the
#: next change of state reaches the phone both ways (down, up, down, up within 5 minutes:
#: four messages; the phone's last word is the latest state).
_PAIRS = (("venue_down", "venue_up"), (WORKER_DOWN, WORKER_UP))
RESOLVES: Mapping[str, str] = {**dict(_PAIRS), **{up: down for down, up in _PAIRS}}
DISCORD_LIMIT = 2000
TELEGRAM_LIMIT = 4096


@dataclass(frozen=True)
class Notification:
    """One message to the trader. ``(kind, key)`` names the situation (repeats collapse)."""

    kind: str
    severity: str
    title: str
    message: str
    at: datetime
    key: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_alert(cls, alert: Alert) -> Notification:
        return cls(
            kind=alert.kind.value, severity=alert.severity.value, title=alert.title,
            message=alert.message, at=alert.last_at, key=alert.key, data=dict(alert.data),
        )

    @property
    def text(self) -> str:
        """The human text of the chat formats: severity and title, then the message."""
        return f"[{self.severity.upper()}] {self.title}\n{self.message}\n{_iso(self.at)}"


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """``value`` as JSON can carry it: money as its exact decimal string, times ISO UTC."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body(notification: Notification, target: NotifyTarget) -> dict[str, Any]:
    """The JSON body ``target`` is sent for ``notification``."""
    if target.format is NotifyFormat.SLACK:
        return {"text": notification.text}
    if target.format is NotifyFormat.DISCORD:
        return {"content": _cut(notification.text, DISCORD_LIMIT), "allowed_mentions": {"parse": []}}
    if target.format is NotifyFormat.TELEGRAM:
        return {"chat_id": target.chat_id, "text": _cut(notification.text, TELEGRAM_LIMIT)}
    return {
        "kind": notification.kind,
        "message": notification.message,
        "severity": notification.severity,
        "at": _iso(notification.at),
        "data": _plain(notification.data),
    }
