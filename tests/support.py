"""Everything tests share that is not a fixture: one module, imported by test modules, never
importing one (the standard library's own `test.support` is the model). Fixtures live in
conftest.py and are built from what is here.

  constants       the Clever URLs, the test district and its settings, the repository root
  FakeClock       a clock that moves only when the code under test sleeps
  records         small Clever districts as plain dicts: `small_district(n)`, `student(n)`, ...
  serving         `serve(district)`: Clever's paged list endpoints through `responses`
  recordings      real recorded Clever answers (tests/fixtures/clever-recorded)
  stores          a district synced and approved, a run's staging file, copies of store files,
                  snapshots of the roster to compare whole
  loopback        the demo server in a thread, and the settings that reach it
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
import responses

from mgi_roster import parameters, store
from mgi_roster.demo import DEMO_DISTRICT_ID, DEMO_DISTRICT_TOKEN, DemoDistrict, make_server
from mgi_roster.entities import ENTITIES
from mgi_roster.parameters import Parameters
from mgi_roster.roster import merge
from mgi_roster.settings import CleverSettings
from mgi_roster.staging import runfile
from mgi_roster.sync import SyncResult, run_sync

# --- constants --------------------------------------------------------------------------------

API = "https://api.clever.com"
OAUTH = "https://clever.com"
DISTRICT_ID = "d15c0000000000000000000a"
TOKEN = "test-district-token"
SETTINGS = CleverSettings(api_base=API, district_token=TOKEN)
REPO = Path(__file__).resolve().parents[1]


# --- a clock ----------------------------------------------------------------------------------


class FakeClock:
    """A clock that only moves when the code under test sleeps: no real waiting in tests."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- records shaped like Clever's -------------------------------------------------------------


def hex_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:0{24 - len(prefix)}x}"


def school(n: int, **over: Any) -> dict[str, Any]:
    record = {
        "id": hex_id("5c", n),
        "district": DISTRICT_ID,
        "name": f"School {n}",
        "sis_id": f"S{n}",
        "school_number": str(100 + n),
        "low_grade": "Kindergarten",
        "high_grade": "8",
        "location": {
            "address": f"{n} Main St",
            "city": "Springfield",
            "state": "OR",
            "zip": "97477",
        },
    }
    return _merge(record, over)


def student(n: int, *, school_n: int = 1, **over: Any) -> dict[str, Any]:
    sid = hex_id("57", n)
    record = {
        "id": sid,
        "district": DISTRICT_ID,
        "email": f"student{n}@example.org",
        "name": {"first": f"First{n}", "last": f"Last{n}"},
        "roles": {
            "student": {
                "sis_id": f"{1000 + n}",
                "student_number": f"{1000 + n}",
                "state_id": f"ST{n}",
                "school": hex_id("5c", school_n),
                "schools": [hex_id("5c", school_n)],
                "grade": "3",
                "dob": "2/11/2016",
                "gender": "F",
                "race": "Unknown",
                "hispanic_ethnicity": "N",
                "ell_status": "N",
                "credentials": {"district_username": f"s{n}"},
                "enrollments": [],
            }
        },
    }
    return _merge(record, over)


def teacher(n: int, *, school_n: int = 1, **over: Any) -> dict[str, Any]:
    record = {
        "id": hex_id("7e", n),
        "district": DISTRICT_ID,
        "email": f"teacher{n}@example.org",
        "name": {"first": f"Teach{n}", "last": f"Er{n}"},
        "roles": {
            "teacher": {
                "sis_id": f"T{n}",
                "school": hex_id("5c", school_n),
                "schools": [hex_id("5c", school_n)],
                "credentials": {"district_username": f"t{n}"},
            }
        },
    }
    return _merge(record, over)


def section(
    n: int, *, students: list[int], teacher_n: int | None = 1, school_n: int = 1, **over: Any
) -> dict[str, Any]:
    tid = hex_id("7e", teacher_n) if teacher_n is not None else ""
    record = {
        "id": hex_id("5e", n),
        "district": DISTRICT_ID,
        "name": f"Math {n}",
        "sis_id": f"SEC{n}",
        "school": hex_id("5c", school_n),
        "subject": "math",
        "grade": "3",
        "teacher": tid,
        "teachers": [tid] if tid else [],
        "students": [hex_id("57", s) for s in students],
    }
    return _merge(record, over)


def _merge(record: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Override nested keys with dotted names: roles__student__grade="4" (None deletes)."""
    record = copy.deepcopy(record)
    for key, value in over.items():
        path = key.split("__")
        target = record
        for part in path[:-1]:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return record


@dataclass
class District:
    """Plain record dicts per Clever endpoint; `serve` answers them as Clever would."""

    schools: list[dict[str, Any]] = field(default_factory=list)
    students: list[dict[str, Any]] = field(default_factory=list)
    teachers: list[dict[str, Any]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    courses: list[dict[str, Any]] = field(default_factory=list)

    def copy(self) -> District:
        return copy.deepcopy(self)

    def find(self, kind: str, record_id: str) -> dict[str, Any]:
        return next(r for r in getattr(self, kind) if r["id"] == record_id)


def small_district(students: int = 10) -> District:
    """One school, one teacher, `students` students all in one section: no issues at all."""
    return District(
        schools=[school(1)],
        students=[student(n) for n in range(1, students + 1)],
        teachers=[teacher(1)],
        sections=[section(1, students=list(range(1, students + 1)))],
    )


# --- serving a district like Clever -----------------------------------------------------------


def _page(
    path: str, records: list[dict[str, Any]], next_after: str | None = None, query: str = ""
) -> dict[str, Any]:
    links = [{"rel": "self", "uri": f"/v3.0{path}"}]
    if next_after:
        links.append({"rel": "next", "uri": f"/v3.0{path}?{query}starting_after={next_after}"})
    return {"data": [{"data": r, "uri": f"/v3.0{path}/{r['id']}"} for r in records], "links": links}


def serve(
    district: District,
    rsps: responses.RequestsMock | None = None,
    *,
    page_size: int | None = None,
    fail: tuple[str, int, int] | None = None,
    events: Feed | None = None,
) -> None:
    """Register the district as Clever's paged list endpoints.

    page_size splits each list into pages linked by `next` (the client must then be asked for
    the same page size). fail=("students", 3, 401) answers that status for that page instead.
    `events` serves an events feed; without one, the events endpoint answers 404 as for a
    district that has not enabled events (so every sync is a full one).
    """
    mock = rsps or responses
    serve_events(events if events is not None else Feed(refuse=404), mock)
    for name, path, role in (
        ("schools", "/schools", None),
        ("students", "/users", "student"),
        ("teachers", "/users", "teacher"),
        ("sections", "/sections", None),
        ("terms", "/terms", None),
        ("courses", "/courses", None),
    ):
        records = getattr(district, name)
        size = page_size or max(len(records), 1)
        chunks = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
        query = f"role={role}&" if role else ""
        registrations = []
        for number, chunk in enumerate(chunks, start=1):
            after = chunk[-1]["id"] if number < len(chunks) else None
            match: dict[str, str] = {"role": role} if role else {}
            if number > 1:
                match["starting_after"] = chunks[number - 2][-1]["id"]
            if fail and fail[0] == name and fail[1] == number:
                answer: dict[str, Any] = {
                    "status": fail[2],
                    "json": {"error": "failure injected by the test"},
                }
            else:
                answer = {"json": _page(path, chunk, after, query)}
            matchers = (
                [responses.matchers.query_param_matcher(match, strict_match=False)] if match else []
            )
            registrations.append((number, matchers, answer))
        # Later pages first: responses takes the first registration that matches.
        for _number, matchers, answer in sorted(registrations, key=lambda r: -r[0]):
            mock.get(f"{API}/v3.0{path}", match=matchers, **answer)


# --- Clever's events feed ---------------------------------------------------------------------

USER_KINDS = ("students", "teachers")
RECORD_KINDS = {"schools": ("schools",), "users": USER_KINDS, "sections": ("sections",)}
RECORD_KINDS |= {"terms": ("terms",), "courses": ("courses",)}


def event(n: int, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """Event number `n` of the feed (ids ascend with n), carrying `record` as its object."""
    return {
        "id": hex_id("e0", n),
        "type": kind,
        "created": "2026-01-12T06:00:00.000Z",
        "data": {"object": record},
    }


def events_between(before: District, after: District, first: int = 1) -> list[dict[str, Any]]:
    """The events Clever would write for `before` becoming `after`, numbered from `first`:
    derived from the difference of the two districts' records, never written by hand."""
    found = []
    for record_type, kinds in RECORD_KINDS.items():
        was = {r["id"]: r for kind in kinds for r in getattr(before, kind)}
        now = {r["id"]: r for kind in kinds for r in getattr(after, kind)}
        for record_id in sorted(was.keys() | now.keys()):
            if record_id not in was:
                found.append((f"{record_type}.created", now[record_id]))
            elif record_id not in now:
                found.append((f"{record_type}.deleted", was[record_id]))
            elif was[record_id] != now[record_id]:
                found.append((f"{record_type}.updated", now[record_id]))
    return [event(first + i, kind, record) for i, (kind, record) in enumerate(found)]


@dataclass
class Feed:
    """An events feed as Clever serves it: paged by starting_after / ending_before ("last").

    `refuse` answers every events request with that status (events not enabled); `forgotten`
    ids answer 404 on /events/{id} (fallen off the feed); `reject_after` answers 400 to paging
    from those cursors."""

    events: list[dict[str, Any]] = field(default_factory=list)
    refuse: int | None = None
    forgotten: set[str] = field(default_factory=set)
    reject_after: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(request.url)
        self.requests.append(f"{parts.path}?{parts.query}")
        if self.refuse is not None:
            return self._json(self.refuse, {"message": "Events are not enabled for this district."})
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        ids = [e["id"] for e in self.events]
        if parts.path.rstrip("/") != "/v3.0/events":
            wanted = parts.path.rsplit("/", 1)[-1]
            if wanted in self.forgotten or wanted not in ids:
                return self._json(404, {"message": "Resource not found"})
            return self._json(200, {"data": self.events[ids.index(wanted)]})
        limit = int(query.get("limit", 100))
        after, before = query.get("starting_after"), query.get("ending_before")
        if after in self.reject_after:
            return self._json(400, {"message": "starting_after is not a valid event id"})
        if before is not None and after is None:
            end = len(ids) if before == "last" else sum(i < before for i in ids)
            page = self.events[max(0, end - limit) : end]
        else:
            page = [e for e in self.events if after is None or e["id"] > after][:limit]
        links = [{"rel": "self", "uri": "/v3.0/events"}]
        if page and len(page) == limit:
            links.append({"rel": "next", "uri": f"/v3.0/events?starting_after={page[-1]['id']}"})
        items = [{"data": e, "uri": f"/v3.0/events/{e['id']}"} for e in page]
        return self._json(200, {"data": items, "links": links})

    @staticmethod
    def _json(status: int, body: Any) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(body)


def serve_events(feed: Feed, rsps: Any = None) -> None:
    """Register `feed` as /v3.0/events and /v3.0/events/{id}."""
    mock = rsps or responses
    mock.add_callback(
        responses.GET, re.compile(rf"{re.escape(API)}/v3\.0/events(/[^?]*)?(\?.*)?$"), feed.answer
    )


# --- real recorded Clever answers (tests/fixtures/clever-recorded, MIT; see SOURCES.md there) -

RECORDED = Path(__file__).parent / "fixtures" / "clever-recorded"


def recorded_interactions(name: str) -> list[dict[str, Any]]:
    """The request/response pairs of one cassette, e.g. "client__users_next"."""
    interactions: list[dict[str, Any]] = json.loads((RECORDED / f"{name}.json").read_text())[
        "interactions"
    ]
    return interactions


def recorded_body(name: str, index: int = 0) -> Any:
    """The body of a cassette's `index`th response."""
    return recorded_interactions(name)[index]["response"]["body"]


def recorded_records(name: str) -> list[dict[str, Any]]:
    """Every record served by a cassette's list responses, in order."""
    out: list[dict[str, Any]] = []
    for interaction in recorded_interactions(name):
        data = interaction["response"]["body"]["data"]
        out.extend(item["data"] for item in data)
    return out


# --- stores -----------------------------------------------------------------------------------


def synced(con: duckdb.DuckDBPyConnection, district: District) -> SyncResult:
    """A sync of the test district (its parameters saved) that served `district`; it must stage."""
    with responses.RequestsMock() as rsps:
        serve(district, rsps)
        result = run_sync(con, DISTRICT_ID, settings=SETTINGS)
    assert result.ok, result.message
    return result


def seed(con: duckdb.DuckDBPyConnection, students: int = 10) -> merge.MergeResult:
    """The test district with default parameters, `small_district(students)` synced and approved:
    roster version 1. What the `seeded_db` fixture holds."""
    parameters.save(con, DISTRICT_ID, Parameters())
    return merge.approve(con, synced(con, small_district(students)).run_id)


@contextlib.contextmanager
def staging_of(con: duckdb.DuckDBPyConnection, run_id: int) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a run's own staging file (staging/runfile.py): its stg_ tables
    hold what the run fetched until it is merged, rejected or fails."""
    path = runfile.file_of(con, run_id)
    assert path is not None and path.is_file(), f"run {run_id} has no staging file"
    staged = duckdb.connect(str(path), read_only=True)
    try:
        yield staged
    finally:
        staged.close()


def copy_store(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy a store file with its runs' staging files (the `<name>.runs` folder beside it)."""
    source, target = Path(source), Path(target)
    shutil.copyfile(source, target)
    runs = source.with_name(source.stem + ".runs")
    if runs.is_dir():
        shutil.copytree(runs, target.with_name(target.stem + ".runs"), dirs_exist_ok=True)


@contextlib.contextmanager
def copied_store(
    source: str | os.PathLike[str], folder: str | os.PathLike[str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An open connection to a copy of the store file `source`, made in `folder` (a test's
    tmp_path): a store built once per module, and changed by each test on its own copy."""
    path = Path(folder) / "mgi.duckdb"
    copy_store(source, path)
    con = store.connect(path)
    try:
        yield con
    finally:
        con.close()


def roster_snapshot(
    con: duckdb.DuckDBPyConnection, *, with_merges: bool = False
) -> dict[str, list[tuple[Any, ...]]]:
    """Every roster table whole (all versions), in a stable order; with the merges table too
    when asked (what a sync must never touch, unlike an undo, which marks a merge undone)."""
    tables = [f"roster_{e.name}" for e in ENTITIES] + (["merges"] if with_merges else [])
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def fingerprint(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any]:
    """Everything an approve writes, compared whole: every roster table (all versions: a count
    and an order-free sum of 64-bit row hashes), the merges, the run's status, its staging."""
    state: dict[str, Any] = {}
    for entity in ENTITIES:
        state[f"roster_{entity.name}"] = con.execute(
            f"SELECT count(*), sum(hash(t)::HUGEINT) FROM roster_{entity.name} t"
        ).fetchone()
        state[f"stg_{entity.name}"] = con.execute(
            f"SELECT count(*) FROM stg_{entity.name} WHERE run_id = ?", [run_id]
        ).fetchone()
    state["merges"] = con.execute(
        "SELECT version, run_id, kind, actor, counts, undone, undoes FROM merges ORDER BY ALL"
    ).fetchall()
    state["run"] = con.execute(
        "SELECT status, decided_by FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    state["audit"] = con.execute(
        "SELECT action, run_id, version, actor FROM audit ORDER BY ALL"
    ).fetchall()
    state["findings"] = con.execute(
        "SELECT (SELECT count(*) FROM issues WHERE run_id = $r), (SELECT count(*) FROM changes WHERE run_id = $r)",
        {"r": run_id},
    ).fetchone()
    return state


def build_two_day_db(path: Path, students: int, page_size: int = 10_000) -> int:
    """A database with the demo district's day 1 merged and its day 3 staged; the run id."""
    with store.opened(path) as con:
        parameters.save(con, DEMO_DISTRICT_ID, Parameters())
        run_ids = []
        for day in (1, 3):
            with running(make_server(DemoDistrict(students=students, day=day))) as base:
                result = run_sync(
                    con, DEMO_DISTRICT_ID, settings=settings_for(base), page_size=page_size
                )
            assert result.ok and result.issues["error"] == 0, result.message
            run_ids.append(result.run_id)
            if day == 1:
                merge.approve(con, result.run_id, by="day one")
    return run_ids[-1]


# --- the demo server over loopback ------------------------------------------------------------


@contextlib.contextmanager
def running(server: Any) -> Iterator[str]:
    """Serve in a thread; yield the base URL; stop it."""
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def settings_for(base: str) -> CleverSettings:
    """Settings that reach the demo server at `base` with the demo district's token."""
    return CleverSettings(api_base=base, oauth_base=base, district_token=DEMO_DISTRICT_TOKEN)


# --- sweeps -----------------------------------------------------------------------------------


def sampled(
    cases: Sequence[Any], key: Callable[[Any], object] = lambda case: None, keep: int = 1
) -> list[Any]:
    """Parametrize a sweep: the first `keep` cases of each `key` run in the default gate, the
    others are marked slow (`pytest -m slow` runs them; `-m 'not bench'` runs everything)."""
    seen: dict[object, int] = {}
    out = []
    for case in cases:
        k = key(case)
        seen[k] = seen.get(k, 0) + 1
        values = case if isinstance(case, tuple) else (case,)
        out.append(pytest.param(*values, marks=() if seen[k] <= keep else pytest.mark.slow))
    return out
