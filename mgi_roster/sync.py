"""A sync run end to end: fetch → flatten → stage → validate → diff.

Pages stream from Clever straight into DuckDB: each page's raw JSON body is flattened by SQL
generated from the entity specs, so no Python list of a whole district ever exists. A run is
`fetching` while it works and becomes `staged` (or `held`, when a guard trips) only when every
step succeeded; any failure marks it `failed` with its message and removes its staging, so a
failed run can never be merged and the roster is never touched by a sync.

The long work happens in the run's own DuckDB file (staging/runfile.py): the main store is
taken only to start the run, to copy the roster the run compares with, and to publish the
outcome, so the dashboard and other commands are never kept waiting by a sync.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

from mgi_roster import districts, parameters
from mgi_roster.entities import ENROLLMENTS, FETCHED, STUDENTS, TEACHERS
from mgi_roster.errors import RequestRejected, RosterError, SyncRefused, UnexpectedResponse
from mgi_roster.kinds import ProviderKind, RunStatus, SyncMode
from mgi_roster.review import diff, digest, sharing, validation
from mgi_roster.roster import sql
from mgi_roster.roster.versions import current_version
from mgi_roster.settings import CleverSettings
from mgi_roster.sources import clever, clever_events
from mgi_roster.sources import provider as providers
from mgi_roster.sources.clever import CleverClient, Page
from mgi_roster.staging import base, events, memory, runfile
from mgi_roster.staging.pages import EnvelopeReader, stage_page, staged_counts
from mgi_roster.store import Store, transaction

log = logging.getLogger(__name__)

# Records per request. Clever allows 10,000, but a page of 10,000 users is 12 MB of JSON, held
# as bytes, as text and parsed twice by DuckDB (envelope and staging, about 60 MB more each),
# while the next one waits prefetched; a page of sections unnests its members too. At 2,500 a
# sync's memory stays under 400 MB at a million students (benchmarks/RESULTS.md), and 470
# requests for them are far inside Clever's 1,200 a minute.
PAGE_SIZE = 2_500
STALE_AFTER = timedelta(hours=6)  # a run "fetching" for longer was interrupted (process killed)
_START_LOCK = threading.Lock()


@dataclass(frozen=True)
class Progress:
    """Reported after every staged page, and once more when an entity is complete."""

    entity: str
    label: str
    step: int  # 1-based index of the entity among those fetched
    steps: int
    pages: int
    records: int  # staged so far for this entity
    done: bool = False


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class SyncResult:
    run_id: int | None
    district_id: str
    status: RunStatus
    counts: dict[str, int] = field(default_factory=dict)
    issues: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0})
    changes: dict[str, dict[str, int]] = field(default_factory=dict)
    guards: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    timings: dict[str, float] = field(default_factory=dict, compare=False)
    digest: str = ""  # the run in plain words (review/digest.py)
    mode: str | None = None  # SyncMode: how the run learned the roster
    mode_reason: str | None = None  # ModeReason: why
    events_applied: int = 0

    @property
    def ok(self) -> bool:
        return RunStatus(self.status).reviewable

    def to_dict(self) -> dict[str, Any]:
        """The `sync --json` contract (timings are not part of it)."""
        data = asdict(self)
        del data["timings"]
        return data


# --- the run --------------------------------------------------------------------------------


def _started(pid: int) -> str | None:
    """When process `pid` started, in clock ticks since boot (Linux /proc); None elsewhere or
    when there is no such process. With the pid, it names one process even after the pid is
    reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime), counted after the command name, which sits in parentheses.
    return stat.rpartition(")")[2].split()[19]


def process_owner() -> str:
    """host:pid:start of this process, recorded on the runs it starts."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_started(pid) or ''}"


def _alive(owner: str | None) -> bool:
    """False only when we can tell: the owner was a process on this host that no longer exists
    (its pid is gone, or now belongs to a process started at another time)."""
    host, pid, start = ((owner or "").split(":") + ["", "", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not start or _started(int(pid)) in (None, start)


def start_run(con: duckdb.DuckDBPyConnection, district_id: str, trigger: str, **fields: Any) -> int:
    """Create the run row, refusing when another sync of this district is under way.

    This is the lock two schedulers (or a scheduler and a person) share: the check and the
    insert are one transaction. A run left "fetching" by a process that died (kill -9, power
    loss) is marked failed first, so it never blocks the district for good.
    """
    # DuckDB's snapshot isolation lets two transactions of this process both see "nothing
    # fetching" and both insert: serialise the check-and-insert (other processes are kept out by
    # the database file's lock).
    with _START_LOCK, transaction(con):
        fetching = con.execute(
            "SELECT run_id, owner, started_at < now() - ?::INTERVAL FROM runs WHERE district_id = ? AND status = ?",
            [f"{int(STALE_AFTER.total_seconds())} seconds", district_id, RunStatus.FETCHING],
        ).fetchall()
        for run_id, owner, too_old in fetching:
            if too_old or not _alive(owner):
                con.execute(
                    """UPDATE runs SET status = 'failed', finished_at = now(),
                       message = 'The sync was interrupted (its process stopped) before it finished.'
                       WHERE run_id = ?""",
                    [run_id],
                )
                runfile.discard(con, run_id)
                runfile.remove(runfile.file_of(con, run_id))
            else:
                raise SyncRefused(
                    f"A sync of district {district_id} is already running (run {run_id}). Wait for it "
                    "to finish, then look at its result."
                )
        row = con.execute(
            """INSERT INTO runs (district_id, trigger, status, demo_day, parameters, owner)
               VALUES (?, ?, ?, ?, ?, ?) RETURNING run_id""",
            [
                district_id,
                trigger,
                RunStatus.FETCHING,
                fields.get("demo_day"),
                fields.get("parameters"),
                process_owner(),
            ],
        ).fetchone()
    assert row is not None
    return int(row[0])


class Timings(dict[str, float]):
    """Seconds spent per phase of a run (fetch, stage, validate, diff): for progress messages
    and the benchmarks."""

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - start
            if name != "stage":  # a step is over (staging a page is not): give memory back
                memory.release()


def prefetched(pages: Iterator[Page], depth: int = 1) -> Iterator[Page]:
    """Fetch the next pages in a background thread while the current one is staged.

    Clever (or the network) and DuckDB then work at the same time; at most `depth` pages wait in
    memory, so memory stays bounded. An exception in the fetching thread is raised here, in
    order; stopping early (a staging failure) stops the thread.
    """
    done = object()
    slots: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slots.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            item: Any = done
        except BaseException as exc:  # handed to the consumer, raised there
            item = exc
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    worker = threading.Thread(target=produce, name="clever-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def fetch(
    con: duckdb.DuckDBPyConnection,
    client: CleverClient,
    run_id: int,
    district_id: str,
    *,
    page_size: int = PAGE_SIZE,
    progress: ProgressCallback | None = None,
    timings: Timings | None = None,
) -> dict[str, int]:
    """Stream every fetched entity into staging; return the staged counts per entity."""
    report = progress or (lambda _p: None)
    timings = timings if timings is not None else Timings()
    started = time.perf_counter()
    envelope = EnvelopeReader()
    for step, entity in enumerate(FETCHED, start=1):
        records = pages = 0
        listed = client.pages(
            entity.endpoint or "", dict(entity.params), page_size=page_size, envelope=envelope
        )
        for page in prefetched(listed):
            with timings.phase("stage"):
                stage_page(con, entity, run_id, district_id, page.body)
            pages += 1
            records += page.count
            report(Progress(entity.name, entity.label, step, len(FETCHED), pages, records))
        memory.release()
        report(Progress(entity.name, entity.label, step, len(FETCHED), pages, records, done=True))
    with timings.phase("stage"):
        counts = staged_counts(con, run_id)
    # What staging did not take was waiting for Clever (and parsing its pages).
    timings["fetch"] = time.perf_counter() - started - timings.get("stage", 0.0)
    return counts


def run_sync(
    target: Store | duckdb.DuckDBPyConnection,
    district_id: str,
    *,
    settings: CleverSettings | None = None,
    trigger: str = "manual",
    progress: ProgressCallback | None = None,
    page_size: int = PAGE_SIZE,
    provider: ProviderKind | str | None = None,
    file: Path | str | None = None,
    full: bool = False,
    **http_options: Any,
) -> SyncResult:
    """Run a test sync of one district, through its provider (sources/provider.py): the one
    given, else the district's own (Clever for a new one). `file` is a OneRoster CSV ZIP.
    Refusals (no parameters, malformed ID, a sync already running) raise before a run exists;
    once the run exists, every failure is recorded in it.

    `target` is the main store: a `Store` (taken for moments only) or an open connection
    (used throughout). `full` pulls every record even when Clever's events since the latest
    merge would do (sources/clever_events.py says when a run uses events)."""
    store = target if isinstance(target, Store) else Store(target)
    settings = settings if settings is not None else CleverSettings.from_env()
    with store.session() as con:
        district_id, kind = districts.check_id(
            con, district_id, ProviderKind(provider) if provider else None
        )
        params = parameters.require(con, district_id)
        district = districts.add(con, district_id, provider=kind)
        run_id = start_run(
            con,
            district_id,
            trigger,
            demo_day=district.demo_day if district.is_demo else None,
            parameters=params.to_json(),
        )
        con.execute("UPDATE runs SET provider = ? WHERE run_id = ?", [kind, run_id])
    timings = Timings()
    path: Path | None = None
    try:
        with store.session() as con:
            with timings.phase("snapshot"):
                runfile.sweep(con)
                path = runfile.create(con, run_id, district_id)
                roster_version = current_version(con, district_id)
            if kind is ProviderKind.CLEVER:
                cursor = clever_events.cursor_of(con, district_id)
                session, effective = districts.clever_session(con, district_id, settings)
            elif kind is ProviderKind.ONEROSTER_API:
                session, api = districts.oneroster_connection(con, district_id)
        source: providers.Provider
        if kind is ProviderKind.CLEVER:
            client, _ = clever.connect(district_id, effective, session=session, **http_options)
            source = providers.CleverProvider(
                client, page_size, clever_events.decide(client, cursor, full=full)
            )
        elif kind is ProviderKind.ONEROSTER_CSV:
            source = providers.oneroster_csv(file)
        else:
            source = providers.oneroster_api(api, session)
        with runfile.opened(path) as work:
            counts = source.stage(work, run_id, district_id, progress=progress, timings=timings)
            base.drop_seen(work)
            plan: clever_events.Plan | None = (
                source.plan if isinstance(source, providers.CleverProvider) else None
            )
            with transaction(work):
                with timings.phase("validate"):
                    found = validation.validate(work, run_id, district_id, params)
                    found = sharing.check(work, run_id, district_id, found)
                with timings.phase("diff"):
                    changes = diff.diff_run(work, run_id, district_id, params, roster_version)
                unshared = _unshared(work, run_id)
            summary = digest.build(work, run_id, district_id, changes.counts, found).text
        status = RunStatus.HELD if changes.guards else RunStatus.STAGED
        message = _summary(status, found, changes) + (f" {plan.sentence()}" if plan else "")
        with timings.phase("publish"), store.session() as con, transaction(con):
            runfile.publish(con, run_id, path)
            con.execute(
                """UPDATE runs SET status = ?, finished_at = now(), counts = ?, errors = ?, warnings = ?,
                   changes = ?, guards = ?, roster_version = ?, message = ?, unshared = ? WHERE run_id = ?""",
                [
                    status,
                    json.dumps(counts),
                    found["error"],
                    found["warning"],
                    json.dumps(changes.counts),
                    json.dumps([g.to_dict() for g in changes.guards]),
                    changes.roster_version,
                    message,
                    unshared,
                    run_id,
                ],
            )
            if plan is not None:
                clever_events.record(con, run_id, plan)
            else:  # a OneRoster package or API is read whole
                con.execute("UPDATE runs SET mode = ? WHERE run_id = ?", [SyncMode.FULL, run_id])
    except Exception as exc:
        message = (
            exc.message
            if isinstance(exc, RosterError)
            else f"The sync failed unexpectedly ({type(exc).__name__}: {scrub(str(exc), settings)})."
        )
        if not isinstance(exc, RosterError):
            log.error("sync run %s failed: %s", run_id, message)
        with store.session() as con:
            _fail(con, run_id, message)
        runfile.remove(path)
        return SyncResult(run_id, district_id, RunStatus.FAILED, message=message, timings=timings)
    return SyncResult(
        run_id,
        district_id,
        status,
        counts=counts,
        issues=found,
        changes=changes.counts,
        guards=[g.to_dict() for g in changes.guards],
        message=message,
        timings=timings,
        digest=summary,
        mode=plan.mode if plan else SyncMode.FULL,
        mode_reason=plan.reason if plan else None,
        events_applied=plan.applied if plan else 0,
    )


def stage_clever(
    work: duckdb.DuckDBPyConnection,
    client: CleverClient,
    plan: clever_events.Plan,
    run_id: int,
    district_id: str,
    page_size: int,
    progress: ProgressCallback | None,
    timings: Timings,
) -> tuple[dict[str, int], clever_events.Plan]:
    """Stage by the plan: the events since the cursor, or (also when Clever refuses them midway)
    every record."""
    if plan.mode is SyncMode.EVENTS:
        report = progress or (lambda _p: None)
        started, received = time.perf_counter(), 0
        try:
            feed = clever_events.since(
                client, plan.start or "", page_size=page_size, envelope=EnvelopeReader()
            )
            for page in prefetched(feed):
                with timings.phase("stage"):
                    events.receive(work, run_id, page.number, page.body)
                received += page.count
                report(Progress("events", "Clever events", 1, 1, page.number, received))
        except (RequestRejected, UnexpectedResponse) as exc:
            events.discard(work, run_id)
            plan = clever_events.fallback(client, exc)
        else:
            with timings.phase("stage"):
                runfile.threads(work, runfile.REVIEW_THREADS)  # the fetching is over
                applied = events.apply(work, run_id, district_id)
                counts = staged_counts(work, run_id)
            timings["fetch"] = time.perf_counter() - started - timings.get("stage", 0.0)
            report(Progress("events", "Clever events", 1, 1, 0, received, done=True))
            return counts, clever_events.applied(plan, applied.events, applied.last)
    counts = fetch(
        work, client, run_id, district_id, page_size=page_size, progress=progress, timings=timings
    )
    return counts, plan


def _unshared(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """Section members the token could not see: people the district's sharing leaves out."""
    # One lookup per kind of person: a union of the two first set a million ids aside again
    unseen = " ".join(
        f"""AND user_id NOT IN (SELECT id FROM {sql.staging_table(e)}
            WHERE run_id = $run AND id IS NOT NULL)"""
        for e in (STUDENTS, TEACHERS)
    )
    row = con.execute(
        f"""SELECT count(DISTINCT user_id) FROM {sql.staging_table(ENROLLMENTS)}
            WHERE run_id = $run {unseen}""",
        {"run": run_id},
    ).fetchone()
    return int(row[0]) if row else 0


# Credentials in text an exception may carry (a URL's query, an Authorization header).
_CREDENTIALS = re.compile(
    r"(?i)((?:access_token|client_secret|token|password|secret)=|bearer\s+|basic\s+)[^\s&'\"]+"
)


def scrub(text: str, settings: CleverSettings | None = None) -> str:
    """Text fit to store and show: every configured secret and every credential-shaped value
    replaced by •••."""
    for secret in (settings.client_secret, settings.district_token) if settings else ():
        value = secret.get_secret_value() if secret is not None else ""
        if value:
            text = text.replace(value, "•••")
    return _CREDENTIALS.sub(lambda m: m.group(1) + "•••", text)


def _fail(con: duckdb.DuckDBPyConnection, run_id: int, message: str) -> None:
    with transaction(con):
        runfile.discard(con, run_id)
        con.execute(
            "UPDATE runs SET status = ?, finished_at = now(), message = ? WHERE run_id = ?",
            [RunStatus.FAILED, message, run_id],
        )


def _summary(status: str, found: dict[str, int], changes: diff.Diff) -> str:
    parts = [f"{found['error']} errors, {found['warning']} warnings"]
    if status == RunStatus.HELD:
        parts.append("held: " + "; ".join(g.sentence() for g in changes.guards))
    elif found["error"]:
        parts.append("errors must be fixed in the SIS before Approve")
    else:
        parts.append("ready to review and approve")
    return "Staged: " + "; ".join(parts) + "."
