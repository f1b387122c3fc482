"""The dashboard in AppTest (streamlit.testing.v1): every page, the demo flow through widget keys,
the order of the steps, and failures shown as messages, never tracebacks.

Syncing the demo district takes a second or two, so two databases are built once per module
(day 1 synced; day 1 merged and day 2 synced) and copied for each test that uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mgi_roster import demo, districts, parameters, schedule, store, sync, views
from mgi_roster.errors import CleverUnavailable, ConfigError
from mgi_roster.parameters import Parameters
from mgi_roster.review import readiness
from mgi_roster.roster import merge
from mgi_roster.settings import CleverSettings
from tests.builders import copy_store

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.joinpath("app_pages").glob("*.py"))
DEMO = demo.DEMO_DISTRICT_ID
OTHER = "0123456789abcdef01234567"
UNEXPECTED = "Something unexpected went wrong"
CLEVER_ENV = (
    "CLEVER_CLIENT_ID",
    "CLEVER_CLIENT_SECRET",
    "CLEVER_DISTRICT_TOKEN",
    "CLEVER_API_BASE",
    "CLEVER_OAUTH_BASE",
)


@pytest.fixture(autouse=True)
def demo_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Clever configuration (neither the environment nor a developer's secrets file): the
    demo district is reached in-process, and nothing here can reach the network."""
    for name in CLEVER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("mgi_roster.settings.SECRETS_FILE", tmp_path / "no-secrets.toml")


@pytest.fixture
def use_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str | None], Path]:
    """Point MGI_DB at a fresh file, optionally a copy of a prepared database."""

    def use(source: str | None = None) -> Path:
        target = tmp_path / "mgi.duckdb"
        if source is not None:
            copy_store(source, target)
        monkeypatch.setenv("MGI_DB", str(target))
        return target

    return use


def _sync(con) -> sync.SyncResult:
    result = sync.run_sync(con, DEMO, settings=CleverSettings())
    assert result.ok, result.message
    return result


@pytest.fixture(scope="module")
def day1_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Parameters saved, Test Connection done, the demo's day 1 synced (staged, not merged)."""
    path = str(tmp_path_factory.mktemp("app") / "day1.duckdb")
    with store.opened(path) as con:
        districts.ensure_demo(con)
        parameters.save(con, DEMO, Parameters())
        districts.test_connection(con, DEMO, CleverSettings())
        _sync(con)
    return path


@pytest.fixture(scope="module")
def day2_db(day1_db: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Day 1 merged by Dana; the demo SIS advanced to day 2 and synced (changes and errors)."""
    path = str(tmp_path_factory.mktemp("app") / "day2.duckdb")
    copy_store(day1_db, path)
    with store.opened(path) as con:
        merge.approve(con, views.run_choices(con, DEMO)[0][0], by="Dana")
        districts.advance_demo_day(con)
        _sync(con)
    return path


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at


def goto(at: AppTest, page: str) -> AppTest:
    return at.switch_page(page).run()


def texts(at: AppTest, *kinds: str) -> list[str]:
    kinds = kinds or ("error", "warning", "success", "info")
    return [str(e.value) for kind in kinds for e in at.get(kind)]


def table(at: AppTest, *columns: str):
    """The first st.dataframe holding these columns (AppTest does not expose their keys)."""
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    return found[0] if found else None


def assert_clean(at: AppTest) -> None:
    """No exception element, no traceback, no 'unexpected' message."""
    assert not at.exception, [e.value for e in at.exception]
    assert not any(UNEXPECTED in t for t in texts(at, "error")), texts(at, "error")


# --- every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_page_file_is_registered_and_renders_on_an_empty_database(page, use_db):
    path = use_db()
    at = goto(app(), page)  # switch_page raises ValueError for a file st.navigation does not list
    assert_clean(at)
    assert not at.error, texts(at, "error")
    assert path.exists()  # created and migrated on first use, with the demo district in it
    with store.opened(path) as con:
        assert districts.get(con, DEMO) is not None


@pytest.mark.parametrize("day", ["day1_db", "day2_db"])
def test_every_page_renders_on_the_demo_district(day, use_db, request):
    """Day 1: synced, nothing merged. Day 2: day 1 merged, a sync with changes and errors."""
    use_db(request.getfixturevalue(day))
    at = app()
    for page in PAGES:
        goto(at, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        errors = texts(at, "error")
        assert not any(UNEXPECTED in t for t in errors), (page, errors)
        if day == "day1_db":
            assert not errors, (page, errors)


# --- the sidebar ----------------------------------------------------------------------------


def test_sidebar_shows_district_database_status_and_sign_in_note(use_db, day1_db):
    path = use_db(day1_db)
    at = app()
    picker = at.selectbox(key="sidebar_district")
    assert picker.value == DEMO and picker.options[0].endswith(f"({DEMO})")
    captions = [c.value for c in at.sidebar.get("caption")]
    assert any(str(path) in c for c in captions)
    assert any(c.startswith("Status: run 1 is staged") for c in captions)
    assert "No sign-in configured: open for local and demo use" in captions


# --- the demo flow --------------------------------------------------------------------------


def test_demo_flow_parameters_to_undo_through_widget_keys(use_db):
    path = use_db()
    at = app()

    at = goto(at, "app_pages/parameters.py")
    at.button(key="param_save").click().run()
    assert_clean(at)
    assert any("Saved the District Parameters" in t for t in texts(at, "success"))

    at = goto(at, "app_pages/connection.py")
    assert at.text_input(key="conn_district_id").value == DEMO
    at.button(key="conn_test").click().run()
    assert_clean(at)
    assert any("Test Connection succeeded" in t for t in texts(at, "success"))
    shown = at.table[0].value
    assert "Maple Valley" in shown.iloc[0]["value"]  # the district's name, shown as data
    checklist = table(at, "step", "state", "detail", "advice").set_index("step")["state"]
    assert checklist["Request accepted"] == checklist["Setup finished in Clever"] == "ok"
    assert set(checklist) <= {"ok", "warning"}

    at = goto(at, "app_pages/sync.py")
    at.button(key="sync_run").click().run()
    assert_clean(at)
    assert any(t.startswith("Staged: 0 errors") for t in texts(at, "success"))
    progress = [t.value for t in at.status[0].text]  # one line per fetched entity
    assert len(progress) == 6 and "✓ Students: 1,200 records in 1 page" in progress
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Errors"] == "0" and int(metrics["Warnings"]) > 0

    at = goto(at, "app_pages/validation.py")
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Errors"] == "0"
    issues = table(at, "check", "severity", "message")
    assert set(issues["severity"]) == {"warning"}  # day 1: warnings only

    at = goto(at, "app_pages/changes.py")
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Added"].replace(",", "")) > 1200
    assert metrics["Updated"] == metrics["Archived"] == "0"

    at = goto(at, "app_pages/approve.py")
    assert at.button(key="approve_button").disabled  # no reviewer name yet
    at.text_input(key="approve_by").input("Dana").run()
    assert not at.button(key="approve_button").disabled
    at.button(key="approve_button").click().run()
    assert_clean(at)
    assert any("Merged run 1 into the roster as version 1" in t for t in texts(at, "success"))
    assert "Dana" in at.table[0].value["value"].tolist()  # who approved, shown as data

    at = goto(at, "app_pages/history.py")
    merges = table(at, "version", "kind", "by")
    assert merges.iloc[0]["by"] == "Dana" and merges.iloc[0]["kind"] == "merge"
    assert at.button(key="undo_button").disabled  # confirmation first
    at.checkbox(key="undo_confirm").check().run()
    at.button(key="undo_button").click().run()
    assert_clean(at)
    assert any("Undid version 1" in t for t in texts(at, "success"))
    with store.opened(path) as con:
        assert views.roster_counts(con, DEMO)["students"] == 0


def test_day_two_shows_changes_and_errors_that_block_approve(use_db, day2_db):
    use_db(day2_db)
    at = goto(app(), "app_pages/validation.py")
    assert int({m.label: m.value for m in at.metric}["Errors"]) > 0
    at = goto(at, "app_pages/changes.py")
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Updated"]) > 0 and int(metrics["Added"]) > 0
    at = goto(at, "app_pages/approve.py")
    at.text_input(key="approve_by").input("Dana").run()
    button = at.button(key="approve_button")
    assert button.disabled
    assert "error" in button.help and "Fix them in the SIS" in button.help
    assert any("Approve is blocked" in t for t in texts(at, "error"))


def test_demo_advance_control_moves_the_demo_sis_to_the_next_day(use_db, day1_db):
    path = use_db(day1_db)
    at = goto(app(), "app_pages/sync.py")
    at.button(key="demo_advance").click().run()
    assert_clean(at)
    assert any("now on day 2" in t for t in texts(at, "success"))
    with store.opened(path) as con:
        assert districts.get(con, DEMO).demo_day == 2


def test_parameters_page_checks_and_saves_what_was_edited(use_db):
    path = use_db()
    at = goto(app(), "app_pages/parameters.py")
    assert any("Not saved yet" in t for t in texts(at, "info"))
    requirements = table(at, "measure", "rule")
    assert set(requirements["rule"]) == {"required_school", "required_grade"}
    at.toggle(key="param_by_class").set_value(True).run()
    assert any(
        t.startswith("District Parameters: distribute_by_class is on") for t in texts(at, "error")
    )
    assert at.button(key="param_save").disabled
    at.multiselect(key="param_subjects").select("math").run()
    at.number_input(key="param_archive_pct").set_value(5.0).run()
    assert not at.error
    assert "screening_class_coverage" in set(table(at, "measure", "rule")["rule"])
    at.button(key="param_save").click().run()
    assert_clean(at)
    with store.opened(path) as con:
        saved = parameters.load(con, DEMO)
    assert saved.distribute_by_class and saved.screening_class_rule.subjects == ("math",)
    assert saved.archive_threshold_pct == 5.0


def test_schedule_page_saves_a_schedule_and_refuses_a_bad_time(use_db):
    path = use_db()
    with store.opened(path) as con:  # the MGI's rule: a person approved the first sync
        parameters.save(con, DEMO, Parameters())
        merge.approve(con, sync.run_sync(con, DEMO).run_id, by="dana")
    at = goto(app(), "app_pages/schedule.py")
    assert "Automatic sync is off." in texts(at, "info")
    at.multiselect(key="sched_days").set_value(["sun", "mon", "fri"]).run()
    at.text_input(key="sched_at").input("25:00").run()
    assert any("The time '25:00'" in t for t in texts(at, "error"))
    assert at.button(key="sched_save").disabled
    at.text_input(key="sched_at").input("12:00").run()  # well formed, outside the MGI's window
    at.button(key="sched_save").click().run()
    assert any("between 20:00 and 05:00 UTC" in t for t in texts(at, "error"))
    at.text_input(key="sched_at").input("22:30").run()
    at.text_area(key="sched_pauses").input("2027-06-15..2027-08-15").run()
    at.radio(key="sched_policy").set_value("review").run()
    at.text_area(key="sched_contacts").input("it@district.org").run()
    at.button(key="sched_save").click().run()
    assert_clean(at)
    assert any(
        t.startswith("Saved the schedule. Sync on Sunday, Monday, Friday at 22:30 UTC")
        for t in texts(at, "success")
    )
    with store.opened(path) as con:
        saved = schedule.load(con, DEMO)
        assert schedule.contacts(con, DEMO) == ["it@district.org"]
    assert (saved.days, saved.at, saved.policy) == (("sun", "mon", "fri"), "22:30", "review")
    assert saved.until is not None and saved.pauses == (("2027-06-15", "2027-08-15"),)


def test_a_held_run_needs_the_guards_confirmed(use_db, day2_db):
    """Day 3 fixes day 2's errors but keeps its withdrawals: with a 0.5 % archive guard the
    sync is held, and Approve waits for the confirmation."""
    path = use_db(day2_db)
    with store.opened(path) as con:
        parameters.save(con, DEMO, Parameters(archive_threshold_pct=0.5))
        districts.advance_demo_day(con)
        assert _sync(con).status == "held"
    at = goto(app(), "app_pages/approve.py")
    at.text_input(key="approve_by").input("Dana").run()
    assert at.button(key="approve_button").disabled
    assert "held by its guards" in at.button(key="approve_button").help
    assert table(at, "entity", "kind", "pct", "threshold") is not None
    at.checkbox(key="approve_confirm_guards").check().run()
    assert not at.button(key="approve_button").disabled
    at.button(key="approve_button").click().run()
    assert_clean(at)
    assert any("Merged run 3 into the roster as version 2" in t for t in texts(at, "success"))


def test_reject_leaves_the_roster_alone(use_db, day1_db):
    path = use_db(day1_db)
    at = goto(app(), "app_pages/approve.py")
    assert at.button(key="reject_button").disabled  # a reviewer name first
    at.text_input(key="approve_by").input("Dana").run()
    at.button(key="reject_button").click().run()
    assert_clean(at)
    assert "Rejected run 1; the roster is unchanged." in texts(at, "success")
    assert any("Run 1 was rejected" in t for t in texts(at, "info"))
    with store.opened(path) as con:
        assert views.roster_counts(con, DEMO)["students"] == 0


def test_a_failed_sync_shows_its_message(use_db, day1_db, monkeypatch):
    use_db(day1_db)

    def unreachable(*args, **kwargs):
        raise CleverUnavailable("Could not reach Clever. Check the network, then try again.")

    monkeypatch.setattr(districts, "clever_session", unreachable)
    at = goto(app(), "app_pages/sync.py")
    at.button(key="sync_run").click().run()
    assert_clean(at)
    assert "The sync failed: Could not reach Clever. Check the network, then try again." in texts(
        at, "error"
    )
    at = goto(at, "app_pages/validation.py")
    assert any(t.startswith("Run 2 failed: Could not reach Clever") for t in texts(at, "error"))
    assert any(link.value == "Test Sync" for link in at.get("page_link"))


# --- order, errors, districts ---------------------------------------------------------------


def test_a_page_whose_step_is_missing_links_to_the_step_before(use_db):
    use_db()
    at = goto(app(), "app_pages/sync.py")
    assert any("Save the District Parameters first" in t for t in texts(at, "warning"))
    assert any(link.value == "District Parameters" for link in at.get("page_link"))
    at = goto(at, "app_pages/validation.py")
    assert any(link.value == "Test Sync" for link in at.get("page_link"))
    at = goto(at, "app_pages/quality.py")
    assert any(link.value == "Approve" for link in at.get("page_link"))


def test_malformed_district_id_is_caught_before_any_call(use_db):
    use_db()
    at = goto(app(), "app_pages/connection.py")
    at.text_input(key="conn_district_id").input("Maple Valley USD").run()
    assert any(t.startswith("District ID is malformed: ") for t in texts(at, "error"))
    assert at.button(key="conn_test").disabled


def test_adding_a_district_selects_it_and_test_connection_says_what_is_missing(use_db):
    use_db()
    at = app()
    at.text_input(key="district_new_id").input(OTHER.upper())
    at.text_input(key="district_new_name").input("Springfield Public Schools")
    at.button(key="district_add").click().run()
    assert_clean(at)
    assert at.selectbox(key="sidebar_district").value == OTHER
    at = goto(at, "app_pages/connection.py")
    at.button(key="conn_test").click().run()
    errors = texts(at, "error")
    assert any(t.startswith("Test Connection found a problem: Request accepted") for t in errors)
    connected = table(at, "name", "district_id")  # the districts to pick from instead
    assert list(connected["district_id"]) == [DEMO]
    at = goto(at, "app_pages/sync.py")
    assert not at.get("button") or all(b.key != "demo_advance" for b in at.button)
    at.selectbox(key="sidebar_district").select(DEMO).run()
    assert at.session_state["district_id"] == DEMO


def test_a_roster_error_shows_its_title_and_message(use_db, monkeypatch):
    use_db()
    at = app()

    def locked(*args, **kwargs):
        raise ConfigError("The database is in use by another MGI Roster Review process.")

    monkeypatch.setattr(store, "connect", locked)
    at = goto(at, "app_pages/history.py")
    assert not at.exception
    assert (
        "Configuration problem: The database is in use by another MGI Roster Review process."
        in texts(at, "error")
    )


def test_anything_unexpected_is_a_short_message_not_a_traceback(use_db, day1_db, monkeypatch):
    use_db(day1_db)
    at = app()

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(views, "issues_page", broken)
    at = goto(at, "app_pages/validation.py")
    assert not at.exception
    assert any(t.startswith(UNEXPECTED) and "boom" not in t for t in texts(at, "error"))


def test_roster_values_are_never_rendered_as_markdown(use_db, day2_db):
    use_db(day2_db)
    with store.opened(day2_db) as con:
        names = views.roster_page(con, DEMO, "students", page_size=20).frame
        schools = views.roster_page(con, DEMO, "schools").frame["name"].tolist()
    values = [*schools, *names["last_name"].dropna().tolist()]
    at = app()
    for page in PAGES:
        goto(at, page)
        markdown = [
            str(e.value)
            for kind in (
                "markdown",
                "caption",
                "error",
                "warning",
                "success",
                "info",
                "title",
                "subheader",
            )
            for e in at.get(kind)
        ]
        leaks = [v for v in values if any(v in text for text in markdown)]
        assert not leaks, (page, leaks[:3])


# --- tables and charts ----------------------------------------------------------------------


def test_tables_are_paged_and_filtered(use_db, day1_db):
    use_db(day1_db)
    at = goto(app(), "app_pages/changes.py")
    added = table(at, "change", "record_id")
    assert len(added) == views.DEFAULT_PAGE_SIZE
    pager = at.get("pagination")[0]
    assert pager.num_pages > 10
    pager.set_value(2).run()
    second = table(at, "change", "record_id")
    assert second.iloc[0]["record_id"] != added.iloc[0]["record_id"]
    at.text_input(key="chg_search").input("no such record zzz").run()
    assert table(at, "change", "record_id") is None
    at = goto(at, "app_pages/validation.py")
    at.multiselect(key="val_check").select("empty_section").run()
    issues = table(at, "check", "severity", "message")
    assert set(issues["check"]) == {"empty_section"}


def test_charts_are_altair(use_db, day2_db):
    use_db(day2_db)
    at = goto(app(), "app_pages/quality.py")
    assert_clean(at)
    assert len(at.get("vega_lite_chart")) == 5
    at = goto(at, "app_pages/validation.py")
    assert len(at.get("vega_lite_chart")) == 1
    at = goto(at, "app_pages/changes.py")
    assert len(at.get("vega_lite_chart")) == 2


def test_downloads_are_offered(use_db, day1_db):
    use_db(day1_db)
    at = goto(app(), "app_pages/parameters.py")
    assert at.get("download_button")
    at = goto(at, "app_pages/validation.py")
    assert any(b.key == "val_download" for b in at.get("download_button"))
    at = goto(at, "app_pages/changes.py")
    assert any(b.key == "chg_download" for b in at.get("download_button"))


def test_parameters_page_screens_requires_and_previews_the_rule_before_saving(use_db, day1_db):
    # The demo's terms are the school year under way, whatever today is: its classes are current.
    path = use_db(day1_db)
    at = goto(app(), "app_pages/parameters.py")
    assert_clean(at)
    at.multiselect(key="param_screened_grades").unselect("9").run()
    at.multiselect(key="param_district_required").select("students.state_id").run()
    at.multiselect(key="param_district_required").select("students.dob").run()
    at.multiselect(key="param_district_warnings").select("students.dob").run()
    requirements = table(at, "measure", "rule")
    assert "District requirement (not the MGI's)" in set(requirements["measure"])
    at.toggle(key="param_by_class").set_value(True).run()
    at.text_input(key="param_name_contains").input("zzz no such class").run()
    assert_clean(at)
    assert any("matches none of the" in t for t in texts(at, "warning"))
    at.text_input(key="param_name_contains").input("").run()
    at.multiselect(key="param_subjects").select("math").run()
    at.multiselect(key="param_rule_grades").select("3").run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert "Sections matched" in metrics and int(metrics["Screened students covered"]) > 0
    assert table(at, "section", "school", "grade", "students") is not None
    at.button(key="param_save").click().run()
    assert_clean(at)
    with store.opened(path) as con:
        saved = parameters.load(con, DEMO)
    assert "9" not in saved.screened_grades
    assert {(r.field, r.severity) for r in saved.district_requirements} == {
        ("state_id", "error"),
        ("dob", "warning"),
    }
    assert saved.screening_class_rule.subjects == ("math",)
    assert saved.screening_class_rule.grades == ("3",)


def test_parameters_page_says_how_stored_parameters_of_the_earlier_version_were_converted(
    use_db,
):
    path = use_db()
    with store.opened(path) as con:
        districts.ensure_demo(con)
        con.execute(
            "INSERT INTO parameters (district_id, body, saved_at) VALUES (?, ?, now())",
            [DEMO, '{"testing_measures": ["state_reporting"]}'],
        )
    at = goto(app(), "app_pages/parameters.py")
    assert_clean(at)
    assert any("'state_reporting' is not an MGI measure" in t for t in texts(at, "info"))


def test_test_plans_page_shows_plans_per_school_and_form_and_who_cannot_be_placed(use_db, day2_db):
    path = use_db(day2_db)
    at = goto(app(), "app_pages/test_plans.py")
    assert_clean(at)
    with store.opened(path) as con:
        params = parameters.load(con, DEMO)
        run_id = readiness.reviewable_run(con, DEMO)
        found = readiness.of_run(con, run_id, params)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test plans needed"] == f"{found.plans:,}" and found.plans > 0
    assert metrics["Not screened"] == f"{found.not_screened:,}" and found.not_screened > 0
    assert any("not screened" in t for t in texts(at, "info"))
    assert len(at.get("vega_lite_chart")) == 1
    plans = table(at, "school", "grade", "students", "plans")
    assert plans["plans"].sum() == found.plans and set(plans["grade"]) <= set("K123456789")
    if found.unplaceable:
        listed = table(at, "record_id", "reason")
        assert set(listed["record_id"]) == {u.record_id for u in found.unplaceable}
        assert any(b.key == "plans_download" for b in at.get("download_button"))


def test_test_plans_page_reads_the_roster_when_no_run_awaits_review(use_db, day1_db):
    path = use_db(day1_db)
    with store.opened(path) as con:
        merge.approve(con, views.run_choices(con, DEMO)[0][0], by="Dana")
        found = readiness.of_roster(con, DEMO, parameters.load(con, DEMO))
    at = goto(app(), "app_pages/test_plans.py")
    assert_clean(at)
    assert {m.label: m.value for m in at.metric}["Test plans needed"] == f"{found.plans:,}"
    assert any("From the roster" in str(c.value) for c in at.caption)
