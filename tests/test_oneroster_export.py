"""The current roster as a OneRoster 1.1 ZIP (roster/oneroster_export.py), and its round trip:
Clever → approve → export → OneRoster CSV sync into a new store → same counts, no errors, and
no changes when synced again."""

from __future__ import annotations

import csv
import io
import zipfile

from mgi_roster import parameters, store
from mgi_roster.entities import ENTITIES
from mgi_roster.roster import oneroster_export
from mgi_roster.roster.sql import current
from mgi_roster.sources.oneroster import files
from mgi_roster.store import execute
from mgi_roster.sync import run_sync
from tests.support import DISTRICT_ID


def _read(path, name):
    with zipfile.ZipFile(path) as z:
        return list(csv.reader(io.StringIO(z.read(name).decode("utf-8"))))


def _roster_counts(con):
    return {
        e.name: execute(
            con, f"SELECT count(*) FROM {current(e, live=True)}", {"district": DISTRICT_ID}
        ).fetchone()[0]
        for e in ENTITIES
    }


def test_the_zip_has_the_exact_11_headers_and_a_manifest(seeded_db, tmp_path):
    done = oneroster_export.export(seeded_db, DISTRICT_ID, tmp_path / "r.zip", name="Test District")
    counts = _roster_counts(seeded_db)
    assert done.counts["users"] == counts["students"] + counts["teachers"]
    assert done.counts["orgs"] == counts["schools"] + 1
    assert done.counts["enrollments"] == counts["enrollments"]
    for name in (n for n in oneroster_export.WRITTEN if done.counts[n]):
        rows = _read(done.path, f"{name}.csv")
        assert tuple(rows[0]) == files.file(name).header("1.1")
        assert len(rows) - 1 == done.counts[name]
    manifest = dict(_read(done.path, "manifest.csv")[1:])
    assert manifest["oneroster.version"] == "1.1" and manifest["manifest.version"] == "1.0"
    assert manifest["file.users"] == "bulk" and manifest["file.results"] == "absent"
    assert {k for k in manifest if k.startswith("file.")} == {
        f"file.{n}" for n in files.data_files("1.1")
    }
    orgs = _read(done.path, "orgs.csv")
    assert orgs[1][:6] == [DISTRICT_ID, "", "", "Test District", "district", ""]
    assert all(r[6] == DISTRICT_ID for r in orgs[2:])  # schools' parentSourcedId


def test_a_student_row_is_written_as_oneroster_sends_it(seeded_db, tmp_path):
    seeded_db.execute(
        "UPDATE roster_students SET grade = 'Kindergarten', dob = '2/9/2016', gender = 'F', race = 'Asian', "
        "hispanic_ethnicity = 'N', state_id = 'ST9', student_number = '42' WHERE district_id = ? AND valid_to IS NULL",
        [DISTRICT_ID],
    )
    done = oneroster_export.export(seeded_db, DISTRICT_ID, tmp_path / "r.zip")
    users = _read(done.path, "users.csv")
    header = users[0]
    student = next(
        dict(zip(header, r, strict=True)) for r in users[1:] if r[header.index("role")] == "student"
    )
    assert student["grades"] == "KG"
    assert student["userIds"] == "{student_number:42},{state_id:ST9}"
    demographics = _read(done.path, "demographics.csv")
    d = dict(zip(demographics[0], demographics[1], strict=True))
    assert (d["birthDate"], d["sex"], d["asian"], d["white"], d["hispanicOrLatinoEthnicity"]) == (
        "2016-02-09", "female", "true", "false", "false",
    )  # fmt: skip


def test_a_kind_the_roster_lacks_is_declared_absent_and_named_when_read_back(seeded_db, tmp_path):
    # The small district has no terms and no courses: those files are left out and declared
    # absent (an empty bulk file would say everything was removed); the MGI needs them, so
    # reading the package back names them. The demo's round trip is in
    # test_oneroster_equivalence.py.
    done = oneroster_export.export(seeded_db, DISTRICT_ID, tmp_path / "r.zip")
    assert done.counts["courses"] == 0 and done.counts["academicSessions"] == 0
    with zipfile.ZipFile(done.path) as z:
        assert "courses.csv" not in z.namelist()
        assert "file.courses,absent" in z.read("manifest.csv").decode()
    with store.opened(tmp_path / "new.duckdb") as con:
        parameters.save(con, DISTRICT_ID, parameters.Parameters())
        first = run_sync(con, DISTRICT_ID, provider="oneroster-csv", file=done.path)
    assert not first.ok
    assert "courses" in (first.message or "")
