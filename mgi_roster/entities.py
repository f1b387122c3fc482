"""The roster's entities, declared once: fetching, staging, validating and diffing loop over this.

Each column says where its value sits in Clever's JSON and how to read it; staging.py turns
these declarations into the DuckDB SQL that flattens a whole page at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "list", "date"]


@dataclass(frozen=True)
class Column:
    name: str
    paths: tuple[str, ...]  # JSON paths in the record; the first one present wins
    kind: Kind = "text"
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def sql_type(self) -> str:
        return "VARCHAR[]" if self.kind == "list" else "VARCHAR"


def col(name: str, *paths: str, kind: Kind = "text", label: str = "") -> Column:
    return Column(name, paths or (f"$.{name}",), kind, label)


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

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def fields(self) -> tuple[Column, ...]:
        """Columns compared by the diff: everything but the key."""
        return tuple(c for c in self.columns if c.name not in self.key)

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


def _person(role: str, *extra: Column) -> tuple[Column, ...]:
    r = f"$.roles.{role}"
    return (
        col("id"),
        col("sis_id", f"{r}.sis_id", label="SIS id"),
        *extra,
        col("state_id", f"{r}.state_id", label="State id"),
        col("first_name", "$.name.first"),
        col("middle_name", "$.name.middle"),
        col("last_name", "$.name.last"),
        # Clever puts email at the top level; live data repeats it inside the role (§13 #7).
        col("email", "$.email", f"{r}.email"),
        col("district_username", f"{r}.credentials.district_username"),
    )


SCHOOLS = Entity(
    name="schools",
    label="Schools",
    endpoint="/schools",
    key=("id",),
    columns=(
        col("id"),
        col("sis_id", label="SIS id"),
        col("name"),
        col("school_number"),
        col("state_id", label="State id"),
        col("nces_id", label="NCES id"),
        col("low_grade"),
        col("high_grade"),
        col("phone"),
        col("address", "$.location.address"),
        col("city", "$.location.city"),
        col("state", "$.location.state"),
        col("zip", "$.location.zip"),
        col("principal_name", "$.principal.name"),
        col("principal_email", "$.principal.email"),
    ),
    display=("name",),
    school="id",
)

STUDENTS = Entity(
    name="students",
    label="Students",
    endpoint="/users",
    params=(("role", "student"),),
    role="student",
    key=("id",),
    columns=(
        *_person("student", col("student_number", "$.roles.student.student_number")),
        col("grade", "$.roles.student.grade"),
        col("dob", "$.roles.student.dob", label="Date of birth"),
        col("gender", "$.roles.student.gender"),
        col("race", "$.roles.student.race"),
        col("hispanic_ethnicity", "$.roles.student.hispanic_ethnicity"),
        col("ell_status", "$.roles.student.ell_status", label="ELL status"),
        col("graduation_year", "$.roles.student.graduation_year"),
        col("school", "$.roles.student.school", label="Primary school"),
        col("schools", "$.roles.student.schools", kind="list"),
    ),
    display=("first_name", "last_name"),
    school="school",
)

TEACHERS = Entity(
    name="teachers",
    label="Teachers",
    endpoint="/users",
    params=(("role", "teacher"),),
    role="teacher",
    key=("id",),
    columns=(
        *_person("teacher", col("teacher_number", "$.roles.teacher.teacher_number")),
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
        col("id"),
        col("sis_id", label="SIS id"),
        col("name"),
        col("school"),
        col("course"),
        col("term_id", label="Term"),
        col("subject"),
        col("grade"),
        col("period"),
        col("section_number"),
        col("teacher", label="Primary teacher"),
    ),
    display=("name",),
    school="school",
)

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
    columns=(col("id"), col("name"), col("start_date", kind="date"), col("end_date", kind="date")),
    display=("name",),
)

COURSES = Entity(
    name="courses",
    label="Courses",
    endpoint="/courses",
    key=("id",),
    columns=(col("id"), col("name"), col("number")),
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
