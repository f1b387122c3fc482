"""The connection checklist: each of the guide's steps measured, for the cases the guide lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from mgi_roster import districts
from mgi_roster.checklist import ACCEPTED, SETUP, SIS, TEST, run
from mgi_roster.demo import DEMO_DISTRICT_ID
from mgi_roster.kinds import StepState
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever
from tests.support import API, DISTRICT_ID, OAUTH, TOKEN, school, student

APP = CleverSettings(api_base=API, oauth_base=OAUTH, client_id="app-id", client_secret="app-secret")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
OTHER = "0ddd0000000000000000beef"


def states(result) -> dict[str, StepState]:
    return {s.name: s.state for s in result.steps}


def envelope(records: list[dict]) -> dict:
    return {"data": [{"data": r, "uri": f"/v3.0/x/{r.get('id')}"} for r in records], "links": []}


def district_record(district_id: str = DISTRICT_ID, **over) -> dict:
    return {
        "id": district_id,
        "name": "Springfield Unified",
        "sis_type": "powerschool",
        "state": "success",
        "last_sync": "2026-03-01T06:00:00.000Z",
        **over,
    }


def token_list(*owners: tuple[str, str]) -> dict:
    return {
        "data": [
            {
                "id": f"t{i}",
                "owner": {"type": "district", "id": owner},
                "access_token": token,
                "scopes": [],
            }
            for i, (owner, token) in enumerate(owners)
        ],
        "links": [],
    }


def serve_district(rsps, *, record: dict | None = None, schools=1, students=1) -> None:
    rsps.get(f"{OAUTH}/oauth/tokens", json=token_list((DISTRICT_ID, TOKEN)))
    rsps.get(f"{API}/v3.0/districts", json=envelope([record or district_record()]))
    rsps.get(f"{API}/v3.0/schools", json=envelope([school(n) for n in range(1, schools + 1)]))
    rsps.get(f"{API}/v3.0/users", json=envelope([student(n) for n in range(1, students + 1)]))


def test_a_district_ready_for_a_sync_passes_every_step():
    with responses.RequestsMock() as rsps:
        serve_district(rsps)
        result = run(DISTRICT_ID, APP, clever.new_session(), now=NOW)
    assert states(result) == dict.fromkeys((SIS, ACCEPTED, SETUP, TEST), StepState.OK)
    assert result.ok
    test = next(s for s in result.steps if s.name == TEST)
    assert "Springfield Unified" in test.detail and "powerschool" in test.detail


def test_a_request_not_accepted_gives_both_paths_of_advice_and_judges_nothing_else():
    with responses.RequestsMock() as rsps:
        rsps.get(f"{OAUTH}/oauth/tokens", json=token_list())
        result = run(DISTRICT_ID, APP, clever.new_session(), now=NOW)
    assert states(result) == {
        SIS: StepState.UNKNOWN,
        ACCEPTED: StepState.FAILED,
        SETUP: StepState.UNKNOWN,
        TEST: StepState.UNKNOWN,
    }
    accepted = next(s for s in result.steps if s.name == ACCEPTED)
    assert "Lead Implementation Specialist" in accepted.advice
    assert "accepts the invitation in its Clever portal" in accepted.advice
    assert not result.ok


def test_a_wrong_district_id_lists_the_connected_districts_by_name():
    with responses.RequestsMock() as rsps:
        rsps.get(
            f"{OAUTH}/oauth/tokens",
            json=token_list(),
            match=[
                responses.matchers.query_param_matcher(
                    {"owner_type": "district", "district": DISTRICT_ID}
                )
            ],
        )
        rsps.get(
            f"{OAUTH}/oauth/tokens",
            json=token_list((OTHER, "other-token")),
            match=[responses.matchers.query_param_matcher({"owner_type": "district"})],
        )
        rsps.get(
            f"{API}/v3.0/districts", json=envelope([district_record(OTHER, name="Shelbyville USD")])
        )
        result = run(DISTRICT_ID, APP, clever.new_session(), now=NOW)
    assert [(d.id, d.name) for d in result.connected] == [(OTHER, "Shelbyville USD")]
    accepted = next(s for s in result.steps if s.name == ACCEPTED)
    assert f"Shelbyville USD ({OTHER})" in accepted.detail
    assert result.to_dict()["connected_districts"] == [{"id": OTHER, "name": "Shelbyville USD"}]


@pytest.mark.parametrize(
    ("schools", "students", "missing"),
    [(0, 3, "schools"), (2, 0, "students"), (0, 0, "schools and no students")],
)
def test_a_district_that_shares_nothing_has_not_finished_its_setup(schools, students, missing):
    with responses.RequestsMock() as rsps:
        serve_district(rsps, schools=schools, students=students)
        result = run(DISTRICT_ID, APP, clever.new_session(), now=NOW)
    setup = next(s for s in result.steps if s.name == SETUP)
    assert setup.state == StepState.FAILED
    assert f"shares no {missing} with the MGI" in setup.detail
    assert "Set Sharing" in setup.advice and "Finalize" in setup.advice
    assert not result.ok


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"state": "paused"}, "Clever's sync of the district is paused"),
        ({"last_sync": "2026-02-01T06:00:00.000Z"}, "last synced the district 29 days ago"),
        ({"last_sync": None}, "no record of a completed sync"),
    ],
)
def test_a_paused_or_old_clever_sync_is_a_warning_before_any_sync(over, words):
    with responses.RequestsMock() as rsps:
        serve_district(rsps, record=district_record(**over))
        result = run(DISTRICT_ID, APP, clever.new_session(), now=NOW)
    test = next(s for s in result.steps if s.name == TEST)
    assert test.state == StepState.WARNING and words in test.detail, test.detail
    assert result.ok  # a warning does not stop a sync


def test_a_malformed_district_id_fails_before_any_call():
    with responses.RequestsMock():
        result = run("not-an-id", APP, clever.new_session(), now=NOW)
    assert [(s.name, s.state) for s in result.steps] == [("District ID", StepState.FAILED)]


def test_the_demo_district_is_measured_through_the_demo_transport(fresh_db):
    result = districts.checklist(fresh_db, DEMO_DISTRICT_ID, CleverSettings())
    # the demo's Clever sync is always recent: every step passes, as for a district ready to go
    assert states(result) == dict.fromkeys((SIS, ACCEPTED, SETUP, TEST), StepState.OK)
    assert districts.get(fresh_db, DEMO_DISTRICT_ID).verified_at is not None


def test_a_wrong_id_on_the_demo_names_the_demo_district(fresh_db):
    result = districts.checklist(fresh_db, OTHER, CleverSettings(), now=NOW)
    assert [d.id for d in result.connected] == [DEMO_DISTRICT_ID]
    assert states(result)[ACCEPTED] == StepState.FAILED


def test_the_last_checklist_is_kept_per_district_id_even_a_wrong_one(fresh_db):
    districts.checklist(fresh_db, OTHER, CleverSettings(), now=NOW)
    kept = districts.last_checklist(fresh_db, OTHER.upper())
    assert kept is not None and kept.to_dict() == run_on_demo(OTHER).to_dict()
    assert kept.problem is not None and kept.problem.name == ACCEPTED
    assert districts.last_checklist(fresh_db, DEMO_DISTRICT_ID) is None


def run_on_demo(district_id: str):
    session, settings = districts.demo_session()
    return run(district_id, settings, session, now=NOW)
