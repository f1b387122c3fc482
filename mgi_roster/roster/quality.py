"""Roster-quality figures too costly to compute on every page view, kept per roster version.

Students per teacher joins every teacher's sections to their students and counts distinct
students: on a million-student roster that is seconds-scale work. Approve and Undo refresh it
in their own transaction, so the dashboard reads a few rows; a database written before this
cache existed falls back to computing it live.
"""

from __future__ import annotations

import duckdb

from mgi_roster.entities import ENROLLMENTS, TEACHERS
from mgi_roster.roster.sql import current

STUDENTS_PER_TEACHER = "students_per_teacher"


# How many teachers teach how many distinct students, through their sections.
_STUDENTS_PER_TEACHER_SQL = f"""SELECT students, count(*) AS teachers FROM (
        SELECT t.id, count(DISTINCT st.user_id) AS students
        FROM {current(TEACHERS, live=True)} t
        LEFT JOIN {current(ENROLLMENTS, live=True)} te ON te.user_id = t.id AND te.role = 'teacher'
        LEFT JOIN {current(ENROLLMENTS, live=True)} st ON st.section_id = te.section_id AND st.role = 'student'
        GROUP BY t.id)
    GROUP BY students ORDER BY students"""


def refresh(con: duckdb.DuckDBPyConnection, district_id: str, version: int) -> None:
    """Recompute the cached figures for the district's roster at `version` (its current one)."""
    con.execute("DELETE FROM quality_cache WHERE district_id = ?", [district_id])
    con.execute(
        f"""INSERT INTO quality_cache (district_id, version, name, students, teachers)
            SELECT $district, $version, '{STUDENTS_PER_TEACHER}', students, teachers
            FROM ({_STUDENTS_PER_TEACHER_SQL})""",
        {"district": district_id, "version": version},
    )


def students_per_teacher(
    con: duckdb.DuckDBPyConnection, district_id: str, version: int
) -> list[tuple[int, int]]:
    """(students, teachers) pairs for the roster at `version`: cached, else computed."""
    cached = con.execute(
        "SELECT count(*) FROM quality_cache WHERE district_id = ? AND version = ? AND name = ?",
        [district_id, version, STUDENTS_PER_TEACHER],
    ).fetchall()
    if cached[0][0]:
        rows = con.execute(
            "SELECT students, teachers FROM quality_cache WHERE district_id = ? AND version = ? AND name = ? ORDER BY students",
            [district_id, version, STUDENTS_PER_TEACHER],
        ).fetchall()
    else:
        rows = con.execute(_STUDENTS_PER_TEACHER_SQL, {"district": district_id}).fetchall()
    return [(int(s), int(t)) for s, t in rows]
