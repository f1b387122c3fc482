"""The review's depth on the command line, on the demo district's day 2 (it has errors):
`approve --exclude-errors`, the roster export, the audit of what was withheld, the digest."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mgi_roster import demo
from mgi_roster.cli import main
from tests.support import copy_store

DEMO = demo.DEMO_DISTRICT_ID


def run(db, *args) -> int:
    return main(["--db", str(db), *args])


@pytest.fixture(scope="module")
def day2_store(tmp_path_factory) -> str:
    """The demo's day 1 synced and approved, the SIS advanced to day 2 and synced (staged)."""
    path = tmp_path_factory.mktemp("review") / "day2.duckdb"
    params = path.with_name("params.json")
    params.write_text("{}")
    assert run(path, "parameters", "set", "--district", DEMO, "--file", str(params)) == 0
    assert run(path, "sync", "--district", DEMO) == 0
    assert run(path, "approve", "--run", "1", "--by", "Ana") == 0
    assert run(path, "demo", "advance") == 0
    return str(path)


@pytest.fixture
def db(day2_store, tmp_path):
    target = tmp_path / "mgi.duckdb"
    copy_store(day2_store, target)
    return target


def roster_rows(db, capsys) -> dict[str, dict[str, str]]:
    capsys.readouterr()
    assert run(db, "export", "--district", DEMO, "--what", "roster", "--format", "csv") == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].startswith("id,entity,")
    return {r["id"]: r for r in rows}


def test_exclude_errors_merges_the_clean_records_and_the_export_and_audit_show_it(db, capsys):
    capsys.readouterr()
    assert run(db, "sync", "--district", DEMO, "--json") == 0
    day2 = json.loads(capsys.readouterr().out)
    assert day2["issues"]["error"] > 0
    assert "withheld" not in day2["digest"]
    assert "error" in day2["digest"]
    run_id = str(day2["run_id"])
    before = roster_rows(db, capsys)
    planted = demo.DemoDistrict(day=2).planted()

    assert run(db, "approve", "--run", run_id, "--by", "Ana", "--exclude-errors", "--json") == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged["status"] == "merged" and merged["withheld"]["error"] >= 4

    after = roster_rows(db, capsys)
    # Clean changes merged.
    grade = planted.grade_correction
    assert after[grade.record_id]["grade"] == grade.after
    assert after[planted.transfer.student_id]["school"] == planted.transfer.to_school
    clean_added = [s for s in planted.added_students if s not in planted.duplicate_sis_id]
    assert clean_added and all(after[s]["entity"] == "students" for s in clean_added)
    # Records with errors: as they were.
    assert after[planted.bad_dob.record_id]["dob"] == before[planted.bad_dob.record_id]["dob"]
    assert after[planted.no_grade.record_id]["grade"] == planted.no_grade.before
    added_duplicate = next(s for s in planted.duplicate_sis_id if s in planted.added_students)
    assert added_duplicate not in after
    assert not any(added_duplicate in row_id for row_id in after)  # nor its enrollments

    capsys.readouterr()
    assert run(db, "history", "--district", DEMO, "--json") == 0
    audit = json.loads(capsys.readouterr().out)["audit"]
    approval = next(a for a in audit if a["action"] == "approve" and str(a["run_id"]) == run_id)
    assert approval["actor"] == "Ana"
    withheld = {w["record_id"]: w for w in approval["detail"]["withheld"]}
    assert withheld[planted.bad_dob.record_id]["reason"] == "error"
    assert withheld[planted.bad_dob.record_id]["detail"] == "dob_date"
    assert "duplicate_sis_id" in withheld[added_duplicate]["detail"]

    assert run(db, "export", "--run", run_id, "--what", "withheld") == 0
    listed = capsys.readouterr().out
    assert planted.bad_dob.record_id in listed and "dob_date" in listed


def test_a_waiver_without_a_reason_is_refused(db, capsys):
    assert run(db, "sync", "--district", DEMO) == 0
    capsys.readouterr()
    code = run(db, "approve", "--run", "2", "--waive", "dob_date", "--exclude-errors", "--json")
    assert code == 2
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == "refused" and "needs a reason" in refused["reason"]


def test_export_roster_needs_a_district(db, capsys):
    assert run(db, "export", "--what", "roster") == 2
    assert "--district" in capsys.readouterr().err
