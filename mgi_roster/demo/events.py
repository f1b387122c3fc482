"""The demo district's Events API feed: what changed between its SIS days, as Clever's events.

Derived, never written by hand: the events of the night before day ``d`` come from comparing
the records day ``d - 1`` and day ``d`` serve. A record served only on the later day is
``<type>.created``, only on the earlier one ``<type>.deleted`` (carrying its last state), on
both but different ``<type>.updated`` with ``previous_attributes`` (the changed fields' earlier
values, nested like the record, where the live feed puts them: inside ``data``; clever-api.md
§6). Each night ends with Clever's ``districts.updated`` (its ``last_sync``), as the recorded
feed shows; day 1's feed holds only that one, so a first sync has a position to record.

Event ids are ordered like every demo id (``5eed`` + code ``0e`` + the day in the high bits and
the event's place in the night), so the feed of day 3 begins with the feed of day 2 and a
cursor taken on one day is found on the next.

Comparing every record of a million-student district twice would take longer than a sync, so
only the records the SIS days can change are compared: every school, term, course and teacher,
the students the day's plan names (planted, added, withdrawn) and the sections its overlay
touches. ``changed(..., every=True)`` compares them all; a test proves that it finds nothing
more on the default district.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mgi_roster.demo.days import _iso, _sync_ms
from mgi_roster.demo.district import DemoDistrict, _dumps
from mgi_roster.demo.ids import (
    _COURSE,
    _ENTITY_OF_CODE,
    _SCHOOL,
    _SECTION,
    _STUDENT,
    _TEACHER,
    _TERM,
    _id,
)

_EVENT = "0e"
_DAY_BITS = 40  # an event's index: the day in the high bits, its place in the night below
# Clever's record type of each demo code, in the order a night's events are written.
_RECORD_TYPE = {
    _SCHOOL: "schools",
    _TERM: "terms",
    _COURSE: "courses",
    _TEACHER: "users",
    _STUDENT: "users",
    _SECTION: "sections",
}


@dataclass(frozen=True)
class Event:
    """One event of the feed; ``object`` and ``previous`` are JSON text, as on the wire."""

    id: str
    type: str
    created: str
    object: str
    previous: str | None = None

    def json(self) -> str:
        """The event as an item of ``/v3.0/events`` (and the ``data`` of ``/events/{id}``)."""
        previous = f',"previous_attributes":{self.previous}' if self.previous else ""
        return (
            f'{{"created":"{self.created}","data":{{"object":{self.object}{previous}}},'
            f'"id":"{self.id}","type":"{self.type}"}}'
        )


def _candidates(
    before: DemoDistrict, after: DemoDistrict, every: bool
) -> Iterator[tuple[str, int]]:
    """(code, index) of the records that may differ between the two days, in id order."""
    plan = after._plan
    for code in (_SCHOOL, _TERM, _COURSE, _TEACHER):
        entity = _ENTITY_OF_CODE[code]
        stop = max(before.counts()[entity], after.counts()[entity])
        yield from ((code, i) for i in range(stop))
    students = max(before._student_stop(), after._student_stop())
    if every:
        yield from ((_STUDENT, i) for i in range(students))
    else:
        named = plan.special_set | plan.withdrawn | {plan.sectionless}
        named |= set(range(after.students, students))
        yield from ((_STUDENT, i) for i in sorted(named))
    sections = max(before.counts()["sections"], after.counts()["sections"])
    if every:
        yield from ((_SECTION, i) for i in range(sections))
    else:
        touched = set(before._overlay.touched) | set(after._overlay.touched)
        touched |= {plan.empty_section, plan.new_section, plan.teacherless_section}
        yield from ((_SECTION, i) for i in sorted(s for s in touched if s < sections))


def changed(
    before: DemoDistrict, after: DemoDistrict, *, every: bool = False
) -> list[tuple[str, str, str, str | None]]:
    """(record type, action, record JSON, previous attributes JSON) of each record that differs
    between the two days, in the order the night's events are written."""
    found: list[tuple[str, str, str, str | None]] = []
    for code, index in _candidates(before, after, every):
        was = before.fragment(code, index) if before.exists(code, index) else None
        now = after.fragment(code, index) if after.exists(code, index) else None
        if was == now:
            continue
        kind = _RECORD_TYPE[code]
        if was is None:
            found.append((kind, "created", now or "", None))
        elif now is None:
            found.append((kind, "deleted", was, None))
        else:
            previous = _previous(json.loads(was), json.loads(now))
            found.append((kind, "updated", now, _dumps(previous)))
    return found


def _previous(was: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """The earlier values of what changed, nested like the record (Clever's previous_attributes)."""
    out: dict[str, Any] = {}
    for key in was.keys() | now.keys():
        old, new = was.get(key), now.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            out[key] = _previous(old, new)
        else:
            out[key] = old
    return out


def _night(district: DemoDistrict, day: int) -> list[Event]:
    """The events Clever wrote during the sync that produced ``day``'s data."""
    start = _sync_ms(day) - 600_000  # the nightly sync's ten minutes

    def event(n: int, kind: str, text: str, previous: str | None = None) -> Event:
        created = _iso(start + n * 5)
        return Event(_id(_EVENT, (day << _DAY_BITS) + n), kind, created, text, previous)

    events = []
    if day > 1:
        before, after = district.with_day(day - 1), district.with_day(day)
        for n, (kind, action, text, previous) in enumerate(changed(before, after)):
            events.append(event(n, f"{kind}.{action}", text, previous))
    record = district.with_day(day).district_record()
    record["last_sync"] = _iso(_sync_ms(day))
    events.append(event(len(events), "districts.updated", _dumps(record)))
    return events


@lru_cache(maxsize=4)
def _feed(
    students: int, seed: int, changed: float, day: int
) -> tuple[tuple[str, ...], tuple[Event, ...]]:
    district = DemoDistrict(students, 1, seed, changed)
    events = tuple(e for d in range(1, day + 1) for e in _night(district, d))
    return tuple(e.id for e in events), events


def _feed_of(district: DemoDistrict) -> tuple[tuple[str, ...], tuple[Event, ...]]:
    """The district's feed (its ids, its events), cached by what makes it."""
    return _feed(district.students, district.seed, district.changed, district.day)


def feed(district: DemoDistrict) -> tuple[Event, ...]:
    """Every event up to the district's day, oldest first (computed once per district)."""
    return _feed_of(district)[1]


def page(district: DemoDistrict, after: str | None, before: str | None, limit: int) -> list[Event]:
    """The events strictly after ``after`` and before ``before`` ("last": the end of the feed):
    the first ``limit`` of them, or the last ``limit`` when only ``before`` is given."""
    ids, events = _feed_of(district)
    lo = bisect_right(ids, after) if after is not None else 0
    hi = len(ids) if before in (None, "last") else bisect_left(ids, before)
    if before is not None and after is None:
        return list(events[max(lo, hi - limit) : hi])
    return list(events[lo : min(hi, lo + limit)])


def find(district: DemoDistrict, event_id: str) -> Event | None:
    ids, events = _feed_of(district)
    at = bisect_left(ids, event_id)
    return events[at] if at < len(ids) and ids[at] == event_id else None
