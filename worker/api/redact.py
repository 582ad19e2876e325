"""Keep secrets out of the worker's log lines.

The worker reads its token from the ``Authorization`` header only, but a client may still
put one in a query string (``/api/status?token=…``), and Tornado writes the full request
URI to its access log and to the lines it logs for failed requests. Two layers stop that:

* :func:`log_request` (the app's ``log_function``) writes the access line with the query
  string's values replaced by ``***``, except for the few harmless filters the routes read
  (``since``, ``limit``, ``status``, ``bucket``);
* :class:`SecretFilter`, installed on Tornado's loggers, rewrites any record that still
  carries a ``token=``/``password=``/``secret=``-like query value or the server's own
  token, whatever line it is (an uncaught exception's request summary, a warning).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus

import tornado.web

access_log = logging.getLogger("tornado.access")
TORNADO_LOGGERS = ("tornado.access", "tornado.application", "tornado.general", "tornado.websocket")
# Query parameters the routes read; their values are not secret and help reading the log.
SAFE_QUERY_KEYS = frozenset({"since", "limit", "status", "bucket"})
REDACTED = "***"
_SECRET_QUERY = re.compile(
    r"(?i)([?&;](?:[\w.-]*?(?:token|password|passwd|secret|key|auth|signature|sig|session|cookie)[\w.-]*)=)[^&;#\s'\")]*"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",)]+")


def redact_uri(uri: str) -> str:
    """``uri`` with every query value but the safe filters' replaced by ``***`` (a part
    without ``=`` is replaced whole: it may be a bare secret)."""
    path, sep, query = uri.partition("?")
    if not sep:
        return uri
    query, _, _ = query.partition("#")
    parts = []
    for part in query.split("&"):
        if not part:
            continue
        key, eq, _ = part.partition("=")
        if not eq:
            parts.append(REDACTED)
            continue
        name = unquote_plus(key)
        shown = dict(parse_qsl(part, keep_blank_values=True)).get(name, "") if name in SAFE_QUERY_KEYS else REDACTED
        parts.append(f"{quote(name, safe='')}={quote(shown, safe='*:+-.')}")
    return f"{path}?{'&'.join(parts)}"


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with secret-looking query values, bearer tokens and the given secrets masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access line (status, method, URI, client, time) with the query redacted."""
    status = handler.get_status()
    if status < 400:
        method = access_log.info
    elif status < 500:
        method = access_log.warning
    else:
        method = access_log.error
    request = handler.request
    method(
        "%d %s %s (%s) %.2fms",
        status,
        request.method,
        redact_uri(request.uri or ""),
        request.remote_ip,
        1000.0 * request.request_time(),
    )


class SecretFilter(logging.Filter):
    """Rewrites a record whose text carries a secret (see the module docstring)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        clean = redact_text(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            # Exception text is formatted later by the handler; format it now, cleaned.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text, self.secrets)
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text, self.secrets)
        return True


def install_secret_filter(secrets: tuple[str, ...]) -> SecretFilter:
    """Add one :class:`SecretFilter` (knowing ``secrets``) to each of Tornado's loggers."""
    flt = SecretFilter(secrets)
    for name in TORNADO_LOGGERS:
        logger = logging.getLogger(name)
        logger.addFilter(flt)
    return flt


def remove_secret_filter(flt: Any) -> None:
    for name in TORNADO_LOGGERS:
        logging.getLogger(name).removeFilter(flt)
