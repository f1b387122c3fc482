"""Staging flattens Clever pages inside DuckDB, tolerating what real Clever sends."""

from __future__ import annotations

import json

import pytest

from mgi_roster.entities import BY_NAME
from mgi_roster.staging.pages import stage_page, staged_counts
from mgi_roster.staging.runfile import discard
from tests.support import recorded_body


def stage(con, entity: str, body: dict | str, run_id: int = 1) -> None:
    stage_page(
        con, BY_NAME[entity], run_id, "d" * 24, body if isinstance(body, str) else json.dumps(body)
    )


def test_term_dates_in_both_recorded_formats_become_dates(fresh_db):
    stage(fresh_db, "terms", recorded_body("client__terms"), run_id=1)  # "2012-08-01"
    stage(
        fresh_db, "terms", recorded_body("client__school_terms"), run_id=2
    )  # "2012-08-01T00:00:00.000Z"
    pairs = fresh_db.execute(
        """SELECT a.start_date, b.start_date, a.end_date, b.end_date FROM stg_terms a
           JOIN stg_terms b ON a.id = b.id AND a.run_id = 1 AND b.run_id = 2"""
    ).fetchall()
    assert len(pairs) == 4  # the school's terms, served in both formats
    assert all(a == b and c == d and len(a) == 10 for a, b, c, d in pairs)


def test_recorded_users_flatten_with_unpadded_dob_and_extra_keys(fresh_db):
    stage(fresh_db, "students", recorded_body("client__users_next", 0))
    row = fresh_db.execute(
        "SELECT first_name, last_name, dob, grade, district_username, email FROM stg_students WHERE id = '58da8c63d7dc0ca0680003ed'"
    ).fetchone()
    assert row == (
        "Steve",
        "Ziemann",
        "2/11/2007",
        "Kindergarten",
        "stevez33",
        "z.steve@example.net",
    )


def test_sections_give_enrollments_for_students_and_teachers(fresh_db):
    body = recorded_body("client__sections_next", 0)
    stage(fresh_db, "sections", body)
    first = body["data"][0]["data"]
    rows = fresh_db.execute(
        "SELECT role, count(*) FROM stg_enrollments WHERE section_id = ? GROUP BY role ORDER BY role",
        [first["id"]],
    ).fetchall()
    assert rows == [("student", len(first["students"])), ("teacher", len(first["teachers"]))]


def test_only_users_with_the_role_are_staged(fresh_db):
    users = recorded_body("client__section_users")  # 26 students and their teacher
    stage(fresh_db, "students", users)
    stage(fresh_db, "teachers", users)
    assert staged_counts(fresh_db, 1)["students"] == 26
    assert staged_counts(fresh_db, 1)["teachers"] == 1


def test_odd_values_are_kept_as_text_not_crashes(fresh_db):
    odd = {
        "data": [
            {
                "data": {
                    "id": "a" * 24,
                    "name": {"first": {"nested": True}, "last": 42},
                    "roles": {"student": {"grade": ["3"], "schools": "not-a-list", "dob": ""}},
                }
            },
            {"data": {"id": "b" * 24, "roles": {"student": {"schools": [None, "", "x"]}}}},
            {"uri": "/v3.0/users/c"},  # no record at all
            "not an object",
        ],
        "links": [],
    }
    stage(fresh_db, "students", odd)
    rows = fresh_db.execute(
        "SELECT id, first_name, last_name, grade, schools, dob FROM stg_students ORDER BY id"
    ).fetchall()
    assert rows[0] == ("a" * 24, '{"nested":true}', "42", '["3"]', None, None)
    assert rows[1][4] == ["x"]


def test_discard_removes_a_runs_rows_only(fresh_db):
    stage(fresh_db, "terms", recorded_body("client__terms"), run_id=1)
    stage(fresh_db, "terms", recorded_body("client__terms"), run_id=2)
    discard(fresh_db, 1)
    assert staged_counts(fresh_db, 1)["terms"] == 0 and staged_counts(fresh_db, 2)["terms"] == 5


def test_the_envelope_reader_counts_records_and_reads_links():
    from mgi_roster.staging.pages import EnvelopeReader

    read = EnvelopeReader()
    body = recorded_body("client__users_next", 0)
    found = read(json.dumps(body))
    assert found.count == 100
    assert {
        "rel": "next",
        "uri": "/v3.0/users?starting_after=58da8c63d7dc0ca068000478",
    } in found.links
    assert read('{"data": [], "links": []}').count == 0
    for broken in ('{"data": [{"data": {"id": "a"', "[1, 2]", "<html></html>", ""):
        with pytest.raises(ValueError):
            read(broken)
