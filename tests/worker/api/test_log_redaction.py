"""The access log's URI and any Tornado log line lose their secrets (hand-worked cases)."""

from __future__ import annotations

import logging

import pytest

from worker.api.redact import SecretFilter, redact_text, redact_uri


@pytest.mark.parametrize(
    ("uri", "logged"),
    [
        ("/api/status", "/api/status"),
        ("/api/status?token=abc", "/api/status?token=***"),
        ("/api/trades?since=2026-01-01T00:00:00Z&limit=5&token=abc",
         "/api/trades?since=2026-01-01T00:00:00Z&limit=5&token=***"),
        ("/api/positions?status=open&access_token=abc&x=1", "/api/positions?status=open&access_token=***&x=***"),
        ("/ws/executor?abc", "/ws/executor?***"),
        ("/a?token=abc#frag", "/a?token=***"),
    ],
)
def test_the_access_log_shows_only_the_routes_own_filters(uri: str, logged: str) -> None:
    assert redact_uri(uri) == logged


def test_any_line_loses_query_secrets_bearer_tokens_and_the_known_token() -> None:
    line = ("Uncaught exception GET /x?api_key=k1&password=p2&limit=3 (127.0.0.1) "
            "HTTPServerRequest(uri='/x?Token=t3') Authorization: Bearer b4 sekrit-token-value")
    clean = redact_text(line, ("sekrit-token-value",))
    for secret in ("k1", "p2", "t3", "b4", "sekrit-token-value"):
        assert secret not in clean
    assert "limit=3" in clean and "api_key=***" in clean and "Token=***" in clean


def test_the_filter_rewrites_the_record_and_its_traceback() -> None:
    flt = SecretFilter(("sekrit-token-value",))
    try:
        raise RuntimeError("failed for /x?token=sekrit-token-value")
    except RuntimeError:
        import sys

        record = logging.LogRecord("tornado.application", logging.ERROR, __file__, 1,
                                   "Uncaught exception %s", ("GET /x?token=sekrit-token-value",), sys.exc_info())
    assert flt.filter(record)
    assert record.getMessage() == "Uncaught exception GET /x?token=***"
    assert record.exc_text is not None and "sekrit-token-value" not in record.exc_text
    assert "RuntimeError" in record.exc_text
