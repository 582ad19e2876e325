"""Where notifications go: ``EXECUTOR_NOTIFY_URLS``, one target per URL.

Each URL's scheme prefix names the body's format and is stripped before sending:

* none (``https://…``)                          → plain JSON ``{kind, message, severity, at, data}``
* ``slack+https://hooks.slack.com/…``           → Slack incoming webhook ``{"text": …}``
* ``discord+https://discord.com/api/webhooks/…`` → Discord webhook ``{"content": …}``
* ``telegram+https://api.telegram.org/bot<token>/sendMessage?chat_id=…`` → the Bot API's
  ``sendMessage`` (``chat_id`` moves from the query into the JSON body)

A URL holds its secret (a webhook's path, a bot token), so it is never logged, printed,
put in an error or sent to the dashboard: what is shown is :attr:`NotifyTarget.shown`
(the format and ``scheme://host/…``). :class:`NotifyTarget` keeps the URL out of its
``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class NotifyFormat(StrEnum):
    JSON = "json"
    SLACK = "slack"
    DISCORD = "discord"
    TELEGRAM = "telegram"


#: The formats named by a scheme prefix (plain JSON has none).
PREFIXED = frozenset({NotifyFormat.SLACK.value, NotifyFormat.DISCORD.value, NotifyFormat.TELEGRAM.value})


#: Hosts a plain ``http://`` target may name: this machine (a local relay, the tests).
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class BadNotifyUrl(ValueError):
    """One of the URLs cannot be used; the message says which (by position), never the URL."""


@dataclass(frozen=True)
class NotifyTarget:
    """One destination: its format, the URL posted to (secret) and, for Telegram, the chat."""

    format: NotifyFormat
    url: str = field(repr=False)
    chat_id: str | None = field(default=None, repr=False)
    position: int = 1

    @property
    def shown(self) -> str:
        """What may be printed: ``slack https://hooks.slack.com/…`` (no path, query or user)."""
        return f"{self.format.value} {redact(self.url)}"


def redact(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, with ``/…`` when anything followed; no user,
    password, path or query."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unreadable URL)"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    return shown + ("/…" if parts.path.strip("/") or parts.query or parts.fragment else "")


def parse_target(raw: str, position: int = 1) -> NotifyTarget:
    """One URL as written in ``EXECUTOR_NOTIFY_URLS``; :class:`BadNotifyUrl` if unusable."""
    text = raw.strip()
    head, sep, _ = text.partition("://")
    if not sep:
        raise BadNotifyUrl(f"URL {position}: not a URL (expected [slack+|discord+|telegram+]https://…)")
    prefix, plus, _scheme = head.partition("+")
    if not plus:
        fmt, url = NotifyFormat.JSON, text
    elif prefix.lower() in PREFIXED:
        fmt, url = NotifyFormat(prefix.lower()), text[len(prefix) + 1:]
    else:
        raise BadNotifyUrl(f"URL {position}: unknown format prefix (use slack+, discord+, telegram+ or none)")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise BadNotifyUrl(f"URL {position}: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadNotifyUrl(f"URL {position}: must be an https:// URL after the format prefix")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        # The path or the query holds the secret (a webhook's id, a bot token).
        raise BadNotifyUrl(f"URL {position}: must be https:// (plain http:// only to this machine)")
    if fmt is not NotifyFormat.TELEGRAM:
        return NotifyTarget(fmt, url, None, position)
    query = parse_qsl(parts.query, keep_blank_values=True)
    chats = [value for name, value in query if name == "chat_id"]
    if len(chats) != 1 or not chats[0].strip():
        raise BadNotifyUrl(f"URL {position}: a telegram+ URL needs one chat_id in its query (…/sendMessage?chat_id=…)")
    if not parts.path.rstrip("/").endswith("/sendMessage"):
        raise BadNotifyUrl(f"URL {position}: a telegram+ URL ends in /bot<token>/sendMessage?chat_id=…")
    rest_query = urlencode([(name, value) for name, value in query if name != "chat_id"])
    post_to = urlunsplit((parts.scheme, parts.netloc, parts.path, rest_query, ""))
    return NotifyTarget(fmt, post_to, chats[0].strip(), position)


def parse_notify_urls(raw: str | None) -> tuple[NotifyTarget, ...]:
    """Every target of a comma-separated list (blank: none)."""
    if raw is None or not raw.strip():
        return ()
    parts = [part for part in raw.split(",") if part.strip()]
    return tuple(parse_target(part, i) for i, part in enumerate(parts, 1))
