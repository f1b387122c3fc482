"""The dashboard's security in AppTest: sign-in and who may act, presentation mode, secrets never
on a page, and hostile roster values shown safely.

AppTest cannot do an OIDC round-trip (there is no browser and no identity provider), so sign-in
is simulated the way Streamlit itself hands the result of one to a script: `at.secrets` carries
the `[auth]` and `[mgi]` sections that `st.secrets` reads, and `at.user` the identity claims that
`st.user` reads after a login (`{"is_logged_in": True, "email": ...}`), or none before it.
`st.login` is replaced by a recorder, to see that the sign-in button asks for the right
provider; `st.logout` is Streamlit's own (in AppTest it clears `st.user`).
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import responses
import streamlit
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from mgi_roster import access, districts, parameters, store, ui, views
from mgi_roster.masking import HIDDEN, Masker
from mgi_roster.parameters import Parameters
from mgi_roster.roster import exports, merge
from mgi_roster.sources import clever
from mgi_roster.sync import run_sync
from tests.builders import DISTRICT_ID, SETTINGS, District, school, section, serve, student, teacher
from tests.conftest import API, OAUTH
from tests.test_app import (
    APP,
    DEMO,
    OTHER,
    PAGES,
    assert_clean,
    day1_db,
    day2_db,
    demo_settings,
    goto,
    texts,
    use_db,
)

# Fixtures of the AppTest suite, reused here: pytest finds them by name in this module.
REUSED_FIXTURES = (day1_db, day2_db, demo_settings, use_db)

COOKIE_SECRET = "cookie-SENTINEL-c00k1e5ecret"
OIDC_CLIENT_ID = "oidc-SENTINEL-client-1d"
OIDC_CLIENT_SECRET = "oidc-SENTINEL-client-5ecret"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": COOKIE_SECRET,
    "client_id": OIDC_CLIENT_ID,
    "client_secret": OIDC_CLIENT_SECRET,
    "server_metadata_url": "https://accounts.example.org/.well-known/openid-configuration",
}
SECRETS = {"auth": AUTH, "mgi": {"approvers": ["Dana@Example.org"]}}
DANA = {"is_logged_in": True, "email": "dana@example.org", "name": "Dana", "email_verified": True}
SAM = {"is_logged_in": True, "email": "sam@example.org", "name": "Sam"}
MARKDOWN_KINDS = (
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "error",
    "warning",
    "info",
    "success",
    "toast",
    "text",
    "code",
)


def signed_app(
    user: dict[str, Any] | None, secrets: dict[str, Any] | None = None, **state: Any
) -> AppTest:
    """The app with sign-in configured (`secrets`, SECRETS by default), as `user` (None: nobody
    has signed in yet)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = copy.deepcopy(SECRETS if secrets is None else secrets)
    at.user = dict(user or {})
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def elements(at: AppTest) -> Iterator[Any]:
    """Every node AppTest parsed: elements, widgets and their containers."""
    yield from iter(at._tree)


def rendered(at: AppTest, *, dataframes: bool = True) -> str:
    """Everything the page sent, as text: every element's and container's protobuf (labels,
    values, options, help, chart specs), and every table's cells."""
    parts = []
    for node in elements(at):
        is_table = getattr(node, "type", "") in ("dataframe", "table", "arrow_data_frame")
        if is_table and not dataframes:
            continue
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        if is_table:
            parts.append(node.value.to_csv())
    return "\n".join(parts)


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [n.value for n in elements(at) if getattr(n, "type", "") in ("dataframe", "table")]


# --- sign-in --------------------------------------------------------------------------------


def test_without_sign_in_the_sidebar_says_the_app_is_open(use_db, day1_db):
    use_db(day1_db)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert ui.SIGN_IN_NOTE in [c.value for c in at.sidebar.get("caption")]
    assert not any(b.key == "sign_out" for b in at.button)


def test_a_visitor_who_has_not_signed_in_sees_only_the_sign_in_screen(use_db, day1_db, monkeypatch):
    use_db(day1_db)
    calls = []
    monkeypatch.setattr(ui.signin, "login_available", lambda: True)
    monkeypatch.setattr(streamlit, "login", lambda *args: calls.append(args))
    at = signed_app(None)
    assert_clean(at)
    assert [t.value for t in at.title] == ["MGI Roster Review"]
    assert not frames(at) and not at.get("selectbox") and not at.sidebar.get("caption")
    page = rendered(at)
    assert "Maple Valley" not in page and "Database:" not in page
    at.button(key="sign_in_default").click().run()
    assert calls == [()]  # st.login() with [auth]'s own provider


def test_a_deep_link_while_signed_out_shows_the_sign_in_screen(use_db, day1_db, monkeypatch):
    use_db(day1_db)
    monkeypatch.setattr(ui.signin, "login_available", lambda: True)
    at = goto(signed_app(DANA), "app_pages/history.py")
    assert [t.value for t in at.title] == ["History"]
    at.user = {"is_logged_in": False}  # the identity cookie expired, say
    at.run()
    assert [t.value for t in at.title] == ["MGI Roster Review"]
    assert not frames(at) and at.button(key="sign_in_default")


def test_named_providers_each_get_a_button(use_db, monkeypatch):
    use_db()
    calls = []
    monkeypatch.setattr(ui.signin, "login_available", lambda: True)
    monkeypatch.setattr(streamlit, "login", lambda *args: calls.append(args))
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    shared = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    at = signed_app(None, {"auth": {**shared, "google": provider, "okta": provider}})
    assert [b.label for b in at.button] == ["Sign in with Google", "Sign in with Okta"]
    at.button(key="sign_in_okta").click().run()
    assert calls == [("okta",)]


def test_an_incomplete_auth_section_keeps_everyone_out_and_names_only_keys(use_db):
    use_db()
    at = signed_app(DANA, {"auth": {"redirect_uri": AUTH["redirect_uri"], "client_id": "x"}})
    assert_clean(at)
    (error,) = texts(at, "error")
    assert "cookie_secret" in error and "client_secret" in error
    assert not at.get("button") and not frames(at)


def test_sign_in_without_authlib_says_what_to_install(use_db, monkeypatch):
    use_db()
    monkeypatch.setattr(ui.signin, "login_available", lambda: False)
    at = signed_app(None)
    assert any("Authlib" in t for t in texts(at, "error"))
    assert not at.get("button")


def test_an_approver_approves_and_undoes_under_the_signed_in_email(use_db, day1_db):
    path = use_db(day1_db)
    at = goto(signed_app(DANA), "app_pages/approve.py")
    assert_clean(at)
    assert not at.get("text_input")  # no name to type: the identity is the sign-in's
    assert "Signed in as Dana (dana@example.org): approver" in [
        c.value for c in at.sidebar.get("caption")
    ]
    assert "The audit log records you as dana@example.org." in [c.value for c in at.caption]
    assert not at.button(key="approve_button").disabled
    at.button(key="approve_button").click().run()
    assert_clean(at)
    assert any("Merged run 1 into the roster as version 1" in t for t in texts(at, "success"))
    at = goto(at, "app_pages/history.py")
    at.checkbox(key="undo_confirm").check().run()
    at.button(key="undo_button").click().run()
    assert_clean(at)
    assert any("Undid version 1" in t for t in texts(at, "success"))
    with store.opened(path) as con:
        actors = con.execute("SELECT action, actor FROM audit ORDER BY logged_at").fetchall()
        decided = con.execute("SELECT decided_by FROM runs WHERE run_id = 1").fetchone()
    assert actors == [("approve", "dana@example.org"), ("undo", "dana@example.org")]
    assert decided == ("dana@example.org",)


def test_a_reviewer_who_is_not_an_approver_cannot_approve_reject_or_undo(use_db, day2_db):
    use_db(day2_db)
    at = goto(signed_app(SAM), "app_pages/approve.py")
    assert_clean(at)
    for key in ("approve_button", "reject_button"):
        button = at.button(key=key)
        assert button.disabled and "sam@example.org is not an approver" in button.help
    assert any("is not an approver" in t for t in texts(at, "info"))
    assert "Signed in as Sam (sam@example.org): reviewer, cannot approve" in [
        c.value for c in at.sidebar.get("caption")
    ]
    at = goto(at, "app_pages/history.py")
    at.checkbox(key="undo_confirm").check().run()
    undo = at.button(key="undo_button")
    assert undo.disabled and "is not an approver" in undo.help


@pytest.mark.parametrize("button", ["approve_button", "reject_button"])
def test_the_action_checks_again_when_the_page_is_stale(button, use_db, day1_db):
    """Dana's page was drawn while she was an approver; she is removed from the list before
    she clicks. The click reaches the action, which refuses: nothing is written."""
    path = use_db(day1_db)
    at = goto(signed_app(DANA), "app_pages/approve.py")
    assert not at.button(key=button).disabled
    at.secrets = {**copy.deepcopy(SECRETS), "mgi": {"approvers": ["lee@example.org"]}}
    at.button(key=button).click().run()
    assert any(
        t.startswith("Not allowed: dana@example.org is not an approver") for t in texts(at, "error")
    )
    with store.opened(path) as con:
        assert con.execute("SELECT status FROM runs").fetchall() == [("staged",)]
        assert con.execute("SELECT count(*) FROM audit").fetchone() == (0,)


def test_undo_checks_again_when_the_page_is_stale(use_db, day2_db):
    path = use_db(day2_db)
    at = goto(signed_app(DANA), "app_pages/history.py")
    at.checkbox(key="undo_confirm").check().run()
    at.user = dict(SAM)  # another account in the same browser, say
    at.button(key="undo_button").click().run()
    assert any(t.startswith("Not allowed: sam@example.org") for t in texts(at, "error"))
    with store.opened(path) as con:
        assert [a for (a,) in con.execute("SELECT action FROM audit").fetchall()] == ["approve"]


def test_signing_out_returns_to_the_sign_in_screen(use_db, day1_db, monkeypatch):
    use_db(day1_db)
    monkeypatch.setattr(ui.signin, "login_available", lambda: True)
    at = signed_app(DANA)
    at.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["MGI Roster Review"]
    assert at.user.get("is_logged_in") is False and not frames(at)


def test_a_secrets_file_that_does_not_parse_keeps_the_dashboard_closed(tmp_path, monkeypatch):
    """It may hold the sign-in settings: running open because of a typo would be the wrong way
    round. The message names the file, never its content."""
    from streamlit import config

    broken = tmp_path / "secrets.toml"
    broken.write_text(f'[auth]\ncookie_secret = "{COOKIE_SECRET}\n')  # unterminated string
    original = config.get_option

    def get_option(name: str) -> Any:
        return [str(broken)] if name == "secrets.files" else original(name)

    monkeypatch.setattr(config, "get_option", get_option)
    monkeypatch.setattr(streamlit, "get_option", get_option)
    monkeypatch.setattr(streamlit.secrets, "_secrets", None)  # parse again, from `broken`
    policy = ui.policy()
    assert policy.sign_in and not policy.admits(access.Identity(logged_in=True))
    assert str(broken) in (policy.problem or "") and COOKIE_SECRET not in (policy.problem or "")


# --- presentation mode ----------------------------------------------------------------------


def personal_values(path: str, *district_ids: str) -> dict[str, set[str]]:
    """Names, emails, usernames and dates of birth of the districts' students and teachers, in
    the roster and in staging."""
    found: dict[str, set[str]] = {"names": set(), "logins": set(), "dobs": set()}
    with store.opened(path) as con:
        for table in ("roster_students", "stg_students", "roster_teachers", "stg_teachers"):
            dob = "dob" if "students" in table else "NULL"
            rows = con.execute(
                f"""SELECT concat_ws(' ', first_name, last_name), email, district_username, {dob}
                    FROM {table} WHERE district_id IN (SELECT unnest(?))""",
                [list(district_ids)],
            ).fetchall()
            for name, email, username, born in rows:
                found["names"].add(name)
                found["logins"] |= {v for v in (email, username) if v}
                found["dobs"] |= {born} if born else set()
    return found


def assert_masked(at: AppTest, personal: dict[str, set[str]], page: str) -> None:
    text = rendered(at)
    leaks = [v for v in personal["names"] | personal["logins"] if len(v) > 3 and v in text]
    assert not leaks, (page, sorted(leaks)[:3])
    for frame in frames(at):
        cells = {str(v) for v in frame.astype(object).to_numpy().ravel()}
        assert not (cells & (personal["dobs"] | personal["logins"])), page
        for column in ("dob", "gender", "race", "hispanic_ethnicity", "ell_status"):
            if column in frame.columns:
                assert set(frame[column].dropna()) <= {HIDDEN}, (page, column)


def test_presentation_mode_masks_personal_values_on_every_page(use_db, day2_db):
    path = use_db(day2_db)
    personal = personal_values(str(path), DEMO)
    assert len(personal["names"]) > 500 and personal["dobs"] and personal["logins"]
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.toggle(key="presenting").set_value(True).run()
    for page in PAGES:
        goto(at, page)
        assert_clean(at)
        assert_masked(at, personal, page)
    # The tables that hold people, each looked at closely (not only their first page).
    at = goto(at, "app_pages/history.py")
    at.selectbox(key="hist_entity").select("teachers").run()
    assert_masked(at, personal, "history teachers")
    at = goto(at, "app_pages/changes.py")
    at.multiselect(key="chg_entity").select("students").run()
    assert_masked(at, personal, "changes students")
    at = goto(at, "app_pages/validation.py")
    at.multiselect(key="val_entity").select("students").run()
    assert_masked(at, personal, "validation students")
    # Messages are rendered again from masked fields: they still say what is wrong, and name
    # the student by the same token as the record column.
    [issues] = [f for f in frames(at) if "message" in f.columns and "check" in f.columns]
    assert not issues["message"].str.contains("details hidden").any()
    named = issues[issues["record"].notna()]
    assert not named.empty and all(
        m.startswith(r + " (") for r, m in zip(named["record"], named["message"], strict=True)
    )
    # Off again: the same pages show the real values (the masks are a view, not a change).
    at.toggle(key="presenting").set_value(False).run()
    assert any(name in rendered(at) for name in personal["names"])


def test_presentation_mode_masks_the_signed_in_email_and_the_audit_log(use_db, day2_db):
    path = use_db(day2_db)
    with store.opened(path) as con:
        con.execute("UPDATE runs SET decided_by = 'dana@example.org'")
        con.execute("UPDATE merges SET actor = 'dana@example.org'")
        con.execute("UPDATE audit SET actor = 'dana@example.org'")
    at = signed_app(DANA, presenting=True)
    at = goto(at, "app_pages/history.py")
    assert_clean(at)
    assert "dana@example.org" not in rendered(at)
    assert any(c.value.startswith("Signed in as Dana (user·") for c in at.sidebar.get("caption"))


def captured_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """The deferred CSV downloads the pages register, by file name, to call as a click would."""
    found: dict[str, Callable[[], Any]] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data, mimetype, coordinates, file_name=None, **kwargs):
        if mimetype == "text/csv":  # not the roster's OneRoster ZIP (test_app_oneroster.py)
            found[str(file_name)] = data
        return original(self, data, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return found


def test_csv_downloads_are_masked_in_presentation_mode(use_db, day2_db, monkeypatch):
    path = use_db(day2_db)
    personal = personal_values(str(path), DEMO)
    downloads = captured_downloads(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.toggle(key="presenting").set_value(True).run()
    goto(at, "app_pages/validation.py")
    goto(at, "app_pages/changes.py")
    names = {name for name in downloads if name.endswith("-masked.csv")}
    assert names == {"mgi-issues-run-2-masked.csv", "mgi-changes-run-2-masked.csv"}
    for name in names:
        text = downloads[name]()
        assert text.count("\n") > 5 and ",nan," not in text
        leaks = [v for v in personal["names"] | personal["logins"] if len(v) > 3 and v in text]
        assert not leaks, (name, leaks[:3])


# --- secrets never on a page ----------------------------------------------------------------

CLEVER_SECRETS = {
    "CLEVER_CLIENT_ID": "app-SENTINEL-id-4f3e2d1c",
    "CLEVER_CLIENT_SECRET": "cs-SENTINEL-9f8e7d6c5b4a3928",
    "CLEVER_DISTRICT_TOKEN": "dt-SENTINEL-1a2b3c4d5e6f7a8b",
}
FILE_SECRETS = {
    "CLEVER_CLIENT_ID": "file-SENTINEL-id-0a0b0c",
    "CLEVER_CLIENT_SECRET": "file-SENTINEL-secret-0d0e0f",
}


@pytest.mark.parametrize("signed_in", [False, True], ids=["open", "signed-in"])
def test_no_secret_appears_on_any_page(signed_in, use_db, day1_db, monkeypatch, tmp_path):
    path = use_db(day1_db)
    with store.opened(path) as con:
        districts.add(con, OTHER, "Springfield Public Schools")
        parameters.save(con, OTHER, Parameters())
    for name, value in CLEVER_SECRETS.items():
        monkeypatch.setenv(name, value)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text("".join(f'{k} = "{v}"\n' for k, v in FILE_SECRETS.items()))
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", secrets_file)
    monkeypatch.setattr(clever, "DEFAULT_BACKOFF", 0.0)
    secret_values = [*CLEVER_SECRETS.values(), *FILE_SECRETS.values()]
    if signed_in:
        secret_values += [COOKIE_SECRET, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET]

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        # Clever refuses, echoing what it was sent: the page must not echo it further.
        echo = {"error": f"invalid_token {' '.join(CLEVER_SECRETS.values())}"}
        for url in (f"{OAUTH}/oauth/tokens", f"{API}/v3.0/districts"):
            rsps.get(url, status=401, json=echo)
        rsps.get(f"{API}/v3.0/districts/{OTHER}", status=401, json=echo)
        at = signed_app(DANA) if signed_in else AppTest.from_file(APP, default_timeout=60).run()
        seen = []
        for district in (DEMO, OTHER):
            at.selectbox(key="sidebar_district").select(district).run()
            for page in PAGES:
                goto(at, page)
                assert_clean(at)
                seen.append((district, page, rendered(at)))
            at = goto(at, "app_pages/connection.py")
            at.button(key="conn_test").click().run()
            assert_clean(at)
            if district == OTHER:
                assert texts(at, "error"), "Test Connection should have failed"
            seen.append((district, "connection after Test Connection", rendered(at)))
            at.text_input(key="conn_district_id").input("not-a-district-id").run()
            seen.append((district, "connection, malformed id", rendered(at)))
        if signed_in:
            at.button(key="sign_out").click().run()
            seen.append(("-", "sign-in screen", rendered(at)))
        # Clever was really asked, with the token, and refused.
        assert any(c.request.url == f"{API}/v3.0/districts" for c in rsps.calls)
    for district, page, text in seen:
        leaked = [v for v in secret_values if v in text]
        assert not leaked, (district, page, leaked)
        assert "invalid_token" not in text, (district, page)  # Clever's own words not echoed
    assert len(seen) == 2 * (len(PAGES) + 2) + int(signed_in)


# --- hostile roster values ------------------------------------------------------------------

LONG_NAME = "Long" + "n" * 9_996
HOSTILE = {
    1: {"name": {"first": "<script>alert(1)</script>", "last": "Smith"}},
    2: {"name": {"first": "Ivy", "last": "<img src=x onerror=alert(2)>"}},
    3: {"name": {"first": "**bold** [link](javascript:alert(3))", "last": "Lee"}},
    4: {"name": {"first": '=HYPERLINK("http://evil.example","x")', "last": "Formula"}},
    5: {"name": {"first": "Bell\x07\x1b[31mred\x1b[0m", "last": "Line\r\nBreak\tTab"}},
    6: {"name": {"first": "Kai", "last": LONG_NAME}},
    7: {"roles__student__gender": '=HYPERLINK("http://evil.example","x")'},
    8: {"roles__student__grade": "+1"},
    9: {"roles__student__dob": "-2"},
    10: {"email": "@SUM(1+1)"},
    11: {"roles__student__race": "@SUM(A1:A9)"},
    12: {"roles__student__credentials__district_username": "=1+1"},
}
MARKERS = (
    "<script>",
    "onerror=",
    "javascript:alert",
    "**bold**",
    "HYPERLINK",
    "@SUM",
    "\x1b[31m",
    "Bell\x07",
    "Longnnnnnnnnnnnnnnnnnnnn",
)


def _hostile_district() -> tuple[District, District]:
    n = len(HOSTILE)
    clean = District(
        schools=[school(1)],
        students=[student(i) for i in range(1, n + 1)],
        teachers=[teacher(1)],
        sections=[section(1, students=list(range(1, n + 1)), name="Math 1")],
    )
    hostile = clean.copy()
    hostile.students = [student(i, **HOSTILE[i]) for i in range(1, n + 1)]
    hostile.sections = [section(1, students=list(range(1, n + 1)), name="<b>Math</b> **1**")]
    return clean, hostile


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A clean district merged, then a sync whose records carry HTML, markdown, spreadsheet
    formulas, control characters and a 10,000-character name (staged, with its issues and
    changes)."""
    clean, hostile = _hostile_district()
    path = str(tmp_path_factory.mktemp("hostile") / "mgi.duckdb")
    with store.opened(path) as con:
        parameters.save(con, DISTRICT_ID, Parameters())
        for version, district in enumerate((clean, hostile)):
            with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
                serve(district, rsps)
                result = run_sync(con, DISTRICT_ID, settings=SETTINGS)
            assert result.ok, result.message
            if version == 0:
                merge.approve(con, int(result.run_id), by="Dana")
    return path


def test_the_hostile_district_really_carries_the_values(hostile_db):
    with store.opened(hostile_db) as con:
        run_id = views.run_choices(con, DISTRICT_ID)[0][0]
        changes = views.changes_page(con, run_id, page_size=1000).frame
        issues = views.issues_page(con, run_id, page_size=1000).frame
    everything = changes.to_csv() + issues.to_csv()
    for marker in MARKERS:
        assert marker in everything, marker
    assert LONG_NAME in set(changes["after"].dropna())


@pytest.mark.parametrize("presenting", [False, True], ids=["plain", "presenting"])
def test_hostile_values_render_only_inside_tables(presenting, use_db, hostile_db, monkeypatch):
    use_db(hostile_db)
    downloads = captured_downloads(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["district_id"] = DISTRICT_ID
    at.run()
    if presenting:
        at.toggle(key="presenting").set_value(True).run()
    in_tables = ""
    for page in PAGES:
        goto(at, page)
        assert_clean(at)
        assert at.selectbox(key="sidebar_district").value == DISTRICT_ID
        outside = rendered(at, dataframes=False)
        found = [m for m in MARKERS if m.isascii() and m.isprintable() and m in outside]
        # Markdown elements by their values too (protobuf's text escapes control characters).
        found += [
            m for kind in MARKDOWN_KINDS for e in at.get(kind) for m in MARKERS if m in str(e.value)
        ]
        assert not found, (page, found)
        in_tables += "\n".join(f.to_csv() for f in frames(at))
    if not presenting:
        # The values are shown, as data: inside tables (Changes: before → after).
        for marker in ("<script>", "onerror=", "**bold**", "HYPERLINK", "@SUM", LONG_NAME[:40]):
            assert marker in in_tables, marker
    assert {"mgi-issues-run-2", "mgi-changes-run-2"} <= {
        name.removesuffix(".csv").removesuffix("-masked") for name in downloads
    }
    for name, make in downloads.items():
        rows = list(csv.reader(io.StringIO(make())))
        assert len(rows) > 1, name
        cells = [cell for row in rows[1:] for cell in row]
        dangerous = [c for c in cells if c.startswith(exports.FORMULA_PREFIXES)]
        assert not dangerous, (name, dangerous[:3])
        if not presenting:
            assert any(c.startswith("'=HYPERLINK") for c in cells), name


def test_masked_csv_is_still_formula_safe():
    frame = pd.DataFrame(
        {
            "entity": ["students", "sections"],
            "record_id": ["57a", "5e1"],
            "field": ["grade", "name"],
            "value": ["+1", "=HYPERLINK(1)"],
            "message": ["Student with SIS id 1: grade +1", "-Section: @SUM"],
        }
    )
    text = ui.tables._csv(list(frame.columns), frame.itertuples(index=False), Masker(b"k"))
    cells = [c for row in list(csv.reader(io.StringIO(text)))[1:] for c in row]
    assert not [c for c in cells if c.startswith(exports.FORMULA_PREFIXES)]
    assert "'+1" in cells and "'=HYPERLINK(1)" in cells
