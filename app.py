"""MGI Roster Review: the router. The pages are in app_pages/, shared widgets in mgi_roster.ui.

With sign-in configured (an [auth] section in .streamlit/secrets.toml), a visitor who has not
signed in gets one page, the sign-in screen, whatever URL they asked for: the roster's pages are
not even registered for them.

Not `pages/`: Streamlit treats a folder of that name beside the entrypoint as a legacy
multipage app until the first session has called st.navigation, so a first visit straight to a
page's URL (a bookmark, a link in an email) ran that page alone, without this router's sidebar.
"""

import streamlit as st

from mgi_roster import ui

st.set_page_config(page_title="MGI Roster Review", page_icon=":material/fact_check:", layout="wide")
ui.init_state()
if not ui.admitted():
    st.navigation(
        [st.Page(ui.sign_in_screen, title="Sign in", icon=":material/login:")], position="hidden"
    ).run()
    st.stop()
page = st.navigation(
    {
        "Setup": [
            st.Page(
                "app_pages/district.py", title="District", icon=":material/domain:", default=True
            ),
            st.Page("app_pages/parameters.py", title="District Parameters", icon=":material/tune:"),
            st.Page("app_pages/connection.py", title="Connection", icon=":material/link:"),
        ],
        "Sync & review": [
            st.Page("app_pages/sync.py", title="Test Sync", icon=":material/sync:"),
            st.Page("app_pages/validation.py", title="Validation", icon=":material/rule:"),
            st.Page("app_pages/changes.py", title="Changes", icon=":material/difference:"),
            st.Page("app_pages/test_plans.py", title="Test plans", icon=":material/assignment:"),
            st.Page("app_pages/approve.py", title="Approve", icon=":material/task_alt:"),
        ],
        "Operate": [
            st.Page("app_pages/schedule.py", title="Schedule", icon=":material/schedule:"),
            st.Page("app_pages/history.py", title="History", icon=":material/history:"),
            st.Page(
                "app_pages/students.py", title="Students by hand", icon=":material/person_add:"
            ),
        ],
        "Explore": [
            st.Page("app_pages/quality.py", title="Roster Quality", icon=":material/monitoring:"),
        ],
    }
)
with ui.script_run():  # one database connection for the sidebar, the page and the status line
    ui.sidebar()
    page.run()
    ui.sidebar_status()
