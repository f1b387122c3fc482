"""OneRoster's own checks (review/validation/oneroster.py): in the run's issues, like any other."""

from __future__ import annotations

import json

import pytest

from mgi_roster import parameters
from mgi_roster.review.validation import messages
from mgi_roster.sync import run_sync
from tests.oneroster_support import DISTRICT, package_11, write_zip


def _issues(con, run_id):
    rows = con.execute(
        'SELECT "check", entity, record_id, value, severity FROM issues WHERE run_id = ? AND "check" LIKE \'oneroster%\'',
        [run_id],
    ).fetchall()
    return {(c, e, r, v, s) for c, e, r, v, s in rows}


def _sync(con, tmp_path, monkeypatch, rows, version="1.1", modes=None):
    parameters.save(con, DISTRICT, parameters.Parameters())
    result = run_sync(
        con,
        DISTRICT,
        provider="oneroster-csv",
        file=write_zip(tmp_path / "p.zip", rows, version, modes),
    )
    assert result.run_id is not None and result.status != "failed", result.message
    return result


def test_a_clean_package_has_no_oneroster_issues_but_its_bulk_tobedeleted_row(
    fresh_db, tmp_path, monkeypatch
):
    result = _sync(fresh_db, tmp_path, monkeypatch, package_11())
    assert _issues(fresh_db, result.run_id) == {
        ("oneroster_tobedeleted", "students", "s-3", "tobedeleted", "warning"),
    }


def test_the_same_row_in_a_delta_file_is_no_issue(fresh_db, tmp_path, monkeypatch):
    result = _sync(fresh_db, tmp_path, monkeypatch, package_11(), modes={"users": "delta"})
    assert _issues(fresh_db, result.run_id) == set()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_bad_roles_org_types_class_schools_and_grades_are_issues(
    fresh_db, tmp_path, monkeypatch, version
):
    rows = package_11()
    rows["users"] = [u for u in rows["users"] if u.get("status") != "tobedeleted"]
    rows["users"][1]["grades"] = "03,Grade 4"
    rows["users"].append(
        {
            "sourcedId": "x-1",
            "role": "Student",
            "givenName": "Ex",
            "familyName": "Ray",
            "orgSourcedIds": "sch-1",
        }
    )
    rows["users"].append({"sourcedId": "n-1", "givenName": "No", "familyName": "Role"})
    rows["orgs"].append({"sourcedId": "dep-1", "name": "Science", "type": "faculty"})
    rows["classes"][0]["schoolSourcedId"] = DISTRICT
    if version == "1.2":
        rows = _as_12(rows)
    result = _sync(fresh_db, tmp_path, monkeypatch, rows, version)
    found = _issues(fresh_db, result.run_id)
    assert ("oneroster_role", "students", "x-1", "Student", "error") in found
    assert ("oneroster_no_role", "students", "n-1", None, "warning") in found
    assert ("oneroster_org_type", "schools", "dep-1", "faculty", "error") in found
    assert ("oneroster_class_school", "sections", "cls-1", DISTRICT, "error") in found
    assert ("oneroster_grade", "students", "s-1", "Grade 4", "warning") in found
    issue = fresh_db.execute(
        """SELECT "check", entity, field, value, record_id, record_name, sis_id, params FROM issues
           WHERE run_id = ? AND "check" = 'oneroster_class_school'""",
        [result.run_id],
    ).fetchone()
    sentence = messages.render(messages.Finding(*issue[:-1], params=json.loads(issue[-1])))
    assert "is an org of type district, not a school" in sentence


def _as_12(rows):
    roles = []
    for u in rows["users"]:
        role = u.pop("role", None)
        orgs = (u.pop("orgSourcedIds", None) or "").split(",")
        if role:
            roles.append(
                {
                    "sourcedId": "r-" + u["sourcedId"],
                    "userSourcedId": u["sourcedId"],
                    "roleType": "primary",
                    "role": role,
                    "orgSourcedId": orgs[-1],
                }
            )
    rows["roles"] = roles
    return rows


def test_only_oneroster_runs_have_them(seeded_db):
    rows = seeded_db.execute(
        """SELECT count(*) FROM issues WHERE "check" LIKE 'oneroster%'"""
    ).fetchone()
    assert rows[0] == 0


def test_the_readers_value_checks_are_issues_with_their_own_sentences(
    fresh_db, tmp_path, monkeypatch
):
    # A bad enum (case matters: "Scheduled"), a broken reference and a bad date: the reader's
    # row checks (sources/oneroster/rows.py) reach the issues table. A broken reference or a bad
    # date blocks Approve; a bad value in a column the MGI does not need is a warning.
    rows = package_11()
    rows["classes"][0]["classType"] = "Scheduled"
    rows["enrollments"][0]["classSourcedId"] = "cls-404"
    rows["academicSessions"][0]["endDate"] = "2026-13-40"
    result = _sync(fresh_db, tmp_path, monkeypatch, rows)
    found = fresh_db.execute(
        """SELECT "check", entity, record_id, field, value, severity, params FROM issues
           WHERE run_id = ? AND "check" LIKE 'oneroster_value%'""",
        [result.run_id],
    ).fetchall()
    said = {(r[2], r[3], r[4], r[5]) for r in found}
    assert ("cls-1", "class_type", "Scheduled", "warning") in said
    assert ("e-1", "section_id", "cls-404", "error") in said
    assert ("term-1", "end_date", "2026-13-40", "error") in said
    sentence = messages.render(
        messages.Finding(
            check="oneroster_value_note",
            entity="sections",
            record_id="cls-1",
            field="class_type",
            value="Scheduled",
            params=json.loads(next(r[6] for r in found if r[2] == "cls-1")),
        )
    )
    assert "classes.csv" in sentence and '"Scheduled"' in sentence


def test_a_oneroster_districts_sentences_speak_of_its_package_not_of_clever(
    fresh_db, tmp_path, monkeypatch, seeded_db
):
    """A OneRoster run's findings name records by sourcedId and say what to fix in the package,
    where a Clever run's name the Clever id and Clever's sharing settings."""
    p = package_11()
    p["users"][2]["identifier"] = "SIS-1"  # Bo shares Amy's SIS id
    p["classes"][0]["schoolSourcedId"] = "sch-9"  # a school the package does not send
    result = _sync(fresh_db, tmp_path, monkeypatch, p)
    rows = fresh_db.execute(
        "SELECT * FROM issues WHERE run_id = ? ORDER BY ALL", [result.run_id]
    ).fetchall()
    names = [d[0] for d in fresh_db.description]
    said = {
        row[names.index("check")]: messages.render(
            messages.Finding.of(dict(zip(names, row, strict=True)))
        )
        for row in rows
    }
    assert "(sourcedId s-" in said["duplicate_sis_id"], said["duplicate_sis_id"]
    assert "add that school to the package" in said["unknown_school"], said["unknown_school"]
    assert not [s for s in said.values() if "Clever" in s], said
    # A Clever run keeps Clever's words.
    clever = messages.Finding("unknown_school", "sections", "school", "x", "c1", "Room 1", None, {})
    assert "Clever's sharing settings" in messages.render(clever)
    assert "Clever id" in messages.render(
        messages.Finding("unique_id", "students", "id", "x", "x", None, None, {"count": 2})
    )
