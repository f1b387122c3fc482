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
import re
import shlex
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from mgi_roster.errors import InputError, RosterError
from mgi_roster.problems import problem, sentence, setting
from mgi_roster.store import Store, transaction

if TYPE_CHECKING:
    import duckdb

    from mgi_roster.settings import CleverSettings

log = logging.getLogger(__name__)

Kind = Literal["off", "daily", "weekdays", "hourly"]
Policy = Literal["auto", "review"]
KINDS: tuple[Kind, ...] = get_args(Kind)
POLICIES: tuple[Policy, ...] = get_args(Policy)
SCHEDULER = "scheduler"  # the name merges by the scheduler are audited under
PAUSE_EXAMPLE = "2027-06-15..2027-08-20"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _clock_time(at: str) -> str:
    if not _CLOCK.fullmatch(at):
        raise ValueError("not HH:MM")
    return at


def _zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("unknown time zone") from None
    return tz


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


class Schedule(BaseModel):
    """A district's schedule. Constructing one with a bad value raises an InputError that says
    what to enter instead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind = "off"
    at: Annotated[StrictStr, AfterValidator(_clock_time)] = "06:00"  # local time: daily, weekdays
    # hourly: slots at 00:00 + k × N local time each day
    every_hours: Annotated[StrictInt, Field(ge=1, le=24)] = 24
    tz: Annotated[StrictStr, AfterValidator(_zone)] = "UTC"
    pauses: tuple[Pause, ...] = ()
    policy: Policy = "auto"

    @model_validator(mode="wrap")
    @classmethod
    def _said_as_a_sentence(
        cls, data: Any, handler: ModelWrapValidatorHandler[Schedule]
    ) -> Schedule:
        try:
            return handler(data)
        except ValidationError as exc:
            raise InputError(sentence(exc, _say)) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def enabled(self) -> bool:
        return self.kind != "off"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        return cls.model_validate(data)

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


def _say(error: ErrorDetails) -> str:
    name, value = setting(error).partition(".")[0], error.get("input")
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(Schedule.model_fields))
        return f"Unknown schedule setting {error['loc'][-1]!r}; the known ones are {known}."
    sentences = {
        "kind": f"Unknown schedule {value!r}: choose one of {', '.join(KINDS)}.",
        "policy": f"Unknown policy {value!r}: choose one of {', '.join(POLICIES)}.",
        "at": f"The time {value!r} must be HH:MM on a 24-hour clock, e.g. 06:30.",
        "every_hours": "every_hours must be a whole number from 1 to 24.",
        "tz": f"Unknown time zone {value!r}: use a name such as America/Chicago.",
        "pauses": f"Pause windows must be pairs of dates: [start, end], e.g. {PAUSE_EXAMPLE}.",
    }
    return sentences.get(
        name, "A schedule must be an object with kind, at, every_hours, tz, pauses and policy."
    )


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
    target: Store | duckdb.DuckDBPyConnection,
    district_id: str,
    schedule: Schedule,
    slot: datetime,
    settings: CleverSettings | None = None,
) -> Outcome:
    """One scheduled sync, and a merge when the policy allows and the run is clean. The store
    is taken for moments only (a sync's long work is in its own file)."""
    from mgi_roster import sync  # here, not at the top: the command line starts without pandas
    from mgi_roster.roster import merge

    store = target if isinstance(target, Store) else Store(target)
    with store.session() as con, transaction(con):
        con.execute("UPDATE schedules SET last_slot = ? WHERE district_id = ?", [slot, district_id])
    try:
        result = sync.run_sync(store, district_id, settings=settings, trigger="scheduled")
    except RosterError as exc:  # refused: no parameters, another sync running, ...
        return Outcome(district_id, slot, "skipped", None, exc.message)
    if not result.ok:
        return Outcome(district_id, slot, "failed", result.run_id, result.message or "")
    clean = result.status == "staged" and result.issues["error"] == 0
    if clean and schedule.policy == "auto":
        try:
            with store.session() as con:
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
    target: Store | duckdb.DuckDBPyConnection,
    now: datetime,
    settings: CleverSettings | None = None,
) -> list[Outcome]:
    """`scheduler --once`: every due district, one after another; one failure stops nothing."""
    store = target if isinstance(target, Store) else Store(target)
    with store.session() as con:
        found = due(con, now)
    outcomes = []
    for district_id, schedule, slot in found:
        try:
            outcome = run_district(store, district_id, schedule, slot, settings)
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

    store: Store
    settings: CleverSettings | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    recheck: float = 60.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run_forever(self, on_outcome: Callable[[Outcome], None] = lambda _o: None) -> None:
        while not self.stop.is_set():
            now = self.clock()
            for outcome in run_due(self.store, now, self.settings):
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
    """Scheduled runs and how they ended, newest first, for the Schedule page."""
    rows = con.execute(
        """SELECT run_id, started_at, finished_at, status, errors, warnings, message FROM runs
           WHERE district_id = ? AND trigger = 'scheduled' ORDER BY run_id DESC LIMIT ?""",
        [district_id, limit],
    ).fetchall()
    names = ("run_id", "started_at", "finished_at", "status", "errors", "warnings", "message")
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
