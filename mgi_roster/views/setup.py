"""Setup pages: requirements, sharing, districts, and test plans with the screening rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import duckdb
import pandas as pd

from mgi_roster import parameters as parameters_
from mgi_roster.grades import FORMS
from mgi_roster.kinds import RunStatus
from mgi_roster.parameters import Parameters
from mgi_roster.review import readiness
from mgi_roster.views.paging import (
    Sharing,
)

# --- setup ----------------------------------------------------------------------------------


def requirements_table(params: Parameters) -> pd.DataFrame:
    """The data requirements District Parameters imply: to show, and to send as CSV."""
    return pd.DataFrame(
        [asdict(r) for r in params.requirements()],
        columns=["measure", "entity", "field", "rule", "description"],
    )


def sharing(con: duckdb.DuckDBPyConnection, district_id: str) -> Sharing:
    """What the latest successful run saw: records per entity, and section members the token
    could not see (the district's sharing leaves them out; counted when the run was staged)."""
    row = con.execute(
        """SELECT run_id, counts, coalesce(unshared, 0) FROM runs
           WHERE district_id = ? AND counts IS NOT NULL AND status IN ?
           ORDER BY run_id DESC LIMIT 1""",
        [district_id, [RunStatus.STAGED, RunStatus.HELD, RunStatus.MERGED, RunStatus.REJECTED]],
    ).fetchone()
    if row is None:
        return Sharing(None, {}, 0)
    counts = json.loads(row[1]) if row[1] else {}
    return Sharing(int(row[0]), {str(k): int(v) for k, v in counts.items()}, int(row[2]))


def districts_table(rows: Sequence[Any]) -> pd.DataFrame:
    """The districts (districts.District rows) for the District page."""
    return pd.DataFrame(
        [
            {
                "district": d.name,
                "District ID": d.district_id,
                "demo": d.is_demo,
                "Clever name": d.clever_name,
                "SIS": d.sis_type,
                "verified": d.verified_at,
            }
            for d in rows
        ],
        columns=["district", "District ID", "demo", "Clever name", "SIS", "verified"],
    )


# --- test plans and the screening class rule -----------------------------------------------


def parameters_notes(con: duckdb.DuckDBPyConnection, district_id: str) -> list[str]:
    """How the district's stored parameters were converted from an earlier version, in
    sentences (parameters.upgrade); empty when they are current or not saved."""
    row = con.execute("SELECT body FROM parameters WHERE district_id = ?", [district_id]).fetchone()
    if row is None:
        return []
    try:
        return parameters_.upgrade(json.loads(row[0]))[1]
    except json.JSONDecodeError:
        return []


def _school(schools: dict[str, str], school_id: str | None) -> str:
    return schools.get(school_id, school_id) if school_id else "(no school)"


def preview_table(preview: readiness.Preview, schools: dict[str, str]) -> pd.DataFrame:
    """A sample of the sections a screening class rule matches."""
    return pd.DataFrame(
        [
            (x.name, _school(schools, x.school_id), x.grade, x.students, x.section_id)
            for x in preview.sample
        ],
        columns=["section", "school", "grade", "students", "section_id"],
    )


def plans_table(found: readiness.Readiness, schools: dict[str, str]) -> pd.DataFrame:
    """Students and test plans per school x grade form (x screening class)."""
    return pd.DataFrame(
        [
            (_school(schools, g.school_id), g.grade, g.class_id, g.students, g.plans, g.school_id)
            for g in found.groups
        ],
        columns=["school", "grade", "class_id", "students", "plans", "school_id"],
    )


def unplaceable_table(
    found: readiness.Readiness,
    people: dict[str, tuple[str | None, str | None, str | None, str | None]] | None = None,
    schools: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The students who cannot be placed in a test plan, with the reason; with `people`
    (readiness.students), who they are, their school and grade as the source has them."""
    if people is None:
        return pd.DataFrame(
            [(u.record_id, u.reason) for u in found.unplaceable], columns=["record_id", "reason"]
        )
    rows = []
    for u in found.unplaceable:
        first, last, school, grade = people.get(u.record_id, (None, None, None, None))
        shown = _school(schools or {}, school) if school else None
        rows.append((u.record_id, u.reason, first, last, shown, grade))
    return pd.DataFrame(
        rows, columns=["record_id", "reason", "first_name", "last_name", "school", "grade"]
    )


def plans_by_school_grade(plans: pd.DataFrame) -> pd.DataFrame:
    """plans_table summed per school and grade form (the chart's data), forms in order."""
    out = plans.groupby(["school", "grade"], as_index=False)[["students", "plans"]].sum()
    out["grade_rank"] = out["grade"].map({f: i for i, f in enumerate(FORMS)})
    return out.sort_values(["school", "grade_rank"]).reset_index(drop=True)
