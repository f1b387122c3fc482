"""Reads for the review's decisions (issue 15): high-impact changes by school and grade, a
partial approval's plan (what will and will not merge), and what an approval withheld."""

from __future__ import annotations

import duckdb
import pandas as pd

from mgi_roster.entities import BY_NAME
from mgi_roster.review import impact
from mgi_roster.roster import partial
from mgi_roster.views.review import change_counts_table

IMPACT_LABELS = {
    "school": "School change",
    "grade": "Grade change",
    "screening_class": "Screening class change",
}
CAUSE_LABELS = {
    "sis_edit": "SIS edit",
    "sharing": "sharing change",
    "rollover": "school-year rollover",
    "term": "term change",
    "rekey": "re-key",
}


def high_impact_table(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """Students with a school, grade or screening class change, per school and grade (in the
    sync), with their likely causes and how many are unusual."""
    rows = [
        {
            "change": IMPACT_LABELS.get(c.impact, c.impact),
            "school": c.school or "(no school)",
            "grade": c.grade or "(none)",
            "students": c.students,
            "unusual (mid-year)": c.unusual,
            "likely cause": ", ".join(
                f"{CAUSE_LABELS.get(k, k)} {n}" for k, n in sorted(c.causes.items())
            ),
        }
        for c in impact.counts(con, run_id)
    ]
    columns = ["change", "school", "grade", "students", "unusual (mid-year)", "likely cause"]
    return pd.DataFrame(rows, columns=columns)


def plan_withheld_table(plan: partial.Plan) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "entity": BY_NAME[w.entity].label if w.entity in BY_NAME else w.entity,
                "record": w.record_name,
                "change": w.change,
                "why": w.sentence(),
                "record_id": w.record_id,
            }
            for w in plan.withheld
        ],
        columns=["entity", "record", "change", "why", "record_id"],
    )


def plan_merged_table(plan: partial.Plan) -> pd.DataFrame:
    """The run's change counts less what the plan withholds: what will merge."""
    return change_counts_table(plan.merged)


def withheld_table(con: duckdb.DuckDBPyConnection, run_id: int) -> pd.DataFrame:
    """What an approval of the run withheld, with the reason in words."""
    return pd.DataFrame(
        partial.withheld_of(con, run_id),
        columns=["entity", "record_id", "change", "record", "school", "reason", "why"],
    )
