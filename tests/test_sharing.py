"""An empty share is an error, not "ready": a sync that stages no schools or no students."""

from __future__ import annotations

import pytest
import responses

from mgi_roster import parameters
from mgi_roster.cli import main
from mgi_roster.errors import MergeRefused
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.sync import run_sync
from tests.support import DISTRICT_ID, SETTINGS, District, school, serve, small_district, teacher


def no_students() -> District:
    return District(schools=[school(1)], teachers=[teacher(1)])


def no_schools() -> District:
    district = small_district(3)
    district.schools = []
    return district


def empty_share_issues(con, run_id: int) -> list[tuple]:
    return con.execute(
        """SELECT entity, "check", severity, message FROM issues
           WHERE run_id = ? AND "check" = 'empty_share'""",
        [run_id],
    ).fetchall()


@pytest.mark.parametrize(
    ("district", "entity", "said"),
    [
        (no_students, "students", "the district shares no students"),
        (no_schools, "schools", "the district shares no schools"),
    ],
)
def test_an_empty_share_is_one_error_and_approve_is_refused(fresh_db, district, entity, said):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    with responses.RequestsMock() as rsps:
        serve(district(), rsps)
        result = run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS)
    assert result.ok and result.issues["error"] >= 1
    [(found_entity, check, severity, message)] = empty_share_issues(fresh_db, result.run_id)
    assert (found_entity, check, severity) == (entity, "empty_share", "error")
    assert message.startswith(said) and "finish Set Sharing in Clever" in message
    assert "ready to review and approve" not in (result.message or "")
    with pytest.raises(MergeRefused):
        merge.approve(fresh_db, result.run_id)


def test_a_district_that_shares_both_has_no_empty_share_issue(fresh_db):
    parameters.save(fresh_db, DISTRICT_ID, Parameters())
    with responses.RequestsMock() as rsps:
        serve(small_district(3), rsps)
        result = run_sync(fresh_db, DISTRICT_ID, settings=SETTINGS)
    assert empty_share_issues(fresh_db, result.run_id) == []
    assert result.issues["error"] == 0


@responses.activate
def test_approve_of_an_empty_share_exits_3_on_the_command_line(tmp_path, monkeypatch, capsys):
    db = str(tmp_path / "mgi.duckdb")
    monkeypatch.setenv("CLEVER_DISTRICT_TOKEN", "district-token")
    params = tmp_path / "params.json"
    params.write_text("{}")
    assert (
        main(["--db", db, "parameters", "set", "--district", DISTRICT_ID, "--file", str(params)])
        == 0
    )
    serve(no_students())
    assert main(["--db", db, "sync", "--district", DISTRICT_ID]) == 0
    run_id = int(capsys.readouterr().out.split("Run ", 1)[1].split(":", 1)[0])
    assert main(["--db", db, "approve", "--run", str(run_id)]) == 3
    assert "error" in capsys.readouterr().err
