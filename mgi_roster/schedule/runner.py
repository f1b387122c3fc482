"""Running what is due: one scheduled sync (and its merge when safe), the scheduler loop, and
the service lines that run it."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mgi_roster.errors import RosterError
from mgi_roster.schedule import drop
from mgi_roster.schedule.model import (
    SCHEDULER,
    Schedule,
    log,
)
from mgi_roster.schedule.records import (
    all_schedules,
)
from mgi_roster.schedule.rules import (
    check,
    facts,
    latest_due,
    next_due,
)
from mgi_roster.store import Store, transaction

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.settings import CleverSettings, NotifySettings

# --- running what is due --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    district_id: str
    slot: datetime
    outcome: str  # merged, held for review, failed, skipped
    run_id: int | None = None
    message: str = ""
    counts: dict[str, Any] = field(default_factory=dict)  # errors, warnings, changes: numbers only

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["slot"] = self.slot.isoformat()
        return data


def due(
    con: duckdb.DuckDBPyConnection, now: datetime
) -> list[tuple[str, Schedule, datetime, str | None]]:
    """Districts with a slot in (last handled slot, now]: each once, however many were missed,
    with the reason it may not run (None when it may)."""
    out = []
    for district_id, schedule, last_slot in all_schedules(con):
        slot = latest_due(schedule, now)
        if slot is not None and (last_slot is None or slot > last_slot):
            reason = check(schedule, facts(con, district_id), now.astimezone(UTC).date())
            out.append((district_id, schedule, slot, reason))
    return out


def _counts(result: Any) -> dict[str, Any]:
    return {
        "errors": result.issues["error"],
        "warnings": result.issues["warning"],
        "changes": result.changes,
    }


def run_district(
    target: Store | duckdb.DuckDBPyConnection,
    district_id: str,
    schedule: Schedule,
    slot: datetime,
    settings: CleverSettings | None = None,
) -> Outcome:
    """One scheduled sync, and a merge when the policy allows, the run is clean and a person has
    approved the district's first sync. The store is taken for moments only (a sync's long work
    is in its own file)."""
    from mgi_roster import sync  # here, not at the top: the command line starts without pandas
    from mgi_roster.roster import merge

    store = target if isinstance(target, Store) else Store(target)
    with store.session() as con, transaction(con):
        con.execute("UPDATE schedules SET last_slot = ? WHERE district_id = ?", [slot, district_id])
        approved = facts(con, district_id).approved
    folder = _drop_folder(store, district_id)
    package = drop.newest(folder) if folder else None
    if folder and package is None:
        return Outcome(
            district_id, slot, "skipped", None, f"No new package in the drop folder {folder}."
        )
    try:
        result = sync.run_sync(
            store, district_id, settings=settings, trigger="scheduled", file=package
        )
    except RosterError as exc:  # refused: no parameters, another sync running, ...
        return Outcome(district_id, slot, "skipped", None, exc.message)
    if package is not None:
        drop.file_away(package, result.run_id, result.ok)
    if not result.ok:
        return Outcome(district_id, slot, "failed", result.run_id, result.message or "")
    counts = _counts(result)
    clean = result.status == "staged" and result.issues["error"] == 0
    if clean and schedule.policy == "auto" and approved:
        try:
            with store.session() as con:
                merged = merge.approve(con, result.run_id or 0, by=SCHEDULER)
        except RosterError as exc:
            return Outcome(district_id, slot, "held for review", result.run_id, exc.message, counts)
        return Outcome(
            district_id,
            slot,
            "merged",
            result.run_id,
            f"Merged as roster version {merged.version}.",
            counts,
        )
    why = (
        "its guards tripped"
        if result.status == "held"
        else f"it has {result.issues['error']} errors"
        if result.issues["error"]
        else "a person approves the district's first sync"
        if not approved
        else "the policy asks for review"
    )
    return Outcome(
        district_id, slot, "held for review", result.run_id, f"Left for review: {why}.", counts
    )


def _drop_folder(store: Store, district_id: str) -> str | None:
    """The drop folder of a OneRoster CSV district (drop.py); None for every other district."""
    from mgi_roster import districts
    from mgi_roster.kinds import ProviderKind

    with store.session() as con:
        district = districts.get(con, district_id)
    if district is None or district.provider is not ProviderKind.ONEROSTER_CSV:
        return None
    return district.provider_settings.drop_folder


def run_due(
    target: Store | duckdb.DuckDBPyConnection,
    now: datetime,
    settings: CleverSettings | None = None,
    notify_settings: NotifySettings | None = None,
) -> list[Outcome]:
    """`scheduler --once`: every due district, one after another; one failure stops nothing.
    A schedule that breaks a rule is skipped with the reason. Contacts are told about held,
    failed and merged runs, and about schedules that expire soon."""
    from mgi_roster import notify

    store = target if isinstance(target, Store) else Store(target)
    with store.session() as con:
        found = due(con, now)
    outcomes = []
    for district_id, schedule, slot, reason in found:
        if reason is not None:
            with store.session() as con:
                con.execute(
                    "UPDATE schedules SET last_slot = ? WHERE district_id = ?", [slot, district_id]
                )
            outcome = Outcome(district_id, slot, "skipped", None, reason)
        else:
            try:
                outcome = run_district(store, district_id, schedule, slot, settings)
            except Exception as exc:  # a bug in one district's run must not stop the others
                log.exception("scheduled sync of %s failed", district_id)
                outcome = Outcome(district_id, slot, "failed", None, f"{type(exc).__name__}: {exc}")
        log.info("scheduled sync of %s: %s %s", district_id, outcome.outcome, outcome.message)
        notify.after_run(store, outcome, notify_settings)
        outcomes.append(outcome)
    notify.expiring(store, now, notify_settings)
    return outcomes


def next_wake(con: duckdb.DuckDBPyConnection, now: datetime) -> datetime | None:
    slots = [
        next_due(s, now)
        for d, s, _last in all_schedules(con)
        if check(s, facts(con, d), now.astimezone(UTC).date()) is None
    ]
    return min((s for s in slots if s is not None), default=None)


@dataclass
class Scheduler:
    """`scheduler`: run what is due, sleep until the next slot, until stopped.

    It opens the database only while it works, so the dashboard and the command line can use it
    in between; schedules edited meanwhile are picked up within `recheck` seconds.
    """

    store: Store
    settings: CleverSettings | None = None
    notify: NotifySettings | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    recheck: float = 60.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run_forever(self, on_outcome: Callable[[Outcome], None] = lambda _o: None) -> None:
        while not self.stop.is_set():
            now = self.clock()
            for outcome in run_due(self.store, now, self.settings, self.notify):
                on_outcome(outcome)
                if self.stop.is_set():  # SIGTERM: stop between runs, never inside one
                    return
            with self.store.session() as con:
                wake = next_wake(con, self.clock())
            delay = self.recheck if wake is None else (wake - self.clock()).total_seconds()
            self.stop.wait(max(0.0, min(delay, self.recheck)))


def recent_runs(
    con: duckdb.DuckDBPyConnection, district_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Scheduled runs and how they ended, newest first, for the Schedule page (with the
    notification that could not be delivered, if any)."""
    rows = con.execute(
        """SELECT run_id, started_at, finished_at, status, errors, warnings, message, notice
           FROM runs WHERE district_id = ? AND trigger = 'scheduled' ORDER BY run_id DESC LIMIT ?""",
        [district_id, limit],
    ).fetchall()
    names = (
        "run_id",
        "started_at",
        "finished_at",
        "status",
        "errors",
        "warnings",
        "message",
        "notice",
    )
    return [dict(zip(names, r, strict=True)) for r in rows]


def service_lines(python: str, project_dir: str, db: str) -> dict[str, str]:
    """The cron and systemd lines that run the scheduler, for the Schedule page and the command
    line. Paths are quoted for the shell (a folder may have a space in its name); cron reads an
    unescaped % as a line break, systemd as a specifier, so each gets it escaped its own way."""
    q = shlex.quote
    log_file = f"{project_dir.rstrip('/')}/data/scheduler.log"
    once = f"cd {q(project_dir)} && MGI_DB={q(db)} {q(python)} -m mgi_roster scheduler --once"
    cron = f"*/5 * * * * {once} >> {q(log_file)} 2>&1".replace("%", r"\%")

    def unit(value: str) -> str:
        return value.replace("%", "%%")

    return {
        "cron": cron,
        "systemd": "\n".join(
            [
                "[Unit]",
                "Description=MGI Roster Review scheduler",
                "After=network-online.target",
                "",
                "[Service]",
                unit(f"WorkingDirectory={project_dir}"),
                unit(f"Environment={q(f'MGI_DB={db}')}"),
                "EnvironmentFile=-/etc/mgi-roster/clever.env",
                unit(f"ExecStart={q(python)} -m mgi_roster scheduler"),
                "Restart=on-failure",
                "KillSignal=SIGTERM",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
            ]
        ),
    }
