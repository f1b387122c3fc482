"""A OneRoster CSV district's drop folder (schedule/drop.py): the scheduler syncs the newest ZIP
and files it under processed/ or failed/ with the run id."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from mgi_roster import districts, parameters, schedule, store
from mgi_roster.kinds import ProviderKind
from mgi_roster.schedule import Schedule, drop
from mgi_roster.sources.provider import ProviderSettings
from tests.oneroster_support import DISTRICT, package_11, write_zip

SLOT = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
DAILY = Schedule(
    days=("sun", "mon", "tue", "wed", "thu", "fri"), at="22:00", until=date(2026, 12, 31)
)


def test_newest_zip(tmp_path):
    assert drop.newest(tmp_path / "missing") is None
    older = write_zip(tmp_path / "a.zip", package_11())
    newer = write_zip(tmp_path / "b.zip", package_11())
    (tmp_path / "notes.txt").write_text("x")
    os.utime(older, (1, 1))
    assert drop.newest(tmp_path) == newer


def test_the_scheduler_takes_the_newest_zip_and_files_it(tmp_path, monkeypatch):
    folder = tmp_path / "drop"
    folder.mkdir()
    con = store.connect(":memory:")
    parameters.save(con, DISTRICT, parameters.Parameters())
    districts.set_provider(
        con, DISTRICT, ProviderKind.ONEROSTER_CSV, ProviderSettings(drop_folder=str(folder))
    )
    empty = schedule.run_district(con, DISTRICT, DAILY, SLOT)
    assert empty.outcome == "skipped" and "No new package" in empty.message
    write_zip(folder / "monday.zip", package_11())
    outcome = schedule.run_district(con, DISTRICT, DAILY, SLOT)
    assert outcome.run_id is not None and outcome.outcome == "held for review"
    assert (folder / "processed" / f"run-{outcome.run_id}-monday.zip").is_file()
    assert not (folder / "monday.zip").exists()
    (folder / "broken.zip").write_bytes(b"not a zip")
    failed = schedule.run_district(con, DISTRICT, DAILY, SLOT)
    assert failed.outcome == "failed"
    assert (folder / "failed" / f"run-{failed.run_id}-broken.zip").is_file()
