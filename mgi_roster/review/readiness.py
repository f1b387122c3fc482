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
from mgi_roster.kinds import RunStatus
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
    return _read(con, params, _roster_tables(), {"district": district_id, "today": today})


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


# --- the screening class rule's preview -----------------------------------------------------

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class SampleSection:
    section_id: str
    name: str | None
    school_id: str | None
    grade: str | None  # as the source spells it
    students: int


@dataclass(frozen=True)
class Preview:
    """What a screening class rule marks, before it is saved: the sections it matches (a
    sample of them) and the screened students it covers (in a matched class of their own
    school). `run_id` is the staged run previewed, None for the current roster."""

    run_id: int | None
    rule_empty: bool
    sections: int
    matched: int
    sample: list[SampleSection]
    screened: int
    covered: int

    @property
    def not_covered(self) -> int:
        return self.screened - self.covered

    @property
    def message(self) -> str | None:
        """A sentence when the rule cannot be right as it stands; None when it may be."""
        where = f"staged run {self.run_id}" if self.run_id is not None else "the current roster"
        if self.sections == 0:
            return (
                f"There are no sections in {where} to try the rule on: run a test sync first, "
                "then preview it again."
            )
        if self.rule_empty:
            return (
                "The rule names no subject, course number, name or class type, so it matches no "
                "section: "
                "say which sections are screening classes."
            )
        if self.matched == 0:
            return (
                f"The rule matches none of the {self.sections} sections of {where}: no student "
                "would have a screening class. Check the subjects, course numbers and name, and "
                "the period, grade and term that narrow them (only sections of a current term "
                "count)."
            )
        if self.matched == self.sections:
            return (
                f"The rule matches every one of the {self.sections} sections of {where}: a "
                "student in several classes would have more than one screening class. Narrow it "
                "(a subject, a course number, a period, a grade or a term)."
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "sections": self.sections,
            "matched": self.matched,
            "sample": [asdict(s) for s in self.sample],
            "screened": self.screened,
            "covered": self.covered,
            "not_covered": self.not_covered,
            "message": self.message,
        }


def _preview(
    con: duckdb.DuckDBPyConnection,
    params: Parameters,
    t: Tables,
    bound: dict[str, Any],
    run_id: int | None,
) -> Preview:
    rule = params.screening_class_rule
    matched = screening.matches(rule, "x", courses=t["courses"], terms=t["terms"])
    query = f"""WITH m AS (SELECT x.id, x.name, x.school, x.grade FROM {t["sections"]} x
                           WHERE {matched}),
        scr AS (SELECT s.id, s.school FROM {t["students"]} s WHERE {screening.screened("s")}),
        cov AS (SELECT DISTINCT scr.id FROM scr
                JOIN {t["enrollments"]} e ON e.user_id = scr.id AND e.role = 'student'
                JOIN m ON m.id = e.section_id AND m.school = scr.school),
        sz AS (SELECT e.section_id, count(DISTINCT e.user_id) AS n FROM {t["enrollments"]} e
               WHERE e.role = 'student' GROUP BY e.section_id),
        sample AS (SELECT m.id, m.name, m.school, m.grade, coalesce(sz.n, 0) AS n FROM m
                   LEFT JOIN sz ON sz.section_id = m.id
                   ORDER BY m.school, m.name, m.id LIMIT {SAMPLE_SIZE})
        SELECT (SELECT count(*) FROM {t["sections"]}), (SELECT count(*) FROM m),
               (SELECT count(*) FROM scr), (SELECT count(*) FROM cov),
               (SELECT list((id, name, school, grade, n) ORDER BY school, name, id) FROM sample)"""
    values = {**screening.values(params, bound.pop("today", None)), **bound}
    used = {k: v for k, v in values.items() if f"${k}" in query}
    row = con.execute(query, used).fetchone()
    assert row is not None  # an aggregate always has a row
    sections, n_matched, screened, covered, sample = row
    return Preview(
        run_id,
        rule.is_empty,
        int(sections),
        int(n_matched),
        [
            SampleSection(xid, name, school, grade, int(n))
            for xid, name, school, grade, n in sample or []
        ],
        int(screened),
        int(covered),
    )


def _roster_tables() -> Tables:
    return {
        e.name: sql.current(e, live=True) for e in (STUDENTS, SECTIONS, ENROLLMENTS, COURSES, TERMS)
    }


def preview_of_roster(
    con: duckdb.DuckDBPyConnection, district_id: str, params: Parameters, today: date | None = None
) -> Preview:
    """The rule of `params` tried on the district's current roster."""
    return _preview(con, params, _roster_tables(), {"district": district_id, "today": today}, None)


def preview_of_run(
    con: duckdb.DuckDBPyConnection, run_id: int, params: Parameters, today: date | None = None
) -> Preview:
    """The rule of `params` tried on a staged run's records."""
    with _staged_tables(con, run_id) as t:
        return _preview(con, params, t, {"run": run_id, "today": today}, run_id)


def reviewable_run(con: duckdb.DuckDBPyConnection, district_id: str) -> int | None:
    """The district's latest run awaiting review (staged or held), if any: what the readiness
    page and the rule's preview read before the roster."""
    row = con.execute(
        "SELECT max(run_id) FROM runs WHERE district_id = ? AND status IN ?",
        [district_id, [s.value for s in RunStatus if s.reviewable]],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def preview(
    con: duckdb.DuckDBPyConnection, district_id: str, params: Parameters, today: date | None = None
) -> Preview:
    """The rule tried on the district's latest run awaiting review, else on its roster."""
    run_id = reviewable_run(con, district_id)
    if run_id is not None:
        return preview_of_run(con, run_id, params, today)
    return preview_of_roster(con, district_id, params, today)


def schools(con: duckdb.DuckDBPyConnection, district_id: str, run_id: int | None) -> dict[str, str]:
    """School id -> name, of a staged run (`run_id`) or of the current roster (None)."""
    query = "SELECT id, coalesce(name, id) FROM {} ORDER BY 2, 1"
    if run_id is None:
        rows = con.execute(query.format(sql.current(SCHOOLS, live=True)), {"district": district_id})
        return dict(rows.fetchall())
    with _staged_tables(con, run_id) as t:
        return dict(con.execute(query.format(t["schools"]), {"run": run_id}).fetchall())


def students(
    con: duckdb.DuckDBPyConnection, district_id: str, run_id: int | None, ids: list[str]
) -> dict[str, tuple[str | None, str | None, str | None, str | None]]:
    """Student id -> (first name, last name, school id, grade) of a staged run or the roster:
    to say who cannot be placed."""
    if not ids:
        return {}
    query = "SELECT id, first_name, last_name, school, grade FROM {} WHERE list_contains($ids, id)"
    if run_id is None:
        t = sql.current(STUDENTS, live=True)
        rows = con.execute(query.format(t), {"district": district_id, "ids": ids}).fetchall()
    else:
        with _staged_tables(con, run_id) as staged:
            rows = con.execute(
                query.format(staged["students"]), {"run": run_id, "ids": ids}
            ).fetchall()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}
