"""Crash tests reuse the engine rig (database + fake venues)."""

from tests.engine.conftest import rig  # noqa: F401
