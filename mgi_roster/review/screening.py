"""Who is screened, and which sections are screening classes: SQL shared by validation (over a
run's staged rows), the rule's preview and test-plan readiness (over a run or the roster).

Each function takes the FROM expressions of the tables it reads, so the same text serves
`stg_<entity>` rows of one run and the current roster. The District Parameters' values are
bound as named parameters (`values()`).

Screened (District Parameters, shared/reference/mgi.md): a student whose grade has a form among
`screened_grades` and whose school is among `screened_schools` (all when empty). A screening
class: a section that matches the rule (subject, course number, course or section name,
OneRoster class type: any;
period, grade form, term: each one given narrows) and lies in a current term: a section with
no term, or a term without readable dates, counts (nothing says it is over).
"""

from __future__ import annotations

from datetime import date

from mgi_roster.grades import form_sql
from mgi_roster.parameters import Parameters, ScreeningClassRule


def values(params: Parameters, today: date | None = None) -> dict[str, object]:
    rule = params.screening_class_rule
    return {
        "subjects": list(rule.subjects),
        "course_numbers": list(rule.course_numbers),
        "name_contains": rule.name_contains,
        "class_types": list(rule.class_types),
        "periods": list(rule.periods),
        "rule_grades": list(rule.grades),
        "rule_terms": list(rule.terms),
        "screened_grades": list(params.screened_grades),
        "screened_schools": list(params.screened_schools),
        "today": today or date.today(),
    }


def in_screened_school(school: str) -> str:
    return f"(len($screened_schools) = 0 OR list_contains($screened_schools, {school}))"


def screened(alias: str) -> str:
    """SQL true for a screened student (grade form screened, school taking part)."""
    return (
        f"(list_contains($screened_grades, {form_sql(f'{alias}.grade')}) "
        f"AND {alias}.school IS NOT NULL AND {in_screened_school(f'{alias}.school')})"
    )


def _day(expr: str) -> str:
    return f"try_cast(left({expr}, 10) AS DATE)"


def matches(rule: ScreeningClassRule, alias: str, *, courses: str, terms: str) -> str:
    """SQL true for a section (`alias`) that is a screening class under `rule`, in a current
    term. `courses` and `terms` are FROM expressions of the same source as the section."""
    course = f"(SELECT c.{{col}} FROM {courses} c WHERE c.id = {alias}.course LIMIT 1)"
    identify = []
    if rule.subjects:
        identify.append(f"list_contains($subjects, {alias}.subject)")
    if rule.course_numbers:
        identify.append(f"list_contains($course_numbers, {course.format(col='number')})")
    if rule.name_contains:
        identify.append(
            f"contains(lower({alias}.name), lower($name_contains)) OR "
            f"contains(lower(coalesce({course.format(col='name')}, '')), lower($name_contains))"
        )
    if rule.class_types:  # OneRoster's classType; NULL (never matched) from Clever
        identify.append(f"list_contains($class_types, {alias}.class_type)")
    narrow = []
    if rule.periods:
        narrow.append(f"list_contains($periods, {alias}.period)")
    if rule.grades:
        narrow.append(f"list_contains($rule_grades, {form_sql(f'{alias}.grade')})")
    if rule.terms:
        narrow.append(
            f"(list_contains($rule_terms, {alias}.term_id) OR EXISTS (SELECT 1 FROM {terms} t "
            f"WHERE t.id = {alias}.term_id AND list_contains($rule_terms, t.name)))"
        )
    current = (
        f"NOT EXISTS (SELECT 1 FROM {terms} t WHERE t.id = {alias}.term_id AND "
        f"({_day('t.start_date')} > $today OR {_day('t.end_date')} < $today))"
    )
    where = ["(" + (" OR ".join(f"({p})" for p in identify) or "false") + ")", *narrow, current]
    return "(" + " AND ".join(where) + ")"
