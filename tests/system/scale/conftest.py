"""Scale tests reuse the engine rig (database on each backend + fake venues)."""

from tests.worker.engine.conftest import rig  # noqa: F401
