"""Database URLs in start-up errors: the password never shows, whatever it holds."""

from __future__ import annotations

import pytest

from worker.cli.common import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+asyncpg://trader:s3cret@db.example:5432/exec", "postgresql+asyncpg://trader:***@db.example:5432/exec"),
        # A '/' in the password (SQLAlchemy takes it as written): the old pattern stopped at it.
        ("postgresql+asyncpg://trader:pa/ss@db/exec", "postgresql+asyncpg://trader:***@db/exec"),
        ("postgresql+asyncpg://trader:p%40ss@db/exec", "postgresql+asyncpg://trader:***@db/exec"),
        ("postgresql+asyncpg://p:p@db/exec", "postgresql+asyncpg://p:***@db/exec"),
        ("sqlite+aiosqlite:///var/executor.db", "sqlite+aiosqlite:///var/executor.db"),
        ("postgresql+asyncpg://trader@db/exec", "postgresql+asyncpg://trader@db/exec"),
    ],
)
def test_the_password_is_hidden(url: str, shown: str) -> None:
    assert redact_url(url) == shown
