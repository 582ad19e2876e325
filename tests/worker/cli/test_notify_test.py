"""``python -m worker notify-test``: one message per target, each URL's status printed
with the URL redacted."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import free_port, run_worker
from tests.worker.notify.receiver import ThreadedReceiver


def _env(tmp_path: Path, urls: str) -> dict[str, str]:
    return {
        "EXECUTOR_DATA_DIR": str(tmp_path / "data"),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'executor.db'}",
        "EXECUTOR_NOTIFY_URLS": urls,
    }


def test_notify_test_sends_one_message_per_url_and_prints_each_status_redacted(tmp_path: Path) -> None:
    with ThreadedReceiver() as receiver:
        base = f"http://127.0.0.1:{receiver.port}"
        urls = ",".join([
            f"{base}/hook/SECRET-1",
            f"slack+{base}/services/T/B/SECRET-2",
            f"discord+{base}/api/webhooks/9/SECRET-3",
            f"telegram+{base}/bot9:SECRET-4/sendMessage?chat_id=42",
        ])
        result = run_worker(["notify-test"], _env(tmp_path, urls))
        requests = list(receiver.requests)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"1. json {base}/… → 200",
        f"2. slack {base}/… → 200",
        f"3. discord {base}/… → 200",
        f"4. telegram {base}/… → 200",
    ]
    assert "SECRET" not in result.stdout + result.stderr and "chat_id" not in result.stdout + result.stderr
    by_path = {r.path: r.body for r in requests}
    assert len(requests) == 4
    plain = by_path["/hook/SECRET-1"]
    assert plain["kind"] == "test" and plain["severity"] == "info" and plain["data"] == {}
    assert plain["message"] == "notify-test: alerts from this Executor reach you here."
    text = f"[INFO] Executor test notification\n{plain['message']}\n{plain['at']}"
    assert by_path["/services/T/B/SECRET-2"] == {"text": text}
    assert by_path["/api/webhooks/9/SECRET-3"] == {"content": text, "allowed_mentions": {"parse": []}}
    assert by_path["/bot9:SECRET-4/sendMessage"] == {"chat_id": "42", "text": text}


def test_a_failing_url_shows_its_status_and_the_exit_code_says_so(tmp_path: Path) -> None:
    dead = free_port()
    with ThreadedReceiver() as receiver:
        receiver.answer(500)
        base = f"http://127.0.0.1:{receiver.port}"
        urls = f"{base}/hook/SECRET-1,slack+{base}/services/SECRET-2,http://127.0.0.1:{dead}/SECRET-3"
        result = run_worker(["notify-test"], _env(tmp_path, urls))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"1. json {base}/… → 500",  # one attempt: notify-test does not retry
        f"2. slack {base}/… → 200",
        f"3. json http://127.0.0.1:{dead}/… → failed (ConnectError)",
    ]
    assert "SECRET" not in result.stdout + result.stderr


def test_without_urls_notify_test_says_what_to_set(tmp_path: Path) -> None:
    result = run_worker(["notify-test"], _env(tmp_path, ""))
    assert result.returncode == 78
    assert "EXECUTOR_NOTIFY_URLS is not set" in result.stderr


def test_a_bad_url_stops_notify_test_naming_the_variable(tmp_path: Path) -> None:
    result = run_worker(["notify-test"], _env(tmp_path, "pager+https://hooks.example/SECRET"))
    assert result.returncode == 78
    assert "EXECUTOR_NOTIFY_URLS: URL 1: unknown format prefix" in result.stderr
    assert "SECRET" not in result.stderr and "Traceback" not in result.stderr
