"""Staging flattens Clever pages inside DuckDB, tolerating what real Clever sends."""

from __future__ import annotations

import json

import pytest

from mgi_roster import store
from mgi_roster.entities import BY_NAME
from mgi_roster.staging.pages import stage_page, staged_counts
from mgi_roster.staging.runfile import discard
from tests import recorded


@pytest.fixture
def con():
    con = store.connect(":memory:")
    yield con
    con.close()


def stage(con, entity: str, body: dict | str, run_id: int = 1) -> None:
    stage_page(
        con, BY_NAME[entity], run_id, "d" * 24, body if isinstance(body, str) else json.dumps(body)
    )


def test_term_dates_in_both_recorded_formats_become_dates(con):
    stage(con, "terms", recorded.body("client__terms"), run_id=1)  # "2012-08-01"
    stage(
        con, "terms", recorded.body("client__school_terms"), run_id=2
    )  # "2012-08-01T00:00:00.000Z"
    pairs = con.execute(
        """SELECT a.start_date, b.start_date, a.end_date, b.end_date FROM stg_terms a
           JOIN stg_terms b ON a.id = b.id AND a.run_id = 1 AND b.run_id = 2"""
    ).fetchall()
    assert len(pairs) == 4  # the school's terms, served in both formats
    assert all(a == b and c == d and len(a) == 10 for a, b, c, d in pairs)


def test_recorded_users_flatten_with_unpadded_dob_and_extra_keys(con):
    stage(con, "students", recorded.body("client__users_next", 0))
    row = con.execute(
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


def test_sections_give_enrollments_for_students_and_teachers(con):
    body = recorded.body("client__sections_next", 0)
    stage(con, "sections", body)
    first = body["data"][0]["data"]
    rows = con.execute(
        "SELECT role, count(*) FROM stg_enrollments WHERE section_id = ? GROUP BY role ORDER BY role",
        [first["id"]],
    ).fetchall()
    assert rows == [("student", len(first["students"])), ("teacher", len(first["teachers"]))]


def test_only_users_with_the_role_are_staged(con):
    users = recorded.body("client__section_users")  # 26 students and their teacher
    stage(con, "students", users)
    stage(con, "teachers", users)
    assert staged_counts(con, 1)["students"] == 26
    assert staged_counts(con, 1)["teachers"] == 1


def test_odd_values_are_kept_as_text_not_crashes(con):
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
    stage(con, "students", odd)
    rows = con.execute(
        "SELECT id, first_name, last_name, grade, schools, dob FROM stg_students ORDER BY id"
    ).fetchall()
    assert rows[0] == ("a" * 24, '{"nested":true}', "42", '["3"]', None, None)
    assert rows[1][4] == ["x"]


def test_discard_removes_a_runs_rows_only(con):
    stage(con, "terms", recorded.body("client__terms"), run_id=1)
    stage(con, "terms", recorded.body("client__terms"), run_id=2)
    discard(con, 1)
    assert staged_counts(con, 1)["terms"] == 0 and staged_counts(con, 2)["terms"] == 5


def test_the_envelope_reader_counts_records_and_reads_links():
    from mgi_roster.staging.pages import EnvelopeReader

    read = EnvelopeReader()
    body = recorded.body("client__users_next", 0)
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
