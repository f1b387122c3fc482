"""The check table: every field and cross-table check, its severity, what it means, and what an
issue of it says.

The Validation page lists this table and filters on its names. An issue row stores the check's
name and the facts of the finding (messages.py); the sentence is rendered from the `sentence`
declared here, beside the check. The checks the District Parameters ask for are declared the
same way, in requirements.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from mgi_roster.entities import COURSES, SCHOOLS, SECTIONS, STUDENTS, TEACHERS, TERMS, Entity
from mgi_roster.kinds import Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING
SHOWN_CONTROL = "\ufffd"  # how a control character appears inside a message
SHOWN_CHARS = 60  # a value or a name quoted inside a message


class Layer(StrEnum):
    FIELD = "field"  # one value of one record (schemas.py)
    CROSS_TABLE = "cross-table"  # records against each other and the roster (cross_table.py)
    REQUIREMENT = "requirement"  # what the District Parameters ask for (requirements.py)


@dataclass(frozen=True)
class CheckSpec:
    """One check as the Validation page lists it, and what its issues say.

    `sentence` is what follows the record's label ("Student Zoë García (SIS id 100234): "): a
    `str.format` template over the words messages.py makes of an issue ({field}, {value}, ...
    and the issue's params). A check that says different things in different cases maps each
    case to its template; the issue's params["case"] picks one ("" or absent: the first).
    """

    name: str
    entity: str
    severity: Severity  # the default; `required` is a warning for a few fields (entities.py)
    description: str
    layer: Layer
    sentence: str | Mapping[str, str]

    def template(self, case: str = "") -> str:
        if isinstance(self.sentence, str):
            return self.sentence
        return self.sentence.get(case) or next(iter(self.sentence.values()))


def specs(
    name: str,
    entities: str,
    severity: Severity,
    description: str,
    layer: Layer,
    sentence: str | Mapping[str, str],
) -> tuple[CheckSpec, ...]:
    return tuple(
        CheckSpec(name, e, severity, description, layer, sentence) for e in entities.split()
    )


VALIDATED: tuple[Entity, ...] = (SCHOOLS, TERMS, COURSES, TEACHERS, STUDENTS, SECTIONS)
FIELD, CROSS_TABLE = Layer.FIELD, Layer.CROSS_TABLE
ALL = "students teachers schools sections terms courses"

_MISSING = {
    "": "{field} is missing. Add the {field} in the SIS.",
    "id": "{id} is missing. {id_always}",
}
_ENUM = "{field} {value} is not one of Clever's {noun}. Fix the {field} in the SIS ({allowed})."
_EMAIL = (
    '{field} {value} is not an email address (it needs exactly one "@" with text on both sides). '
    "Fix the {field} in the SIS."
)
_UNKNOWN_SCHOOL = (
    "{field} {value} is not among the schools this sync returned. Fix the {record}'s {field} in "
    "the SIS, or {share_school}."
)
_UNKNOWN_TEACHER = (
    "is not among the teachers this sync returned. Fix the section's teachers in the SIS, or "
    "{share_teacher}."
)
_NO_TEACHER = "the section has no primary teacher{listed}. Set the primary teacher in the SIS."

CHECKS: tuple[CheckSpec, ...] = (
    *specs("required", "students", ERROR, "Clever id, SIS id, first and last name and primary school are present.", FIELD, _MISSING),
    *specs("required", "teachers", ERROR, "Clever id, first and last name are present (a missing SIS id is a warning).", FIELD, _MISSING),
    *specs("required", "schools", ERROR, "Clever id and name are present (a missing SIS id is a warning).", FIELD, _MISSING),
    *specs("required", "sections", ERROR, "Clever id, name and school are present.", FIELD, _MISSING),
    *specs("required", "terms courses", ERROR, "The Clever id is present.", FIELD, _MISSING),
    *specs("enum", "students", ERROR, "Grade, gender, race, Hispanic ethnicity and ELL status are values Clever's spec lists.", FIELD, _ENUM),
    *specs("enum", "sections", ERROR, "Grade and subject are values Clever's spec lists.", FIELD, _ENUM),
    *specs("enum", "schools", ERROR, "Low and high grade are grades Clever's spec lists.", FIELD, _ENUM),
    *specs("dob_format", "students", ERROR, "The date of birth is M/D/YYYY, month first.", FIELD,
           "date of birth {value} is not in Clever's M/D/YYYY format (month first, for example "
           "2/11/2007). Fix the date of birth in the SIS."),
    *specs("dob_date", "students", ERROR, "The date of birth is a real calendar date.", FIELD,
           "date of birth {value} is not a real calendar date. Fix the date of birth in the SIS."),
    *specs("dob_plausible", "students", WARNING, "The date of birth is not in the future nor more than 100 years ago.", FIELD,
           "date of birth {value} is in the future or more than 100 years ago. Check the date of "
           "birth in the SIS."),
    *specs("graduation_year", "students", WARNING, "The graduation year has 4 digits.", FIELD,
           "graduation year {value} is not a 4-digit year. Fix the graduation year in the SIS."),
    *specs("email_format", "students teachers schools", WARNING, 'An email has exactly one "@" with text on both sides (Clever does not verify emails).', FIELD, _EMAIL),
    *specs("term_dates", "terms", WARNING, "Start and end dates are real YYYY-MM-DD dates, the start not after the end.", FIELD, {
        "": "{field} {value} is not a real date in the form YYYY-MM-DD. Fix the term's dates in the SIS.",
        "order": "it starts on {text}, after it ends ({end}). Fix the term's dates in the SIS.",
    }),
    *specs("control_characters", ALL, WARNING, "Names, emails and usernames hold no control characters.", FIELD,
           "{field} {value} contains control characters (invisible characters such as tabs or line "
           f"breaks, shown as {SHOWN_CONTROL}). Remove them in the SIS."),
    *specs("long_value", ALL, WARNING, "No value is longer than 255 characters (Clever's suggested cap).", FIELD,
           "{field} is {length} characters long ({value}); Clever suggests at most 255. Shorten it "
           "in the SIS."),
    *specs("unique_id", ALL, ERROR, "No Clever id appears twice in the sync.", CROSS_TABLE,
           "its {id} {value} appears {count} times in this sync; a {id} must be unique. "
           "Look for the record entered twice in the SIS and {send_again}."),
    *specs("duplicate_sis_id", "students teachers", ERROR, "No SIS id is shared by records with different Clever ids.", CROSS_TABLE,
           "SIS id {value} is also used by {others}{more}. Each {record} needs its own SIS id: fix "
           "the duplicate in the SIS."),
    # Duplicate people (duplicates.py): the same person under two ids, in the run or the roster.
    *specs("duplicate_state_id", "students teachers", ERROR, "No state id is shared by records with different ids, in this sync or in the roster it leaves (a re-key or a link is not a duplicate).", CROSS_TABLE,
           "state id {value} is also used by {others}{more}, in this sync or in the MGI's roster. A "
           "state id belongs to one person: fix the duplicate in the SIS (or link the student "
           "added by hand)."),
    *specs("duplicate_student_number", "students", WARNING, "No student number is shared by two students of one school.", CROSS_TABLE,
           "student number {value} is also used in the same school by {others}{more}, in this "
           "sync or in the MGI's roster. Check whether they are one student entered twice in the "
           "SIS."),
    *specs("duplicate_name_dob", "students", WARNING, "No two students share a name and a date of birth.", CROSS_TABLE,
           "the same name and date of birth as {others}{more}, in this sync or in the MGI's "
           "roster. Check whether they are one student entered twice in the SIS (twins with one "
           "name are rare)."),
    *specs("unknown_school", "students sections", ERROR, "The (primary) school is among the sync's schools.", CROSS_TABLE, _UNKNOWN_SCHOOL),
    *specs("unknown_school", "teachers", WARNING, "The primary school is among the sync's schools.", CROSS_TABLE, _UNKNOWN_SCHOOL),
    *specs("unknown_teacher", "sections", WARNING, "The section's teachers are among the sync's teachers.", CROSS_TABLE, {
        "": f"teacher {{value}} {_UNKNOWN_TEACHER}",
        "primary": f"primary teacher {{value}} {_UNKNOWN_TEACHER}",
    }),
    *specs("unshared_student", "sections", WARNING, "The section's students are shared with the MGI (a sharing finding: check Clever's sharing settings).", CROSS_TABLE,
           "it names student {value}, whom this sync did not return: {unshared}, or remove the "
           "student from the section in the SIS if they have left."),
    *specs("empty_section", "sections", WARNING, "The section has students.", CROSS_TABLE,
           "the section has no students. Enroll its students in the SIS, or end the section there "
           "if it is not taught."),
    *specs("student_without_section", "students", WARNING, "The student is in at least one section.", CROSS_TABLE,
           "the student is in no section. Enroll the student in their classes in the SIS."),
    *specs("section_without_teacher", "sections", WARNING, "The section has a primary teacher.", CROSS_TABLE, {
        "": _NO_TEACHER.format(listed=""),
        "listed": _NO_TEACHER.format(listed=" (it lists teachers, but none as primary)"),
    }),
    *specs("grade_outside_school_span", "students", WARNING, "The student's grade lies within the primary school's low..high grade.", CROSS_TABLE,
           "grade {value} is outside the grades of the student's school {school} ({low}–{high}). "
           "Fix the student's grade or primary school in the SIS, or the school's low and high "
           "grade."),
    *specs("unknown_term", "sections", WARNING, "The section's term is among the sync's terms (when it has any).", CROSS_TABLE,
           "term {value} is not among the terms this sync returned. Fix the section's term in the SIS."),
    *specs("unknown_course", "sections", WARNING, "The section's course is among the sync's courses (when it has any).", CROSS_TABLE,
           "course {value} is not among the courses this sync returned. Fix the section's course "
           "in the SIS."),
    *specs("oneroster_role", "students", ERROR, "OneRoster: a user's role is one of OneRoster's roles (1.2 also ext: roles).", CROSS_TABLE,
           "role {value} in {file} is not one of OneRoster's roles ({roles}), so the user is "
           "neither a student nor a teacher here. Fix the role in the SIS."),
    *specs("oneroster_no_role", "students", WARNING, "OneRoster: every user has a role (users.csv role in 1.1, a roles.csv row in 1.2).", CROSS_TABLE,
           "the user has no role, so it is staged neither as a student nor as a teacher. Give "
           "the user a role in the SIS."),
    *specs("oneroster_org_type", "schools", ERROR, "OneRoster: an org's type is one of OneRoster's org types.", CROSS_TABLE,
           "org type {value} is not one of OneRoster's ({types}); only orgs of type school are "
           "schools. Fix the org's type in the SIS."),
    *specs("oneroster_class_school", "sections", ERROR, "OneRoster: a class's school is an org of type school.", CROSS_TABLE,
           "its school {value} is an org of type {type}, not a school. Set the class's school "
           "to the school that teaches it in the SIS."),
    *specs("oneroster_grade", "students sections", WARNING, "OneRoster: grades are CEDS grade codes.", CROSS_TABLE,
           "grade {value} is not a CEDS grade code ({codes}). Fix the grade in the SIS."),
    *specs("oneroster_tobedeleted", "schools terms courses students sections", WARNING, "OneRoster: no row of a bulk file is marked tobedeleted (a bulk file deletes by leaving a record out).", CROSS_TABLE,
           "its row in {file} is marked tobedeleted, but the file is sent as bulk, where a "
           "record is deleted by leaving it out. It was not staged; send the file as delta, or "
           "leave the record out."),
    # The reader's value checks (sources/oneroster/rows.py) that the checks above do not say:
    # each row check's own sentence, around the value (masked by field like any value).
    *specs("oneroster_value", "schools terms courses students sections", ERROR, "OneRoster: every cell follows the binding (vocabularies, dates, references, required cells, ids).", CROSS_TABLE,
           {"": "in {file}, {before} Fix it in the SIS.", "value": "in {file}, {before}{value}{after} Fix it in the SIS."}),
    *specs("oneroster_value_note", "schools terms courses students sections", WARNING, "OneRoster: cells the binding advises on (legacy values, padded list items, ids, references a delta file leaves open).", CROSS_TABLE,
           {"": "in {file}, {before} Fix it in the SIS.", "value": "in {file}, {before}{value}{after} Fix it in the SIS."}),
    *specs("loses_only_teacher", "sections", WARNING, "The sync does not leave a section that has a teacher in the MGI without one.", CROSS_TABLE,
           "the section has a teacher in the MGI now but none in this sync, so this sync would "
           "leave it without a teacher. Set the section's teacher in the SIS."),
    *specs("loses_all_enrollments", "students", WARNING, "The sync does not take every enrollment from a student enrolled in the MGI.", CROSS_TABLE,
           "the student is enrolled in sections in the MGI now but in none in this sync, so this "
           "sync would remove all of the student's enrollments. Check the student's schedule in "
           "the SIS."),
)  # fmt: skip

_SEVERITY = {(c.name, c.entity): c.severity for c in CHECKS}


def severity(check: str, entity: str) -> Severity:
    """The severity a check of this table reports with on this entity."""
    return _SEVERITY[(check, entity)]


# When several checks fail on one cell, the issue goes under the first: errors, then table order.
PRIORITY: dict[str, int] = {
    name: i
    for i, name in enumerate(
        dict.fromkeys(
            [c.name for c in CHECKS if c.severity is ERROR]
            + [c.name for c in CHECKS if c.severity is WARNING]
        )
    )
}
