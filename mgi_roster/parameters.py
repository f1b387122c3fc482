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
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from mgi_roster.entities import SUBJECTS
from mgi_roster.errors import ParametersError


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


@dataclass(frozen=True)
class ScreeningClassRule:
    subjects: tuple[str, ...] = ()
    course_numbers: tuple[str, ...] = ()
    name_contains: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.subjects or self.course_numbers or self.name_contains.strip())


@dataclass(frozen=True)
class Parameters:
    testing_measures: tuple[str, ...] = ("student_application",)
    distribute_by_class: bool = False
    screening_class_rule: ScreeningClassRule = field(default_factory=ScreeningClassRule)
    all_records_processing: bool = True
    archive_threshold_pct: float = 10.0
    update_threshold_pct: float = 75.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["testing_measures"] = list(self.testing_measures)
        rule = data["screening_class_rule"]
        rule["subjects"], rule["course_numbers"] = (
            list(rule["subjects"]),
            list(rule["course_numbers"]),
        )
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Any) -> Parameters:
        if not isinstance(data, dict):
            raise ParametersError(
                "District Parameters must be a JSON object, like the example in the README."
            )
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParametersError(
                f"Unknown District Parameter {unknown[0]!r}; the known ones are {', '.join(sorted(known))}."
            )
        defaults = cls()
        params = cls(
            testing_measures=_measures(
                data.get("testing_measures", list(defaults.testing_measures))
            ),
            distribute_by_class=_bool(data, "distribute_by_class", defaults.distribute_by_class),
            screening_class_rule=_rule(data.get("screening_class_rule", {})),
            all_records_processing=_bool(
                data, "all_records_processing", defaults.all_records_processing
            ),
            archive_threshold_pct=_pct(
                data, "archive_threshold_pct", defaults.archive_threshold_pct
            ),
            update_threshold_pct=_pct(data, "update_threshold_pct", defaults.update_threshold_pct),
        )
        if params.distribute_by_class and params.screening_class_rule.is_empty:
            raise ParametersError(
                "distribute_by_class is on but screening_class_rule names no subject, course "
                "number or name: say which sections are screening classes."
            )
        return params

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


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ParametersError(f"{key} must be true or false, not {json.dumps(value)[:40]}.")
    return value


def _pct(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ParametersError(
            f"{key} must be a number from 0 to 100 (a percentage), not {json.dumps(value)[:40]}."
        )
    return float(value)


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParametersError(f"{key} must be a list of strings.")
    return tuple(v.strip() for v in value if v.strip())


def _measures(value: Any) -> tuple[str, ...]:
    measures = _strings(value, "testing_measures")
    if not measures:
        raise ParametersError(
            f"testing_measures must name at least one measure: {', '.join(MEASURES)}."
        )
    for m in measures:
        if m not in MEASURES:
            raise ParametersError(
                f"Unknown testing measure {m!r} in testing_measures; the known ones are {', '.join(MEASURES)}."
            )
    return tuple(dict.fromkeys(measures))


def _rule(value: Any) -> ScreeningClassRule:
    if not isinstance(value, dict):
        raise ParametersError(
            "screening_class_rule must be an object with subjects, course_numbers and name_contains."
        )
    known = set(ScreeningClassRule.__dataclass_fields__)
    unknown = sorted(set(value) - known)
    if unknown:
        raise ParametersError(
            f"Unknown key {unknown[0]!r} in screening_class_rule; the known ones are {', '.join(sorted(known))}."
        )
    subjects = _strings(value.get("subjects", []), "screening_class_rule.subjects")
    for s in subjects:
        if s not in SUBJECTS:
            raise ParametersError(
                f"Unknown subject {s!r} in screening_class_rule.subjects; Clever's subjects are: {', '.join(SUBJECTS)}."
            )
    name_contains = value.get("name_contains", "")
    if not isinstance(name_contains, str):
        raise ParametersError("screening_class_rule.name_contains must be a string.")
    return ScreeningClassRule(
        subjects=subjects,
        course_numbers=_strings(
            value.get("course_numbers", []), "screening_class_rule.course_numbers"
        ),
        name_contains=name_contains.strip(),
    )


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
