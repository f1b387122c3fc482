"""The checks the District Parameters ask for: the data requirements of the Testing Measures and
of Test Distribution by Class (parameters.requirements()), as rows of the check table and as
SQL. Kept apart from the other checks: the MGI's own rules will replace these.

Two statements report a record under the most telling of several checks, so a record missing
its sections (or a section its teacher) is one issue: a requirement's error when the parameters
ask for it, else the plain cross-table warning, or the warning that this sync takes away what
the roster has.
"""

from __future__ import annotations

from mgi_roster.entities import (
    COURSES,
    ENROLLMENTS,
    SECTIONS,
    STUDENTS,
    TEACHERS,
    Entity,
    either,
)
from mgi_roster.parameters import (
    DISTRIBUTION_REQUIREMENTS,
    MEASURES,
    Parameters,
    Requirement,
    ScreeningClassRule,
)
from mgi_roster.review.validation.checks import ERROR, SHOWN_CHARS, CheckSpec, Layer
from mgi_roster.review.validation.findings import (
    current,
    finding,
    insert,
    literal,
    records,
)
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg

# Requirements met by a value being present: rule -> what the message says needs it.
MISSING_VALUE_RULES = {
    "required_grade": "Student Application needs every student's grade",
    "required_state_id": "State Reporting needs every student's state id",
    "required_dob": "State Reporting needs every student's date of birth",
    "required_teacher_email": "Teacher Administered tests need every teacher's email to sign in",
}
_LOSES_ENROLLMENTS = (
    " This sync would also remove all of the student's current enrollments in the MGI."
)
_LOSES_TEACHER = " This sync would also remove the section's only teacher in the MGI."
_IN_NO_SECTION = (
    "the student is in no section, so in no screening class ({rule}). Enroll the student in a "
    "screening class in the SIS."
)
_NEEDS_TEACHER = (
    "the section has no primary teacher, and Teacher Administered tests need one. Set the primary "
    "teacher in the SIS."
)
_SCREENING_TEACHER = (
    "the section is a screening class but has no primary teacher. Set the primary teacher in the "
    "SIS."
)
SENTENCES: dict[str, str | dict[str, str]] = {
    **{
        rule: f"{{field}} is missing, and {need}. Add the {{field}} in the SIS."
        for rule, need in MISSING_VALUE_RULES.items()
    },
    "required_login": "the student has neither a district username nor an email, and Student "
    "Application needs one for the student to sign in. Add a district username or an email in "
    "the SIS.",
    "required_primary_teacher": {"": _NEEDS_TEACHER, "loses": _NEEDS_TEACHER + _LOSES_TEACHER},
    "screening_class_teacher": {
        "": _SCREENING_TEACHER,
        "loses": _SCREENING_TEACHER + _LOSES_TEACHER,
    },
    "screening_class_coverage": {
        "": "the student is in no screening class ({rule}). Enroll the student in a screening "
        "class in the SIS.",
        "no_section": _IN_NO_SECTION,
        "no_section_loses": _IN_NO_SECTION + _LOSES_ENROLLMENTS,
    },
}


def _spec(r: Requirement) -> CheckSpec:
    return CheckSpec(
        r.rule,
        r.entity,
        ERROR,
        f"{r.measure}: {r.description}",
        Layer.REQUIREMENT,
        SENTENCES[r.rule],
    )


CHECKS: tuple[CheckSpec, ...] = tuple(
    _spec(r)
    for r in [*(r for m in MEASURES.values() for r in m.requirements), *DISTRIBUTION_REQUIREMENTS]
)


def covered(params: Parameters, entity: Entity) -> set[str]:
    """The fields of `entity` whose missing value a requirement reports (instead of the field
    check `required`)."""
    return {
        r.field
        for r in params.requirements()
        if r.entity == entity.name and r.rule in MISSING_VALUE_RULES
    }


def rule_words(rule: ScreeningClassRule) -> str:
    """What a screening class is, in words, for the coverage messages."""
    parts = []
    if rule.subjects:
        parts.append("subject " + either(rule.subjects))
    if rule.course_numbers:
        parts.append("course number " + either(rule.course_numbers))
    if rule.name_contains:
        parts.append(f'a name containing "{rule.name_contains[:SHOWN_CHARS]}"')
    words = "screening classes are sections with " + ("; or ".join(parts) or "nothing")
    return words if len(words) <= 200 else words[:200] + "…"


def bindings(params: Parameters) -> dict[str, object]:
    """The statements' parameters that come from the District Parameters."""
    rule = params.screening_class_rule
    return {
        "subjects": list(rule.subjects),
        "course_numbers": list(rule.course_numbers),
        "name_contains": rule.name_contains,
        "rule_words": rule_words(rule),
    }


def _screening_sql(rule: ScreeningClassRule, alias: str) -> str:
    """SQL true for a screening class (a section matching the rule by subject, course number or
    name); the rule's values are bound as $subjects, $course_numbers and $name_contains."""
    parts = []
    if rule.subjects:
        parts.append(f"list_contains($subjects, {alias}.subject)")
    if rule.course_numbers:
        parts.append(
            f"EXISTS (SELECT 1 FROM {stg(COURSES)} c WHERE c.run_id = $run AND c.id = {alias}.course "
            "AND list_contains($course_numbers, c.number))"
        )
    if rule.name_contains:
        parts.append(f"contains(lower({alias}.name), lower($name_contains))")
    return "(" + (" OR ".join(parts) or "false") + ")"


def students_without_sections(params: Parameters) -> str:
    """Students in no section (or, with Test Distribution by Class, in no screening class): one
    row per student, under the most telling check (coverage error > loses > without)."""
    coverage = "screening_class_coverage" in params.rules()
    screened = (
        f"""EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e JOIN {stg(SECTIONS)} x ON x.run_id = $run AND x.id = e.section_id
             WHERE e.run_id = $run AND e.role = 'student' AND e.user_id = s.id AND {_screening_sql(params.screening_class_rule, "x")})"""
        if coverage
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
        f""" FROM (SELECT *, {screened} AS _screened,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'student' AND e.user_id = s.id) AS _any,
              EXISTS (SELECT 1 FROM {current(ENROLLMENTS)} e WHERE e.role = 'student' AND e.user_id = s.id) AS _had
            FROM {records(STUDENTS)} s) r
            WHERE NOT r._any OR NOT r._screened"""
    )


def sections_without_teacher(params: Parameters) -> str:
    """Sections with no primary teacher: one row per section, under the most telling check
    (required_primary_teacher > screening_class_teacher > loses_only_teacher > without)."""
    rules = params.rules()
    required = str("required_primary_teacher" in rules).lower()
    screening = (
        _screening_sql(params.screening_class_rule, "s")
        if "screening_class_teacher" in rules
        else "false"
    )
    loses = "r._had AND NOT r._any"
    return finding(
        f"""CASE WHEN {required} THEN 'required_primary_teacher'
            WHEN r._screening THEN 'screening_class_teacher'
            WHEN {loses} THEN 'loses_only_teacher' ELSE 'section_without_teacher' END""",
        f"CASE WHEN {required} OR r._screening THEN 'error' ELSE 'warning' END",
        field="'teacher'",
        value="NULL",
        params=f"""json_object('case', CASE
            WHEN ({required} OR r._screening) AND {loses} THEN 'loses'
            WHEN NOT ({required} OR r._screening OR {loses}) AND r._any THEN 'listed' END)""",
    ) + (
        f""" FROM (SELECT *, {screening} AS _screening,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'teacher' AND e.section_id = s.id) AS _any,
              (EXISTS (SELECT 1 FROM {current(SECTIONS)} c WHERE c.id = s.id AND c.teacher IS NOT NULL)
               OR EXISTS (SELECT 1 FROM {current(ENROLLMENTS)} e WHERE e.role = 'teacher' AND e.section_id = s.id)) AS _had
            FROM {records(SECTIONS)} s WHERE s.teacher IS NULL) r"""
    )


def _missing_value(requirement: Requirement) -> tuple[Entity, str]:
    entity = {"students": STUDENTS, "teachers": TEACHERS}[requirement.entity]
    field = requirement.field
    return entity, finding(
        literal(requirement.rule), literal(ERROR), field=literal(field), value="NULL"
    ) + f" FROM {records(entity)} r WHERE r.{q(field)} IS NULL"


def _required_login(requirement: Requirement) -> tuple[Entity, str]:
    return STUDENTS, finding(
        literal(requirement.rule), literal(ERROR), field=literal(requirement.field), value="NULL"
    ) + f" FROM {records(STUDENTS)} r WHERE r.district_username IS NULL AND r.email IS NULL"


def statements(params: Parameters) -> list[str]:
    """One INSERT per requirement the parameters ask for, and the two statements above."""
    findings: list[tuple[Entity, str]] = [
        (STUDENTS, students_without_sections(params)),
        (SECTIONS, sections_without_teacher(params)),
    ]
    for requirement in params.requirements():
        if requirement.rule in MISSING_VALUE_RULES:
            findings.append(_missing_value(requirement))
        elif requirement.rule == "required_login":
            findings.append(_required_login(requirement))
        # required_primary_teacher and screening_class_*: inside the two statements above.
    return [insert(entity, sql) for entity, sql in findings]
