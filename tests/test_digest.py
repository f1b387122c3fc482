"""The digest (review/digest.py) on the demo district's day 2: its changes, high impact and errors
in a few plain words; after a partial approval, what was withheld."""

from __future__ import annotations

from datetime import date

import pytest

from mgi_roster import demo, districts, parameters
from mgi_roster.parameters import Parameters
from mgi_roster.review import digest, impact
from mgi_roster.roster import merge, partial
from mgi_roster.settings import CleverSettings
from mgi_roster.sync import run_sync
from tests.support import small_district, student, synced

DEMO = demo.DEMO_DISTRICT_ID


@pytest.fixture
def day2(fresh_db):
    parameters.save(fresh_db, DEMO, Parameters())
    first = run_sync(fresh_db, DEMO, settings=CleverSettings())
    assert digest.of_run(fresh_db, first.run_id).text.startswith(
        f"{first.counts['students']:,} students added; schools: 4 added"
    )  # a first sync: no sharing or term "change"
    merge.approve(fresh_db, first.run_id, by="Dana")
    districts.advance_demo_day(fresh_db)
    result = run_sync(fresh_db, DEMO, settings=CleverSettings())
    return fresh_db, result


def mid_year_today(con) -> bool:
    """Whether today is mid-year by the demo's terms (they follow the calendar of today)."""
    today = date.today()
    rows = con.execute(
        "SELECT start_date, end_date FROM roster_terms WHERE district_id = ? AND valid_to IS NULL",
        [DEMO],
    ).fetchall()
    spans = [(date.fromisoformat(s[:10]), date.fromisoformat(e[:10])) for s, e in rows]
    under_way = [(s, e) for s, e in spans if s <= today <= e]
    if not under_way:
        return False
    return impact.mid_year((min(s for s, _ in under_way), max(e for _, e in under_way)), today)


def test_the_digest_of_day_two_says_what_changed_and_what_is_wrong(day2):
    con, result = day2
    planted = demo.DemoDistrict(day=2).planted()
    added, withdrawn = len(planted.added_students), len(planted.withdrawn_students)
    text = result.digest
    assert text == digest.of_run(con, result.run_id).text  # the sync's and the store's agree
    assert text.startswith(f"{len(planted.changed_students)} students updated; ")
    assert f"{added} added, {withdrawn} archived" in text
    assert "test plan moves: 2 grade changes, 1 school change" in text
    assert ("in the middle of the school year" in text) == mid_year_today(con)
    assert "teachers: 1 updated" in text
    assert f"{result.issues['error']} errors on " in text and "Approve can withhold" in text
    assert "Student" not in text and planted.bad_dob.record_id not in text  # no one named

    merge.approve(con, result.run_id, selection=partial.Selection(exclude_errors=True))
    after = digest.of_run(con, result.run_id).text
    assert "records withheld for errors" in after
    assert "errors on" not in after
    merged_updates = len(
        planted.changed_students - {planted.bad_dob.record_id, planted.no_grade.record_id}
    )
    assert after.startswith(f"{merged_updates} students updated")  # what merged


def test_a_rollover_reads_as_the_rollover(seeded_db):
    day2 = small_district(10)
    for n in range(1, 9):
        day2.find("students", student(n)["id"])["roles"]["student"]["grade"] = "4"
    result = synced(seeded_db, day2)
    assert result.digest == (
        "8 students updated, most of them a grade change at School 1, which looks like the "
        "rollover; test plan moves: 8 grade changes."
    )


def test_a_run_without_changes_says_so(seeded_db):
    assert synced(seeded_db, small_district(10)).digest == "No changes."
