"""District Parameters: who is screened, what "valid" means for a district, and how a merge
behaves.

The guide's first step. A sync is refused until they are saved. Their JSON form (command line,
tests) is:

    {"testing_measures": ["student_application"],
     "screened_grades": ["K", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
     "screened_schools": [],
     "district_requirements": [{"entity": "students", "field": "state_id", "severity": "error"}],
     "distribute_by_class": false,
     "screening_class_rule": {"subjects": [], "course_numbers": [], "name_contains": "",
                              "class_types": [], "periods": [], "grades": [], "terms": []},
     "all_records_processing": true, "archive_threshold_pct": 10, "update_threshold_pct": 75}

Missing keys take these defaults; an unknown key or a bad value is a ParametersError naming it.

Whose rule is whose (shared/reference/mgi.md): the MGI Student Application needs, of each
screened student, a primary school and a grade with a test form (K-9); with Test Distribution by
Class, one current screening class of the student's school, of at most 75 students (a test
plan's size). That is all the MGI is known to need: students test with access codes, not logins.
Everything else a district asks for is a `district_requirements` entry, labelled as the
district's. A file of the earlier version (with the invented measures "teacher_administered" and
"state_reporting") still loads: `upgrade()` turns those measures into district requirements and
says so.

Over 500 lines because each parameter carries its validation, its help text and the
conversion of files saved by earlier versions; the model reads best in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
from mgi_roster.grades import FORMS, UnknownGrade, form
from mgi_roster.problems import item, problem, sentence, setting, shown

if TYPE_CHECKING:
    import duckdb


MGI_SOURCE = "help.mhs.com/?p=2594 (grade forms K-9); help.mhs.com/mgi/create-a-test-plan"
STUDENT_APPLICATION = "student_application"
# Measures an earlier version of this product invented (the MGI has no such measures). A file
# saved with them still loads: each becomes the district requirements it used to add.
WITHDRAWN_MEASURES: dict[str, tuple[tuple[str, str], ...]] = {
    "teacher_administered": (("sections", "teacher"), ("teachers", "email")),
    "state_reporting": (("students", "state_id"), ("students", "dob")),
}
# What a district may require beyond the MGI: entity -> fields (a value must be present).
REQUIRABLE: dict[str, tuple[str, ...]] = {
    "students": (
        "state_id",
        "student_number",
        "dob",
        "gender",
        "email",
        "district_username",
        "race",
        "hispanic_ethnicity",
        "ell_status",
        "graduation_year",
    ),
    "teachers": ("email", "sis_id", "state_id", "teacher_number", "school"),
    "sections": ("teacher", "course", "term_id", "subject", "grade", "period"),
}


@dataclass(frozen=True)
class Requirement:
    """One data requirement, in words for the district and for the checks. `owner` says whose
    rule it is: "MGI" (with its public source) or "district requirement"."""

    measure: str  # what asks for it: the Student Application, Test Distribution by Class, ...
    entity: str
    field: str
    rule: str  # the check name validation reports under
    description: str
    owner: str = "MGI"
    source: str = ""
    severity: str = "error"


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    help: str
    requirements: tuple[Requirement, ...]


MGI, DISTRICT = "MGI", "district requirement"
TEST_PLAN = "help.mhs.com/mgi/create-a-test-plan"

MEASURES: dict[str, Measure] = {
    STUDENT_APPLICATION: Measure(
        STUDENT_APPLICATION,
        "MGI Student Application",
        "The Naglieri tests in the MGI student app (recommended). Students test with an "
        "8-character access code handed out on test day, not with a login: each screened "
        "student needs only a primary school and a grade that has a test form (K-9).",
        (
            Requirement(
                "MGI Student Application",
                "students",
                "school",
                "required_school",
                "Every screened student has a primary school (a test plan is made for one school).",
                MGI,
                TEST_PLAN,
            ),
            Requirement(
                "MGI Student Application",
                "students",
                "grade",
                "required_grade",
                "Every screened student has a grade with a test form, K-9 (a test plan is made "
                "for one grade form).",
                MGI,
                "help.mhs.com/?p=2594; " + TEST_PLAN,
            ),
        ),
    )
}

PLAN_SIZE = 75  # students a test plan holds at most (help.mhs.com/mgi/create-a-test-plan)

DISTRIBUTION_REQUIREMENTS = (
    Requirement(
        "Test Distribution by Class",
        "students",
        "sections",
        "screening_class_coverage",
        "Every screened student sits in exactly one current screening class of their own school.",
        MGI,
        TEST_PLAN + " (Select by Class)",
    ),
    Requirement(
        "Test Distribution by Class",
        "students",
        "sections",
        "screening_class_several",
        "A screened student sits in only one current screening class.",
        MGI,
        TEST_PLAN + " (Select by Class)",
    ),
    Requirement(
        "Test Distribution by Class",
        "students",
        "sections",
        "screening_class_school",
        "A screened student's screening class is in the student's own school.",
        MGI,
        TEST_PLAN + " (a plan is for one school)",
    ),
    Requirement(
        "Test Distribution by Class",
        "sections",
        "students",
        "screening_class_size",
        f"A screening class has at most {PLAN_SIZE} students (a test plan holds {PLAN_SIZE}).",
        MGI,
        TEST_PLAN,
    ),
    Requirement(
        "Test Distribution by Class",
        "sections",
        "grade",
        "screening_class_grades",
        "A screening class does not mix grade forms (a test plan is for one grade form).",
        MGI,
        TEST_PLAN,
        "warning",
    ),
)

HELP = {
    "testing_measures": "The MGI Student Application is the measure the MGI recommends, and the "
    "only one whose needs are known: each screened student has a primary school and a grade "
    "with a test form (K-9). Students test with access codes: no email or username is needed.",
    "screened_grades": "The grade forms the district screens (K-9 by default). The MGI's "
    "requirements apply to screened students only; others are counted as not screened.",
    "screened_schools": "The schools taking part (their Clever ids); empty means all schools.",
    "district_requirements": "What the district requires beyond the MGI (a state id, a date of "
    "birth, ...), each with the severity it chooses. Labelled as district requirements, never "
    "as the MGI's.",
    "distribute_by_class": "Assign tests through classes (Screening Class Identification). Every "
    "screened student must then sit in exactly one current screening class of their own school, "
    f"of at most {PLAN_SIZE} students (a test plan holds {PLAN_SIZE}).",
    "screening_class_rule": "Which sections are screening classes: a section whose subject, "
    "course number, course or section name, or OneRoster class type (e.g. homeroom) matches "
    "(any of them), narrowed by period, grade and term when given. Only sections of a current "
    "term count.",
    "all_records_processing": "On: a sync is the whole truth; records missing from it are archived "
    "(never deleted) and restored if they return. Off: only additions and updates are merged; "
    "absences are reported, not applied.",
    "archive_threshold_pct": "Hold a sync for confirmation when it would archive more than this "
    "share of any record type (Clever's own safety default is 10 %; this tool's safeguard).",
    "update_threshold_pct": "Hold a sync for confirmation when it would update more than this "
    "share of any record type (Clever's own safety default is 75 %; this tool's safeguard).",
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


def _forms(grades: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Grades as the MGI's forms (K, 1-9): any source spelling of a grade with a form is taken;
    a grade without a form or an unknown one is a sentence naming it."""
    out = []
    for g in grades:
        try:
            f = form(g)
        except UnknownGrade as exc:
            raise problem(f"In {where}: {exc}") from None
        if f is None:
            raise problem(
                f"Grade {g!r} in {where} has no MGI test form; the forms are K and 1-9 "
                "(help.mhs.com/?p=2594)."
            )
        out.append(f)
    return tuple(sorted(dict.fromkeys(out), key=FORMS.index))


def _screened_forms(grades: tuple[str, ...]) -> tuple[str, ...]:
    if not grades:
        raise problem("screened_grades must name at least one grade form (K, 1-9).")
    return _forms(grades, "screened_grades")


def _rule_forms(grades: tuple[str, ...]) -> tuple[str, ...]:
    return _forms(grades, "screening_class_rule.grades")


class ScreeningClassRule(BaseModel):
    """Which sections are screening classes: any whose subject, course number, or course or
    section name matches, narrowed by period, grade form and term when those are given.
    Validated as part of Parameters, which says what is wrong in a sentence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subjects: Annotated[Words, AfterValidator(_known_subjects)] = ()
    course_numbers: Words = ()
    name_contains: Annotated[StrictStr, AfterValidator(str.strip)] = ""
    class_types: Words = ()  # OneRoster classType (homeroom, scheduled); Clever sends none
    periods: Words = ()
    grades: Annotated[Words, AfterValidator(_rule_forms)] = ()
    terms: Words = ()  # term ids or names

    @property
    def is_empty(self) -> bool:
        return not (self.subjects or self.course_numbers or self.name_contains or self.class_types)


class DistrictRequirement(BaseModel):
    """A value the district requires beyond the MGI, at the severity it chooses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: Literal["students", "teachers", "sections"]
    field: StrictStr
    severity: Literal["error", "warning"] = "error"

    @model_validator(mode="after")
    def _requirable(self) -> DistrictRequirement:
        if self.field not in REQUIRABLE[self.entity]:
            raise problem(
                f"A district requirement cannot name {self.entity}.{self.field}; for "
                f"{self.entity} it may require {', '.join(REQUIRABLE[self.entity])}."
            )
        return self


def _known_measures(measures: tuple[str, ...]) -> tuple[str, ...]:
    if not measures:
        raise problem(f"testing_measures must name at least one measure: {', '.join(MEASURES)}.")
    for m in measures:
        if m not in MEASURES:
            raise problem(
                f"Unknown testing measure {m!r} in testing_measures; the MGI measure this "
                f"product knows is {', '.join(MEASURES)}."
            )
    return tuple(dict.fromkeys(measures))


MeasureList = Annotated[Words, AfterValidator(_known_measures)]
Percentage = Annotated[float, Field(ge=0, le=100, strict=True)]


def upgrade(data: Any) -> tuple[Any, list[str]]:
    """A parameters document of the earlier version, made current, and what was changed, in
    sentences: the withdrawn measures become the district requirements they used to add."""
    if not isinstance(data, dict) or not isinstance(data.get("testing_measures"), list):
        return data, []
    measures = data["testing_measures"]
    withdrawn = [m for m in measures if isinstance(m, str) and m.strip() in WITHDRAWN_MEASURES]
    if not withdrawn:
        return data, []
    kept = [m for m in measures if m not in withdrawn] or [STUDENT_APPLICATION]
    extra = data.get("district_requirements", [])
    if not isinstance(extra, list):
        return data, []
    have = {(r.get("entity"), r.get("field")) for r in extra if isinstance(r, dict)}
    added = [
        {"entity": e, "field": f, "severity": "error"}
        for m in withdrawn
        for e, f in WITHDRAWN_MEASURES[m.strip()]
        if (e, f) not in have
    ]
    notes = [
        f"Testing measure {m.strip()!r} is not an MGI measure (an earlier version of this tool "
        "invented it); its requirements are kept as district requirements: "
        + ", ".join(f"{e}.{f}" for e, f in WITHDRAWN_MEASURES[m.strip()])
        + "."
        for m in withdrawn
    ]
    return {**data, "testing_measures": kept, "district_requirements": [*extra, *added]}, notes


class Parameters(BaseModel):
    """A district's parameters. Constructing one with a bad value raises a ParametersError that
    names the setting and what it must be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    testing_measures: MeasureList = (STUDENT_APPLICATION,)
    screened_grades: Annotated[Words, AfterValidator(_screened_forms)] = FORMS
    screened_schools: Words = ()  # Clever ids; empty: every school
    district_requirements: tuple[DistrictRequirement, ...] = ()
    distribute_by_class: StrictBool = False
    screening_class_rule: ScreeningClassRule = ScreeningClassRule()
    all_records_processing: StrictBool = True
    archive_threshold_pct: Percentage = 10.0
    update_threshold_pct: Percentage = 75.0

    @model_validator(mode="before")
    @classmethod
    def _earlier_version(cls, data: Any) -> Any:
        return upgrade(data)[0]

    @model_validator(mode="after")
    def _screening_classes_named(self) -> Parameters:
        if self.distribute_by_class and self.screening_class_rule.is_empty:
            raise problem(
                "distribute_by_class is on but screening_class_rule names no subject, course "
                "number, name or class type: say which sections are screening classes."
            )
        seen: set[tuple[str, str]] = set()
        for r in self.district_requirements:
            if (r.entity, r.field) in seen:
                raise problem(f"district_requirements names {r.entity}.{r.field} twice.")
            seen.add((r.entity, r.field))
        return self

    # Defined last: pydantic applies model validators in the order they are written, each one
    # around those before it, so this one also catches the rules above.
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
        """The MGI's requirements (with their source), then the district's own."""
        out = [r for key in self.testing_measures for r in MEASURES[key].requirements]
        if self.distribute_by_class:
            out.extend(DISTRIBUTION_REQUIREMENTS)
        out.extend(
            Requirement(
                "District requirement (not the MGI's)",
                r.entity,
                r.field,
                "district_requirement",
                f"Every {r.entity[:-1]} has a {r.field} (the district's own rule, not the MGI's).",
                DISTRICT,
                "",
                r.severity,
            )
            for r in self.district_requirements
        )
        return out

    def rules(self) -> set[str]:
        return {r.rule for r in self.requirements()}


# What each setting must be, for pydantic's own errors (a wrong type, out of range).
EXPECTED = {
    "testing_measures": "a list of strings",
    "screened_grades": "a list of grade forms (K, 1-9)",
    "screened_schools": "a list of school ids",
    "district_requirements": "a list of objects with entity, field and severity",
    "district_requirements.entity": "students, teachers or sections",
    "district_requirements.field": "a string",
    "district_requirements.severity": "error or warning",
    "screening_class_rule.periods": "a list of strings",
    "screening_class_rule.grades": "a list of grade forms (K, 1-9)",
    "screening_class_rule.terms": "a list of term ids or names",
    "distribute_by_class": "true or false",
    "screening_class_rule": "an object with subjects, course_numbers, name_contains, "
    "class_types, periods, grades and terms",
    "screening_class_rule.subjects": "a list of strings",
    "screening_class_rule.course_numbers": "a list of strings",
    "screening_class_rule.name_contains": "a string",
    "screening_class_rule.class_types": "a list of OneRoster class types, such as homeroom",
    "all_records_processing": "true or false",
    "archive_threshold_pct": "a number from 0 to 100 (a percentage)",
    "update_threshold_pct": "a number from 0 to 100 (a percentage)",
}


def _say(error: ErrorDetails) -> str:
    name, value = setting(error), error.get("input")
    if error["type"] == "extra_forbidden":
        *parent, key = error["loc"]
        if parent and parent[0] == "district_requirements":
            known = ", ".join(sorted(DistrictRequirement.model_fields))
            return f"Unknown key {key!r} in district_requirements; the known ones are {known}."
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
