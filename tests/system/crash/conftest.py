"""Crash tests reuse the engine rig (database + fake venues)."""

from tests.worker.engine.conftest import rig  # noqa: F401
