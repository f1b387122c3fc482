"""The checks the District Parameters ask for, as rows of the check table and as SQL.

Two owners, never confused (shared/reference/mgi.md):

- **the MGI's**: of each *screened* student (screening.py), a primary school and a grade (the
  test plan is made for one school and one grade form); with Test Distribution by Class, exactly
  one current screening class of the student's own school, of at most 75 students, not mixing
  grade forms. A student who is not screened (grade 10-12, a school not taking part) is never an
  error here; readiness counts them.
- **the district's**: `district_requirements`, each at the severity the district chose, reported
  under the check `district_requirement`, whose sentence says it is the district's rule.

A record missing its sections (or a section its teacher) is one issue, under the most telling of
several checks: the requirement's error when the parameters ask for it, else the plain
cross-table warning, or the warning that this sync takes away what the roster has.
"""

from __future__ import annotations

from datetime import date

from mgi_roster.entities import (
    COURSES,
    ENROLLMENTS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    TERMS,
    Entity,
    either,
)
from mgi_roster.grades import form_sql
from mgi_roster.parameters import PLAN_SIZE, Parameters, ScreeningClassRule
from mgi_roster.review import screening
from mgi_roster.review.validation.checks import ERROR, SHOWN_CHARS, WARNING, CheckSpec, Layer
from mgi_roster.review.validation.findings import (
    clip,
    current,
    finding,
    insert,
    literal,
    records,
)
from mgi_roster.review.validation.scope import judged
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg

_LOSES_ENROLLMENTS = (
    " This sync would also remove all of the student's current enrollments in the MGI."
)
_LOSES_TEACHER = " This sync would also remove the section's only teacher in the MGI."
_IN_NO_SECTION = (
    "the student is screened but in no section, so in no screening class ({rule}); the MGI "
    "distributes tests by class. Enroll the student in a screening class in the SIS."
)
_DISTRICT = (
    "{field} is missing, and the district requires it (a district requirement, not the MGI's). "
    "Add the {field} in the SIS."
)
_DISTRICT_TEACHER = (
    "the section has no primary teacher, and the district requires one (a district requirement, "
    "not the MGI's). Set the primary teacher in the SIS."
)
REQ = Layer.REQUIREMENT

CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec("required_school", "students", ERROR,
              "MGI: every screened student has a primary school (a test plan is for one school).", REQ,
              "primary school is missing; the MGI makes each test plan for one school. Set the "
              "student's primary school in the SIS."),
    CheckSpec("required_grade", "students", ERROR,
              "MGI: every student of a screened school has a grade (a test plan is for one grade form, K-9).", REQ,
              "grade is missing; the MGI makes each test plan for one grade form (K-9). Add the "
              "student's grade in the SIS."),
    CheckSpec("screening_class_coverage", "students", ERROR,
              "MGI, by class: every screened student sits in a current screening class of their own school.", REQ, {
                  "": "the student is screened but in no current screening class of their school "
                  "({rule}); the MGI distributes tests by class. Enroll the student in a screening "
                  "class in the SIS.",
                  "no_section": _IN_NO_SECTION,
                  "no_section_loses": _IN_NO_SECTION + _LOSES_ENROLLMENTS,
              }),
    CheckSpec("screening_class_several", "students", ERROR,
              "MGI, by class: a screened student sits in only one current screening class.", REQ,
              "the student is in {count} current screening classes ({classes}); the MGI needs "
              "exactly one to place the student in a test plan. Keep the student in one screening "
              "class in the SIS, or narrow the screening class rule."),
    CheckSpec("screening_class_school", "students", ERROR,
              "MGI, by class: a screened student's screening class is in the student's own school.", REQ,
              "the student is in screening class {classes} of another school; a test plan is for "
              "one school. Fix the student's primary school or the class in the SIS."),
    CheckSpec("screening_class_size", "sections", ERROR,
              f"MGI, by class: a screening class has at most {PLAN_SIZE} students (a test plan holds {PLAN_SIZE}).", REQ,
              f"the screening class has {{count}} students; a test plan holds at most {PLAN_SIZE}, so "
              "it does not fit one plan. Split the class in the SIS, or narrow the screening class "
              "rule."),
    CheckSpec("screening_class_grades", "sections", WARNING,
              "MGI, by class: a screening class does not mix grade forms (a test plan is for one form).", REQ,
              "the screening class mixes grade forms ({forms}); a test plan is for one grade form, "
              "so its students need a plan per form. Check the class in the SIS."),
    *(
        CheckSpec("district_requirement", e, ERROR,
                  "District requirement (the district's own rule, not the MGI's): a value the district requires is present.", REQ,
                  {"": _DISTRICT, "teacher": _DISTRICT_TEACHER,
                   "teacher_loses": _DISTRICT_TEACHER + _LOSES_TEACHER})
        for e in ("students", "teachers", "sections")
    ),
)  # fmt: skip


def covered(params: Parameters, entity: Entity) -> set[str]:
    """The fields of `entity` whose missing value a requirement reports (instead of the field
    check `required`, which would report it for every student, screened or not)."""
    mgi = {"school", "grade"} if entity is STUDENTS else set()
    return mgi | {r.field for r in params.district_requirements if r.entity == entity.name}


def rule_words(rule: ScreeningClassRule) -> str:
    """What a screening class is, in words, for the coverage messages."""
    parts = []
    if rule.subjects:
        parts.append("subject " + either(rule.subjects))
    if rule.course_numbers:
        parts.append("course number " + either(rule.course_numbers))
    if rule.name_contains:
        parts.append(f'a course or section name containing "{rule.name_contains[:SHOWN_CHARS]}"')
    if rule.class_types:
        parts.append("OneRoster class type " + either(rule.class_types))
    words = "screening classes are sections with " + ("; or ".join(parts) or "nothing")
    narrow = [
        f"{name} {either(values)}"
        for name, values in (("period", rule.periods), ("grade", rule.grades), ("term", rule.terms))
        if values
    ]
    if narrow:
        words += ", in " + " and ".join(narrow)
    return words if len(words) <= 200 else words[:200] + "…"


def bindings(params: Parameters, today: date | None = None) -> dict[str, object]:
    """The statements' parameters that come from the District Parameters."""
    return {
        **screening.values(params, today),
        "rule_words": rule_words(params.screening_class_rule),
    }


def _staged(entity: Entity) -> str:
    return f"(SELECT * FROM {stg(entity)} WHERE run_id = $run)"


def _screening_memberships(params: Parameters, where: str = "") -> str:
    """(user_id, section_id, school, name, form) of each student in a current screening class
    (`where`: a further condition on the enrollment `e`)."""
    rule = screening.matches(
        params.screening_class_rule, "x", courses=_staged(COURSES), terms=_staged(TERMS)
    )
    return f"""(SELECT DISTINCT e.user_id, x.id AS section_id, x.school, x.name
        FROM {stg(ENROLLMENTS)} e JOIN {records(SECTIONS)} x ON x.id = e.section_id
        WHERE e.run_id = $run AND e.role = 'student' AND {rule}{where})"""


def _judged(entity: Entity, scoped: frozenset[str]) -> str:
    return judged(entity, records(entity), scoped)


def _of(entity: Entity, column: str, scoped: frozenset[str]) -> str:
    """A condition on an enrollment `e`: its `column` names a record judged (none: all are)."""
    if entity.name not in scoped:
        return ""
    return f" AND e.{column} IN (SELECT id FROM {_judged(entity, scoped)})"


def students_without_sections(params: Parameters, scoped: frozenset[str]) -> str:
    """Students in no section (or, with Test Distribution by Class, screened and in no current
    screening class of their school): one row per student, under the most telling check
    (coverage error > loses > without)."""
    placed = (
        f"""(NOT {screening.screened("s")} OR EXISTS (SELECT 1 FROM {_screening_memberships(params, _of(STUDENTS, "user_id", scoped))} m
            WHERE m.user_id = s.id AND m.school = s.school))"""
        if params.distribute_by_class
        else "true"
    )
    return finding(
        """CASE WHEN NOT r._screened THEN 'screening_class_coverage'
            WHEN r._had THEN 'loses_all_enrollments' ELSE 'student_without_section' END""",
        "CASE WHEN NOT r._screened THEN 'error' ELSE 'warning' END",
        field="'sections'",
        value="NULL",
        params="""CASE WHEN NOT r._screened THEN json_object('rule', $rule_words, 'case', CASE
                WHEN r._any THEN NULL WHEN r._had THEN 'no_section_loses' ELSE 'no_section' END)
            ELSE '{}' END""",
    ) + (
        f""" FROM (SELECT *, {placed} AS _screened,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'student' AND e.user_id = s.id) AS _any,
              EXISTS (SELECT 1 FROM {current(ENROLLMENTS)} e WHERE e.role = 'student' AND e.user_id = s.id) AS _had
            FROM {_judged(STUDENTS, scoped)} s) r
            WHERE NOT r._any OR NOT r._screened"""
    )


def _class_names(alias: str = "m") -> str:
    return clip(
        f"string_agg(coalesce({alias}.name, {alias}.section_id), ', ' ORDER BY {alias}.section_id)",
        150,
    )


def screening_class_several(params: Parameters, scoped: frozenset[str]) -> str:
    return finding(
        literal("screening_class_several"),
        literal(ERROR),
        field="'sections'",
        value="NULL",
        params="json_object('count', r._n, 'classes', r._classes)",
    ) + (
        f""" FROM (SELECT s.id, count(*) AS _n, {_class_names()} AS _classes
            FROM {_judged(STUDENTS, scoped)} s
            JOIN {_screening_memberships(params, _of(STUDENTS, "user_id", scoped))} m
              ON m.user_id = s.id AND m.school = s.school
            WHERE {screening.screened("s")} GROUP BY s.id HAVING count(*) > 1) r"""
    )


def screening_class_school(params: Parameters, scoped: frozenset[str]) -> str:
    return finding(
        literal("screening_class_school"),
        literal(ERROR),
        field="'sections'",
        value="NULL",
        params="json_object('classes', r._classes)",
    ) + (
        f""" FROM (SELECT s.id, {_class_names()} AS _classes
            FROM {_judged(STUDENTS, scoped)} s
            JOIN {_screening_memberships(params, _of(STUDENTS, "user_id", scoped))} m
              ON m.user_id = s.id AND m.school IS DISTINCT FROM s.school
            WHERE {screening.screened("s")} GROUP BY s.id) r"""
    )


def _class_students(params: Parameters, scoped: frozenset[str]) -> str:
    """Each current screening class (judged) with its students' grade forms."""
    return f"""(SELECT m.section_id AS id, count(*) AS _n,
            list_sort(list_distinct(list({form_sql("s.grade")}))) AS _forms
        FROM {_screening_memberships(params, _of(SECTIONS, "section_id", scoped))} m JOIN {records(STUDENTS)} s ON s.id = m.user_id
        GROUP BY m.section_id)"""


def screening_class_size(params: Parameters, scoped: frozenset[str]) -> str:
    return (
        finding(
            literal("screening_class_size"),
            literal(ERROR),
            field="'students'",
            value="NULL",
            params="json_object('count', r._n)",
        )
        + f" FROM {_class_students(params, scoped)} r WHERE r._n > {PLAN_SIZE}"
    )


def screening_class_grades(params: Parameters, scoped: frozenset[str]) -> str:
    return (
        finding(
            literal("screening_class_grades"),
            literal(WARNING),
            field="'grade'",
            value="NULL",
            params="json_object('forms', array_to_string(r._forms, ', '))",
        )
        + f" FROM {_class_students(params, scoped)} r WHERE len(r._forms) > 1"
    )


def sections_without_teacher(params: Parameters, scoped: frozenset[str]) -> str:
    """Sections with no primary teacher: one row per section, under the most telling check
    (district_requirement > loses_only_teacher > section_without_teacher)."""
    wanted = next(
        (r for r in params.district_requirements if (r.entity, r.field) == ("sections", "teacher")),
        None,
    )
    required = str(wanted is not None).lower()
    severity = literal(wanted.severity) if wanted else literal(WARNING)
    loses = "(r._had AND NOT r._any)"
    return finding(
        f"""CASE WHEN {required} THEN 'district_requirement'
            WHEN {loses} THEN 'loses_only_teacher' ELSE 'section_without_teacher' END""",
        f"CASE WHEN {required} THEN {severity} ELSE 'warning' END",
        field="'teacher'",
        value="NULL",
        params=f"""json_object('case', CASE
            WHEN {required} AND {loses} THEN 'teacher_loses'
            WHEN {required} THEN 'teacher'
            WHEN NOT {loses} AND r._any THEN 'listed' END)""",
    ) + (
        f""" FROM (SELECT *,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'teacher' AND e.section_id = s.id) AS _any,
              (EXISTS (SELECT 1 FROM {current(SECTIONS)} c WHERE c.id = s.id AND c.teacher IS NOT NULL)
               OR EXISTS (SELECT 1 FROM {current(ENROLLMENTS)} e WHERE e.role = 'teacher' AND e.section_id = s.id)) AS _had
            FROM {_judged(SECTIONS, scoped)} s WHERE s.teacher IS NULL) r"""
    )


def required_school(scoped: frozenset[str]) -> str:
    # A student with no school is screened if their grade is: which school is unknown.
    return finding(literal("required_school"), literal(ERROR), field="'school'", value="NULL") + (
        f" FROM {_judged(STUDENTS, scoped)} r WHERE r.school IS NULL "
        f"AND list_contains($screened_grades, {form_sql('r.grade')})"
    )


def required_grade(scoped: frozenset[str]) -> str:
    # A student with no grade is screened if their school is: which grade is unknown.
    return finding(literal("required_grade"), literal(ERROR), field="'grade'", value="NULL") + (
        f" FROM {_judged(STUDENTS, scoped)} r WHERE r.grade IS NULL AND r.school IS NOT NULL "
        f"AND {screening.in_screened_school('r.school')}"
    )


def _district_value(entity: Entity, field: str, severity: str, scoped: frozenset[str]) -> str:
    return (
        finding(
            literal("district_requirement"), literal(severity), field=literal(field), value="NULL"
        )
        + f" FROM {_judged(entity, scoped)} r WHERE r.{q(field)} IS NULL"
    )


def statements(params: Parameters, scoped: frozenset[str] = frozenset()) -> list[str]:
    """One INSERT per check the parameters ask for (`scoped`: see cross_table.statements)."""
    findings: list[tuple[Entity, str]] = [
        (STUDENTS, students_without_sections(params, scoped)),
        (SECTIONS, sections_without_teacher(params, scoped)),
        (STUDENTS, required_school(scoped)),
        (STUDENTS, required_grade(scoped)),
    ]
    if params.distribute_by_class:
        findings += [
            (STUDENTS, screening_class_several(params, scoped)),
            (STUDENTS, screening_class_school(params, scoped)),
            (SECTIONS, screening_class_size(params, scoped)),
            (SECTIONS, screening_class_grades(params, scoped)),
        ]
    entities = {"students": STUDENTS, "teachers": TEACHERS, "sections": SECTIONS}
    for r in params.district_requirements:
        if (r.entity, r.field) != ("sections", "teacher"):  # inside sections_without_teacher
            findings.append(
                (
                    entities[r.entity],
                    _district_value(entities[r.entity], r.field, r.severity, scoped),
                )
            )
    return [insert(entity, sql) for entity, sql in findings]
