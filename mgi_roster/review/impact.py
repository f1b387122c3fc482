"""High-impact changes and their likely causes: what the diff learns about each change.

A student who changes school, grade or screening class moves to another test plan (a plan is
one school, one grade form, optionally one class: shared/reference/mgi.md), so those changes
are their own category (`Impact`), counted by school and grade and shown first. Each change
also gets the cause the data shows (`Cause`), in this order:

  rekey      a `rekeyed` change: the same person under a new id
  sharing    a school appeared in or left the share, and with it its students, teachers,
             sections and their enrollments; or a set of at least SHARING_SECTIONS sections of
             one school appeared (left) together with students who came (went) only through
             them, as when a district shares by section (not on a first sync: everything is
             new then)
  term       a section moved to another term, or appeared (disappeared) with a term that
             starts (ended): the new term's classes, and their enrollments
  rollover   most of a school's students (more than half of those in both the roster and the
             sync, and at least ROLLOVER_MIN) moved up exactly one grade: the school-year
             rollover; those grade changes
  sis_edit   everything else: someone changed the record in the SIS (the default)

A grade change in the middle of a school year is flagged as unusual (`Unusual`): grades move at
the rollover, and a mid-year move is usually a correction worth a second look. "The middle" is
this tool's choice, from the district's own terms: the school year is the span of the staged
terms that contain the day of the sync (earliest start to latest end), and its middle is that
span less MID_YEAR_MARGIN_DAYS at each end. Without a term with dates that contains the day,
nothing is flagged (the data cannot tell).

`mark()` runs at the end of the diff, where the run's staged rows and the roster it compares
with are both at hand (the run's own file), and writes onto the run's `changes` rows: `impact`,
`cause`, `unusual`, and for high-impact rows the student's school and grade in the sync
(`student_school`, `student_grade`), which the counts by school and grade read. The rows
travel with the changes when the run is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from mgi_roster.entities import COURSES, SCHOOLS, SECTIONS, STUDENTS, TERMS
from mgi_roster.grades import level_sql
from mgi_roster.kinds import Cause, ChangeKind, Impact, Unusual, sql_list
from mgi_roster.parameters import Parameters
from mgi_roster.review import screening
from mgi_roster.roster import sql
from mgi_roster.store import execute

MID_YEAR_MARGIN_DAYS = 30  # this tool's choice: the first and last month of a year are its ends
ROLLOVER_SHARE = 0.5  # "most of a school": more than half its students in both roster and sync
ROLLOVER_MIN = 5  # and at least this many (a handful of corrections is not a rollover)
SHARING_SECTIONS = 3  # sections of one school coming (going) together with their own students
REKEYED = "rekeyed"  # ChangeKind.REKEYED (the people engineer's kind), by its value
APPEARS = (ChangeKind.ADDED, ChangeKind.ARCHIVED, ChangeKind.ABSENT, ChangeKind.RESTORED)
_APPEARS = sql_list(APPEARS)

# An enrollment's record id is section:user:role (roster.sql.record_id).
SECTION_OF = "split_part(c.record_id, ':', 1)"
USER_OF = "split_part(c.record_id, ':', 2)"


def student_of(alias: str = "c") -> str:
    """SQL: the student a high-impact change row is about (a student row or an enrollment)."""
    return (
        f"CASE WHEN {alias}.entity = 'students' THEN {alias}.record_id "
        f"ELSE split_part({alias}.record_id, ':', 2) END"
    )


def school_year(
    con: duckdb.DuckDBPyConnection, run_id: int, today: date
) -> tuple[date, date] | None:
    """The span of the run's staged terms that contain `today` (None: no such term)."""
    row = execute(
        con,
        f"""SELECT min(s), max(e) FROM (
                SELECT try_cast(left(start_date, 10) AS DATE) AS s,
                       try_cast(left(end_date, 10) AS DATE) AS e
                FROM {sql.staged(TERMS)})
            WHERE s <= $today AND e >= $today""",
        {"run": run_id, "today": today},
    ).fetchone()
    if not row or row[0] is None:
        return None
    return row[0], row[1]


def mid_year(span: tuple[date, date] | None, today: date) -> bool:
    if span is None:
        return False
    margin = timedelta(days=MID_YEAR_MARGIN_DAYS)
    return span[0] + margin < today < span[1] - margin


def mark(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    district_id: str,
    params: Parameters,
    today: date | None = None,
) -> None:
    """Write impact, cause and unusual onto the run's changes (see the module's docstring)."""
    today = today or date.today()
    args: dict[str, Any] = {"run": run_id, "district": district_id}
    _impact(con, args, params, today)
    _causes(con, args, today)
    if mid_year(school_year(con, run_id, today), today):
        execute(
            con,
            f"""UPDATE changes SET unusual = '{Unusual.MID_YEAR_GRADE}'
                WHERE run_id = $run AND impact = '{Impact.GRADE}'""",
            args,
        )


def _impact(
    con: duckdb.DuckDBPyConnection, args: dict[str, Any], params: Parameters, today: date
) -> None:
    for impact in (Impact.SCHOOL, Impact.GRADE):
        execute(
            con,
            f"""UPDATE changes SET impact = '{impact}'
                WHERE run_id = $run AND entity = 'students' AND field = '{impact}'
                  AND change IN ('{ChangeKind.UPDATED}', '{ChangeKind.RESTORED}')""",
            args,
        )
    if params.distribute_by_class:
        rule = params.screening_class_rule
        values = {**args, **screening.values(params, today)}
        for change, sections, courses, terms in (
            (
                ChangeKind.ADDED,
                sql.staged(SECTIONS),
                sql.staged(COURSES),
                sql.staged(TERMS),
            ),
            (
                ChangeKind.ARCHIVED,
                sql.current(SECTIONS),
                sql.current(COURSES),
                sql.current(TERMS),
            ),
        ):
            matches = screening.matches(rule, "x", courses=courses, terms=terms)
            execute(
                con,
                f"""UPDATE changes c SET impact = '{Impact.SCREENING_CLASS}'
                    WHERE c.run_id = $run AND c.entity = 'enrollments' AND c.change = '{change}'
                      AND split_part(c.record_id, ':', 3) = 'student'
                      AND EXISTS (SELECT 1 FROM {sections} x
                                  WHERE x.id = {SECTION_OF} AND {matches})""",
                values,
            )
    # The student's school and grade in the sync (else in the roster): counts by school and grade.
    execute(
        con,
        f"""UPDATE changes c SET student_school = coalesce(s.school, r.school),
                                 student_grade = coalesce(s.grade, r.grade)
            FROM (SELECT DISTINCT {student_of()} AS id FROM changes c
                  WHERE c.run_id = $run AND c.impact IS NOT NULL) i
            LEFT JOIN {sql.staged(STUDENTS)} s ON s.id = i.id
            LEFT JOIN {sql.current(STUDENTS)} r ON r.id = i.id
            WHERE c.run_id = $run AND c.impact IS NOT NULL AND {student_of()} = i.id""",
        args,
    )


def _set_cause(
    con: duckdb.DuckDBPyConnection, cause: Cause, where: str, args: dict[str, Any]
) -> None:
    execute(
        con,
        f"UPDATE changes c SET cause = '{cause}' WHERE c.run_id = $run AND c.cause IS NULL AND ({where})",
        args,
    )


def _causes(con: duckdb.DuckDBPyConnection, args: dict[str, Any], today: date) -> None:
    _set_cause(con, Cause.REKEY, f"c.change = '{REKEYED}'", args)
    # A first sync (an empty roster) brings everything: the district's first share and first
    # terms, not a change of them. Its records are what the SIS holds.
    first = execute(con, f"SELECT count(*) = 0 FROM {sql.current(SCHOOLS)}", args).fetchone()
    if first is None or not first[0]:
        _changed_share_or_term(con, args, today)
    _rollover(con, args)
    _set_cause(con, Cause.SIS_EDIT, "true", args)


def _changed_share_or_term(
    con: duckdb.DuckDBPyConnection, args: dict[str, Any], today: date
) -> None:
    # Sharing: a school came or went, and its records with it.
    gone_or_come = f"""SELECT record_id FROM changes WHERE run_id = $run AND entity = 'schools'
                       AND change IN {_APPEARS}"""
    _set_cause(
        con,
        Cause.SHARING,
        f"c.change IN {_APPEARS} AND (c.entity = 'schools' OR "
        f"(c.entity IN ('students', 'teachers', 'sections') AND c.school IN ({gone_or_come})))",
        args,
    )
    _shared_sections(con, args)
    # Term change: sections moved to another term, or came (went) with a term that starts
    # (ended); the terms themselves.
    term_moves = f"""
        (c.entity = 'terms' AND c.change IN {_APPEARS})
        OR (c.entity = 'sections' AND c.field = 'term_id')
        OR (c.entity = 'sections' AND c.change = '{ChangeKind.ADDED}' AND EXISTS (
              SELECT 1 FROM {sql.staged(SECTIONS)} s WHERE s.id = c.record_id AND s.term_id IN (
                SELECT record_id FROM changes WHERE run_id = $run AND entity = 'terms'
                  AND change = '{ChangeKind.ADDED}')))
        OR (c.entity = 'sections' AND c.change IN ('{ChangeKind.ARCHIVED}', '{ChangeKind.ABSENT}')
            AND EXISTS (SELECT 1 FROM {sql.current(SECTIONS)} s JOIN {sql.current(TERMS)} t
                          ON t.id = s.term_id
                        WHERE s.id = c.record_id
                          AND try_cast(left(t.end_date, 10) AS DATE) < $today))"""
    _set_cause(con, Cause.TERM, term_moves, {**args, "today": today})
    # Enrollments follow their section's (or person's) cause, when it is sharing or term.
    execute(
        con,
        f"""UPDATE changes c SET cause = p.cause FROM (
                SELECT DISTINCT entity, record_id, cause FROM changes
                WHERE run_id = $run AND cause IN ('{Cause.SHARING}', '{Cause.TERM}')
                  AND entity IN ('sections', 'students', 'teachers')) p
            WHERE c.run_id = $run AND c.entity = 'enrollments' AND c.cause IS NULL
              AND c.change IN {_APPEARS}
              AND ((p.entity = 'sections' AND p.record_id = {SECTION_OF})
                   OR (p.entity <> 'sections' AND p.record_id = {USER_OF}))""",
        args,
    )


def _shared_sections(con: duckdb.DuckDBPyConnection, args: dict[str, Any]) -> None:
    """A set of sections of one school that appeared (left) with students who came (went) only
    through them: the district's sharing by section changed. Those sections and students."""
    student_rows = f"""SELECT {SECTION_OF} AS section, {USER_OF} AS student FROM changes c
        WHERE c.run_id = $run AND c.entity = 'enrollments' AND split_part(c.record_id, ':', 3) = 'student'"""
    moving = f"""SELECT record_id FROM changes WHERE run_id = $run AND entity = 'students'
        AND change IN {_APPEARS}"""
    execute(
        con,
        f"""CREATE OR REPLACE TEMP TABLE shared_sections AS
            SELECT c.record_id AS id FROM changes c
            WHERE c.run_id = $run AND c.entity = 'sections' AND c.cause IS NULL
              AND c.change IN {_APPEARS}
              AND EXISTS (SELECT 1 FROM ({student_rows}) e WHERE e.section = c.record_id)
              AND NOT EXISTS (SELECT 1 FROM ({student_rows}) e WHERE e.section = c.record_id
                              AND e.student NOT IN ({moving}))
            QUALIFY count(*) OVER (PARTITION BY c.school, c.change IN ('added', 'restored'))
                    >= {SHARING_SECTIONS}""",
        args,
    )
    _set_cause(
        con,
        Cause.SHARING,
        "c.entity = 'sections' AND c.record_id IN (SELECT id FROM shared_sections)",
        args,
    )
    _set_cause(
        con,
        Cause.SHARING,
        f"""c.entity = 'students' AND c.change IN {_APPEARS}
            AND EXISTS (SELECT 1 FROM ({student_rows}) e WHERE e.student = c.record_id)
            AND NOT EXISTS (SELECT 1 FROM ({student_rows}) e WHERE e.student = c.record_id
                            AND e.section NOT IN (SELECT id FROM shared_sections))""",
        args,
    )
    con.execute("DROP TABLE shared_sections")


def _rollover(con: duckdb.DuckDBPyConnection, args: dict[str, Any]) -> None:
    """Most of a school moved up exactly one grade: those grade changes are the rollover."""
    up_one = f"{level_sql('c.after')} = {level_sql('c.before')} + 1"
    moved = execute(
        con,
        f"""SELECT count(*) FROM changes c WHERE c.run_id = $run AND c.entity = 'students'
            AND c.field = 'grade' AND {up_one}""",
        args,
    ).fetchone()
    if not moved or moved[0] < ROLLOVER_MIN:
        return  # too few to be a rollover anywhere: spare the scan of the whole roster
    execute(
        con,
        f"""UPDATE changes c SET cause = '{Cause.ROLLOVER}'
            WHERE c.run_id = $run AND c.cause IS NULL AND c.entity = 'students'
              AND c.field = 'grade' AND {up_one}
              AND c.school IN (
                SELECT u.school FROM (
                    SELECT c.school, count(*) AS moved FROM changes c
                    WHERE c.run_id = $run AND c.entity = 'students' AND c.field = 'grade'
                      AND {up_one} GROUP BY c.school) u
                JOIN (SELECT s.school, count(*) AS kept FROM {sql.staged(STUDENTS)} s
                      JOIN {sql.current(STUDENTS)} r ON r.id = s.id GROUP BY s.school) k
                  ON k.school = u.school
                WHERE u.moved >= {ROLLOVER_MIN} AND u.moved > {ROLLOVER_SHARE} * k.kept)""",
        args,
    )


# --- reading it back ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactCount:
    """Students of one school and grade (in the sync) with one kind of high-impact change."""

    impact: Impact
    school_id: str | None
    school: str | None
    grade: str | None
    students: int
    unusual: int  # of them, flagged unusual (a mid-year grade change)
    causes: dict[str, int]  # students per cause


def counts(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str | None = None
) -> list[ImpactCount]:
    """A run's high-impact changes: students per impact, school and grade, most first. Reads the
    main store (the district from the run) or a run's own file (give `district_id`)."""
    if district_id is None:
        row = con.execute("SELECT district_id FROM runs WHERE run_id = ?", [run_id]).fetchone()
        district_id = str(row[0]) if row else ""
    rows = execute(
        con,
        f"""WITH hi AS (
                SELECT impact, student_school, student_grade, {student_of()} AS student,
                       bool_or(unusual IS NOT NULL) AS unusual, min(cause) AS cause
                FROM changes c WHERE run_id = $run AND impact IS NOT NULL GROUP BY ALL)
            SELECT hi.impact, hi.student_school, n.name, hi.student_grade, count(*) AS students,
                   count(*) FILTER (WHERE hi.unusual), list(hi.cause)
            FROM hi LEFT JOIN {sql.school_names()} n ON n.id = hi.student_school
            GROUP BY ALL ORDER BY students DESC, hi.impact, n.name, hi.student_grade""",
        {"run": run_id, "district": district_id},
    ).fetchall()
    found = []
    for impact, school_id, school, grade, students, unusual, causes in rows:
        tally: dict[str, int] = {}
        for cause in causes:
            tally[str(cause)] = tally.get(str(cause), 0) + 1
        found.append(
            ImpactCount(
                Impact(impact), school_id, school, grade, int(students), int(unusual), tally
            )
        )
    return found
