"""District Parameters: what "valid" means for a district, and how a merge behaves.

The guide's first step. A sync is refused until they are saved. Their JSON form (command line,
tests) is:

    {"testing_measures": ["student_application"], "distribute_by_class": false,
     "screening_class_rule": {"subjects": [], "course_numbers": [], "name_contains": ""},
     "all_records_processing": true, "archive_threshold_pct": 10, "update_threshold_pct": 75}

Missing keys take these defaults; an unknown key or a bad value is a ParametersError naming it.
The data requirements they imply are data too (`requirements()`): shown to the specialist, sent
to the district as CSV, and enforced by validation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from mgi_roster.entities import SUBJECTS
from mgi_roster.errors import ParametersError
from mgi_roster.problems import item, problem, sentence, setting, shown

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Requirement:
    """One data requirement a district must meet, in words for the district and for the checks."""

    measure: str  # what asks for it: a testing measure, or "Test Distribution by Class"
    entity: str
    field: str
    rule: str  # the check name validation reports under
    description: str


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    help: str
    requirements: tuple[Requirement, ...]


def _req(measure: str, entity: str, field_: str, rule: str, description: str) -> Requirement:
    return Requirement(measure, entity, field_, rule, description)


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        Measure(
            "student_application",
            "Student Application",
            "Students sign in to the MGI student app themselves (recommended). Every active "
            "student then needs a grade and a login identity.",
            (
                _req(
                    "Student Application",
                    "students",
                    "grade",
                    "required_grade",
                    "Every student has a grade.",
                ),
                _req(
                    "Student Application",
                    "students",
                    "district_username|email",
                    "required_login",
                    "Every student has a login identity: a district username or an email.",
                ),
            ),
        ),
        Measure(
            "teacher_administered",
            "Teacher Administered",
            "Teachers run the test for their class from the MGI teacher view. Every section then "
            "needs a primary teacher, and every teacher an email to sign in with.",
            (
                _req(
                    "Teacher Administered",
                    "sections",
                    "teacher",
                    "required_primary_teacher",
                    "Every section has a primary teacher.",
                ),
                _req(
                    "Teacher Administered",
                    "teachers",
                    "email",
                    "required_teacher_email",
                    "Every teacher has an email address.",
                ),
            ),
        ),
        Measure(
            "state_reporting",
            "State Reporting",
            "Results are reported to the state. Every student then needs a state id and a date "
            "of birth.",
            (
                _req(
                    "State Reporting",
                    "students",
                    "state_id",
                    "required_state_id",
                    "Every student has a state id.",
                ),
                _req(
                    "State Reporting",
                    "students",
                    "dob",
                    "required_dob",
                    "Every student has a date of birth.",
                ),
            ),
        ),
    )
}

DISTRIBUTION_REQUIREMENTS = (
    _req(
        "Test Distribution by Class",
        "students",
        "sections",
        "screening_class_coverage",
        "Every active student sits in at least one screening class.",
    ),
    _req(
        "Test Distribution by Class",
        "sections",
        "teacher",
        "screening_class_teacher",
        "Every screening class has a primary teacher.",
    ),
)

HELP = {
    "testing_measures": "Which MGI measures the district administers. Each one adds the data "
    "requirements listed below; validation enforces them as errors.",
    "distribute_by_class": "Assign tests through classes (Screening Class Identification). Every "
    "active student must then sit in a screening class, and every screening class needs a "
    "primary teacher.",
    "screening_class_rule": "Which sections are screening classes: any section whose subject, "
    "course number or name matches.",
    "all_records_processing": "On: a sync is the whole truth; records missing from it are archived "
    "(never deleted) and restored if they return. Off: only additions and updates are merged; "
    "absences are reported, not applied.",
    "archive_threshold_pct": "Hold a sync for confirmation when it would archive more than this "
    "share of any record type (Clever's own safety default is 10 %).",
    "update_threshold_pct": "Hold a sync for confirmation when it would update more than this "
    "share of any record type (Clever's own safety default is 75 %).",
}


def _words(values: tuple[str, ...]) -> tuple[str, ...]:
    """Trimmed, blanks dropped: what a comma-separated text box or a hand-written list gives."""
    return tuple(v.strip() for v in values if v.strip())


def _known_subjects(subjects: tuple[str, ...]) -> tuple[str, ...]:
    for s in subjects:
        if s not in SUBJECTS:
            raise problem(
                f"Unknown subject {s!r} in screening_class_rule.subjects; Clever's subjects are: "
                f"{', '.join(SUBJECTS)}."
            )
    return subjects


Words = Annotated[tuple[StrictStr, ...], AfterValidator(_words)]


class ScreeningClassRule(BaseModel):
    """Which sections are screening classes: any whose subject, course number or name matches.
    Validated as part of Parameters, which says what is wrong in a sentence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subjects: Annotated[Words, AfterValidator(_known_subjects)] = ()
    course_numbers: Words = ()
    name_contains: Annotated[StrictStr, AfterValidator(str.strip)] = ""

    @property
    def is_empty(self) -> bool:
        return not (self.subjects or self.course_numbers or self.name_contains)


def _known_measures(measures: tuple[str, ...]) -> tuple[str, ...]:
    if not measures:
        raise problem(f"testing_measures must name at least one measure: {', '.join(MEASURES)}.")
    for m in measures:
        if m not in MEASURES:
            raise problem(
                f"Unknown testing measure {m!r} in testing_measures; the known ones are "
                f"{', '.join(MEASURES)}."
            )
    return tuple(dict.fromkeys(measures))


# Testing Measures stay one plain field with its own rule: they are about to be redesigned.
MeasureList = Annotated[Words, AfterValidator(_known_measures)]
Percentage = Annotated[float, Field(ge=0, le=100, strict=True)]


class Parameters(BaseModel):
    """A district's parameters. Constructing one with a bad value raises a ParametersError that
    names the setting and what it must be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    testing_measures: MeasureList = ("student_application",)
    distribute_by_class: StrictBool = False
    screening_class_rule: ScreeningClassRule = ScreeningClassRule()
    all_records_processing: StrictBool = True
    archive_threshold_pct: Percentage = 10.0
    update_threshold_pct: Percentage = 75.0

    @model_validator(mode="after")
    def _screening_classes_named(self) -> Parameters:
        if self.distribute_by_class and self.screening_class_rule.is_empty:
            raise problem(
                "distribute_by_class is on but screening_class_rule names no subject, course "
                "number or name: say which sections are screening classes."
            )
        return self

    # Defined last: pydantic applies model validators in the order they are written, each one
    # around those before it, so this one also catches the rule above.
    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[Parameters]
    ) -> Parameters:
        try:
            return handler(data)
        except ValidationError as exc:
            raise ParametersError(sentence(exc, _say)) from None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> Parameters:
        return cls.model_validate(data)

    @classmethod
    def from_json(cls, text: str) -> Parameters:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ParametersError(
                f"The District Parameters are not valid JSON (line {exc.lineno}, column {exc.colno})."
            ) from None
        return cls.from_dict(data)

    def requirements(self) -> list[Requirement]:
        out = [r for key in self.testing_measures for r in MEASURES[key].requirements]
        if self.distribute_by_class:
            out.extend(DISTRIBUTION_REQUIREMENTS)
        return out

    def rules(self) -> set[str]:
        return {r.rule for r in self.requirements()}


# What each setting must be, for pydantic's own errors (a wrong type, out of range).
EXPECTED = {
    "testing_measures": "a list of strings",
    "distribute_by_class": "true or false",
    "screening_class_rule": "an object with subjects, course_numbers and name_contains",
    "screening_class_rule.subjects": "a list of strings",
    "screening_class_rule.course_numbers": "a list of strings",
    "screening_class_rule.name_contains": "a string",
    "all_records_processing": "true or false",
    "archive_threshold_pct": "a number from 0 to 100 (a percentage)",
    "update_threshold_pct": "a number from 0 to 100 (a percentage)",
}


def _say(error: ErrorDetails) -> str:
    name, value = setting(error), error.get("input")
    if error["type"] == "extra_forbidden":
        *parent, key = error["loc"]
        if parent:
            known = ", ".join(sorted(ScreeningClassRule.model_fields))
            return f"Unknown key {key!r} in screening_class_rule; the known ones are {known}."
        known = ", ".join(sorted(Parameters.model_fields))
        return f"Unknown District Parameter {key!r}; the known ones are {known}."
    if name not in EXPECTED:  # the document itself: a list, a number, ...
        return "District Parameters must be a JSON object, like the example in the README."
    position = item(error)
    if position is not None:
        return f"{name} must be {EXPECTED[name]}; item {position} is {shown(value)}."
    return f"{name} must be {EXPECTED[name]}, not {shown(value)}."


# --- persistence ----------------------------------------------------------------------------


def save(
    con: duckdb.DuckDBPyConnection, district_id: str, params: Parameters, by: str | None = None
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO parameters (district_id, body, saved_at, saved_by) VALUES (?, ?, now(), ?)",
        [district_id, params.to_json(), by],
    )


def load(con: duckdb.DuckDBPyConnection, district_id: str) -> Parameters | None:
    row = con.execute("SELECT body FROM parameters WHERE district_id = ?", [district_id]).fetchone()
    return Parameters.from_json(row[0]) if row else None


def require(con: duckdb.DuckDBPyConnection, district_id: str) -> Parameters:
    params = load(con, district_id)
    if params is None:
        raise ParametersError(
            f"District Parameters for district {district_id} are not defined yet. Define them "
            "first (the guide's first step): they decide what valid data means and how a merge "
            "behaves."
        )
    return params
