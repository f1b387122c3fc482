"""The demo SIS's days: when each nightly Clever sync ran, and what changed between them.

Three days are served (``DEMO_DAYS``):

- day 1, the baseline: no error-level data problem, only three warning-level realities (an
  empty section, a student in no section, a section naming a student that is not shared);
- day 2: realistic changes (new students and withdrawals, about 1 % each: ``changed`` says how
  many; a transfer, a grade correction, a teacher's name change, a new section) plus planted
  data problems (a duplicate SIS id, an impossible birth date, a student without a grade, a
  section without a teacher);
- day 3: day 2 with the planted problems fixed by the district; the changes stay.

``_build_plan`` picks who and what the planted situations fall on (per size and seed, the
same on every day); ``_build_overlay`` says how a day's section rosters differ from the
layout's arithmetic. ``DemoDistrict.planted()`` names every id involved (``Planted``), for the
tests of later modules.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache

from mgi_roster.demo.ids import _COURSE, _SCHOOL, _SECTION, _STUDENT, _TEACHER, _TERM, _mix, _salt
from mgi_roster.demo.layout import (
    _build_layout,
    _Layout,
    _led_sections,
    _regular_sections_of,
    _scheduled_sections,
    _School,
)

DEMO_DAYS = 3

# When things happened, in ms since the epoch: the district's creation and each day's sync.


def _ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> int:
    moment = dt.datetime(year, month, day, hour, minute, sec, tzinfo=dt.UTC)
    return int(moment.timestamp()) * 1000


def _iso(ms: int) -> str:
    """Clever's timestamp format: ``2023-04-12T23:05:01.315Z``."""
    days, rest = divmod(ms, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{_date_prefix(days)}{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@lru_cache(maxsize=1024)
def _date_prefix(days: int) -> str:
    """``YYYY-MM-DDT`` of a day since the epoch (cached: records share a handful of days)."""
    return time.strftime("%Y-%m-%dT", time.gmtime(days * 86_400))


_CREATED = _ms(2025, 7, 21, 16, 2, 11)  # the district was connected to Clever that summer
_CREATED_OFFSET = {  # when each entity's records were first created, relative to _CREATED
    _SCHOOL: 0,
    _TERM: 3_600_000,
    _COURSE: 7_200_000,
    _TEACHER: 10_800_000,
    _STUDENT: 14_400_000,
    _SECTION: 86_400_000,
}
_DAY1_SYNC = _ms(2026, 1, 12, 6, 14, 27) + 318


def _sync_ms(day: int) -> int:
    """The Clever sync that produced day ``day``'s data: one night apart."""
    return _DAY1_SYNC + (day - 1) * 86_400_000


def _changed_ms(day: int, index: int) -> int:
    """`last_modified` of a record the SIS changed for day ``day`` (just before that sync)."""
    return _sync_ms(day) - 3_600_000 + _mix(index * 31 + day) % 3_000_000


# The planted changes and problems (the manifest tests rely on).


@dataclass(frozen=True)
class Change:
    """One field of one record that differs between days: ``before`` (day 1) → ``after``."""

    record_id: str
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Transfer:
    student_id: str
    from_school: str
    to_school: str


@dataclass(frozen=True)
class Planted:
    """Every id involved in the demo's days, for tests of diff and validation.

    Changes (day 2, kept on day 3): ``added_students``, ``withdrawn_students`` (gone from
    /users and from every section), ``transfer`` (school, schools and sections move),
    ``grade_correction``, ``teacher_rename`` (field ``name.last``; the names of the sections
    the teacher leads change with it), ``new_section``.

    Problems (day 2 only; fixed on day 3): ``duplicate_sis_id`` (two students, the second an
    added one, share ``duplicate_sis_value``), ``bad_dob`` (after = ``"2/30/YYYY"``),
    ``no_grade`` (after = ``""``), ``teacherless_section`` (field ``teacher``; ``teacher`` is
    absent and ``teachers`` is ``[]``).

    Warning-level realities (all days): ``empty_section``, ``sectionless_students``,
    ``unshared_student`` (named in ``unshared_in_section``'s ``students``, never served).
    """

    added_students: tuple[str, ...]
    withdrawn_students: tuple[str, ...]
    transfer: Transfer
    grade_correction: Change
    teacher_rename: Change
    new_section: str
    duplicate_sis_id: tuple[str, str]
    duplicate_sis_value: str
    bad_dob: Change
    no_grade: Change
    teacherless_section: Change
    empty_section: str
    sectionless_students: tuple[str, ...]
    unshared_student: str
    unshared_in_section: str

    @property
    def changed_students(self) -> frozenset[str]:
        """Day-1 students whose /users record differs on day 2 (besides the withdrawn)."""
        return frozenset(
            {
                self.transfer.student_id,
                self.grade_correction.record_id,
                self.bad_dob.record_id,
                self.no_grade.record_id,
            }
        )


# The student a section names but /users never serves (a sharing finding). Its index is far
# beyond any real student's, so it can never collide with day-2 additions.
_UNSHARED_INDEX = 1 << 64


@dataclass(frozen=True)
class _Plan:
    """Indexes behind `Planted`; depends on (students, seed), not on the day."""

    transfer: int
    transfer_from: int  # cohort
    transfer_to: int  # cohort
    grade_fix: int
    sectionless: int
    no_grade: int
    bad_dob: int
    dup_original: int
    dup_copy: int  # an added student
    unshared_section: int
    renamed_teacher: int
    teacherless_section: int
    empty_section: int
    new_section: int
    new_section_cohort: int
    withdrawn: frozenset[int]
    withdrawn_sorted: tuple[int, ...]
    added_cohorts: tuple[int, ...]  # cohort of added student students + i

    @cached_property
    def special_set(self) -> frozenset[int]:
        """Students whose record changes on some day (besides additions and withdrawals)."""
        return frozenset(
            {self.transfer, self.grade_fix, self.no_grade, self.bad_dob, self.dup_copy}
        )


DEFAULT_CHANGED = 2.0  # percent of day 1's students a night adds or withdraws (1 % each)
MAX_CHANGED = 20.0


def _changes_count(students: int, changed: float) -> int:
    """Additions, and separately withdrawals: half of `changed` percent each, at least 5."""
    return max(5, round(students * changed / 200))


@lru_cache(maxsize=8)
def _build_plan(students: int, seed: int, changed: float) -> _Plan:
    lay = _build_layout(students)
    s0, s1, s2, s3 = lay.schools[:4]  # elementary, elementary, middle, high (see _PATTERN)
    salt = _salt(seed, "plan")

    def member(school: _School, grade_offset: int, draw: int) -> tuple[int, int]:
        c = school.first_cohort + grade_offset
        cohort = lay.cohorts[c]
        return c, cohort.start + _mix(salt + draw) % cohort.size

    # Transfer between the two elementary schools, same grade; grade fix stays inside K-5.
    grade = 1 + _mix(salt + 1) % 4
    transfer_from, transfer = member(s0, grade, 2)
    transfer_to = s1.first_cohort + grade
    _, grade_fix = member(s1, 1 + _mix(salt + 3) % 4, 4)
    _, sectionless = member(s2, 0, 5)
    _, no_grade = member(s2, 1, 6)
    _, bad_dob = member(s3, 0, 7)
    _, dup_original = member(s3, 1, 8)
    n_changes = _changes_count(students, changed)
    specials = {transfer, grade_fix, sectionless, no_grade, bad_dob, dup_original}
    withdrawn = _pick_withdrawn(students, n_changes, specials, _salt(seed, "withdrawn"))
    added_salt = _salt(seed, "added")
    added_cohorts = tuple(lay.cohort_of(_mix(added_salt + a) % students) for a in range(n_changes))
    return _Plan(
        transfer=transfer,
        transfer_from=transfer_from,
        transfer_to=transfer_to,
        grade_fix=grade_fix,
        sectionless=sectionless,
        no_grade=no_grade,
        bad_dob=bad_dob,
        dup_original=dup_original,
        dup_copy=students,
        unshared_section=s1.section_start,  # the first homeroom of the second elementary school
        renamed_teacher=s0.teacher_start + 1,
        teacherless_section=s3.section_start + 3 * s3.k_total,  # first science section, grade 9
        empty_section=lay.n_regular_sections,
        new_section=lay.n_regular_sections + 1,
        new_section_cohort=s3.first_cohort + 2,  # grade 11
        withdrawn=frozenset(withdrawn),
        withdrawn_sorted=tuple(withdrawn),
        added_cohorts=added_cohorts,
    )


def _pick_withdrawn(students: int, count: int, avoid: set[int], salt: int) -> list[int]:
    """One student per block of ``students // count``: spread over every school, sorted."""
    block = students // count
    chosen = []
    for b in range(count):
        offset = _mix(salt + b) % block
        while b * block + offset in avoid:
            offset = (offset + 1) % block
        chosen.append(b * block + offset)
    return chosen


@dataclass(frozen=True)
class _Overlay:
    """How a day's section rosters differ from the pure cohort arithmetic."""

    removed: frozenset[int]  # students left out of every regular section
    extra: Mapping[int, tuple[int, ...]]  # section -> students added to it
    touched: Mapping[int, int]  # section -> day its record last changed


def _build_overlay(lay: _Layout, plan: _Plan, students: int, day: int, salt: int) -> _Overlay:
    """Day ``day``'s section rosters: who left them, who joined, which changed when.

    ``salt`` places newcomers in sections (the district's "section" salt)."""
    removed = {plan.sectionless}
    extra: dict[int, list[int]] = {plan.unshared_section: [_UNSHARED_INDEX]}
    touched: dict[int, int] = {}
    if day >= 2:
        removed |= plan.withdrawn | {plan.transfer}
        leavers = [(i, lay.cohort_of(i)) for i in plan.withdrawn_sorted]
        leavers.append((plan.transfer, plan.transfer_from))
        for i, c in leavers:
            for sec in _regular_sections_of(lay, i, c):
                touched[sec] = 2
        newcomers = [(plan.transfer, plan.transfer_to)]
        newcomers += [(students + a, c) for a, c in enumerate(plan.added_cohorts)]
        for i, c in newcomers:
            for sec in _scheduled_sections(lay, i, c, salt):
                extra.setdefault(sec, []).append(i)
                touched[sec] = 2
        for sec in _led_sections(lay, plan.renamed_teacher):
            touched[sec] = 2  # Clever rebuilds the name from the teacher's last name
        touched[plan.teacherless_section] = day  # lost its teacher; back on day 3
    return _Overlay(frozenset(removed), {s: tuple(sorted(v)) for s, v in extra.items()}, touched)
