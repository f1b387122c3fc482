"""District Parameters: the guide's first step. They decide what valid data means and how a
merge behaves; a sync is refused until they are saved."""

from __future__ import annotations

import duckdb
import streamlit as st

from mgi_roster import parameters, ui, views
from mgi_roster.grades import FORMS
from mgi_roster.parameters import HELP, MEASURES, REQUIRABLE, SUBJECTS, Parameters
from mgi_roster.review import readiness

MGI_LABEL = "MGI Student Application (help.mhs.com)"
DISTRICT_LABEL = "District requirement (not the MGI's)"
REQUIRABLE_FIELDS = [
    f"{entity}.{field}" for entity, fields in REQUIRABLE.items() for field in fields
]


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _from_state(current: Parameters) -> Parameters:
    """The parameters as the widgets hold them (widgets not shown keep the current values)."""
    rule = current.screening_class_rule
    get = st.session_state.get
    by_class = get("param_by_class", current.distribute_by_class)
    required = get("param_district_required", _required(current))
    warnings = set(get("param_district_warnings", _warnings(current)))
    return Parameters.from_dict(
        {
            "testing_measures": get("param_measures", list(current.testing_measures)),
            "screened_grades": get("param_screened_grades", list(current.screened_grades)),
            "screened_schools": get("param_screened_schools", list(current.screened_schools)),
            "district_requirements": [
                {
                    "entity": name.split(".")[0],
                    "field": name.split(".")[1],
                    "severity": "warning" if name in warnings else "error",
                }
                for name in required
            ],
            "distribute_by_class": by_class,
            "screening_class_rule": {
                "subjects": get("param_subjects", list(rule.subjects)),
                "course_numbers": _words(
                    get("param_course_numbers", ", ".join(rule.course_numbers))
                ),
                "name_contains": get("param_name_contains", rule.name_contains),
                "class_types": _words(get("param_class_types", ", ".join(rule.class_types))),
                "periods": _words(get("param_periods", ", ".join(rule.periods))),
                "grades": get("param_rule_grades", list(rule.grades)),
                "terms": _words(get("param_terms", ", ".join(rule.terms))),
            }
            if by_class
            else {},
            "all_records_processing": get("param_all_records", current.all_records_processing),
            "archive_threshold_pct": get("param_archive_pct", current.archive_threshold_pct),
            "update_threshold_pct": get("param_update_pct", current.update_threshold_pct),
        }
    )


def _required(params: Parameters) -> list[str]:
    return [f"{r.entity}.{r.field}" for r in params.district_requirements]


def _warnings(params: Parameters) -> list[str]:
    return [
        f"{r.entity}.{r.field}" for r in params.district_requirements if r.severity == "warning"
    ]


def _save(con: duckdb.DuckDBPyConnection, district_id: str, current: Parameters) -> str:
    parameters.save(con, district_id, _from_state(current))
    return f"Saved the District Parameters of district {district_id}."


def _preview(
    con: duckdb.DuckDBPyConnection, district_id: str, edited: Parameters, schools: dict[str, str]
) -> None:
    """What the rule as edited marks, before it is saved."""
    seen = readiness.preview(con, district_id, edited)
    where = f"staged run {seen.run_id}" if seen.run_id is not None else "the current roster"
    st.markdown(f"**Preview** on {where}")
    left, middle, right = st.columns(3)
    left.metric("Sections matched", f"{seen.matched:,} of {seen.sections:,}")
    middle.metric("Screened students covered", f"{seen.covered:,}")
    right.metric("Not covered", f"{seen.not_covered:,}")
    if seen.message:
        st.warning(seen.message)
    if seen.sample:
        ui.table(views.preview_table(seen, schools), key="param_preview_table")


def render(con: duckdb.DuckDBPyConnection) -> None:
    st.title("District Parameters")
    district = ui.selected_district(con)
    saved = parameters.load(con, district.district_id)
    if saved is None:
        st.info(
            "Not saved yet for this district: a test sync is refused until they are. The values "
            "below are the recommended defaults (Clever's own safety thresholds)."
        )
    current = saved or Parameters()
    notes = views.parameters_notes(con, district.district_id)
    if notes:
        st.info(
            "These parameters were saved by an earlier version and converted on loading; save "
            "them to keep the converted form.\n\n" + "\n\n".join(f"- {n}" for n in notes)
        )

    st.subheader("Testing Measures")
    st.caption(f"The MGI's own requirements are labelled {MGI_LABEL}.")
    measures = st.multiselect(
        "Measures the district administers",
        list(MEASURES),
        default=list(current.testing_measures),
        format_func=lambda key: MEASURES[key].label,
        key="param_measures",
        help=HELP["testing_measures"],
    )
    for key in measures:
        st.caption(f"**{MEASURES[key].label}**: {MEASURES[key].help}")

    st.subheader("Who is screened")
    st.caption(f"{MGI_LABEL}: its requirements apply to screened students only.")
    st.multiselect(
        "Screened grade forms",
        list(FORMS),
        default=list(current.screened_grades),
        key="param_screened_grades",
        help=HELP["screened_grades"],
    )
    run_id = readiness.reviewable_run(con, district.district_id)
    schools = readiness.schools(con, district.district_id, run_id)
    st.multiselect(
        "Screened schools (none chosen: all schools)",
        list(dict.fromkeys([*schools, *current.screened_schools])),
        default=list(current.screened_schools),
        format_func=lambda school_id: schools.get(school_id, school_id),
        key="param_screened_schools",
        help=HELP["screened_schools"],
    )

    st.subheader(DISTRICT_LABEL + "s")
    st.caption(HELP["district_requirements"])
    required = st.multiselect(
        "The district also requires",
        REQUIRABLE_FIELDS,
        default=_required(current),
        key="param_district_required",
    )
    st.multiselect(
        "Of those, report as warnings (the others are errors)",
        required,
        default=[w for w in _warnings(current) if w in required],
        key="param_district_warnings",
    )

    st.subheader("Test Distribution by Class")
    by_class = st.toggle(
        "Screening Class Identification",
        value=current.distribute_by_class,
        key="param_by_class",
        help=HELP["distribute_by_class"],
    )
    rule = current.screening_class_rule
    if by_class:
        st.caption(HELP["screening_class_rule"])
        st.multiselect(
            "Screening subjects", SUBJECTS, default=list(rule.subjects), key="param_subjects"
        )
        st.text_input(
            "Screening course numbers (comma-separated)",
            value=", ".join(rule.course_numbers),
            key="param_course_numbers",
        )
        st.text_input("Section name contains", value=rule.name_contains, key="param_name_contains")
        st.text_input(
            "OneRoster class types (comma-separated, e.g. homeroom)",
            value=", ".join(rule.class_types),
            key="param_class_types",
        )
        st.caption("Narrowed by (each one given must match):")
        left, middle, right = st.columns(3)
        left.text_input(
            "Periods (comma-separated)", value=", ".join(rule.periods), key="param_periods"
        )
        middle.multiselect(
            "Grade forms", list(FORMS), default=list(rule.grades), key="param_rule_grades"
        )
        right.text_input(
            "Terms, by id or name (comma-separated)",
            value=", ".join(rule.terms),
            key="param_terms",
        )

    st.subheader("All Records Processing")
    st.toggle(
        "A sync is the whole truth (archive records missing from it)",
        value=current.all_records_processing,
        key="param_all_records",
        help=HELP["all_records_processing"],
    )

    st.subheader("Guards")
    guards = (
        ("Hold when archiving more than (%)", "archive_threshold_pct", "param_archive_pct"),
        ("Hold when updating more than (%)", "update_threshold_pct", "param_update_pct"),
    )
    for column, (label, name, key) in zip(st.columns(2), guards, strict=True):
        column.number_input(
            label,
            min_value=0.0,
            max_value=100.0,
            value=float(getattr(current, name)),
            step=1.0,
            key=key,
            help=HELP[name],
        )

    edited = ui.checked(lambda: _from_state(current))
    if by_class and edited is not None:
        _preview(con, district.district_id, edited, schools)
    st.button(
        "Save District Parameters",
        key="param_save",
        type="primary",
        disabled=edited is None,
        icon=":material/save:",
        on_click=ui.act,
        args=(_save, district.district_id, current),
    )
    if saved is not None and edited is not None and edited != saved:
        st.caption("You have unsaved changes.")

    st.subheader("Data requirements")
    st.caption(
        "What these parameters ask of the district's data: the MGI's, then the district's own "
        f"({DISTRICT_LABEL}). Validation reports every record that misses one, at the "
        "requirement's severity. Send the list to the district before the first sync."
    )
    ui.requirements(edited or current, district.district_id, key="param_requirements")

    if saved is not None:
        st.divider()
        ui.link("app_pages/connection.py", "Next: Connection")


ui.run(render)
