"""``python -m worker record`` against a real paper exchange: parts for all three venues."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.processes import free_port, run_worker
from worker.domain.markets import Venue
from worker.replay.reader import open_recording
from worker.replay.recording import ListingSnapshot, RecordedBook


def paper_env(tmp_path: Path) -> dict[str, str]:
    """A private paper environment: data directory, database and exchange port."""
    return {
        "EXECUTOR_DATA_DIR": str(tmp_path / "data"),
        "EXECUTOR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'executor.db'}",
        "EXECUTOR_PAPER_PORT": str(free_port()),
        "EXECUTOR_MODE": "paper",
    }


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_record_writes_books_and_listings_of_every_paper_venue(tmp_path: Path) -> None:
    out = tmp_path / "recording"
    env = paper_env(tmp_path)
    result = run_worker(["record", "--out", str(out), "--duration", "3"], env, timeout=100)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    venues = [v.value for v in Venue]
    assert summary["venues"] == sorted(venues)
    for venue in venues:
        assert summary["rows"][venue]["books"] > 0 and summary["rows"][venue]["listings"] > 0
        assert summary["parts"][venue] == {"books": 1, "listings": 1}
    assert summary["dropped"] == 0 and summary["bytes"] > 0

    rec = open_recording(out)
    assert rec.info.skipped == [] and set(rec.info.venues) == set(Venue)
    events = list(rec.events())
    for venue in Venue:
        listings = [e for e in events if isinstance(e, ListingSnapshot) and e.venue is venue]
        books = [e for e in events if isinstance(e, RecordedBook) and e.venue is venue]
        assert len(listings) == 1 and listings[0].markets
        assert len(books) == summary["rows"][venue.value]["books"]
        listed = {o.ref for m in listings[0].markets for o in m.outcomes}
        assert {b.book.contract for b in books} <= listed
    kalshi = [e for e in events if isinstance(e, RecordedBook) and e.venue is Venue.KALSHI]
    assert all(b.book.sequence is not None for b in kalshi)  # Kalshi's seq is kept


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_trading_run_with_a_record_dir_records_every_book_it_scanned(tmp_path: Path) -> None:
    out = tmp_path / "recording"
    env = {**paper_env(tmp_path), "EXECUTOR_RECORD_DIR": str(out)}
    result = run_worker(["run", "--duration", "3"], env, timeout=100)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    rec = open_recording(out)
    assert rec.info.skipped == []  # the writer closed with the worker: no unfinished part
    assert set(rec.info.venues) == {Venue.KALSHI, Venue.POLYMARKET}
    events = list(rec.events())
    books = [e for e in events if isinstance(e, RecordedBook)]
    assert summary["book_updates"] > 0 and len(books) == summary["book_updates"]
    assert {e.venue for e in events if isinstance(e, ListingSnapshot)} == {Venue.KALSHI, Venue.POLYMARKET}
