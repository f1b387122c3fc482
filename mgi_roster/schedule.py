"""Automatic sync: schedules that merge on their own only when it is safe.

A district's schedule says when (off; daily or weekdays at HH:MM; every N hours; in a time
zone), when not (pause windows: date ranges such as the summer rollover), and what to do with
the result (policy): "auto" merges a run only when it has no errors and trips no guard, and
leaves anything else staged or held for a person; "review" never merges on its own.

The scheduler remembers the last slot it handled per district. Whatever slots were missed while
the machine was off, a district is synced once when the scheduler comes back, not once per
missed slot. Two schedulers never sync one district at once: a sync refuses to start while
another run of the district is fetching (sync.start_run), which is the lock in the database.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from mgi_roster import sync
from mgi_roster.errors import InputError, RosterError
from mgi_roster.roster import merge
from mgi_roster.sources.clever import CleverSettings
from mgi_roster.store import transaction

log = logging.getLogger(__name__)

KINDS = ("off", "daily", "weekdays", "hourly")
POLICIES = ("auto", "review")
SCHEDULER = "scheduler"  # the name merges by the scheduler are audited under


@dataclass(frozen=True)
class Schedule:
    kind: str = "off"
    at: str = "06:00"  # HH:MM local time, for daily and weekdays
    every_hours: int = 24  # for hourly: slots at 00:00 + k × N local time each day
    tz: str = "UTC"
    pauses: tuple[tuple[str, str], ...] = ()  # inclusive (start, end) dates, YYYY-MM-DD
    policy: str = "auto"

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise InputError(problems[0])

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def enabled(self) -> bool:
        return self.kind != "off"

    def to_json(self) -> str:
        data = asdict(self)
        data["pauses"] = [list(p) for p in self.pauses]
        return json.dumps(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError(f"Unknown schedule setting {unknown[0]!r}.")
        pauses = data.get("pauses", ())
        if not isinstance(pauses, list | tuple) or not all(
            isinstance(p, list | tuple) and len(p) == 2 for p in pauses
        ):
            raise InputError("Pause windows must be pairs of dates: [start, end].")
        return cls(**{**data, "pauses": tuple((str(a), str(b)) for a, b in pauses)})

    def describe(self) -> str:
        if self.kind == "off":
            return "Automatic sync is off."
        when = {
            "daily": f"every day at {self.at}",
            "weekdays": f"Monday to Friday at {self.at}",
            "hourly": f"every {self.every_hours} hours",
        }[self.kind]
        merge_rule = (
            "merging on its own when clean"
            if self.policy == "auto"
            else "always waiting for review"
        )
        return f"Sync {when} ({self.tz}), {merge_rule}."


def _problems(s: Schedule) -> list[str]:
    out = []
    if s.kind not in KINDS:
        out.append(f"Unknown schedule {s.kind!r}: choose one of {', '.join(KINDS)}.")
    if s.policy not in POLICIES:
        out.append(f"Unknown policy {s.policy!r}: choose auto or review.")
    try:
        hour, minute = (int(p) for p in s.at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60) or len(s.at) != 5:
            raise ValueError
    except ValueError:
        out.append(f"The time {s.at!r} must be HH:MM on a 24-hour clock, e.g. 06:30.")
    if not isinstance(s.every_hours, int) or not 1 <= s.every_hours <= 24:
        out.append("every_hours must be a whole number from 1 to 24.")
    try:
        ZoneInfo(s.tz)
    except (ZoneInfoNotFoundError, ValueError):
        out.append(f"Unknown time zone {s.tz!r}: use a name such as America/Chicago.")
    for start, end in s.pauses:
        try:
            if date.fromisoformat(start) > date.fromisoformat(end):
                out.append(f"The pause window {start}..{end} ends before it starts.")
        except ValueError:
            out.append(f"The pause window {start}..{end} needs dates as YYYY-MM-DD.")
    return out


# --- when is a district due -----------------------------------------------------------------


def _local_slots(schedule: Schedule, day: date) -> list[datetime]:
    """The slots of one local calendar day, as aware datetimes in the schedule's zone."""
    zone = schedule.zone
    if schedule.kind in ("daily", "weekdays"):
        if schedule.kind == "weekdays" and day.weekday() >= 5:
            return []
        hour, minute = (int(p) for p in schedule.at.split(":"))
        times = [time(hour, minute)]
    elif schedule.kind == "hourly":
        times = [time(h) for h in range(0, 24, schedule.every_hours)]
    else:
        return []
    # fold=0: on the autumn night an hour repeats, the first occurrence. A time that does not
    # exist (spring forward) resolves, through UTC, to the same instant an hour later. Slots are
    # UTC: aware datetimes in a zone with a repeated hour do not compare reliably (PEP 495).
    return [datetime.combine(day, t, tzinfo=zone).astimezone(UTC) for t in times]


def _paused(schedule: Schedule, slot: datetime) -> bool:
    day = slot.astimezone(schedule.zone).date().isoformat()
    return any(start <= day <= end for start, end in schedule.pauses)


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first slot strictly after `after` that is not paused (None when off)."""
    if not schedule.enabled:
        return None
    day = after.astimezone(schedule.zone).date()
    for offset in range(0, 400):  # pause windows may cover a whole summer
        for slot in _local_slots(schedule, day + timedelta(days=offset)):
            if slot > after and not _paused(schedule, slot):
                return slot
    return None


def latest_due(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest slot at or before `now` that is not paused."""
    if not schedule.enabled:
        return None
    day = now.astimezone(schedule.zone).date()
    for offset in range(0, 400):
        for slot in reversed(_local_slots(schedule, day - timedelta(days=offset))):
            if slot <= now and not _paused(schedule, slot):
                return slot
    return None


# --- persistence ----------------------------------------------------------------------------


def save(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    schedule: Schedule,
    *,
    now: datetime,
    by: str | None = None,
) -> None:
    """Save a schedule. Slots before now are not owed: the first run is the next slot."""
    con.execute(
        """INSERT INTO schedules (district_id, body, last_slot, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (district_id) DO UPDATE SET body = excluded.body, last_slot = excluded.last_slot,
           updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
        [district_id, schedule.to_json(), now, now, by],
    )


def load(con: duckdb.DuckDBPyConnection, district_id: str) -> Schedule:
    row = con.execute("SELECT body FROM schedules WHERE district_id = ?", [district_id]).fetchone()
    return Schedule.from_dict(json.loads(row[0])) if row else Schedule()


def all_schedules(con: duckdb.DuckDBPyConnection) -> list[tuple[str, Schedule, datetime | None]]:
    rows = con.execute(
        "SELECT district_id, body, last_slot FROM schedules ORDER BY district_id"
    ).fetchall()
    return [(d, Schedule.from_dict(json.loads(body)), last) for d, body, last in rows]


# --- running what is due --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    district_id: str
    slot: datetime
    outcome: str  # merged, held for review, failed, skipped
    run_id: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["slot"] = self.slot.isoformat()
        return data


def due(con: duckdb.DuckDBPyConnection, now: datetime) -> list[tuple[str, Schedule, datetime]]:
    """Districts with a slot in (last handled slot, now]: each once, however many were missed."""
    out = []
    for district_id, schedule, last_slot in all_schedules(con):
        slot = latest_due(schedule, now)
        if slot is not None and (last_slot is None or slot > last_slot):
            out.append((district_id, schedule, slot))
    return out


def run_district(
    con: duckdb.DuckDBPyConnection,
    district_id: str,
    schedule: Schedule,
    slot: datetime,
    settings: CleverSettings | None = None,
) -> Outcome:
    """One scheduled sync, and a merge when the policy allows and the run is clean."""
    with transaction(con):
        con.execute("UPDATE schedules SET last_slot = ? WHERE district_id = ?", [slot, district_id])
    try:
        result = sync.run_sync(con, district_id, settings=settings, trigger="scheduled")
    except RosterError as exc:  # refused: no parameters, another sync running, ...
        return Outcome(district_id, slot, "skipped", None, exc.message)
    if not result.ok:
        return Outcome(district_id, slot, "failed", result.run_id, result.message or "")
    clean = result.status == "staged" and result.issues["error"] == 0
    if clean and schedule.policy == "auto":
        try:
            merged = merge.approve(con, result.run_id or 0, by=SCHEDULER)
        except RosterError as exc:
            return Outcome(district_id, slot, "held for review", result.run_id, exc.message)
        return Outcome(
            district_id,
            slot,
            "merged",
            result.run_id,
            f"Merged as roster version {merged.version}.",
        )
    why = (
        "its guards tripped"
        if result.status == "held"
        else f"it has {result.issues['error']} errors"
        if result.issues["error"]
        else "the policy asks for review"
    )
    return Outcome(district_id, slot, "held for review", result.run_id, f"Left for review: {why}.")


def run_due(
    con: duckdb.DuckDBPyConnection, now: datetime, settings: CleverSettings | None = None
) -> list[Outcome]:
    """`scheduler --once`: every due district, one after another; one failure stops nothing."""
    outcomes = []
    for district_id, schedule, slot in due(con, now):
        try:
            outcome = run_district(con, district_id, schedule, slot, settings)
        except Exception as exc:  # a bug in one district's run must not stop the others
            log.exception("scheduled sync of %s failed", district_id)
            outcome = Outcome(district_id, slot, "failed", None, f"{type(exc).__name__}: {exc}")
        log.info("scheduled sync of %s: %s %s", district_id, outcome.outcome, outcome.message)
        outcomes.append(outcome)
    return outcomes


def next_wake(con: duckdb.DuckDBPyConnection, now: datetime) -> datetime | None:
    slots = [next_due(s, now) for _d, s, _last in all_schedules(con)]
    return min((s for s in slots if s is not None), default=None)


@dataclass
class Scheduler:
    """`scheduler`: run what is due, sleep until the next slot, until stopped.

    It opens the database only while it works, so the dashboard and the command line can use it
    in between; schedules edited meanwhile are picked up within `recheck` seconds.
    """

    open_db: Callable[[], Any]  # a context manager yielding a connection
    settings: CleverSettings | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    recheck: float = 60.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run_forever(self, on_outcome: Callable[[Outcome], None] = lambda _o: None) -> None:
        while not self.stop.is_set():
            now = self.clock()
            with self.open_db() as con:
                for outcome in run_due(con, now, self.settings):
                    on_outcome(outcome)
                    if self.stop.is_set():  # SIGTERM: stop between runs, never inside one
                        return
                wake = next_wake(con, self.clock())
            delay = self.recheck if wake is None else (wake - self.clock()).total_seconds()
            self.stop.wait(max(0.0, min(delay, self.recheck)))


def recent_runs(
    con: duckdb.DuckDBPyConnection, district_id: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Scheduled runs and how they ended, newest first, for the Schedule page."""
    rows = con.execute(
        """SELECT run_id, started_at, finished_at, status, errors, warnings, message FROM runs
           WHERE district_id = ? AND trigger = 'scheduled' ORDER BY run_id DESC LIMIT ?""",
        [district_id, limit],
    ).fetchall()
    names = ("run_id", "started_at", "finished_at", "status", "errors", "warnings", "message")
    return [dict(zip(names, r, strict=True)) for r in rows]


def service_lines(python: str, project_dir: str, db: str) -> dict[str, str]:
    """The cron and systemd lines that run the scheduler, for the Schedule page and README."""
    once = f"cd {project_dir} && MGI_DB={db} {python} -m mgi_roster scheduler --once"
    return {
        "cron": f"*/5 * * * * {once} >> {project_dir}/data/scheduler.log 2>&1",
        "systemd": "\n".join(
            [
                "[Unit]",
                "Description=MGI Roster Review scheduler",
                "After=network-online.target",
                "",
                "[Service]",
                f"WorkingDirectory={project_dir}",
                f"Environment=MGI_DB={db}",
                "EnvironmentFile=-/etc/mgi-roster/clever.env",
                f"ExecStart={python} -m mgi_roster scheduler",
                "Restart=on-failure",
                "KillSignal=SIGTERM",
                "",
                "[Install]",
                "WantedBy=multi-user.target",
            ]
        ),
    }
