"""``python -m worker dashboard-password [--path]``: where the dashboard's password is."""

from __future__ import annotations

from worker.cli.dashboard import password_main


def main(argv: list[str]) -> int:
    return password_main(argv)
