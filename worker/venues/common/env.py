"""Reading client configuration from the environment (names only ever reported, never values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from worker.domain.errors import MissingCredentials


def require(env: Mapping[str, str], venue: str, names: Sequence[str]) -> dict[str, str]:
    """Values of ``names``; raises :class:`MissingCredentials` listing every missing one."""
    missing = [n for n in names if not env.get(n, "").strip()]
    if missing:
        raise MissingCredentials(venue, missing)
    return {n: env[n].strip() for n in names}
