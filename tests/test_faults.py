"""Faults survived, nothing lost: real syncs against the demo district served with faults.

Every fault mode of the demo server (429 bursts, 5xx, slow answers, truncated JSON, a dropped
connection, an HTML page, a revoked token) runs a whole sync over loopback HTTP. A sync must end
either staged, complete and identical to a fault-free run, or failed with a message a
specialist can act on; never a partial run marked staged, and never a change to the roster.
The client's clock and sleep are a FakeClock, so backoff and rate-limit waits cost no time.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from mgi_roster import demo, parameters, store
from mgi_roster.__main__ import main
from mgi_roster.demo import (
    DEMO_DISTRICT_ID,
    DEMO_DISTRICT_TOKEN,
    DemoDistrict,
    Fault,
    handle,
    make_server,
    mount_demo,
    parse_fault,
)
from mgi_roster.demo.ids import _SCHOOL, _SECTION, _id
from mgi_roster.entities import ENTITIES
from mgi_roster.errors import InputError
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.staging import runfile
from mgi_roster.sync import SyncResult, run_sync
from tests.support import (
    API,
    FakeClock,
    copied_store,
    roster_snapshot,
    running,
    settings_for,
    staging_of,
)

BEARER = {"Authorization": f"Bearer {DEMO_DISTRICT_TOKEN}"}
DISTRICT = DemoDistrict(students=300)  # 4 schools, 14 teachers, 77 sections
PAGE = 50  # students come in 6 full pages and an empty one: about 14 data requests a sync
START = 1_700_000_036.0  # 4 s before a minute boundary: a 429 burst happens in two windows


# --- the fault modes on their own (in-process transport, no sync) ----------------------------


def adapter_session(*faults: str, clock: FakeClock | None = None) -> requests.Session:
    session = requests.Session()
    mount_demo(session, DISTRICT, faults=faults, **({"clock": clock} if clock else {}))
    session.headers.update(BEARER)
    return session


def schools(session: requests.Session, timeout: Any = 5, **params: str) -> requests.Response:
    return session.get(f"{API}/v3.0/schools", params={"limit": "2", **params}, timeout=timeout)


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("429-burst", Fault("429-burst", 5)),
        ("429-burst=2", Fault("429-burst", 2)),
        (" 5XX = 3 ", Fault("5xx", 3)),
        ("slow", Fault("slow", 130)),
        ("slow=0.25", Fault("slow", 0.25)),
        ("truncated-json", Fault("truncated-json")),
        ("disconnect", Fault("disconnect")),
        ("html", Fault("html", 3)),
        ("revoke-after=40", Fault("revoke-after", 40)),
    ],
)
def test_fault_specs_parse(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault
    assert parse_fault(str(fault)) == fault


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("teapot", "Unknown fault mode 'teapot'"),
        ("revoke-after", "needs a number: revoke-after=N"),
        ("5xx=0", "needs a whole number of at least 1"),
        ("429-burst=2.5", "needs a whole number"),
        ("slow=-1", "needs a number of seconds"),
        ("slow=nan", "needs a number of seconds"),
        ("truncated-json=2", "takes no number"),
    ],
)
def test_bad_fault_specs_are_refused_with_a_message(spec: str, said: str) -> None:
    with pytest.raises(InputError, match=re.escape(said)):
        parse_fault(spec)


def test_no_faults_and_faults_that_never_fire_answer_byte_for_byte_like_handle() -> None:
    quiet = ("revoke-after=1000000", "5xx=1000000", "html=1000000", "slow=0")
    requests_ = [
        ("/v3.0/users", {"role": ["student"], "limit": ["7"]}),
        ("/v3.0/sections", {"starting_after": [_id(_SECTION, 3)]}),
        ("/v3.0/schools/" + _id(_SCHOOL, 0), {}),
        ("/v3.0/nope", {}),
        ("/oauth/tokens", {"owner_type": ["district"]}),
    ]
    for faults in ((), quiet):
        server = make_server(DISTRICT, faults=faults, rate_limit=None)
        with running(server) as base, requests.Session() as session:
            for path, query in requests_:
                wire = session.get(base + path, params=query, headers=BEARER, timeout=5)
                expected = handle(DISTRICT, "GET", path, query, BEARER)
                assert (wire.status_code, wire.content) == (expected.status, expected.body)
                for name, value in expected.headers.items():
                    if not name.startswith("X-RateLimit"):
                        assert wire.headers[name] == value
        assert not server.faults.fired


def test_429_burst_answers_empty_429s_resetting_two_seconds_ahead_then_serves() -> None:
    clock = FakeClock(START)
    session = adapter_session("429-burst=2", clock=clock)
    first, second, third = (schools(session) for _ in range(3))
    for refused in (first, second):
        assert refused.status_code == 429 and refused.content == b""
        assert refused.headers["X-RateLimit-Reset"] == str(int(START) + 2)
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert "Retry-After" not in refused.headers
    assert third.status_code == 200
    clock.now += 60  # a new minute, a new burst
    assert schools(session).status_code == 429


def test_5xx_answers_500_502_503_in_turn_and_the_next_request_succeeds() -> None:
    session = adapter_session("5xx=2")
    statuses = [schools(session).status_code for _ in range(6)]
    assert statuses == [200, 500, 200, 502, 200, 503]


def test_slow_answers_past_the_read_timeout_time_out_and_the_retry_is_fast() -> None:
    session = adapter_session("slow=0.2")
    for _ in range(4):
        assert schools(session, timeout=(1, 0.05)).status_code == 200
    with pytest.raises(requests.ReadTimeout):
        schools(session, timeout=(1, 0.05))
    assert schools(session, timeout=(1, 0.05)).status_code == 200
    # a read timeout longer than the delay just waits
    session = adapter_session("slow=0.01")
    for _ in range(5):
        assert schools(session, timeout=(1, 1)).status_code == 200


def test_truncated_json_cuts_each_page_url_once() -> None:
    session = adapter_session("truncated-json")
    cut, whole = schools(session), schools(session)
    assert cut.headers["Content-Type"].startswith("application/json")
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["Content-Length"] == str(len(cut.content))
    with pytest.raises(ValueError):
        cut.json()
    assert whole.json()["data"]
    assert len(schools(session, limit="3").content) < len(schools(session, limit="3").content)


def test_disconnect_drops_each_page_url_once_midway() -> None:
    session = adapter_session("disconnect")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        schools(session)
    assert schools(session).json()["data"]


def test_html_answers_a_portal_page_with_200_every_third_request() -> None:
    session = adapter_session("html")
    answers = [schools(session) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[2].headers["Content-Type"].startswith("text/html")
    assert answers[2].text.startswith("<!DOCTYPE html>")


def test_revoke_after_n_answers_401_from_then_on_but_oauth_still_answers() -> None:
    session = adapter_session("revoke-after=2")
    assert [schools(session).status_code for _ in range(4)] == [200, 200, 401, 401]
    assert schools(session).json() == {"error": "Unauthorized"}
    tokens = session.get(
        "https://clever.com/oauth/tokens?owner_type=district",
        auth=(demo.DEMO_CLIENT_ID, demo.DEMO_CLIENT_SECRET),
        timeout=5,
    )
    assert tokens.status_code == 200


def test_the_server_sends_a_dropped_body_short_of_its_content_length() -> None:
    with running(make_server(DISTRICT, faults=["disconnect"])) as base:
        url = f"{base}/v3.0/schools?limit=2"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(url, headers=BEARER, timeout=5)
        assert requests.get(url, headers=BEARER, timeout=5).json()["data"]


def test_demo_serve_takes_repeated_fault_options(monkeypatch, capsys) -> None:
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(
        demo, "serve", lambda district, host, port, **kw: served.append({"port": port, **kw})
    )
    args = ["demo", "serve", "--port", "0", "--fault", "429-burst", "--fault", "revoke-after=9"]
    assert main(args) == 0
    assert served == [{"port": 0, "faults": [Fault("429-burst", 5), Fault("revoke-after", 9)]}]
    assert main(["demo", "serve", "--fault", "revoke-after"]) == 2
    assert "needs a number" in capsys.readouterr().err
    assert len(served) == 1


# --- syncs under faults ----------------------------------------------------------------------


def staged(con, run_id: int) -> dict[str, list[tuple]]:
    """A run's staged rows per entity, without the run id, in a stable order: from its own file,
    or (a failed run's file is gone) from the main store, where nothing may remain."""
    path = runfile.file_of(con, run_id)
    with (
        contextlib.nullcontext(con)
        if path is None or not path.is_file()
        else staging_of(con, run_id) as rows
    ):
        return {
            e.name: rows.execute(
                f"SELECT * EXCLUDE (run_id) FROM stg_{e.name} WHERE run_id = ? ORDER BY ALL",
                [run_id],
            ).fetchall()
            for e in ENTITIES
        }


def findings(con, run_id: int) -> tuple[list[tuple], list[tuple]]:
    issues = con.execute(
        "SELECT * EXCLUDE (run_id) FROM issues WHERE run_id = ? ORDER BY ALL", [run_id]
    ).fetchall()
    changes = con.execute(
        "SELECT * EXCLUDE (run_id) FROM changes WHERE run_id = ? ORDER BY ALL", [run_id]
    ).fetchall()
    return issues, changes


@dataclass(frozen=True)
class Reference:
    """A database with one clean run merged, and what a fault-free sync stages."""

    path: Path
    counts: dict[str, int]
    staged: dict[str, list[tuple]]
    issues: list[tuple]
    changes: list[tuple]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Reference:
    path = tmp_path_factory.mktemp("faults") / "merged.duckdb"
    with store.opened(path) as con, running(make_server(DISTRICT)) as base:
        parameters.save(con, DEMO_DISTRICT_ID, Parameters())
        clean = run_sync(con, DEMO_DISTRICT_ID, settings=settings_for(base), page_size=PAGE)
        assert clean.status == "staged", clean.message
        issues, _ = findings(con, clean.run_id)
        # Synced again after this merge, the same district changes nothing: no change rows.
        reference = Reference(path, clean.counts, staged(con, clean.run_id), issues, [])
        merge.approve(con, clean.run_id, by="fault suite")
    expected = DISTRICT.counts()
    assert {k: v for k, v in reference.counts.items() if k in expected} == expected
    return reference


@pytest.fixture
def reference_db(reference: Reference, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A copy of the reference store, for one test to sync into."""
    with copied_store(reference.path, tmp_path) as con:
        yield con


@dataclass(frozen=True)
class Outcome:
    result: SyncResult
    fired: dict[str, int]
    sleeps: list[float]


def sync_with(con, *faults: str, read_timeout: float = 5.0, full: bool = True) -> Outcome:
    """One real sync against the demo server running with these faults; the client's backoff
    and rate-limit waits go to a FakeClock that the server's minute windows also follow. A full
    pull by default (the faults fire on the Nth data request; an events sync makes only a few)."""
    clock = FakeClock(START)
    server = make_server(DISTRICT, faults=faults, clock=clock)
    with running(server) as base:
        result = run_sync(
            con,
            DEMO_DISTRICT_ID,
            settings=settings_for(base),
            page_size=PAGE,
            clock=clock,
            sleep=clock.sleep,
            timeout=(5.0, read_timeout),
            full=full,
        )
    return Outcome(result, dict(server.faults.fired), clock.sleeps)


def assert_complete_or_cleanly_failed(con, outcome: Outcome, reference: Reference, before) -> str:
    """The invariant of this file; returns the run's status."""
    result = outcome.result
    assert roster_snapshot(con, with_merges=True) == before, "a sync changed the roster"
    assert con.execute("SELECT count(*) FROM runs WHERE status = 'fetching'").fetchone() == (0,)
    row = con.execute(
        "SELECT status, message FROM runs WHERE run_id = ?", [result.run_id]
    ).fetchone()
    assert row == (result.status, result.message)
    if result.status == "staged":
        assert result.counts == reference.counts
        assert staged(con, result.run_id) == reference.staged
        assert findings(con, result.run_id) == (reference.issues, reference.changes)
    else:
        assert result.status == "failed", result
        message = result.message or ""
        assert message.endswith(".") and len(message) > 40, message
        assert "unexpectedly" not in message, f"not a message a specialist can act on: {message}"
        assert DEMO_DISTRICT_TOKEN not in message
        assert all(rows == [] for rows in staged(con, result.run_id).values())
        assert findings(con, result.run_id) == ([], [])
        with pytest.raises(Exception, match="failed"):
            merge.approve(con, result.run_id)
    return result.status


def test_429_bursts_are_waited_out_and_the_sync_completes(reference_db, reference) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "429-burst=3")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["429-burst"] >= 4  # the end of one minute's burst and a whole next one
    # each wait runs until just past X-RateLimit-Reset (2 s ahead), never a blind long sleep
    assert outcome.sleeps and all(2.0 <= s <= 3.5 for s in outcome.sleeps), outcome.sleeps


def test_5xx_answers_are_retried_and_the_sync_completes(reference_db, reference) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "5xx=3")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["5xx"] >= 3  # 500, 502 (an HTML body) and 503 (plain text)
    assert len(outcome.sleeps) == outcome.fired["5xx"]


def test_answers_slower_than_the_read_timeout_are_retried_and_the_sync_completes(
    reference_db, reference
) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "slow=0.75", read_timeout=0.25)
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["slow"] >= 2
    assert len(outcome.sleeps) >= outcome.fired["slow"]  # one backoff per timed-out answer


def test_an_html_page_with_status_200_fails_the_run_with_a_clear_message(
    reference_db, reference
) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "html")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "failed"
    assert outcome.fired["html"] == 1
    assert re.search(
        r"answered an HTML page instead of JSON for 127\.0\.0\.1:\d+/v3\.0/", outcome.result.message
    )


def test_a_token_revoked_mid_sync_fails_the_run_with_the_guides_advice(
    reference_db, reference
) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "revoke-after=8")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "failed"
    assert outcome.fired["revoke-after"] == 1  # a 401 is not retried
    assert "refused the district token (HTTP 401)" in outcome.result.message
    assert "reconnect the MGI in Clever" in outcome.result.message


def test_a_truncated_page_is_fetched_again_and_the_sync_completes(reference_db, reference) -> None:
    """A 200 whose JSON stops halfway was cut off on the way: the client asks again."""
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "truncated-json")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["truncated-json"] >= 6  # every page URL was cut once
    assert len(outcome.sleeps) == outcome.fired["truncated-json"]


def test_a_connection_dropped_mid_page_is_retried_and_the_sync_completes(
    reference_db, reference
) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "disconnect")
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["disconnect"] >= 6
    assert len(outcome.sleeps) == outcome.fired["disconnect"]


def test_every_fault_at_once_never_stages_a_partial_run(reference_db, reference) -> None:
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(
        reference_db, "429-burst=2", "5xx=4", "slow=0.4", "revoke-after=12", read_timeout=0.25
    )
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "failed"
    assert "refused the district token" in outcome.result.message


def test_an_events_sync_through_faults_stages_what_a_clean_sync_does(reference_db, reference):
    before = roster_snapshot(reference_db, with_merges=True)
    outcome = sync_with(reference_db, "5xx=2", "truncated-json", full=False)
    assert outcome.result.mode == "events", outcome.result.message
    assert assert_complete_or_cleanly_failed(reference_db, outcome, reference, before) == "staged"
    assert outcome.fired["5xx"] + outcome.fired["truncated-json"] >= 1
