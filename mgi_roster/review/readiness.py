"""Test-plan readiness: can the MGI build test plans from this roster, and how many?

A test plan is one school, one grade form, optionally one class, at most 75 students
(help.mhs.com/mgi/create-a-test-plan; shared/reference/mgi.md). So the screened students of a
staged run (or of the current roster) are grouped by school x grade form (x screening class
when tests are distributed by class), each group needing ceil(students / 75) plans (one per
class when by class: a class of more than 75 cannot be placed). Students who cannot be placed
are listed with the reason; students the district does not screen are counted, never listed as
a problem.

All of it is one DuckDB query over a source's tables (screening.py holds the shared SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import duckdb

from mgi_roster.entities import COURSES, ENROLLMENTS, SCHOOLS, SECTIONS, STUDENTS, TERMS, Entity
from mgi_roster.grades import ABOVE_FORMS, form_sql, known_sql
from mgi_roster.parameters import PLAN_SIZE, Parameters
from mgi_roster.review import screening
from mgi_roster.roster import sql
from mgi_roster.staging import runfile


class Reason:
    NO_SCHOOL = "no school"
    NO_GRADE = "no grade"
    UNKNOWN_GRADE = "unknown grade"
    NO_FORM = "grade without a form"
    NO_CLASS = "no screening class"
    CLASS_TOO_LARGE = "class too large"


@dataclass(frozen=True)
class Group:
    school_id: str
    grade: str  # the grade form: K, 1-9
    class_id: str | None  # None unless tests are distributed by class
    students: int
    plans: int


@dataclass(frozen=True)
class Unplaceable:
    record_id: str
    reason: str


@dataclass(frozen=True)
class Readiness:
    groups: list[Group] = field(default_factory=list)
    unplaceable: list[Unplaceable] = field(default_factory=list)
    not_screened: int = 0

    @property
    def plans(self) -> int:
        return sum(g.plans for g in self.groups)

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [asdict(g) for g in self.groups],
            "unplaceable": [asdict(u) for u in self.unplaceable],
            "not_screened": self.not_screened,
            "plans": self.plans,
        }


Tables = dict[str, str]  # entity name -> FROM expression


def _query(params: Parameters, t: Tables) -> str:
    by_class = params.distribute_by_class
    rule = screening.matches(
        params.screening_class_rule, "x", courses=t["courses"], terms=t["terms"]
    )
    form = form_sql("s.grade")
    # A student of a school not taking part, or with a grade outside the screened forms, is
    # not screened; the other reasons are why a screened student cannot be placed.
    status = f"""CASE
        WHEN s.school IS NOT NULL AND NOT {screening.in_screened_school("s.school")} THEN 'not screened'
        WHEN s.grade IS NULL THEN '{Reason.NO_GRADE}'
        WHEN NOT {known_sql("s.grade")} THEN '{Reason.UNKNOWN_GRADE}'
        WHEN trim(s.grade) IN {tuple(ABOVE_FORMS)} THEN 'not screened'
        WHEN {form} IS NULL THEN '{Reason.NO_FORM}'
        WHEN NOT list_contains($screened_grades, {form}) THEN 'not screened'
        WHEN s.school IS NULL THEN '{Reason.NO_SCHOOL}'
        ELSE 'placed' END"""
    classes = (
        f"""(SELECT e.user_id, min(x.id) AS class_id, count(*) AS n
            FROM {t["enrollments"]} e JOIN {t["sections"]} x ON x.id = e.section_id
            JOIN {t["students"]} s2 ON s2.id = e.user_id AND s2.school = x.school
            WHERE e.role = 'student' AND {rule} GROUP BY e.user_id)"""
        if by_class
        else "(SELECT NULL::VARCHAR AS user_id, NULL::VARCHAR AS class_id, 0 AS n WHERE false)"
    )
    sizes = f"""(SELECT e.section_id AS class_id, count(DISTINCT e.user_id) AS size
            FROM {t["enrollments"]} e WHERE e.role = 'student' GROUP BY e.section_id)"""
    placed = f"""CASE WHEN st.status <> 'placed' THEN st.status
        WHEN {str(by_class).lower()} AND c.class_id IS NULL THEN '{Reason.NO_CLASS}'
        WHEN {str(by_class).lower()} AND z.size > {PLAN_SIZE} THEN '{Reason.CLASS_TOO_LARGE}'
        ELSE 'placed' END"""
    return f"""WITH st AS (SELECT s.id, s.school, {form} AS form, {status} AS status
                        FROM {t["students"]} s),
        placed AS (SELECT st.*, c.class_id, {placed} AS outcome
                   FROM st LEFT JOIN {classes} c ON c.user_id = st.id
                   LEFT JOIN {sizes} z ON z.class_id = c.class_id)
        SELECT * FROM placed"""


def _read(
    con: duckdb.DuckDBPyConnection, params: Parameters, t: Tables, bound: dict[str, Any]
) -> Readiness:
    query = _query(params, t)
    values = {**screening.values(params, bound.pop("today", None)), **bound}
    used = {k: v for k, v in values.items() if f"${k}" in query}
    rows = con.execute(
        f"""{query.replace("SELECT * FROM placed", "")}
        SELECT school, form, class_id, count(*) AS n, NULL AS record_id, 'placed' AS outcome
        FROM placed WHERE outcome = 'placed' GROUP BY school, form, class_id
        UNION ALL
        SELECT NULL, NULL, NULL, count(*), NULL, 'not screened' FROM placed WHERE outcome = 'not screened'
        UNION ALL
        SELECT NULL, NULL, NULL, 1, id, outcome FROM placed
        WHERE outcome NOT IN ('placed', 'not screened')""",
        used,
    ).fetchall()
    order = {f: i for i, f in enumerate(("K", *(str(n) for n in range(1, 10))))}
    groups = sorted(
        (
            Group(school, form, class_id, int(n), 1 if class_id else -(-int(n) // PLAN_SIZE))
            for school, form, class_id, n, _, outcome in rows
            if outcome == "placed"
        ),
        key=lambda g: (g.school_id, order.get(g.grade, 99), g.class_id or ""),
    )
    unplaceable = sorted(
        (Unplaceable(rid, outcome) for _, _, _, _, rid, outcome in rows if rid is not None),
        key=lambda u: (u.reason, u.record_id),
    )
    not_screened = sum(int(n) for *_, n, rid, outcome in rows if outcome == "not screened")
    return Readiness(groups, unplaceable, not_screened)


def _one_per_id(rows: str) -> str:
    return f"(SELECT * FROM {rows} QUALIFY row_number() OVER (PARTITION BY id) = 1)"


def of_roster(
    con: duckdb.DuckDBPyConnection, district_id: str, params: Parameters, today: date | None = None
) -> Readiness:
    """Readiness of the district's current roster (archived records left out)."""
    t = {
        e.name: sql.current(e, live=True) for e in (STUDENTS, SECTIONS, ENROLLMENTS, COURSES, TERMS)
    }
    return _read(con, params, t, {"district": district_id, "today": today})


@contextmanager
def _staged_tables(con: duckdb.DuckDBPyConnection, run_id: int) -> Iterator[Tables]:
    path = runfile.file_of(con, run_id)
    if path is None or not path.is_file():
        # an in-memory store (tests) or a run staged into the main store
        yield _staged_in(con, "")
        return
    with runfile.attached(con, path) as schema:
        yield _staged_in(con, schema)


def _staged_in(con: duckdb.DuckDBPyConnection, schema: str) -> Tables:
    def rows(e: Entity) -> str:
        staged = sql.staged(e, schema=schema)
        return _one_per_id(staged) if e.key == ("id",) else staged

    return {e.name: rows(e) for e in (STUDENTS, SECTIONS, ENROLLMENTS, COURSES, TERMS, SCHOOLS)}


def of_run(
    con: duckdb.DuckDBPyConnection, run_id: int, params: Parameters, today: date | None = None
) -> Readiness:
    """Readiness of a staged run's records."""
    with _staged_tables(con, run_id) as t:
        return _read(con, params, t, {"run": run_id, "today": today})
