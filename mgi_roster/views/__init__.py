"""Reads for the dashboard's pages: paged, filtered, typed. All the SQL the pages need lives here.

Every table a page shows is read one page at a time: a filter, a stable ORDER BY (ending in a
unique column, so two page requests never disagree about which row comes where) and
LIMIT/OFFSET, plus the filtered total for the pager. No function here returns a whole roster,
issue or change table, so a million-student district costs a page of rows per interaction.
Aggregates for the charts are computed in DuckDB and come back small (one row per school and
grade, per field, per section size...).

User input only ever reaches SQL as a bound parameter; identifiers come from the entity specs.
Searches are case-insensitive substring matches (ILIKE) with the user's `%` and `_` escaped.

One module per family of pages; `paging` holds what they all share. Pages use the names
below as `views.<name>`.
"""

from __future__ import annotations

from mgi_roster.views.decisions import (
    CAUSE_LABELS,
    IMPACT_LABELS,
    high_impact_table,
    plan_merged_table,
    plan_withheld_table,
    withheld_table,
)
from mgi_roster.views.paging import (
    CHANGE_SUMMARY,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SEARCH_COLUMNS,
    SEVERITY_ORDER,
    ChangeFilter,
    IssueFilter,
    Options,
    Paged,
    Sharing,
    like_pattern,
)
from mgi_roster.views.review import (
    change_counts_table,
    change_options,
    changes_by_entity,
    changes_by_school,
    changes_page,
    issue_options,
    issue_totals,
    issues_by_check,
    issues_page,
)
from mgi_roster.views.roster import (
    NAME_COLUMNS,
    field_completeness,
    issues_across_runs,
    roster_counts,
    roster_page,
    roster_stamp,
    section_sizes,
    students_by_school_grade,
    students_per_teacher,
    versions,
)
from mgi_roster.views.runs import (
    audit_table,
    counts_table,
    merges_table,
    mode_label,
    run_choices,
    runs_table,
)
from mgi_roster.views.setup import (
    districts_table,
    parameters_notes,
    plans_by_school_grade,
    plans_table,
    preview_table,
    requirements_table,
    sharing,
    unplaceable_table,
)

__all__ = [
    "CAUSE_LABELS",
    "IMPACT_LABELS",
    "high_impact_table",
    "plan_merged_table",
    "plan_withheld_table",
    "withheld_table",
    "CHANGE_SUMMARY",
    "ChangeFilter",
    "DEFAULT_PAGE_SIZE",
    "IssueFilter",
    "MAX_PAGE_SIZE",
    "NAME_COLUMNS",
    "Options",
    "Paged",
    "SEARCH_COLUMNS",
    "SEVERITY_ORDER",
    "Sharing",
    "audit_table",
    "change_counts_table",
    "change_options",
    "changes_by_entity",
    "changes_by_school",
    "changes_page",
    "counts_table",
    "districts_table",
    "field_completeness",
    "issue_options",
    "issue_totals",
    "issues_across_runs",
    "issues_by_check",
    "issues_page",
    "like_pattern",
    "merges_table",
    "parameters_notes",
    "plans_by_school_grade",
    "plans_table",
    "preview_table",
    "requirements_table",
    "roster_counts",
    "roster_page",
    "roster_stamp",
    "run_choices",
    "mode_label",
    "runs_table",
    "section_sizes",
    "sharing",
    "students_by_school_grade",
    "students_per_teacher",
    "unplaceable_table",
    "versions",
]
