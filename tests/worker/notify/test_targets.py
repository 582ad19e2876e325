"""``EXECUTOR_NOTIFY_URLS``: each URL's prefix names its format; a bad one stops start-up
naming the variable and the URL's position, never the URL."""

from __future__ import annotations

import pytest

from worker.config import ConfigError, load_config
from worker.notify.targets import NotifyFormat, parse_notify_urls, redact


def test_each_prefix_names_a_format_and_is_stripped_before_sending() -> None:
    targets = parse_notify_urls(
        "https://example.com/hook/s1, slack+https://hooks.slack.com/services/T/B/s2,"
        "discord+https://discord.com/api/webhooks/1/s3 ,"
        "telegram+https://api.telegram.org/bot123:s4/sendMessage?chat_id=-100777"
    )
    assert [t.format for t in targets] == [NotifyFormat.JSON, NotifyFormat.SLACK, NotifyFormat.DISCORD, NotifyFormat.TELEGRAM]
    assert [t.url for t in targets] == [
        "https://example.com/hook/s1",
        "https://hooks.slack.com/services/T/B/s2",
        "https://discord.com/api/webhooks/1/s3",
        "https://api.telegram.org/bot123:s4/sendMessage",
    ]
    assert targets[3].chat_id == "-100777"
    assert [t.position for t in targets] == [1, 2, 3, 4]
    assert [t.shown for t in targets] == [
        "json https://example.com/…",
        "slack https://hooks.slack.com/…",
        "discord https://discord.com/…",
        "telegram https://api.telegram.org/…",
    ]
    for t in targets:
        assert "s1" not in repr(t) and "s4" not in repr(t) and "-100777" not in repr(t)


def test_redaction_keeps_scheme_and_host_at_most() -> None:
    assert redact("https://user:pw@hooks.example.com:8443/a/b?token=x#f") == "https://hooks.example.com:8443/…"
    assert redact("http://127.0.0.1:9000") == "http://127.0.0.1:9000"


def test_blank_means_no_target() -> None:
    assert parse_notify_urls(None) == () and parse_notify_urls(" , ") == ()
    assert load_config({}).notify_urls == ()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("pager+https://secret.example/tok-abc", "URL 1: unknown format prefix"),
        ("https://ok.example/x,ftp://secret.example/tok-abc", "URL 2: must be an https:// URL"),
        # The secret would travel in the clear: plain http only to this machine.
        ("slack+http://secret.example/services/tok-abc", "URL 1: must be https://"),
        ("telegram+https://api.telegram.org/bottok-abc/sendMessage", "URL 1: a telegram+ URL needs one chat_id"),
        ("telegram+https://api.telegram.org/bottok-abc/getMe?chat_id=1", "URL 1: a telegram+ URL ends in"),
        ("secret.example/tok-abc", "URL 1: not a URL"),
        ("https://secret.example:99999/tok-abc", "URL 1: not a valid URL"),
    ],
)
def test_a_bad_url_names_the_variable_and_its_position_never_the_url(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"EXECUTOR_NOTIFY_URLS": value})
    assert caught.value.variable == "EXECUTOR_NOTIFY_URLS"
    assert says in str(caught.value)
    assert "tok-abc" not in str(caught.value) and "secret.example" not in str(caught.value)


def test_the_configuration_keeps_the_urls_out_of_its_repr() -> None:
    config = load_config({"EXECUTOR_NOTIFY_URLS": "slack+https://hooks.slack.com/services/T/B/tok-abc"})
    assert len(config.notify_urls) == 1
    assert "tok-abc" not in repr(config) and "hooks.slack.com" not in repr(config)
