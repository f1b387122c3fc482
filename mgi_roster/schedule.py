"""Automatic sync with the MGI's rules (help.mhs.com/?p=6098, "How to use the automatic data
sync"): schedules that merge on their own only when it is safe.

A district's schedule is the MGI's model: days of the week, one start time in UTC, and a date it
is valid until; plus pause windows (date ranges such as the summer rollover, when no sync
starts) and what to do with the result (policy): "auto" merges a run only when it has no errors
and trips no guard, and leaves anything else staged or held for a person; "review" never merges
on its own. No run ever merges a district's first sync on its own.

The MGI's rules (`check`), enforced when a schedule is set and again before every run:
    - it is set only once a person has approved the district's initial sync;
    - days Sunday to Friday (no Saturday); a day is the UTC date the sync starts on;
    - the start time lies between 20:00 and 05:00 UTC, both included (off-peak);
    - it expires ("valid until") at most 60 days after the district's first sync.
A stored schedule that breaks a rule (one saved before the rules, or one whose district's facts
changed) still loads, is shown as invalid with the reason, and does not run.

Older schedules (kind daily/weekdays/hourly, in a time zone) load as the same days and time;
what the MGI's model cannot say (every N hours, a local time zone) makes them invalid, with the
reason, until they are set again.

The scheduler remembers the last slot it handled per district. Whatever slots were missed while
the machine was off, a district is synced once when the scheduler comes back, not once per
missed slot. Two schedulers never sync one district at once: a sync refuses to start while
another run of the district is fetching (sync.start_run), which is the lock in the database.

Over 500 lines because the MGI's schedule rules, the due-slot arithmetic and the scheduler
loop read the same model and are tested together; notifications live in notify.py.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from mgi_roster.errors import InputError, RosterError
from mgi_roster.kinds import MergeKind, RunStatus
from mgi_roster.problems import problem, sentence, setting
from mgi_roster.store import Store, transaction

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.settings import CleverSettings, NotifySettings

log = logging.getLogger(__name__)

Day = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
Policy = Literal["auto", "review"]
DAYS: tuple[Day, ...] = get_args(Day)
ALLOWED_DAYS: tuple[Day, ...] = DAYS[:6]  # the MGI: Sunday through Friday
POLICIES: tuple[Policy, ...] = get_args(Policy)
DAY_NAMES = dict(
    zip(
        DAYS,
        ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"),
        strict=True,
    )
)
WINDOW = ("20:00", "05:00")  # the MGI: start between 8:00 PM and 5:00 AM UTC
MAX_VALID_DAYS = 60  # the MGI: a schedule expires at most 60 days after the first sync
EXPIRY_NOTICE = timedelta(days=7)  # contacts hear when a schedule expires within this
SCHEDULER = "scheduler"  # the name merges by the scheduler are audited under
PAUSE_EXAMPLE = "2027-06-15..2027-08-20"
SOURCE = "help.mhs.com/?p=6098"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# Python's date.weekday(): Monday is 0.
_WEEKDAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(at: str) -> str:
    if not _CLOCK.fullmatch(at):
        raise ValueError("not HH:MM")
    return at


def _window(pause: tuple[str, str]) -> tuple[str, str]:
    start, end = pause
    try:
        if not (_DATE.fullmatch(start) and _DATE.fullmatch(end)):
            raise ValueError
        ends_first = date.fromisoformat(start) > date.fromisoformat(end)
    except ValueError:
        raise problem(f"The pause window {start}..{end} needs dates as YYYY-MM-DD.") from None
    if ends_first:
        raise problem(f"The pause window {start}..{end} ends before it starts.")
    return pause


# An inclusive (start, end) pair of dates, YYYY-MM-DD: they compare as text.
Pause = Annotated[tuple[StrictStr, StrictStr], AfterValidator(_window)]
Clock = Annotated[StrictStr, AfterValidator(_clock_time)]

_LEGACY_DAYS: dict[str, tuple[Day, ...]] = {
    "off": (),
    "daily": DAYS,
    "weekdays": ("mon", "tue", "wed", "thu", "fri"),
    "hourly": DAYS,
}


def _from_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """A schedule stored before the MGI's model (kind, at, every_hours, tz): the same days and
    time; what the model cannot say is kept as the reason it is invalid."""
    data = dict(data)
    kind = data.pop("kind")
    every = data.pop("every_hours", 24)
    tz = data.pop("tz", "UTC")
    if kind not in _LEGACY_DAYS:
        raise InputError(f"Unknown schedule {kind!r}: choose one of {', '.join(_LEGACY_DAYS)}.")
    data["days"] = _LEGACY_DAYS[kind]
    reasons = []
    if kind == "hourly":
        reasons.append(f"it runs every {every} hours, and the MGI allows one start time a day")
    if kind != "off" and tz != "UTC":
        reasons.append(f"its time is in {tz}, and the MGI's start time is in UTC")
    if reasons:
        data["legacy"] = "This schedule was set before the MGI's rules: " + "; ".join(reasons) + "."
    return data


class Schedule(BaseModel):
    """A district's schedule. Constructing one with a bad value raises an InputError that says
    what to enter instead; the MGI's rules, which depend on the district, are `check`ed apart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: tuple[Day, ...] = ()  # none: automatic sync is off
    at: Clock = "22:00"  # UTC
    until: date | None = None  # valid until, inclusive
    pauses: tuple[Pause, ...] = ()
    policy: Policy = "auto"
    legacy: str | None = None  # why an old schedule cannot run as it is (see _from_legacy)

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[Schedule]
    ) -> Schedule:
        if isinstance(data, dict) and "kind" in data:
            data = _from_legacy(data)
        try:
            return handler(data)
        except ValidationError as exc:
            raise InputError(sentence(exc, _say)) from None

    @field_validator("days")
    @classmethod
    def _in_week_order(cls, days: tuple[Day, ...]) -> tuple[Day, ...]:
        return tuple(d for d in DAYS if d in days)

    @property
    def enabled(self) -> bool:
        return bool(self.days)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        return cls.model_validate(data)

    def describe(self) -> str:
        if not self.enabled:
            return "Automatic sync is off."
        days = ", ".join(DAY_NAMES[d] for d in self.days)
        until = f", valid until {self.until}" if self.until else ", with no expiry date"
        merge_rule = (
            "merging on its own when clean"
            if self.policy == "auto"
            else "always waiting for review"
        )
        return f"Sync on {days} at {self.at} UTC{until}, {merge_rule}."


def _say(error: ErrorDetails) -> str:
    name, value = setting(error).partition(".")[0], error.get("input")
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(Schedule.model_fields))
        return f"Unknown schedule setting {error['loc'][-1]!r}; the known ones are {known}."
    sentences = {
        "days": f"Days are {', '.join(DAYS)} (e.g. sun,mon,tue,wed,thu,fri), not {value!r}.",
        "policy": f"Unknown policy {value!r}: choose one of {', '.join(POLICIES)}.",
        "at": f"The time {value!r} must be HH:MM on a 24-hour clock in UTC, e.g. 22:30.",
        "until": f"Valid until {value!r} must be a date as YYYY-MM-DD.",
        "pauses": f"Pause windows must be pairs of dates: [start, end], e.g. {PAUSE_EXAMPLE}.",
    }
    return sentences.get(
        name, "A schedule must be an object with days, at, until, pauses and policy."
    )


def parse_days(text: str) -> tuple[Day, ...]:
    """Days as typed on the command line: sun,mon,tue (names or their first three letters)."""
    found: list[Day] = []
    for word in (w.strip().lower()[:3] for w in text.split(",")):
        if word not in DAYS:
            raise InputError(
                f"Days are {', '.join(DAYS)}, separated by commas, e.g. "
                f"sun,mon,tue,wed,thu,fri (not {text.strip()!r})."
            )
        found.append(word)
    return tuple(found)


def parse_pause(text: str) -> tuple[str, str]:
    """A pause window as it is typed, on the command line and on the Schedule page:
    START..END, or one date for a single day."""
    start, dots, end = text.strip().partition("..")
    start, end = start.strip(), (end if dots else start).strip()
    if not (_DATE.fullmatch(start) and _DATE.fullmatch(end)):
        raise InputError(
            f"A pause window is START..END with dates as YYYY-MM-DD, e.g. {PAUSE_EXAMPLE} "
            f"(not {text.strip()!r})."
        )
    return start, end


def format_pause(pause: tuple[str, str]) -> str:
    return "..".join(pause)


# --- the MGI's rules ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the MGI's rules need to know about a district, from its runs and merges."""

    approved: bool  # a person (not the scheduler) has merged a sync of the district
    first_sync: datetime | None  # when the district's first run started
    last_successful_sync: datetime | None  # when its latest run that did not fail finished

    @property
    def latest_until(self) -> date | None:
        """The last date a schedule may be valid until."""
        if self.first_sync is None:
            return None
        return self.first_sync.astimezone(UTC).date() + timedelta(days=MAX_VALID_DAYS)


def facts(con: duckdb.DuckDBPyConnection, district_id: str) -> Facts:
    row = con.execute(
        f"""SELECT
              (SELECT count(*) FROM merges WHERE district_id = $d AND kind = '{MergeKind.MERGE}'
                 AND NOT undone AND actor IS DISTINCT FROM '{SCHEDULER}'),
              (SELECT min(started_at) FROM runs WHERE district_id = $d),
              (SELECT max(finished_at) FROM runs WHERE district_id = $d
                 AND status NOT IN ('{RunStatus.FAILED}', '{RunStatus.FETCHING}'))""",
        {"d": district_id},
    ).fetchone()
    assert row is not None
    return Facts(bool(row[0]), row[1], row[2])


def in_window(at: str) -> bool:
    """Whether HH:MM lies in the MGI's start window, 20:00 to 05:00 UTC (both included)."""
    return at >= WINDOW[0] or at <= WINDOW[1]


def in_local_zone(at: str, zone: ZoneInfo, on: date | None = None) -> str:
    """A UTC start time as it reads in another zone (the Schedule page shows both), with the
    day it falls on when that differs: "17:00", "19:00 the day before"."""
    if not _CLOCK.fullmatch(at.strip()):
        raise InputError(
            f"The time {at.strip()!r} must be HH:MM on a 24-hour clock in UTC, e.g. 22:30."
        )
    on = on or datetime.now(UTC).date()
    hour, minute = (int(p) for p in at.strip().split(":"))
    start = datetime.combine(on, time(hour, minute), tzinfo=UTC)
    local = start.astimezone(zone)
    shift = (local.date() - on).days
    return f"{local:%H:%M}" + {-1: " the day before", 1: " the day after"}.get(shift, "")


def check(schedule: Schedule, known: Facts, today: date) -> str | None:
    """Why this schedule may not run, naming the MGI's rule; None when it may (or is off)."""
    if not schedule.enabled:
        return None
    if schedule.legacy:
        return schedule.legacy + " Set it again with days, a UTC start time and a valid until date."
    if not known.approved:
        return (
            "Automatic sync can be set only once a person has approved the district's initial "
            "sync (the MGI's rule): run a test sync, review it and Approve it first."
        )
    if "sat" in schedule.days:
        return "Saturday is not allowed: the MGI runs automatic syncs Sunday to Friday only."
    if not in_window(schedule.at):
        return (
            f"The start time {schedule.at} UTC is outside the MGI's window: a sync must start "
            f"between {WINDOW[0]} and {WINDOW[1]} UTC, to avoid peak hours."
        )
    latest = known.latest_until
    assert latest is not None  # an approved district has run
    if schedule.until is None:
        return (
            "The schedule has no valid until date: the MGI's schedules expire at most "
            f"{MAX_VALID_DAYS} days after the district's first sync ({latest} at the latest)."
        )
    if schedule.until > latest:
        return (
            f"Valid until {schedule.until} is more than {MAX_VALID_DAYS} days after the "
            f"district's first sync: the MGI allows {latest} at the latest."
        )
    if schedule.until < today:
        return f"The schedule expired on {schedule.until} (valid until): set it again."
    return None


# --- when is a district due -----------------------------------------------------------------


def _slot(schedule: Schedule, day: date) -> datetime | None:
    """The day's slot in UTC, when the schedule syncs that day."""
    if _WEEKDAY[day.weekday()] not in schedule.days:
        return None
    if schedule.until is not None and day > schedule.until:
        return None
    text = day.isoformat()
    if any(start <= text <= end for start, end in schedule.pauses):
        return None
    hour, minute = (int(p) for p in schedule.at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def next_due(schedule: Schedule, after: datetime) -> datetime | None:
    """The first slot strictly after `after` (None when off or expired)."""
    if not schedule.enabled:
        return None
    day = after.astimezone(UTC).date()
    for offset in range(0, 400):  # pause windows may cover a whole summer
        slot = _slot(schedule, day + timedelta(days=offset))
        if slot is not None and slot > after:
            return slot
    return None


def latest_due(schedule: Schedule, now: datetime) -> datetime | None:
    """The latest slot at or before `now`."""
    if not schedule.enabled:
        return None
    day = now.astimezone(UTC).date()
    for offset in range(0, 400):
        slot = _slot(schedule, day - timedelta(days=offset))
        if slot is not None and slot <= now:
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
    """Save a schedule, refused (InputError naming the rule) when it breaks one of the MGI's
    rules. Slots before now are not owed: the first run is the next slot."""
    reason = check(schedule, facts(con, district_id), now.astimezone(UTC).date())
    if reason is not None:
        raise InputError(reason, title="Not allowed by the MGI's automatic sync rules")
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


@dataclass(frozen=True)
class Status:
    """A district's schedule as the page and `schedule show` present it."""

    district_id: str
    schedule: Schedule
    facts: Facts
    reason: str | None  # why it may not run (None: valid, or off)
    next_run: datetime | None

    @property
    def valid(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict[str, Any]:
        """The `schedule show --json` contract."""
        s = self.schedule
        data: dict[str, Any] = {
            "district_id": self.district_id,
            "enabled": s.enabled,
            "days": list(s.days),
            "at": s.at,
            "timezone": "UTC",
            "valid_until": s.until.isoformat() if s.until else None,
            "latest_valid_until": _iso(self.facts.latest_until),
            "last_successful_sync": _iso(self.facts.last_successful_sync),
            "policy": s.policy,
            "pauses": [format_pause(p) for p in s.pauses],
            "valid": self.valid,
            "next_run": _iso(self.next_run),
        }
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def status(con: duckdb.DuckDBPyConnection, district_id: str, now: datetime) -> Status:
    plan = load(con, district_id)
    known = facts(con, district_id)
    reason = check(plan, known, now.astimezone(UTC).date())
    return Status(district_id, plan, known, reason, None if reason else next_due(plan, now))


def save_contacts(con: duckdb.DuckDBPyConnection, district_id: str, emails: list[str]) -> None:
    """The people told about the district's scheduled syncs (notify.py)."""
    from mgi_roster.notify import check_addresses

    con.execute(
        "UPDATE districts SET contacts = ? WHERE district_id = ?",
        [json.dumps(check_addresses(emails)), district_id],
    )


def contacts(con: duckdb.DuckDBPyConnection, district_id: str) -> list[str]:
    row = con.execute(
        "SELECT contacts FROM districts WHERE district_id = ?", [district_id]
    ).fetchone()
    return list(json.loads(row[0])) if row and row[0] else []


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
    try:
        result = sync.run_sync(store, district_id, settings=settings, trigger="scheduled")
    except RosterError as exc:  # refused: no parameters, another sync running, ...
        return Outcome(district_id, slot, "skipped", None, exc.message)
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
