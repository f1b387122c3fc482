"""The roster's entities, declared once: fetching, staging, validating, masking and diffing read
this.

Each column says where its value sits in Clever's JSON and how to read it (staging turns these
declarations into the DuckDB SQL that flattens a whole page at once), and what holds for its
values: whether it is required (and how badly), the vocabulary or format it follows, how long it
may be, whether it is personal data and how presentation mode masks it. Validation builds its
pandera schemas from these declarations (review/validation/schemas.py) and masking.py its field
sets: a rule about a field is written here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mgi_roster.kinds import Severity

Kind = Literal["text", "list", "date"]

# --- Clever's vocabularies (clever-api.md §5), exactly as the spec lists them ------------------
# "" is staged as NULL, so a missing value is never outside a vocabulary.

GRADES = (
    "InfantToddler",
    "Preschool",
    "PreKindergarten",
    "TransitionalKindergarten",
    "Kindergarten",
    *(str(n) for n in range(1, 14)),
    "PostGraduate",
    "Ungraded",
    "Other",
)
GRADE_ORDER = GRADES[:-2]  # Ungraded and Other sit outside any span
GENDERS = ("M", "F", "X")
RACES = (
    "Caucasian",
    "Asian",
    "Black or African American",
    "American Indian",
    "Hawaiian or Other Pacific Islander",
    "Two or More Races",
    "Unknown",
)
YES_NO = ("Y", "N")
SUBJECTS = (
    "english/language arts",
    "math",
    "science",
    "social studies",
    "language",
    "homeroom/advisory",
    "interventions/online learning",
    "technology and engineering",
    "PE and health",
    "arts and music",
    "other",
)
MAX_LENGTH = 255  # Clever suggests 255 characters as a safe cap (clever-api.md §13)


def either(values: tuple[str, ...]) -> str:
    """ "a, b or c"."""
    return ", ".join(values[:-1]) + " or " + values[-1]


@dataclass(frozen=True)
class Vocabulary:
    """The values a field may take, and how a message names them."""

    values: tuple[str, ...]
    noun: str  # "Clever's <noun>"
    allowed: str  # the values in words


GRADE = Vocabulary(
    GRADES,
    "grades",
    "InfantToddler, Preschool, PreKindergarten, TransitionalKindergarten, Kindergarten, 1–13, "
    "PostGraduate, Ungraded or Other",
)
SUBJECT = Vocabulary(SUBJECTS, "subjects", either(SUBJECTS))
GENDER = Vocabulary(GENDERS, "genders", either(GENDERS))
RACE = Vocabulary(RACES, "races", either(RACES))
YES_OR_NO = Vocabulary(YES_NO, "values", "Y or N")


class Format(StrEnum):
    """A format a text field's values follow (validation checks it; schemas.py)."""

    DOB = "dob"  # Clever's M/D/YYYY, a real calendar date, not in the future nor > 100 years ago
    YEAR = "year"  # a 4-digit year
    EMAIL = "email"  # exactly one "@" with text on both sides
    ISO_DATE = "iso_date"  # a real YYYY-MM-DD date


class Mask(StrEnum):
    """Personal data, and how presentation mode masks it (masking.py)."""

    NAME = "name"  # part of a person's name: "Last ·8c01d2"
    EMAIL = "email"  # "user·5e7b10@masked.invalid"
    USERNAME = "username"  # "user·5e7b10" (the same token as the same text as an email)
    HIDDEN = "hidden"  # "•••": nothing of the value is kept


@dataclass(frozen=True)
class Column:
    name: str
    paths: tuple[str, ...]  # JSON paths in the record; the first one present wins
    kind: Kind = "text"
    label: str = ""
    required: Severity | None = None  # a missing value is an issue of this severity
    vocabulary: Vocabulary | None = None
    format: Format | None = None
    max_length: int | None = MAX_LENGTH  # None: not checked (lists)
    plain: bool = False  # holds no control characters (names, emails, usernames)
    mask: Mask | None = None  # personal data: how presentation mode masks it

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def sql_type(self) -> str:
        return "VARCHAR[]" if self.kind == "list" else "VARCHAR"


def col(
    name: str,
    *paths: str,
    kind: Kind = "text",
    label: str = "",
    required: Severity | None = None,
    vocabulary: Vocabulary | None = None,
    format: Format | None = None,
    plain: bool = False,
    mask: Mask | None = None,
) -> Column:
    return Column(
        name,
        paths or (f"$.{name}",),
        kind,
        label,
        required=required,
        vocabulary=vocabulary,
        format=format,
        max_length=None if kind == "list" else MAX_LENGTH,
        plain=plain,
        mask=mask,
    )


ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True)
class Entity:
    name: str  # table suffix and the word used on pages: "students"
    label: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    endpoint: str | None = None  # Clever list path; None for entities derived from another
    params: tuple[tuple[str, str], ...] = ()
    role: str | None = None  # users: keep only records that carry roles.<role>
    display: tuple[str, ...] = ()  # columns naming a record for people, joined by display_sep
    display_sep: str = " "
    school: str | None = None  # the column holding the record's school id (per-school views)
    # Records may also be added by hand in the MGI (roster/manual.py): roster_<entity> has a
    # `manual` column, and a sync never archives such a record.
    manual: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def fields(self) -> tuple[Column, ...]:
        """Columns compared by the diff: everything but the key."""
        return tuple(c for c in self.columns if c.name not in self.key)

    @property
    def word(self) -> str:
        """One record, in words: "Student"."""
        return self.label[:-1]

    @property
    def person(self) -> bool:
        """Its records are people: their display name is personal data."""
        return bool(self.display) and all(self.column(c).mask for c in self.display)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def display_sql(self, alias: str = "") -> str:
        """SQL naming a record for people, read from the table or subquery `alias`."""
        if not self.display:
            return "NULL"
        parts = ", ".join(_ref(alias, c) for c in self.display)
        return f"NULLIF(concat_ws('{self.display_sep}', {parts}), '')"

    def school_sql(self, alias: str = "") -> str:
        """SQL giving the record's school id, read from `alias`."""
        return _ref(alias, self.school) if self.school else "NULL"


def _ref(alias: str, column: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    return f"{alias}.{quoted}" if alias else quoted


def _clever_id() -> Column:
    return col("id", label="Clever id", required=ERROR)


def _person(role: str, sis_id: Severity, *extra: Column) -> tuple[Column, ...]:
    r = f"$.roles.{role}"
    return (
        _clever_id(),
        col("sis_id", f"{r}.sis_id", label="SIS id", required=sis_id),
        *extra,
        col("state_id", f"{r}.state_id", label="State id"),
        col("first_name", "$.name.first", required=ERROR, plain=True, mask=Mask.NAME),
        col("middle_name", "$.name.middle", plain=True, mask=Mask.NAME),
        col("last_name", "$.name.last", required=ERROR, plain=True, mask=Mask.NAME),
        # Clever puts email at the top level; live data repeats it inside the role (§13 #7).
        col("email", "$.email", f"{r}.email", format=Format.EMAIL, plain=True, mask=Mask.EMAIL),
        col(
            "district_username",
            f"{r}.credentials.district_username",
            plain=True,
            mask=Mask.USERNAME,
        ),
    )


SCHOOLS = Entity(
    name="schools",
    label="Schools",
    endpoint="/schools",
    key=("id",),
    columns=(
        _clever_id(),
        col("sis_id", label="SIS id", required=WARNING),
        col("name", required=ERROR, plain=True),
        col("school_number"),
        col("state_id", label="State id"),
        col("nces_id", label="NCES id"),
        col("low_grade", vocabulary=GRADE),
        col("high_grade", vocabulary=GRADE),
        col("phone"),
        col("address", "$.location.address"),
        col("city", "$.location.city"),
        col("state", "$.location.state"),
        col("zip", "$.location.zip"),
        col("principal_name", "$.principal.name", plain=True, mask=Mask.NAME),
        col(
            "principal_email",
            "$.principal.email",
            format=Format.EMAIL,
            plain=True,
            mask=Mask.EMAIL,
        ),
    ),
    display=("name",),
    school="id",
)

_STUDENT = "$.roles.student"
STUDENTS = Entity(
    name="students",
    label="Students",
    endpoint="/users",
    params=(("role", "student"),),
    role="student",
    key=("id",),
    columns=(
        *_person("student", ERROR, col("student_number", f"{_STUDENT}.student_number")),
        col("grade", f"{_STUDENT}.grade", vocabulary=GRADE),
        col("dob", f"{_STUDENT}.dob", label="Date of birth", format=Format.DOB, mask=Mask.HIDDEN),
        col("gender", f"{_STUDENT}.gender", vocabulary=GENDER, mask=Mask.HIDDEN),
        col("race", f"{_STUDENT}.race", vocabulary=RACE, mask=Mask.HIDDEN),
        col(
            "hispanic_ethnicity",
            f"{_STUDENT}.hispanic_ethnicity",
            vocabulary=YES_OR_NO,
            mask=Mask.HIDDEN,
        ),
        col(
            "ell_status",
            f"{_STUDENT}.ell_status",
            label="ELL status",
            vocabulary=YES_OR_NO,
            mask=Mask.HIDDEN,
        ),
        col("graduation_year", f"{_STUDENT}.graduation_year", format=Format.YEAR),
        col("school", f"{_STUDENT}.school", label="Primary school", required=ERROR),
        col("schools", f"{_STUDENT}.schools", kind="list"),
    ),
    display=("first_name", "last_name"),
    school="school",
    manual=True,
)

TEACHERS = Entity(
    name="teachers",
    label="Teachers",
    endpoint="/users",
    params=(("role", "teacher"),),
    role="teacher",
    key=("id",),
    columns=(
        *_person("teacher", WARNING, col("teacher_number", "$.roles.teacher.teacher_number")),
        col("title", "$.roles.teacher.title"),
        col("school", "$.roles.teacher.school", label="Primary school"),
        col("schools", "$.roles.teacher.schools", kind="list"),
    ),
    display=("first_name", "last_name"),
    school="school",
)

SECTIONS = Entity(
    name="sections",
    label="Sections",
    endpoint="/sections",
    key=("id",),
    columns=(
        _clever_id(),
        col("sis_id", label="SIS id"),
        col("name", required=ERROR, plain=True),
        col("school", required=ERROR),
        col("course"),
        col("term_id", label="Term"),
        col("subject", vocabulary=SUBJECT),
        col("grade", vocabulary=GRADE),
        col("period"),
        col("section_number"),
        col("teacher", label="Primary teacher"),
        # OneRoster's classType (homeroom, scheduled; ext: in 1.2). Clever has none: NULL.
        col("class_type", label="Class type"),
    ),
    display=("name",),
    school="school",
)

# The roles a membership has, the people's own: a section's students and its teachers (Clever's
# two arrays, in their order; OneRoster's enrollments of these roles)
MEMBER_ROLES: tuple[str, ...] = tuple(e.role for e in (STUDENTS, TEACHERS) if e.role)

# Derived from sections.students and sections.teachers while sections are staged.
ENROLLMENTS = Entity(
    name="enrollments",
    label="Enrollments",
    key=("section_id", "user_id", "role"),
    columns=(col("section_id", "$"), col("user_id", "$"), col("role", "$")),
    display=("section_id", "user_id"),
    display_sep=" / ",
)

TERMS = Entity(
    name="terms",
    label="Terms",
    endpoint="/terms",
    key=("id",),
    columns=(
        _clever_id(),
        col("name", plain=True),
        col("start_date", kind="date", format=Format.ISO_DATE),
        col("end_date", kind="date", format=Format.ISO_DATE),
    ),
    display=("name",),
)

COURSES = Entity(
    name="courses",
    label="Courses",
    endpoint="/courses",
    key=("id",),
    columns=(_clever_id(), col("name", plain=True), col("number")),
    display=("name",),
)

# Fetch order: what a record refers to is staged before it.
ENTITIES: tuple[Entity, ...] = (SCHOOLS, TERMS, COURSES, TEACHERS, STUDENTS, SECTIONS, ENROLLMENTS)
FETCHED: tuple[Entity, ...] = tuple(e for e in ENTITIES if e.endpoint)
BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}


def entity(name: str) -> Entity:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; expected one of {', '.join(BY_NAME)}") from None
