"""Validation: every finding of a staged run, written to one table (`issues`).

Two layers, one result:

1. Field checks: a pandera `DataFrameModel` per entity (required values, Clever's enums exactly
   as its spec lists them, formats, lengths, control characters), validated lazily over the
   run's staged rows so every failure is collected. pandera reports a bad cell once per failing
   check; those rows are grouped so one bad cell is one issue, under its most severe check.
2. Cross-table checks in DuckDB SQL over the run's staging tables (and the district's current
   roster, for the problems this sync would create), plus the data requirements the District
   Parameters imply. Each is one set-based statement.

Bad data never raises: staging has already turned every value into text (JSON objects become
their JSON text), and every odd value becomes an issue row. Messages name the record and say
what to fix in the SIS (or in Clever's sharing settings, for sharing findings); a value is never
pasted into a message without being truncated and having its control characters made visible.

`CHECKS` lists every check: the Validation page shows it and filters on it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.compute as pc
from pandera.typing import Series

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
from mgi_roster.parameters import (
    DISTRIBUTION_REQUIREMENTS,
    MEASURES,
    SUBJECTS,
    Parameters,
    Requirement,
    ScreeningClassRule,
)
from mgi_roster.roster import sql
from mgi_roster.roster.sql import q
from mgi_roster.roster.sql import staging_table as stg

log = logging.getLogger(__name__)

Severity = Literal["error", "warning"]
Layer = Literal["field", "cross-table", "requirement"]

# --- Clever's enums (clever-api.md §5), exactly as the spec lists them; "" is staged as NULL ---

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


@dataclass(frozen=True)
class EnumSpec:
    values: tuple[str, ...]
    noun: str  # "Clever's <noun>"
    allowed: str  # the values in words, for the message


def _either(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


_GRADE_ENUM = EnumSpec(
    GRADES,
    "grades",
    "InfantToddler, Preschool, PreKindergarten, TransitionalKindergarten, Kindergarten, 1–13, "
    "PostGraduate, Ungraded or Other",
)
ENUMS: dict[str, EnumSpec] = {
    "grade": _GRADE_ENUM,
    "low_grade": _GRADE_ENUM,
    "high_grade": _GRADE_ENUM,
    "subject": EnumSpec(SUBJECTS, "subjects", _either(SUBJECTS)),
    "gender": EnumSpec(GENDERS, "genders", _either(GENDERS)),
    "race": EnumSpec(RACES, "races", _either(RACES)),
    "hispanic_ethnicity": EnumSpec(YES_NO, "values", "Y or N"),
    "ell_status": EnumSpec(YES_NO, "values", "Y or N"),
}

MAX_LENGTH = 255  # Clever suggests 255 characters as a safe cap (clever-api.md §13)
VALUE_CHARS = 200  # the issue's `value` column
SHOWN_CHARS = 60  # a value or a name quoted inside a message
CONTROL = r"[\x00-\x1f\x7f-\x9f]"  # Unicode category Cc
SHOWN_CONTROL = "\ufffd"  # how a control character appears inside a message
NAME_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name",
    "email",
    "district_username",
    "principal_name",
    "principal_email",
)
EMAIL_FIELDS = ("email", "principal_email")
CHUNK_ROWS = 131_072  # staged rows validated at a time (by rowid window)
VALIDATED: tuple[Entity, ...] = (SCHOOLS, TERMS, COURSES, TEACHERS, STUDENTS, SECTIONS)


# --- the check table --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSpec:
    """One check as the Validation page lists it."""

    name: str
    entity: str
    severity: Severity  # the default; `required` is a warning for a few fields (REQUIRED)
    description: str
    layer: Layer


def _specs(
    name: str, entities: str, severity: Severity, description: str, layer: Layer
) -> tuple[CheckSpec, ...]:
    return tuple(CheckSpec(name, e, severity, description, layer) for e in entities.split())


def _requirement_specs() -> tuple[CheckSpec, ...]:
    requirements = [r for m in MEASURES.values() for r in m.requirements]
    requirements += DISTRIBUTION_REQUIREMENTS
    return tuple(
        CheckSpec(r.rule, r.entity, "error", f"{r.measure}: {r.description}", "requirement")
        for r in requirements
    )


CHECKS: tuple[CheckSpec, ...] = (
    *_specs("required", "students", "error", "Clever id, SIS id, first and last name and primary school are present.", "field"),
    *_specs("required", "teachers", "error", "Clever id, first and last name are present (a missing SIS id is a warning).", "field"),
    *_specs("required", "schools", "error", "Clever id and name are present (a missing SIS id is a warning).", "field"),
    *_specs("required", "sections", "error", "Clever id, name and school are present.", "field"),
    *_specs("required", "terms courses", "error", "The Clever id is present.", "field"),
    *_specs("enum", "students", "error", "Grade, gender, race, Hispanic ethnicity and ELL status are values Clever's spec lists.", "field"),
    *_specs("enum", "sections", "error", "Grade and subject are values Clever's spec lists.", "field"),
    *_specs("enum", "schools", "error", "Low and high grade are grades Clever's spec lists.", "field"),
    *_specs("dob_format", "students", "error", "The date of birth is M/D/YYYY, month first.", "field"),
    *_specs("dob_date", "students", "error", "The date of birth is a real calendar date.", "field"),
    *_specs("dob_plausible", "students", "warning", "The date of birth is not in the future nor more than 100 years ago.", "field"),
    *_specs("graduation_year", "students", "warning", "The graduation year has 4 digits.", "field"),
    *_specs("email_format", "students teachers schools", "warning", 'An email has exactly one "@" with text on both sides (Clever does not verify emails).', "field"),
    *_specs("term_dates", "terms", "warning", "Start and end dates are real YYYY-MM-DD dates, the start not after the end.", "field"),
    *_specs("control_characters", "students teachers schools sections terms courses", "warning", "Names, emails and usernames hold no control characters.", "field"),
    *_specs("long_value", "students teachers schools sections terms courses", "warning", "No value is longer than 255 characters (Clever's suggested cap).", "field"),
    *_specs("unique_id", "students teachers schools sections terms courses", "error", "No Clever id appears twice in the sync.", "cross-table"),
    *_specs("duplicate_sis_id", "students teachers", "error", "No SIS id is shared by records with different Clever ids.", "cross-table"),
    *_specs("unknown_school", "students sections", "error", "The (primary) school is among the sync's schools.", "cross-table"),
    *_specs("unknown_school", "teachers", "warning", "The primary school is among the sync's schools.", "cross-table"),
    *_specs("unknown_teacher", "sections", "warning", "The section's teachers are among the sync's teachers.", "cross-table"),
    *_specs("unshared_student", "sections", "warning", "The section's students are shared with the MGI (a sharing finding: check Clever's sharing settings).", "cross-table"),
    *_specs("empty_section", "sections", "warning", "The section has students.", "cross-table"),
    *_specs("student_without_section", "students", "warning", "The student is in at least one section.", "cross-table"),
    *_specs("section_without_teacher", "sections", "warning", "The section has a primary teacher.", "cross-table"),
    *_specs("grade_outside_school_span", "students", "warning", "The student's grade lies within the primary school's low..high grade.", "cross-table"),
    *_specs("unknown_term", "sections", "warning", "The section's term is among the sync's terms (when it has any).", "cross-table"),
    *_specs("unknown_course", "sections", "warning", "The section's course is among the sync's courses (when it has any).", "cross-table"),
    *_specs("loses_only_teacher", "sections", "warning", "The sync does not leave a section that has a teacher in the MGI without one.", "cross-table"),
    *_specs("loses_all_enrollments", "students", "warning", "The sync does not take every enrollment from a student enrolled in the MGI.", "cross-table"),
    *_requirement_specs(),
)  # fmt: skip

CHECK_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c.name for c in CHECKS))
_SEVERITY = {(c.name, c.entity): c.severity for c in CHECKS}
# When several checks fail on one cell, the issue goes under the first: errors, then table order.
_PRIORITY = {
    name: i
    for i, name in enumerate(
        dict.fromkeys(
            [c.name for c in CHECKS if c.severity == "error"]
            + [c.name for c in CHECKS if c.severity == "warning"]
        )
    )
}
# pandera names some of its built-in checks itself.
_PANDERA_NAMES = {"not_nullable": "required", "isin": "enum"}
# Required values whose absence only informs.
_WARN_IF_MISSING = {("teachers", "sis_id"), ("schools", "sis_id")}


# --- layer 1: pandera models ------------------------------------------------------------------


def _text(*, required: bool = False, isin: tuple[str, ...] | None = None) -> object:
    if isin is not None:
        return pa.Field(nullable=not required, isin=list(isin))
    return pa.Field(nullable=not required)


def _only(names: tuple[str, ...]) -> str:
    return "^(" + "|".join(names) + ")$"


# The checks compute on whole columns in Arrow (RE2 regexes, integer arithmetic), whatever string
# dtype pandas gives the frame: pandas' own str.extract and str methods on object columns loop
# in Python, which a district of 1,000,000 students cannot afford.


def _arrow(s: pd.Series) -> arrow.Array:
    values = arrow.array(s, from_pandas=True)
    return values if arrow.types.is_large_string(values.type) else values.cast(arrow.large_string())


def _series(result: arrow.Array, s: pd.Series) -> pd.Series:
    """A boolean Arrow result as the Series pandera expects (NULL passes: missing is not wrong)."""
    return pd.Series(result.fill_null(True).to_numpy(zero_copy_only=False), index=s.index)


def _matches(s: pd.Series, pattern: str) -> pd.Series:
    return _series(pc.match_substring_regex(_arrow(s), pattern), s)


_DOB = r"^(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})/(?P<y>[0-9]{4})$"  # Clever's pattern (§4.6)
_ISO_DATE = r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _dates(s: pd.Series, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(matches the pattern, yyyymmdd as an integer or -1 when not a real calendar date).

    Any year from 1 on counts: pandas timestamps would stop at 2262 and call 1/1/1600 unreal."""
    found = pc.extract_regex(_arrow(s), pattern)
    y, m, d = (
        pc.cast(pc.struct_field(found, name), arrow.int64()).fill_null(-1).to_numpy()
        for name in ("y", "m", "d")
    )
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_ok = (m >= 1) & (m <= 12)
    days = _DAYS_IN_MONTH[np.where(month_ok, m, 0)] + ((m == 2) & leap)
    real = (y >= 1) & month_ok & (d >= 1) & (d <= days)
    return y >= 0, np.where(real, y * 10_000 + m * 100 + d, -1)


class _Record(pa.DataFrameModel):
    """What every entity shares; the subclasses declare their columns (the entity's text
    columns, exactly: `strict` makes a change to the entity specs reach the model).

    The shared checks' methods carry the check's own name: through two levels of inheritance
    pandera names a check after its method, not after `name=`."""

    class Config:
        strict = True
        coerce = True  # all-NULL columns arrive as object dtype

    @pa.check(".*", regex=True, name="long_value")
    def long_value(cls, s: Series[str]) -> Series[bool]:
        return _series(pc.less_equal(pc.utf8_length(_arrow(s)), MAX_LENGTH), s)

    @pa.check(_only(NAME_FIELDS), regex=True, name="control_characters")
    def control_characters(cls, s: Series[str]) -> Series[bool]:
        return ~_matches(s, CONTROL)

    @pa.check(_only(EMAIL_FIELDS), regex=True, name="email_format")
    def email_format(cls, s: Series[str]) -> Series[bool]:
        return _matches(s, r"^[^@]+@[^@]+$")


class SchoolModel(_Record):
    id: Series[str] = _text(required=True)
    sis_id: Series[str] = _text(required=True)  # a warning: _WARN_IF_MISSING
    name: Series[str] = _text(required=True)
    school_number: Series[str] = _text()
    state_id: Series[str] = _text()
    nces_id: Series[str] = _text()
    low_grade: Series[str] = _text(isin=GRADES)
    high_grade: Series[str] = _text(isin=GRADES)
    phone: Series[str] = _text()
    address: Series[str] = _text()
    city: Series[str] = _text()
    state: Series[str] = _text()
    zip: Series[str] = _text()
    principal_name: Series[str] = _text()
    principal_email: Series[str] = _text()


class _PersonModel(_Record):
    id: Series[str] = _text(required=True)
    state_id: Series[str] = _text()
    first_name: Series[str] = _text(required=True)
    middle_name: Series[str] = _text()
    last_name: Series[str] = _text(required=True)
    email: Series[str] = _text()
    district_username: Series[str] = _text()
    school: Series[str] = _text()


class StudentModel(_PersonModel):
    sis_id: Series[str] = _text(required=True)
    student_number: Series[str] = _text()
    grade: Series[str] = _text(isin=GRADES)
    dob: Series[str] = _text()
    gender: Series[str] = _text(isin=GENDERS)
    race: Series[str] = _text(isin=RACES)
    hispanic_ethnicity: Series[str] = _text(isin=YES_NO)
    ell_status: Series[str] = _text(isin=YES_NO)
    graduation_year: Series[str] = _text()
    school: Series[str] = _text(required=True)

    @pa.check("dob", name="dob_format")
    def _dob_format(cls, s: Series[str]) -> Series[bool]:
        return _matches(s, _DOB)

    @pa.check("dob", name="dob_date")
    def _dob_date(cls, s: Series[str]) -> Series[bool]:
        matched, born = _dates(s, _DOB)
        return pd.Series(~matched | (born > 0), index=s.index)  # the format is dob_format's

    @pa.check("dob", name="dob_plausible")
    def _dob_plausible(cls, s: Series[str]) -> Series[bool]:
        _, born = _dates(s, _DOB)
        today = date.today()
        now = today.year * 10_000 + today.month * 100 + today.day
        plausible = (born >= now - 100 * 10_000) & (born <= now)
        return pd.Series((born < 0) | plausible, index=s.index)  # unreal dates: dob_date's

    @pa.check("graduation_year", name="graduation_year")
    def _graduation_year(cls, s: Series[str]) -> Series[bool]:
        return _matches(s, r"^[0-9]{4}$")


class TeacherModel(_PersonModel):
    sis_id: Series[str] = _text(required=True)  # a warning: _WARN_IF_MISSING
    teacher_number: Series[str] = _text()
    title: Series[str] = _text()


class SectionModel(_Record):
    id: Series[str] = _text(required=True)
    sis_id: Series[str] = _text()
    name: Series[str] = _text(required=True)
    school: Series[str] = _text(required=True)
    course: Series[str] = _text()
    term_id: Series[str] = _text()
    subject: Series[str] = _text(isin=SUBJECTS)
    grade: Series[str] = _text(isin=GRADES)
    period: Series[str] = _text()
    section_number: Series[str] = _text()
    teacher: Series[str] = _text()


class TermModel(_Record):
    id: Series[str] = _text(required=True)
    name: Series[str] = _text()
    start_date: Series[str] = _text()
    end_date: Series[str] = _text()

    @pa.check("start_date", "end_date", name="term_dates")
    def _term_dates(cls, s: Series[str]) -> Series[bool]:
        # Staging already cut full timestamps down to the date (entities.py).
        _, day = _dates(s, _ISO_DATE)
        return pd.Series(day > 0, index=s.index)


class CourseModel(_Record):
    id: Series[str] = _text(required=True)
    name: Series[str] = _text()
    number: Series[str] = _text()


MODELS: dict[str, type[_Record]] = {
    "schools": SchoolModel,
    "students": StudentModel,
    "teachers": TeacherModel,
    "sections": SectionModel,
    "terms": TermModel,
    "courses": CourseModel,
}
SCHEMAS = {name: model.to_schema() for name, model in MODELS.items()}
REQUIRED: dict[tuple[str, str], Severity] = {
    (entity, column): "warning" if (entity, column) in _WARN_IF_MISSING else "error"
    for entity, schema in SCHEMAS.items()
    for column, spec in schema.columns.items()
    if not spec.nullable
}


# --- SQL pieces shared by both layers ---------------------------------------------------------


def _clip(expr: str, n: int) -> str:
    return f"(CASE WHEN length({expr}) > {n} THEN left({expr}, {n}) || '…' ELSE {expr} END)"


def _visible(expr: str) -> str:
    return f"regexp_replace({expr}, '{CONTROL}', '{SHOWN_CONTROL}', 'g')"


def _plain(expr: str, n: int = SHOWN_CHARS) -> str:
    """A value as a message may show it: control characters visible, truncated."""
    return _clip(_visible(expr), n)


def _shown(expr: str, n: int = SHOWN_CHARS) -> str:
    """A value as a message quotes it: plain, in quotes."""
    return f"""('"' || {_plain(expr, n)} || '"')"""


def _sql(text: str) -> str:
    """A constant as a SQL string literal (message wording, never user data)."""
    return "'" + text.replace("'", "''") + "'"


def _word(entity: Entity) -> str:
    return entity.label[:-1]  # "Students" -> "Student"


def _with_meta(entity: Entity, where: str = "", *, one_per_id: bool = False) -> str:
    """Some of the run's staged rows of an entity with the columns an issue carries: `_label`
    (how a message names the record: 'Student Zoë García-López (SIS id 100234)'), `_name`,
    `_school`, `_sis`, and `_rowid`. Asked for the findings' rows only, so a district of
    1,000,000 clean students costs nothing here; built in layers so each value is cleaned once."""
    sis = "sis_id" if "sis_id" in entity.column_names else "NULL::VARCHAR"
    dedupe = " QUALIFY row_number() OVER (PARTITION BY id) = 1" if one_per_id else ""
    name = f"NULLIF(trim({entity.display_sql()}), '')"
    cleaned = (
        f"SELECT *, rowid AS _rowid, {_visible(name)} AS _n0, {_visible(sis)} AS _s0, "
        f"{_visible('id')} AS _i0, {entity.display_sql()} AS _d0, {entity.school_sql()} AS _c0 "
        f"FROM {stg(entity)} WHERE run_id = $run {where}{dedupe}"
    )
    clipped = (
        f"SELECT *, {_clip('_n0', SHOWN_CHARS)} AS _n1, {_clip('_s0', 40)} AS _s1, "
        f"{_clip('_i0', 40)} AS _i1 FROM ({cleaned})"
    )
    word = _word(entity)
    label = f"""CASE
        WHEN _n1 IS NOT NULL AND _s1 IS NOT NULL THEN '{word} ' || _n1 || ' (SIS id ' || _s1 || ')'
        WHEN _n1 IS NOT NULL AND _i1 IS NOT NULL THEN '{word} ' || _n1 || ' (Clever id ' || _i1 || ')'
        WHEN _n1 IS NOT NULL THEN '{word} ' || _n1 || ' (no Clever id)'
        WHEN _s1 IS NOT NULL THEN '{word} with SIS id ' || _s1
        WHEN _i1 IS NOT NULL THEN '{word} with Clever id ' || _i1
        ELSE '{word} without a Clever id' END"""
    return (
        "(SELECT * EXCLUDE (_n0, _s0, _i0, _d0, _c0, _n1, _s1, _i1), "
        f"{label} AS _label, {_clip('_d0', VALUE_CHARS)} AS _name, "
        f"{_clip('_c0', VALUE_CHARS)} AS _school, {_clip(sis, VALUE_CHARS)} AS _sis FROM ({clipped}))"
    )


ISSUE_COLUMNS = (
    "run_id",
    "district_id",
    "entity",
    "record_id",
    "field",
    "check",
    "severity",
    "value",
    "message",
    "school",
    "record_name",
    "sis_id",
)
_INSERT = "INSERT INTO issues (" + ", ".join(q(c) for c in ISSUE_COLUMNS) + ") "


def _bind(sql: str, values: dict[str, object]) -> dict[str, object]:
    """Only the parameters a statement names: DuckDB refuses extra ones."""
    used = set(re.findall(r"\$(\w+)", sql))
    return {k: v for k, v in values.items() if k in used}


# --- layer 1: run the models and turn failures into issues ------------------------------------


def _field_title(entity: Entity, field: str) -> str:
    if field == "id":
        return "Clever id"
    title = entity.column(field).title
    return title[0].lower() + title[1:] if title[1:2].islower() else title


_FIELD_MESSAGES = {
    "required": "{field} is missing. Add the {field} in the SIS.",
    "enum": "{field} {value} is not one of Clever's {noun}. Fix the {field} in the SIS ({allowed}).",
    "dob_format": "date of birth {value} is not in Clever's M/D/YYYY format (month first, for "
    "example 2/11/2007). Fix the date of birth in the SIS.",
    "dob_date": "date of birth {value} is not a real calendar date. Fix the date of birth in the SIS.",
    "dob_plausible": "date of birth {value} is in the future or more than 100 years ago. Check "
    "the date of birth in the SIS.",
    "graduation_year": "graduation year {value} is not a 4-digit year. Fix the graduation year "
    "in the SIS.",
    "email_format": '{field} {value} is not an email address (it needs exactly one "@" with text '
    "on both sides). Fix the {field} in the SIS.",
    "term_dates": "{field} {value} is not a real date in the form YYYY-MM-DD. Fix the term's "
    "dates in the SIS.",
    "long_value": "{field} is {length} characters long ({value}); Clever suggests at most 255. "
    "Shorten it in the SIS.",
    "control_characters": "{field} {value} contains control characters (invisible characters "
    f"such as tabs or line breaks, shown as {SHOWN_CONTROL}). Remove them in the SIS.",
}
_MISSING_ID = (
    "Clever id is missing. Clever sends one with every record: re-run the sync, and contact "
    "Clever support if it stays."
)


def _text_of(values: pd.Series) -> pd.Series:
    return values.astype("str")


def _shown_series(values: pd.Series) -> pd.Series:
    text = _text_of(values).str.replace(CONTROL, SHOWN_CONTROL, regex=True)
    text = text.where(text.str.len() <= SHOWN_CHARS, text.str.slice(0, SHOWN_CHARS) + "…")
    return '"' + text + '"'


def _clip_series(values: pd.Series, n: int) -> pd.Series:
    text = _text_of(values)
    text = text.where(text.str.len() <= n, text.str.slice(0, n) + "…")
    return text.astype(object).where(values.notna(), None)  # None: NULL whatever the dtype


def _render(template: str, constants: dict[str, str], columns: dict[str, pd.Series]) -> pd.Series:
    """Fill a message template whole columns at a time: per-row placeholders take a Series."""
    out = columns["label"] + ": "
    for piece in re.split(r"(\{\w+\})", template):
        key = piece[1:-1] if piece.startswith("{") and piece.endswith("}") else None
        if key in columns:
            out = out + columns[key]
        elif key is not None:
            out = out + constants[key]
        elif piece:
            out = out + piece
    return out


def _messages(entity: Entity, found: pd.DataFrame) -> pd.Series:
    """One message per failure, rendered per (check, field) group: a few dozen groups at most."""
    out = pd.Series("", index=found.index, dtype=object)
    for (check, field), rows in found.groupby(["check", "field"], sort=False):
        check, field = str(check), str(field)
        constants = {"field": _field_title(entity, field)}
        if check == "enum":
            constants |= {"noun": ENUMS[field].noun, "allowed": ENUMS[field].allowed}
        template = _MISSING_ID if (check, field) == ("required", "id") else _FIELD_MESSAGES[check]
        raw = rows["value"]
        columns = {
            "label": rows["_label"].fillna(_word(entity)),
            "value": _shown_series(raw) if check != "required" else raw,
            "length": _text_of(raw).str.len().astype("str"),
        }
        out.loc[rows.index] = _render(template, constants, columns)
    return out


def _chunk_failures(entity: Entity, chunk: pd.DataFrame, covered: set[str]) -> pd.DataFrame:
    """One row per bad cell of one chunk of staged rows: _rowid, field, check, severity, value."""
    schema = SCHEMAS[entity.name]
    try:
        schema.validate(chunk[list(schema.columns)], lazy=True, inplace=True)
        return pd.DataFrame()
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cell = cases["index"].notna()
    if not cell.all():  # a schema-level failure: the model and the entity specs disagree
        log.error("pandera schema failure for %s: %s", entity.name, cases[~cell].to_dict("records"))
    cases = cases[cell]
    # "isin(['InfantToddler', ...])" -> "isin" -> "enum"; few distinct names, so map once each
    names = {c: _PANDERA_NAMES.get(c.split("(")[0], c) for c in cases["check"].unique()}
    found = pd.DataFrame(
        {
            "_rowid": chunk["_rowid"].to_numpy()[cases["index"].astype("int64").to_numpy()],
            "field": cases["column"].astype("str").to_numpy(),
            "check": cases["check"].map(names).to_numpy(),
            "value": cases["failure_case"].to_numpy(),
        }
    )
    required = found["check"] == "required"
    # A requirement of the District Parameters on the same field reports the missing value.
    found = found[~(required & found["field"].isin(covered))]
    required = found["check"] == "required"
    by_check = {check: sev for (check, name), sev in _SEVERITY.items() if name == entity.name}
    by_field = {field: sev for (name, field), sev in REQUIRED.items() if name == entity.name}
    severity = found["check"].map(by_check).where(~required, found["field"].map(by_field))
    rank = (severity == "warning") * 1000 + found["check"].map(_PRIORITY)
    # One bad cell, one issue: the most severe of the checks it fails.
    found = found.assign(severity=severity, _rank=rank)
    found = found.sort_values(["_rowid", "field", "_rank"]).drop_duplicates(["_rowid", "field"])
    return found.drop(columns="_rank")


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own `str` dtype, backed by Arrow


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> pd.DataFrame:
    """A query's rows as a DataFrame whose text columns stay in Arrow: the same `str` dtype
    `.df()` gives, without turning a million strings into Python objects and back (the checks
    compute in Arrow)."""
    table = con.sql(sql, params=params).to_arrow_table()

    def text(kind: arrow.DataType) -> pd.StringDtype | None:
        return _STR if arrow.types.is_string(kind) or arrow.types.is_large_string(kind) else None

    return table.to_pandas(types_mapper=text)


def _field_issues(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, entity: Entity, covered: set[str]
) -> None:
    """Validate the entity's staged rows a window of rows at a time (memory stays bounded
    however many rows or failures there are) and write each window's issues in one INSERT; the
    names messages need are read for the failing rows only."""
    columns = ", ".join(q(c) for c in SCHEMAS[entity.name].columns)
    [(first, last)] = con.execute(  # fetchall: DuckDB 2 wants a result finished before con.sql
        f"SELECT min(rowid), max(rowid) FROM {stg(entity)} WHERE run_id = $run", {"run": run_id}
    ).fetchall()
    if first is None:
        return
    window = "run_id = $run AND rowid >= $lo AND rowid < $hi"
    for lo in range(first, last + 1, CHUNK_ROWS):
        bounds = {"run": run_id, "lo": lo, "hi": lo + CHUNK_ROWS}
        chunk = _frame(
            con, f"SELECT rowid AS _rowid, {columns} FROM {stg(entity)} WHERE {window}", bounds
        )
        found = _chunk_failures(entity, chunk, covered)
        if found.empty:
            continue
        meta = con.execute(
            "SELECT _rowid, id AS _record_id, _label, _name, _school, _sis FROM "
            + _with_meta(
                entity, "AND rowid >= $lo AND rowid < $hi AND rowid IN (SELECT unnest($rowids))"
            ),
            bounds | {"rowids": found["_rowid"].unique().tolist()},
        ).df()
        found = found.merge(meta, on="_rowid", how="left")
        issues = pd.DataFrame(
            {
                "run_id": run_id,
                "district_id": district_id,
                "entity": entity.name,
                "record_id": found["_record_id"],
                "field": found["field"],
                "check": found["check"],
                "severity": found["severity"],
                "value": _clip_series(found["value"], VALUE_CHARS),
                "message": _messages(entity, found),
                "school": found["_school"],
                "record_name": found["_name"],
                "sis_id": found["_sis"],
            }
        )
        con.from_df(issues[list(ISSUE_COLUMNS)]).insert_into("issues")


# --- layer 2: cross-table checks in SQL -------------------------------------------------------
#
# Each check is a SELECT of findings over the raw staging rows (record_id, field, check_name,
# severity, value, tail: the message after the record's name); `_insert` then names the flagged
# records only and writes the rows in one INSERT.


def _records(entity: Entity) -> str:
    """The run's rows of an entity, one per Clever id (a second copy is unique_id's finding).

    The duplicated ids are found once per validation (`_find_duplicates`); deduplicating with
    a window in each of the checks that read an entity cost a sort of its rows every time.
    """
    return (
        f"(SELECT * FROM {stg(entity)} s WHERE run_id = $run AND id IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {_duplicates(entity)} d WHERE d.id = s.id AND d.keep <> s.rowid))"
    )


def _duplicates(entity: Entity) -> str:
    return f"duplicated_{entity.name}"


def _find_duplicates(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Per entity, the Clever ids staged twice and the one row of each that checks read."""
    for entity in VALIDATED:
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {_duplicates(entity)} AS
                SELECT id, min(rowid) AS keep FROM {stg(entity)} WHERE run_id = $run AND id IS NOT NULL
                GROUP BY id HAVING count(*) > 1""",
            {"run": run_id},
        )


def _current(entity: Entity) -> str:
    """The district's roster as the MGI holds it now."""
    return sql.current(entity, live=True)


def _finding(
    entity: Entity,
    check: str,
    *,
    field: str,
    value: str,
    message: str,
    check_sql: str | None = None,
    severity_sql: str | None = None,
    alias: str = "r",
) -> str:
    """The select list of one finding under `check`. `field`, `value` and `message` (the SQL
    arguments of concat()) are SQL; a statement reporting under several checks gives
    `check_sql` and `severity_sql` too."""
    check_sql = check_sql or _sql(check)
    severity_sql = severity_sql or _sql(_SEVERITY[(check, entity.name)])
    return (
        f"SELECT {alias}.id AS record_id, {field} AS field, {check_sql} AS check_name, "
        f"{severity_sql} AS severity, {value} AS value, concat({message}) AS tail"
    )


def _insert(entity: Entity, findings: str) -> str:
    """Write the findings of one check, each named by its record's label."""
    meta = _with_meta(entity, "AND id IN (SELECT record_id FROM found)", one_per_id=True)
    return (
        f"{_INSERT} WITH found AS MATERIALIZED ({findings}) "
        f"SELECT $run, $district, '{entity.name}', f.record_id, f.field, f.check_name, f.severity, "
        f"{_clip('f.value', VALUE_CHARS)}, concat(coalesce(m._label, '{_word(entity)}'), ': ', f.tail), "
        f"m._school, m._name, m._sis FROM found f LEFT JOIN {meta} m ON m.id = f.record_id"
    )


def _unique_id(entity: Entity) -> str:
    # Each copy keeps its own name, so the label is read per staged row, not per id.
    duplicated = f"AND id IN (SELECT id FROM {stg(entity)} WHERE run_id = $run GROUP BY id HAVING count(*) > 1)"
    return (
        f"{_INSERT} SELECT $run, $district, '{entity.name}', id, 'id', 'unique_id', 'error', "
        f"{_clip('id', VALUE_CHARS)}, concat(_label, ': its Clever id ', {_shown('id')}, ' appears ', "
        "count(*) OVER (PARTITION BY id), "
        + _sql(
            " times in this sync; a Clever id must be unique. Look for the record entered twice "
            "in the SIS and re-run the sync; contact Clever support if it stays."
        )
        + f"), _school, _name, _sis FROM {_with_meta(entity, duplicated)}"
    )


def _duplicate_sis_id(entity: Entity) -> str:
    word = _word(entity).lower()
    name = _plain(f"NULLIF(trim({entity.display_sql()}), '')")
    who = f"concat(coalesce({name} || ' ', ''), '(Clever id ', {_plain('id', 40)}, ')')"
    # Name at most five of the others, so a sis_id shared by thousands stays linear.
    findings = _finding(
        entity,
        "duplicate_sis_id",
        field="'sis_id'",
        value="r.sis_id",
        message="'SIS id ', "
        + _shown("r.sis_id")
        + ", ' is also used by ', array_to_string(list_transform(list_filter(g.firsts, "
        "lambda m: m.id <> r.id)[1:5], lambda m: m.who), '; '), "
        "CASE WHEN g.n - 1 > 5 THEN concat(' and ', g.n - 6, ' more') END, "
        + _sql(f". Each {word} needs its own SIS id: fix the duplicate in the SIS."),
    )
    return f"""{findings} FROM (
        SELECT * FROM {_records(entity)} WHERE sis_id IN (
            SELECT sis_id FROM {_records(entity)} GROUP BY sis_id HAVING count(*) > 1)) r
        JOIN (SELECT sis_id, count(*) AS n, list({{'id': id, 'who': {who}}} ORDER BY id)[1:6] AS firsts
              FROM {_records(entity)} WHERE sis_id IN (
                SELECT sis_id FROM {_records(entity)} GROUP BY sis_id HAVING count(*) > 1)
              GROUP BY sis_id) g ON g.sis_id = r.sis_id"""


def _unknown_school(entity: Entity) -> str:
    what, whose = {
        "students": ("primary school", "the student's primary school"),
        "teachers": ("primary school", "the teacher's primary school"),
        "sections": ("school", "the section's school"),
    }[entity.name]
    return _finding(
        entity,
        "unknown_school",
        field="'school'",
        value="r.school",
        message=f"'{what} ', "
        + _shown("r.school")
        + ", "
        + _sql(
            f" is not among the schools this sync returned. Fix {whose} in the SIS, or share "
            "that school with the MGI in Clever's sharing settings."
        ),
    ) + (
        f" FROM {_records(entity)} r WHERE r.school IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {stg(SCHOOLS)} s WHERE s.run_id = $run AND s.id = r.school)"
    )


def _unknown_teacher() -> str:
    teachers = f"""(SELECT section_id, user_id FROM {stg(ENROLLMENTS)} WHERE run_id = $run AND role = 'teacher'
        UNION SELECT id, teacher FROM {stg(SECTIONS)} WHERE run_id = $run AND teacher IS NOT NULL)"""
    return _finding(
        SECTIONS,
        "unknown_teacher",
        field="CASE WHEN t.user_id = r.teacher THEN 'teacher' ELSE 'teachers' END",
        value="t.user_id",
        message="CASE WHEN t.user_id = r.teacher THEN 'primary teacher ' ELSE 'teacher ' END, "
        + _shown("t.user_id")
        + ", "
        + _sql(
            " is not among the teachers this sync returned. Fix the section's teachers in the "
            "SIS, or share the teacher with the MGI in Clever's sharing settings."
        ),
    ) + (
        f" FROM {_records(SECTIONS)} r JOIN {teachers} t ON t.section_id = r.id WHERE NOT EXISTS "
        f"(SELECT 1 FROM {stg(TEACHERS)} x WHERE x.run_id = $run AND x.id = t.user_id)"
    )


def _unshared_student() -> str:
    return _finding(
        SECTIONS,
        "unshared_student",
        field="'students'",
        value="e.user_id",
        message="'it names student ', "
        + _shown("e.user_id")
        + ", "
        + _sql(
            ", whom this sync did not return: Clever does not share that student with the MGI. "
            "Check the district's sharing settings in Clever (share the student's school or "
            "section), or remove the student from the section in the SIS if they have left."
        ),
    ) + (
        f" FROM {_records(SECTIONS)} r JOIN (SELECT DISTINCT section_id, user_id FROM {stg(ENROLLMENTS)} "
        "WHERE run_id = $run AND role = 'student') e ON e.section_id = r.id WHERE NOT EXISTS "
        f"(SELECT 1 FROM {stg(STUDENTS)} s WHERE s.run_id = $run AND s.id = e.user_id)"
    )


def _empty_section() -> str:
    return _finding(
        SECTIONS,
        "empty_section",
        field="'students'",
        value="NULL",
        message=_sql(
            "the section has no students. Enroll its students in the SIS, or end the section "
            "there if it is not taught."
        ),
    ) + (
        f" FROM {_records(SECTIONS)} r WHERE NOT EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e "
        "WHERE e.run_id = $run AND e.role = 'student' AND e.section_id = r.id)"
    )


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


def _rule_words(rule: ScreeningClassRule) -> str:
    parts = []
    if rule.subjects:
        parts.append("subject " + _either(rule.subjects))
    if rule.course_numbers:
        parts.append("course number " + _either(rule.course_numbers))
    if rule.name_contains:
        parts.append(f'a name containing "{rule.name_contains[:SHOWN_CHARS]}"')
    words = "screening classes are sections with " + ("; or ".join(parts) or "nothing")
    return words if len(words) <= 200 else words[:200] + "…"


def _students_without_sections(params: Parameters) -> str:
    """Students in no section (or, with Test Distribution by Class, in no screening class): one
    row per student, under the most telling check (coverage error > loses > without)."""
    coverage = "screening_class_coverage" in params.rules()
    screened = (
        f"""EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e JOIN {stg(SECTIONS)} x ON x.run_id = $run AND x.id = e.section_id
             WHERE e.run_id = $run AND e.role = 'student' AND e.user_id = s.id AND {_screening_sql(params.screening_class_rule, "x")})"""
        if coverage
        else "true"
    )
    loss = _sql(" This sync would also remove all of the student's current enrollments in the MGI.")
    message = f"""CASE
        WHEN NOT r._screened AND r._any THEN concat('the student is in no screening class (', $rule_words, '). Enroll the student in a screening class in the SIS.')
        WHEN NOT r._screened THEN concat('the student is in no section, so in no screening class (', $rule_words, '). Enroll the student in a screening class in the SIS.', CASE WHEN r._had THEN {loss} END)
        WHEN r._had THEN {_sql("the student is enrolled in sections in the MGI now but in none in this sync, so this sync would remove all of the student's enrollments. Check the student's schedule in the SIS.")}
        ELSE {_sql("the student is in no section. Enroll the student in their classes in the SIS.")} END"""
    return _finding(
        STUDENTS,
        "student_without_section",
        field="'sections'",
        value="NULL",
        message=message,
        check_sql="""CASE WHEN NOT r._screened THEN 'screening_class_coverage'
            WHEN r._had THEN 'loses_all_enrollments' ELSE 'student_without_section' END""",
        severity_sql="CASE WHEN NOT r._screened THEN 'error' ELSE 'warning' END",
    ) + (
        f""" FROM (SELECT *, {screened} AS _screened,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'student' AND e.user_id = s.id) AS _any,
              EXISTS (SELECT 1 FROM {_current(ENROLLMENTS)} e WHERE e.role = 'student' AND e.user_id = s.id) AS _had
            FROM {_records(STUDENTS)} s) r
            WHERE NOT r._any OR NOT r._screened"""
    )


def _sections_without_teacher(params: Parameters) -> str:
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
    loss = _sql(" This sync would also remove the section's only teacher in the MGI.")
    message = f"""CASE
        WHEN {required} THEN concat({_sql("the section has no primary teacher, and Teacher Administered tests need one. Set the primary teacher in the SIS.")}, CASE WHEN {loses} THEN {loss} END)
        WHEN r._screening THEN concat({_sql("the section is a screening class but has no primary teacher. Set the primary teacher in the SIS.")}, CASE WHEN {loses} THEN {loss} END)
        WHEN {loses} THEN {_sql("the section has a teacher in the MGI now but none in this sync, so this sync would leave it without a teacher. Set the section's teacher in the SIS.")}
        WHEN r._any THEN {_sql("the section has no primary teacher (it lists teachers, but none as primary). Set the primary teacher in the SIS.")}
        ELSE {_sql("the section has no primary teacher. Set the primary teacher in the SIS.")} END"""
    return _finding(
        SECTIONS,
        "section_without_teacher",
        field="'teacher'",
        value="NULL",
        message=message,
        check_sql=f"""CASE WHEN {required} THEN 'required_primary_teacher'
            WHEN r._screening THEN 'screening_class_teacher'
            WHEN {loses} THEN 'loses_only_teacher' ELSE 'section_without_teacher' END""",
        severity_sql=f"CASE WHEN {required} OR r._screening THEN 'error' ELSE 'warning' END",
    ) + (
        f""" FROM (SELECT *, {screening} AS _screening,
              EXISTS (SELECT 1 FROM {stg(ENROLLMENTS)} e WHERE e.run_id = $run AND e.role = 'teacher' AND e.section_id = s.id) AS _any,
              (EXISTS (SELECT 1 FROM {_current(SECTIONS)} c WHERE c.id = s.id AND c.teacher IS NOT NULL)
               OR EXISTS (SELECT 1 FROM {_current(ENROLLMENTS)} e WHERE e.role = 'teacher' AND e.section_id = s.id)) AS _had
            FROM {_records(SECTIONS)} s WHERE s.teacher IS NULL) r"""
    )


def _grade_outside_school_span() -> str:
    def pos(expr: str) -> str:
        return f"list_position($grade_order, {expr})"

    return _finding(
        STUDENTS,
        "grade_outside_school_span",
        field="'grade'",
        value="r.grade",
        message="'grade ', "
        + _shown("r.grade")
        + ", ' is outside the grades of the student''s school ', "
        + _plain("s.name")
        + f", ' (', CASE WHEN {pos('s.low_grade')} IS NULL THEN '…' ELSE s.low_grade END, '–', "
        + f"CASE WHEN {pos('s.high_grade')} IS NULL THEN '…' ELSE s.high_grade END, ')', "
        + _sql(
            ". Fix the student's grade or primary school in the SIS, or the school's low and "
            "high grade."
        ),
    ) + (
        f""" FROM {_records(STUDENTS)} r JOIN {_records(SCHOOLS)} s ON s.id = r.school
            WHERE {pos("r.grade")} IS NOT NULL
              AND (({pos("s.low_grade")} IS NOT NULL AND {pos("r.grade")} < {pos("s.low_grade")})
                OR ({pos("s.high_grade")} IS NOT NULL AND {pos("r.grade")} > {pos("s.high_grade")}))"""
    )


def _unknown_reference(check: str, column: str, target: Entity, word: str) -> str:
    return _finding(
        SECTIONS,
        check,
        field=f"'{column}'",
        value=f"r.{column}",
        message=f"'{word} ', "
        + _shown(f"r.{column}")
        + ", "
        + _sql(
            f" is not among the {target.name} this sync returned. Fix the section's {word} in "
            "the SIS."
        ),
    ) + (
        f" FROM {_records(SECTIONS)} r WHERE r.{column} IS NOT NULL"
        # Many districts send no terms (or courses) at all: then there is nothing to compare.
        f" AND EXISTS (SELECT 1 FROM {stg(target)} WHERE run_id = $run)"
        f" AND NOT EXISTS (SELECT 1 FROM {stg(target)} t WHERE t.run_id = $run AND t.id = r.{column})"
    )


def _term_order() -> str:
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
        message="'it starts on ', r.start_date, ', after it ends (', r.end_date, ')', "
        + _sql(". Fix the term's dates in the SIS."),
    ) + (
        f" FROM {_records(TERMS)} r WHERE {real('r.start_date')} AND {real('r.end_date')} "
        "AND r.start_date > r.end_date"
    )


# Requirements met by a value being present: rule -> what the message says needs it.
_MISSING_VALUE_RULES = {
    "required_grade": "Student Application needs every student's grade",
    "required_state_id": "State Reporting needs every student's state id",
    "required_dob": "State Reporting needs every student's date of birth",
    "required_teacher_email": "Teacher Administered tests need every teacher's email to sign in",
}


def _missing_value(requirement: Requirement) -> tuple[Entity, str]:
    entity = {"students": STUDENTS, "teachers": TEACHERS}[requirement.entity]
    field = requirement.field
    title = _field_title(entity, field)
    return entity, _finding(
        entity,
        requirement.rule,
        field=_sql(field),
        value="NULL",
        message=_sql(
            f"{title} is missing, and {_MISSING_VALUE_RULES[requirement.rule]}. Add the "
            f"{title} in the SIS."
        ),
    ) + f" FROM {_records(entity)} r WHERE r.{q(field)} IS NULL"


def _required_login(requirement: Requirement) -> tuple[Entity, str]:
    return STUDENTS, _finding(
        STUDENTS,
        requirement.rule,
        field=_sql(requirement.field),
        value="NULL",
        message=_sql(
            "the student has neither a district username nor an email, and Student Application "
            "needs one for the student to sign in. Add a district username or an email in the SIS."
        ),
    ) + f" FROM {_records(STUDENTS)} r WHERE r.district_username IS NULL AND r.email IS NULL"


def _statements(params: Parameters) -> list[str]:
    """One INSERT per cross-table check (and entity) the parameters ask for."""
    findings: list[tuple[Entity, str]] = [
        *((e, _duplicate_sis_id(e)) for e in (STUDENTS, TEACHERS)),
        *((e, _unknown_school(e)) for e in (STUDENTS, TEACHERS, SECTIONS)),
        (SECTIONS, _unknown_teacher()),
        (SECTIONS, _unshared_student()),
        (SECTIONS, _empty_section()),
        (STUDENTS, _students_without_sections(params)),
        (SECTIONS, _sections_without_teacher(params)),
        (STUDENTS, _grade_outside_school_span()),
        (SECTIONS, _unknown_reference("unknown_term", "term_id", TERMS, "term")),
        (SECTIONS, _unknown_reference("unknown_course", "course", COURSES, "course")),
        (TERMS, _term_order()),
    ]
    for requirement in params.requirements():
        if requirement.rule in _MISSING_VALUE_RULES:
            findings.append(_missing_value(requirement))
        elif requirement.rule == "required_login":
            findings.append(_required_login(requirement))
        # required_primary_teacher and screening_class_*: inside the two checks above that
        # report a section without teacher / a student without section once.
    return [_unique_id(e) for e in VALIDATED] + [_insert(e, sql) for e, sql in findings]


# --- entry point ------------------------------------------------------------------------------


def validate(
    con: duckdb.DuckDBPyConnection, run_id: int, district_id: str, params: Parameters
) -> dict[str, int]:
    """Write every finding of staged run `run_id` to `issues` (replacing the run's earlier
    ones) and return {"error": n, "warning": n}. Runs inside the caller's transaction."""
    con.execute("DELETE FROM issues WHERE run_id = ?", [run_id])
    for entity in VALIDATED:
        # A requirement of the District Parameters on a field reports its missing values.
        covered = {
            r.field
            for r in params.requirements()
            if r.entity == entity.name and r.rule in _MISSING_VALUE_RULES
        }
        _field_issues(con, run_id, district_id, entity, covered)
    rule = params.screening_class_rule
    values: dict[str, object] = {
        "run": run_id,
        "district": district_id,
        "grade_order": list(GRADE_ORDER),
        "subjects": list(rule.subjects),
        "course_numbers": list(rule.course_numbers),
        "name_contains": rule.name_contains,
        "rule_words": _rule_words(rule),
    }
    _find_duplicates(con, run_id)
    for statement in _statements(params):
        con.execute(statement, _bind(statement, values))
    for entity in VALIDATED:
        con.execute(f"DROP TABLE IF EXISTS {_duplicates(entity)}")
    return counts(con, run_id)


def counts(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, int]:
    """{"error": n, "warning": n}: the run's issue rows by severity."""
    rows = con.execute(
        "SELECT severity, count(*) FROM issues WHERE run_id = ? GROUP BY severity", [run_id]
    ).fetchall()
    found = {"error": 0, "warning": 0}
    found.update({severity: int(n) for severity, n in rows})
    return found
