"""Streamlit helpers shared by the pages: the only Streamlit in the package, and the only place
that reads `st.secrets` and `st.user` (the decisions on them are mgi_roster.access, pure).

    state         session keys, notices, the selected district and run
    guard         the database per script run; pages and actions turned into messages, never
                  tracebacks
    signin        sign-in and who may act
    presentation  presentation mode: what a page shows, masked while presenting
    widgets       links, the district and run pickers, the review page's run guard
    sidebar       the sidebar: district, presentation toggle, status, who is signed in
    tables        tables, paged tables, CSV downloads, cached roster figures
    charts        Altair bar charts (imported by the pages that draw one: `from mgi_roster.ui
                  import charts`)

Pages use the names re-exported here: `from mgi_roster import ui; ui.run(render)`.

A fast first visit: this package imports only what the District page (the first one) needs.
pandas, pyarrow, pandera (through masking and views) and Altair are imported where a table, a
mask or a chart is drawn, not when the app starts: together they took longer than all of
Streamlit (benchmarks/RESULTS.md, "First render").
"""

from mgi_roster.ui.guard import (
    act,
    checked,
    db,
    run,
    script_run,
    show_error,
    store_for_long_work,
    unexpected,
)
from mgi_roster.ui.presentation import PRESENTING_HELP, masker, presenting, shown, shown_frame
from mgi_roster.ui.sidebar import sidebar, sidebar_status, status_line
from mgi_roster.ui.signin import (
    SIGN_IN_NOTE,
    acting_reviewer,
    admitted,
    identity,
    login_available,
    policy,
    reviewer_field,
    sign_in_screen,
)
from mgi_roster.ui.state import (
    PER_DISTRICT_PREFIXES,
    STATE_DEFAULTS,
    current_run,
    init_state,
    notify,
    select_district,
    selected_district,
)
from mgi_roster.ui.tables import (
    PAGE_SIZES,
    download_csv,
    download_file,
    download_table,
    paged_table,
    requirements,
    roster_figures,
    table,
)
from mgi_roster.ui.widgets import (
    bound_select,
    district_picker,
    district_switcher,
    link,
    needs,
    plain,
    review_run,
    run_picker,
)

__all__ = [
    "store_for_long_work",
    "PAGE_SIZES",
    "PER_DISTRICT_PREFIXES",
    "PRESENTING_HELP",
    "SIGN_IN_NOTE",
    "STATE_DEFAULTS",
    "act",
    "acting_reviewer",
    "admitted",
    "bound_select",
    "checked",
    "current_run",
    "db",
    "district_picker",
    "district_switcher",
    "download_csv",
    "download_file",
    "download_table",
    "identity",
    "init_state",
    "link",
    "login_available",
    "masker",
    "needs",
    "notify",
    "paged_table",
    "plain",
    "policy",
    "presenting",
    "requirements",
    "review_run",
    "reviewer_field",
    "roster_figures",
    "run",
    "run_picker",
    "script_run",
    "select_district",
    "selected_district",
    "show_error",
    "shown",
    "shown_frame",
    "sidebar",
    "sidebar_status",
    "sign_in_screen",
    "status_line",
    "table",
    "unexpected",
]
