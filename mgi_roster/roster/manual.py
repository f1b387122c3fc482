"""Students added by hand: the seed guide's "add a student on an individual basis".

A student the district adds in the MGI, not through its SIS, has no source id. It gets one that no
source can send (`manual-<uuid>`: Clever's ids are 24 hex characters, OneRoster's sourcedIds
come from the SIS), is marked `manual` in the roster, and is written through the one merge path
(roster/merge.add_by_hand: its own roster version, history, Undo, an audit entry naming who).

A sync never archives it, whatever All Records Processing says (roster/sql.classify). When a sync
brings a student who matches it (same state id, same student number in the same school, or same
name and date of birth), the Changes page proposes a link (roster/rekey.py), never a silent
duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from mgi_roster import districts
from mgi_roster.entities import GRADES, SCHOOLS, STUDENTS
from mgi_roster.errors import InputError
from mgi_roster.roster import merge, sql
from mgi_roster.store import execute

MANUAL_PREFIX = "manual-"


@dataclass(frozen=True)
class NewStudent:
    """What a person types to add a student; the rest of the record stays empty."""

    first_name: str
    last_name: str
    school: str  # the school's id in the roster
    grade: str  # Clever's grade vocabulary: Kindergarten, 1, ... 13, ...
    dob: str | None = None  # M/D/YYYY or YYYY-MM-DD; stored as Clever's M/D/YYYY
    state_id: str | None = None
    student_number: str | None = None
    middle_name: str | None = None
    email: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class AddedStudent:
    record_id: str
    district_id: str
    version: int

    def to_dict(self) -> dict[str, object]:
        return {
            "record_id": self.record_id,
            "district_id": self.district_id,
            "version": self.version,
            "status": "added",
        }


def is_manual(record_id: str) -> bool:
    return record_id.startswith(MANUAL_PREFIX)


def clever_dob(text: str) -> str:
    """A date of birth as Clever writes it (M/D/YYYY), from M/D/YYYY or YYYY-MM-DD."""
    for pattern in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
        if not date(1900, 1, 1) <= day <= date.today():
            break
        return f"{day.month}/{day.day}/{day.year}"
    raise InputError(
        f"The date of birth {text!r} is not a real past date: write it as M/D/YYYY (for example "
        "2/11/2016) or YYYY-MM-DD."
    )


def _school_known(con: duckdb.DuckDBPyConnection, district_id: str, school: str) -> None:
    found = execute(
        con,
        f"SELECT 1 FROM {sql.current(SCHOOLS, live=True)} WHERE id = $school",
        {"district": district_id, "school": school},
    ).fetchone()
    if found is None:
        raise InputError(
            f"School {school!r} is not a current school of district {district_id}'s roster. Give "
            "the id of one of its schools (approve a sync first if the roster is empty)."
        )


def add(
    con: duckdb.DuckDBPyConnection, district_id: str, student: NewStudent, *, by: str | None
) -> AddedStudent:
    """Check a student added by hand and write it to the roster; refuse with a sentence that
    says what to fix."""
    if districts.get(con, district_id) is None:
        raise InputError(f"District {district_id} is not known here: connect it first.")
    first, last = student.first_name.strip(), student.last_name.strip()
    if not first or not last:
        raise InputError("A student added by hand needs a first and a last name.")
    if student.grade not in GRADES:
        raise InputError(
            f"Grade {student.grade!r} is not one of Clever's grades: use Kindergarten, 1 to 13, "
            "PreKindergarten, TransitionalKindergarten, Ungraded or another value of Clever's list."
        )
    _school_known(con, district_id, student.school)
    record_id = f"{MANUAL_PREFIX}{uuid.uuid4()}"
    row: dict[str, object] = {
        "id": record_id,
        "first_name": first,
        "middle_name": (student.middle_name or "").strip() or None,
        "last_name": last,
        "school": student.school,
        "schools": [student.school],
        "grade": student.grade,
        "dob": clever_dob(student.dob) if student.dob else None,
        "state_id": (student.state_id or "").strip() or None,
        "student_number": (student.student_number or "").strip() or None,
        "email": (student.email or "").strip() or None,
        "gender": student.gender or None,
    }
    version = merge.add_by_hand(con, district_id, STUDENTS, row, by=by)
    return AddedStudent(record_id, district_id, version)


def schools(con: duckdb.DuckDBPyConnection, district_id: str) -> list[tuple[str, str]]:
    """(id, name) of the district's current schools: where a student may be added."""
    rows = execute(
        con,
        f"SELECT id, coalesce(name, id) FROM {sql.current(SCHOOLS, live=True)} ORDER BY 2",
        {"district": district_id},
    ).fetchall()
    return [(str(i), str(n)) for i, n in rows]


def listed(con: duckdb.DuckDBPyConnection, district_id: str) -> list[dict[str, object]]:
    """The district's current students added by hand, newest first, with who added them."""
    rows = execute(
        con,
        f"""SELECT s.id, s.first_name, s.last_name, s.grade, s.school, s.state_id,
                   s.student_number, m.actor, m.merged_at
            FROM {sql.current(STUDENTS, live=True)} s
            LEFT JOIN merges m ON m.district_id = $district AND m.version = s.valid_from
            WHERE s.manual ORDER BY s.valid_from DESC""",
        {"district": district_id},
    ).fetchall()
    keys = ("record_id", "first_name", "last_name", "grade", "school", "state_id",
            "student_number", "added_by", "added_at")  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in rows]
