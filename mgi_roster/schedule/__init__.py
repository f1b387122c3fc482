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

model (the Schedule and its parsing), rules (the MGI's rules, due slots), records (the store),
runner (a scheduled sync, the scheduler): callers use the names below as `schedule.<name>`.
"""

from __future__ import annotations

from mgi_roster.schedule.model import (
    ALLOWED_DAYS,
    DAY_NAMES,
    DAYS,
    EXPIRY_NOTICE,
    MAX_VALID_DAYS,
    PAUSE_EXAMPLE,
    POLICIES,
    SCHEDULER,
    SOURCE,
    WINDOW,
    Clock,
    Day,
    Pause,
    Policy,
    Schedule,
    format_pause,
    log,
    parse_days,
    parse_pause,
)
from mgi_roster.schedule.records import (
    Status,
    all_schedules,
    contacts,
    load,
    save,
    save_contacts,
    status,
)
from mgi_roster.schedule.rules import (
    Facts,
    check,
    facts,
    in_local_zone,
    in_window,
    latest_due,
    next_due,
)
from mgi_roster.schedule.runner import (
    Outcome,
    Scheduler,
    due,
    next_wake,
    recent_runs,
    run_district,
    run_due,
    service_lines,
)

__all__ = [
    "ALLOWED_DAYS",
    "Clock",
    "DAYS",
    "DAY_NAMES",
    "Day",
    "EXPIRY_NOTICE",
    "Facts",
    "MAX_VALID_DAYS",
    "Outcome",
    "PAUSE_EXAMPLE",
    "POLICIES",
    "Pause",
    "Policy",
    "SCHEDULER",
    "SOURCE",
    "Schedule",
    "Scheduler",
    "Status",
    "WINDOW",
    "all_schedules",
    "check",
    "contacts",
    "due",
    "facts",
    "format_pause",
    "in_local_zone",
    "in_window",
    "latest_due",
    "load",
    "log",
    "next_due",
    "next_wake",
    "parse_days",
    "parse_pause",
    "recent_runs",
    "run_district",
    "run_due",
    "save",
    "save_contacts",
    "service_lines",
    "status",
]
