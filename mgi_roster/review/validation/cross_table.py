"""Cross-table checks: the run's records against each other, and against the district's current
roster (the problems this sync would create). Each is one set-based DuckDB statement over the
staging tables; `statements()` lists them.

A check's params hold what its sentence needs (checks.py) beyond the record, field and value.
"""

from __future__ import annotations

from mgi_roster.entities import (
    COURSES,
    ENROLLMENTS,
    SCHOOLS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    TERMS,
    Entity,
)
from mgi_roster.review.validation import checks
from mgi_roster.review.validation.findings import (
    INSERT,
    clip,
    finding,
    insert,
    literal,
    name_sql,
    records,
    with_meta,
)
from mgi_roster.review.validation.scope import judged, within
from mgi_roster.roster.sql import staging_table as stg


def _finding(entity: Entity, check: str, **parts: str) -> str:
    """The select list of a finding under one check of the table, at its severity."""
    return finding(literal(check), literal(checks.severity(check, entity.name)), **parts)


def unique_id(entity: Entity, scoped: frozenset[str]) -> str:
    # Each copy keeps its own name, so the record's name is read per staged row, not per id.
    ids = judged(entity, f"(SELECT id FROM {stg(entity)} WHERE run_id = $run)", scoped)
    duplicated = f"AND id IN (SELECT id FROM {ids} GROUP BY id HAVING count(*) > 1)"
    return (
        f"{INSERT} SELECT $run, $district, '{entity.name}', id, 'id', 'unique_id', 'error', "
        f"{clip('id')}, _school, _name, _sis, "
        "json_object('count', count(*) OVER (PARTITION BY id)) "
        f"FROM {with_meta(entity, duplicated)}"
    )


def duplicate_sis_id(entity: Entity, scoped: frozenset[str]) -> str:
    # Name at most five of the others, so a sis_id shared by thousands stays linear.
    others = "list_filter(g.firsts, lambda m: m.id <> r.id)[1:5]"
    findings = _finding(
        entity,
        "duplicate_sis_id",
        field="'sis_id'",
        value="r.sis_id",
        params=f"json_object('others', {others}, 'more', CASE WHEN g.n - 1 > 5 THEN g.n - 6 END)",
    )
    # Only the SIS ids of the records judged (all of them, unless an events run's scope).
    mine = judged(entity, records(entity), scoped)
    wanted = f"WHERE sis_id IN (SELECT sis_id FROM {mine})" if entity.name in scoped else ""
    shared = f"""sis_id IN (SELECT sis_id FROM {records(entity)} {wanted}
        GROUP BY sis_id HAVING count(*) > 1)"""
    return f"""{findings} FROM (SELECT * FROM {mine} WHERE {shared}) r
        JOIN (SELECT sis_id, count(*) AS n,
                list({{'id': id, 'name': {name_sql(entity)}}} ORDER BY id)[1:6] AS firsts
              FROM {records(entity)} WHERE {shared} GROUP BY sis_id) g ON g.sis_id = r.sis_id"""


def unknown_school(entity: Entity, scoped: frozenset[str]) -> str:
    return _finding(entity, "unknown_school", field="'school'", value="r.school") + (
        f" FROM {judged(entity, records(entity), scoped)} r WHERE r.school IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {stg(SCHOOLS)} s WHERE s.run_id = $run AND s.id = r.school)"
    )


def unknown_teacher(scoped: frozenset[str]) -> str:
    sections = judged(SECTIONS, records(SECTIONS), scoped)
    teachers = f"""(SELECT section_id, user_id FROM {stg(ENROLLMENTS)} WHERE run_id = $run AND role = 'teacher'
        AND section_id IN (SELECT id FROM {sections})
        UNION SELECT id, teacher FROM {sections} WHERE teacher IS NOT NULL)"""
    primary = "t.user_id = r.teacher"
    return _finding(
        SECTIONS,
        "unknown_teacher",
        field=f"CASE WHEN {primary} THEN 'teacher' ELSE 'teachers' END",
        value="t.user_id",
        params=f"json_object('case', CASE WHEN {primary} THEN 'primary' END)",
    ) + (
        f" FROM {sections} r JOIN {teachers} t ON t.section_id = r.id WHERE NOT EXISTS "
        f"(SELECT 1 FROM {stg(TEACHERS)} x WHERE x.run_id = $run AND x.id = t.user_id)"
    )


def unshared_student(scoped: frozenset[str]) -> str:
    sections = judged(SECTIONS, records(SECTIONS), scoped)
    # The members no staged student has, first (few), then their sections: an outer join, which
    # DuckDB can spill, where NOT EXISTS held a million students' ids in memory at once. Only
    # the members of the sections judged are looked up.
    unshared = f"""(SELECT DISTINCT e.section_id, e.user_id FROM {stg(ENROLLMENTS)} e
        LEFT JOIN (SELECT id FROM {stg(STUDENTS)} WHERE run_id = $run) s ON s.id = e.user_id
        WHERE e.run_id = $run AND e.role = 'student' AND s.id IS NULL
          {within(SECTIONS, "e.section_id", scoped)})"""
    return _finding(SECTIONS, "unshared_student", field="'students'", value="e.user_id") + (
        f" FROM {sections} r JOIN {unshared} e ON e.section_id = r.id"
    )


def empty_section(scoped: frozenset[str]) -> str:
    # The sections with a student, once each (not every enrollment: four million rows)
    taught = f"""(SELECT DISTINCT section_id FROM {stg(ENROLLMENTS)}
        WHERE run_id = $run AND role = 'student' {within(SECTIONS, "section_id", scoped)})"""
    return _finding(SECTIONS, "empty_section", field="'students'", value="NULL") + (
        f" FROM {judged(SECTIONS, records(SECTIONS), scoped)} r "
        f"LEFT JOIN {taught} e ON e.section_id = r.id WHERE e.section_id IS NULL"
    )


def grade_outside_school_span(scoped: frozenset[str]) -> str:
    def pos(expr: str) -> str:
        return f"list_position($grade_order, {expr})"

    def bound(column: str) -> str:  # a grade of the span, or NULL (shown as …)
        return f"CASE WHEN {pos(column)} IS NOT NULL THEN {column} END"

    return _finding(
        STUDENTS,
        "grade_outside_school_span",
        field="'grade'",
        value="r.grade",
        params=f"json_object('school', {clip('s.name')}, 'low', {bound('s.low_grade')}, "
        f"'high', {bound('s.high_grade')})",
    ) + (
        f""" FROM {judged(STUDENTS, records(STUDENTS), scoped)} r
            JOIN {records(SCHOOLS)} s ON s.id = r.school
            WHERE {pos("r.grade")} IS NOT NULL
              AND (({pos("s.low_grade")} IS NOT NULL AND {pos("r.grade")} < {pos("s.low_grade")})
                OR ({pos("s.high_grade")} IS NOT NULL AND {pos("r.grade")} > {pos("s.high_grade")}))"""
    )


def unknown_reference(check: str, column: str, target: Entity, scoped: frozenset[str]) -> str:
    return _finding(SECTIONS, check, field=f"'{column}'", value=f"r.{column}") + (
        f" FROM {judged(SECTIONS, records(SECTIONS), scoped)} r WHERE r.{column} IS NOT NULL"
        # Many districts send no terms (or courses) at all: then there is nothing to compare.
        f" AND EXISTS (SELECT 1 FROM {stg(target)} WHERE run_id = $run)"
        f" AND NOT EXISTS (SELECT 1 FROM {stg(target)} t WHERE t.run_id = $run AND t.id = r.{column})"
    )


def term_order() -> str:
    # Only between two real dates; a malformed one is the field check's term_dates finding.
    def real(expr: str) -> str:
        return (
            f"regexp_full_match({expr}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"AND try_strptime({expr}, '%Y-%m-%d') IS NOT NULL"
        )

    return _finding(
        TERMS,
        "term_dates",
        field="'start_date'",
        value="r.start_date",
        params="json_object('case', 'order', 'end', r.end_date)",
    ) + (
        f" FROM {records(TERMS)} r WHERE {real('r.start_date')} AND {real('r.end_date')} "
        "AND r.start_date > r.end_date"
    )


def statements(validated: tuple[Entity, ...], scoped: frozenset[str] = frozenset()) -> list[str]:
    """One INSERT per cross-table check and entity. The entities named in `scoped` judge only
    the records in their scope (an events run: scope.py), against all the others."""
    findings: list[tuple[Entity, str]] = [
        *((e, duplicate_sis_id(e, scoped)) for e in (STUDENTS, TEACHERS)),
        *((e, unknown_school(e, scoped)) for e in (STUDENTS, TEACHERS, SECTIONS)),
        (SECTIONS, unknown_teacher(scoped)),
        (SECTIONS, unshared_student(scoped)),
        (SECTIONS, empty_section(scoped)),
        (STUDENTS, grade_outside_school_span(scoped)),
        (SECTIONS, unknown_reference("unknown_term", "term_id", TERMS, scoped)),
        (SECTIONS, unknown_reference("unknown_course", "course", COURSES, scoped)),
        (TERMS, term_order()),
    ]
    return [unique_id(e, scoped) for e in validated] + [insert(e, sql) for e, sql in findings]
