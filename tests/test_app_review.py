"""The review's depth in the dashboard (AppTest), on the demo's day 2: the digest and the
high-impact changes first, a partial approval chosen on the pages, what will and will not merge
before the confirm, and the withheld records after it."""

from __future__ import annotations

from mgi_roster import demo, store
from mgi_roster.roster import partial
from tests import test_app as base
from tests.test_app import app, assert_clean, goto, table, texts

# The dashboard's fixtures (the demo's day 1 and day 2 stores, built once per module).
demo_settings = base.demo_settings
use_db = base.use_db
day1_db = base.day1_db
day2_db = base.day2_db

DEMO = demo.DEMO_DISTRICT_ID


def test_changes_show_the_high_impact_changes_first(use_db, day2_db):
    use_db(day2_db)
    at = goto(app(), "app_pages/changes.py")
    assert_clean(at)
    headers = [h.value for h in at.subheader]
    assert headers.index("High-impact changes") < headers.index("Per entity")
    high = table(at, "change", "school", "grade", "students")
    assert set(high["change"]) == {"Grade change", "School change"}
    records = table(at, "high impact", "likely cause")
    assert records is not None and set(records["high impact"].dropna()) <= {"grade", "school"}


def test_approve_withholding_the_errors_says_what_merges_then_merges_the_rest(use_db, day2_db):
    path = use_db(day2_db)
    at = goto(app(), "app_pages/approve.py")
    assert_clean(at)
    digest = next(t for t in texts(at, "info") if t.startswith("In short: "))
    assert "students updated" in digest and "errors on" in digest
    at.text_input(key="approve_by").input("Dana").run()
    assert at.button(key="approve_button").disabled  # errors block the whole run

    at.checkbox(key="approve_exclude_errors").check().run()
    assert_clean(at)
    assert any("will merge" in t and "withheld for errors" in t for t in texts(at, "info"))
    assert not at.button(key="approve_button").disabled
    at.button(key="approve_button").click().run()
    assert_clean(at)
    assert any("withheld, as they were" in t for t in texts(at, "success"))
    withheld = table(at, "entity", "record_id", "reason", "why")
    assert "error" in set(withheld["reason"])
    with store.opened(path) as con:
        run_id = int(con.execute("SELECT max(run_id) FROM runs").fetchone()[0])
        reasons = {w["reason"] for w in partial.withheld_of(con, run_id)}
        (actor,) = con.execute(
            "SELECT actor FROM audit WHERE action = 'approve' AND run_id = ?", [run_id]
        ).fetchone()
    assert "error" in reasons and actor == "Dana"


def test_records_chosen_on_the_tables_are_listed_before_the_confirm(use_db, day2_db):
    path = use_db(day2_db)
    with store.opened(path) as con:
        run_id = int(con.execute("SELECT max(run_id) FROM runs").fetchone()[0])
    planted = demo.DemoDistrict(day=2).planted()
    at = goto(app(), "app_pages/approve.py")
    at.session_state["approve_partial"] = {  # what the Changes table's button leaves
        "run_id": run_id,
        "exclude": [planted.grade_correction.record_id],
        "waivers": [],
    }
    at.run()
    assert_clean(at)
    assert any("1 record(s) chosen to withhold" in str(c.value) for c in at.caption)
    assert any("1 record withheld by the reviewer" in t for t in texts(at, "info"))
