"""``DemoDistrict``: the demo district on one day, rendering each record as Clever sends it.

Nothing is stored: a record is computed from ``(students, day, seed, index)`` when it is asked
for, from the layout (``layout``), the names (``people``) and the day's plan (``days``).
Students, teachers and sections are written straight to JSON text, not built as dicts: a page
of 10,000 users must stay well under 0.2 s.

Over 500 lines because one class renders all six record types and each renderer reads the
same cached layout, plan, overlay and salts; split up, the pieces would pass those around or
reach into each other. The renderers are long f-strings, one field after another. What the
plan planted, as these records show it, is the manifest (``manifest``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from mgi_roster.demo.days import (
    _CREATED,
    _CREATED_OFFSET,
    DEFAULT_CHANGED,
    DEMO_DAYS,
    MAX_CHANGED,
    Planted,
    _build_overlay,
    _build_plan,
    _changed_ms,
    _iso,
    _Overlay,
    _Plan,
    _sync_ms,
)
from mgi_roster.demo.ids import (
    _CONTACT,
    _COURSE,
    _LEGACY,
    _SCHOOL,
    _SECTION,
    _STUDENT,
    _TEACHER,
    _TERM,
    DEMO_DISTRICT_ID,
    _decode,
    _id,
    _id_list,
    _iterate,
    _json_strings,
    _mix,
    _salt,
    _Segment,
)
from mgi_roster.demo.layout import (
    _CSP_COURSE,
    _ELEMENTARY,
    _GRADES,
    _HIGH,
    _N_COURSES,
    _STUDY_HALL_COURSE,
    _SUBJECTS,
    _TERMS,
    _build_layout,
    _Cohort,
    _cohort_in_school,
    _course_name,
    _course_number,
    _Layout,
    _led_sections,
    _perm,
    _teacher_title,
)
from mgi_roster.demo.people import (
    _BIRTH_ORDINALS,
    _CITIES,
    _STAFF_DOMAIN,
    _STREETS,
    _STUDENT_DOMAIN,
    _ell,
    _hispanic,
    _Person,
    _person,
    _renamed,
)
from mgi_roster.errors import InputError

DEFAULT_STUDENTS = 1200
MIN_STUDENTS = 100  # below this the planted situations would not fit in distinct cohorts
MAX_STUDENTS = 10_000_000
DISTRICT_NAME = "Maple Valley Unified School District (Demo)"


@dataclass(frozen=True)
class DemoDistrict:
    """The demo district on one day. Same arguments → byte-identical responses.

    ``students`` is the day-1 head count; ``day`` is 1 to ``DEMO_DAYS``; ``seed`` changes names
    and demographics and which students the planted situations fall on, never the shape;
    ``changed`` is the percent of day 1's students the night of day 2 adds or withdraws (half
    each; day 1 and the planted situations do not depend on it).
    """

    students: int = DEFAULT_STUDENTS
    day: int = 1
    seed: int = 2026
    changed: float = DEFAULT_CHANGED

    def __post_init__(self) -> None:
        if not MIN_STUDENTS <= self.students <= MAX_STUDENTS:
            raise InputError(
                f"The demo district needs between {MIN_STUDENTS:,} and {MAX_STUDENTS:,} "
                f"students; {self.students:,} was asked for."
            )
        if not 1 <= self.day <= DEMO_DAYS:
            raise InputError(
                f"The demo district has days 1 to {DEMO_DAYS}; day {self.day} was asked for."
            )
        if not 0 < self.changed <= MAX_CHANGED:
            raise InputError(
                f"The demo district's night changes between 0 and {MAX_CHANGED:g} % of its "
                f"students; {self.changed:g} % was asked for."
            )

    def with_day(self, day: int) -> DemoDistrict:
        return replace(self, day=day)

    # -- derived tables (small, cached) ---------------------------------------------------------

    @cached_property
    def _lay(self) -> _Layout:
        return _build_layout(self.students)

    @cached_property
    def _plan(self) -> _Plan:
        return _build_plan(self.students, self.seed, self.changed)

    @cached_property
    def _salts(self) -> dict[str, int]:
        names = ("student", "student_facts", "teacher", "teacher_facts", "school", "section")
        return {name: _salt(self.seed, name) for name in names}

    @cached_property
    def _overlay(self) -> _Overlay:
        return _build_overlay(
            self._lay, self._plan, self.students, self.day, self._salts["section"]
        )

    # -- counts and manifest --------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Records served per entity (students and teachers are both /users)."""
        lay, plan = self._lay, self._plan
        after = self.day >= 2
        return {
            "schools": len(lay.schools),
            "students": self.students
            + (len(plan.added_cohorts) - len(plan.withdrawn) if after else 0),
            "teachers": lay.n_teachers,
            "sections": lay.n_regular_sections + (2 if after else 1),
            "terms": len(_TERMS),
            "courses": _N_COURSES,
        }

    def planted(self) -> Planted:
        """The manifest of planted changes and problems (the same object on every day)."""
        from mgi_roster.demo.manifest import planted

        return planted(self.students, self.seed, self.changed)

    # -- lookup (``handle()`` reads records through these) --------------------------------

    def record(self, record_id: str) -> dict[str, Any] | None:
        """The record with this id as /v3.0 serves it today, or None (a 404)."""
        if record_id == DEMO_DISTRICT_ID:
            return self.district_record()
        decoded = _decode(record_id)
        if decoded is None or not self.exists(*decoded):
            return None
        found: dict[str, Any] = json.loads(self.fragment(*decoded))
        return found

    def records(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record of an entity (``schools``, ``students``, ``teachers``, ``sections``,
        ``terms``, ``courses``, ``users``) in id order, generated lazily."""
        for code, index in _iterate(self.segments(entity), None, None):
            yield json.loads(self.fragment(code, index))

    def fragment(self, code: str, index: int) -> str:
        """One record as compact JSON text, exactly as it goes on the wire."""
        if code == _STUDENT:
            return self._student_json(index)
        if code == _SECTION:
            return self._section_json(index)
        if code == _TEACHER:
            return self._teacher_json(index)
        small = {_SCHOOL: self._school, _TERM: _term, _COURSE: _course}[code](index)
        return _dumps(small)

    def exists(self, code: str, index: int) -> bool:
        """Whether the record with this entity code and index is served today."""
        if code == _STUDENT:
            return index < self._student_stop() and index not in self._student_gaps()
        limits = {
            _SCHOOL: len(self._lay.schools),
            _TERM: len(_TERMS),
            _COURSE: _N_COURSES,
            _SECTION: self.counts()["sections"],
            _TEACHER: self._lay.n_teachers,
        }
        return code in limits and index < limits[code]

    def _student_stop(self) -> int:
        """Upper bound (exclusive) of the student indexes served today."""
        return self.students + (len(self._plan.added_cohorts) if self.day >= 2 else 0)

    def _student_gaps(self) -> frozenset[int]:
        return self._plan.withdrawn if self.day >= 2 else frozenset()

    def segments(self, entity: str) -> list[_Segment]:
        """The id ranges behind a list endpoint, in id order."""
        n_teachers = self._lay.n_teachers
        teachers = _Segment(_TEACHER, n_teachers)
        students = _Segment(_STUDENT, self._student_stop(), self._student_gaps())
        return {
            "schools": [_Segment(_SCHOOL, len(self._lay.schools))],
            "terms": [_Segment(_TERM, len(_TERMS))],
            "courses": [_Segment(_COURSE, _N_COURSES)],
            "sections": [_Segment(_SECTION, self.counts()["sections"])],
            "teachers": [teachers],
            "students": [students],
            "staff": [_Segment(_TEACHER, n_teachers, keep=self._is_staff)],
            "users": [teachers, students],
        }.get(entity, [])

    # -- district and schools -----------------------------------------------------------------

    def district_record(self) -> dict[str, Any]:
        return {
            "login_methods": ["Clever Badges", "Google"],
            "sis_type": "sftp",
            "state": "success",
            "error": "",
            "last_sync": _recent_sync(self.day),
            "portal_url": "https://clever.com/in/maple-valley-demo",
            "district_contact": {
                "district": DEMO_DISTRICT_ID,
                "email": "r.okonkwo@mvusd.example.org",
                "name": {"last": "Okonkwo", "first": "Renée"},
                "title": "Director of Technology",
                "id": _id(_CONTACT, 1),
            },
            "name": DISTRICT_NAME,
            "launch_date": "2025-07-21",
            "nces_id": "0612340",
            "id": DEMO_DISTRICT_ID,
        }

    def _school(self, i: int) -> dict[str, Any]:
        school = self._lay.schools[i]
        lv = school.level
        h = _mix(self._salts["school"] + i)
        principal = _person(_mix(h))
        base = lv.pool[school.ordinal % len(lv.pool)]
        campus = school.ordinal // len(lv.pool)
        city, zip_code = _CITIES[i % len(_CITIES)]
        number = f"MV{i + 101:04d}"
        created = _iso(_CREATED + _CREATED_OFFSET[_SCHOOL] + i * 1000 + h % 1000)
        return {
            "created": created,
            "district": DEMO_DISTRICT_ID,
            "ext": {"charter_school": "N"},
            "high_grade": _GRADES[lv.high],
            "last_modified": created,
            "location": {
                "address": f"{200 + (i * 37) % 3000} {_STREETS[(h >> 20) % len(_STREETS)]}",
                "city": city,
                "state": "CA",
                "zip": zip_code,
            },
            "low_grade": lv.low_grade,
            "name": f"{base} {lv.label}" + (f" Campus {campus + 1}" if campus else ""),
            "nces_id": f"0612340{i + 1:05d}",
            "phone": f"(916) 555-01{i % 100:02d}",  # 555-01xx is reserved for fiction
            "principal": {
                "email": f"{principal.first[1]}.{principal.last[1]}@{_STAFF_DOMAIN}",
                "name": f"{principal.first[0]} {principal.last[0]}",
            },
            "school_number": number,
            "sis_id": number,
            "state_id": str(30_000 + i * 17),
            "id": _id(_SCHOOL, i),
        }

    # -- students -----------------------------------------------------------------------------

    def _student_cohort(self, i: int) -> int:
        plan = self._plan
        if i >= self.students:
            return plan.added_cohorts[i - self.students]
        if i == plan.transfer and self.day >= 2:
            return plan.transfer_to
        return self._lay.cohort_of(i)

    def _student_json(self, i: int) -> str:
        # Rendered straight to JSON text: building dicts and running json.dumps costs about
        # three times as much, and a 10,000-record page must stay well under 0.2 s.
        # Every interpolated name comes from the pools, which need no JSON escaping (tested).
        plan = self._plan
        cohort = self._lay.cohorts[self._student_cohort(i)]
        grade = cohort.grade
        school = _id(_SCHOOL, cohort.school)
        person = _person(_mix(self._salts["student"] + i))
        h = _mix(self._salts["student_facts"] + i)
        group = person.group
        username = f"{person.first[1]}{person.last[1][:1]}{i + 1}"
        sis_id = _student_sis(i, h)
        birth = dt.date.fromordinal(
            _BIRTH_ORDINALS[grade] + h % 365 - (365 if (h >> 50) % 100 < 6 else 0)  # 6 % held back
        )
        grade_text, dob = _GRADES[grade], f"{birth.month}/{birth.day}/{birth.year}"
        created = self._student_created(i, h)
        modified = created
        if self.day >= 2 and i in plan.special_set:
            grade_text, dob, sis_id, modified = self._student_changes(
                i, grade_text, dob, sis_id, modified, birth.year
            )
        # The home address follows the school the student was first enrolled in, so a transfer
        # changes school and schools but not location.
        home = cohort if i >= self.students else self._lay.cohorts[self._lay.cohort_of(i)]
        city, zip_code = _CITIES[home.school % len(_CITIES)]
        address = ""
        if (h >> 41) % 5 < 3:
            address = f"{100 + (h >> 34) % 9800} {_STREETS[(h >> 48) % len(_STREETS)]}"
        state_id = str(6_000_000_000 + i * 13 + (h >> 8) % 13) if (h >> 56) % 50 else ""
        email = f"{username}@{_STUDENT_DOMAIN}"
        email_top = email_role = ""
        if grade > 2 or (h >> 12) % 3 != 0:  # young students often have no email at all
            # Live /users repeats the email inside roles.student (recorded client__users.json).
            email_top, email_role = f'"email":"{email}",', f',"email":"{email}"'
        return (
            f'{{"created":"{created}","district":"{DEMO_DISTRICT_ID}",{email_top}'
            f'"last_modified":"{modified}","name":{{"first":"{person.first[0]}",'
            f'"last":"{person.last[0]}","middle":"{person.middle}"}},"id":"{_id(_STUDENT, i)}",'
            f'"roles":{{"student":{{"credentials":{{"district_username":"{username}"}},'
            f'"dob":"{dob}","ell_status":"{_ell(group, h >> 20)}","enrollments":[],"ext":{{}},'
            f'"gender":"{person.gender}","grade":"{grade_text}",'
            f'"graduation_year":"{2026 + 12 - grade if grade >= 9 else ""}",'
            f'"hispanic_ethnicity":"{_hispanic(group, h >> 27)}",'
            f'"location":{{"address":"{address}","city":"{city}","state":"CA","zip":"{zip_code}"}},'
            f'"race":"{group.races[(h >> 44) % 10]}","school":"{school}","schools":["{school}"],'
            f'"sis_id":"{sis_id}","state_id":"{state_id}","student_number":"{sis_id}"{email_role}}}}}}}'
        )

    def _student_created(self, i: int, h: int) -> str:
        if i >= self.students:  # added for day 2, entered just before that sync
            return _iso(_sync_ms(2) - 7_200_000 + (i - self.students) * 50 + h % 50)
        return _iso(_CREATED + _CREATED_OFFSET[_STUDENT] + i * 20 + h % 20)

    def _student_changes(
        self, i: int, grade: str, dob: str, sis_id: str, modified: str, birth_year: int
    ) -> tuple[str, str, str, str]:
        """Day 2's changes and problems on the planted students; day 3 fixes the problems."""
        plan, day = self._plan, self.day
        if i == plan.grade_fix:  # entered one grade too low; stays in the same school
            grade = _GRADES[self._lay.cohorts[self._lay.cohort_of(i)].grade + 1]
            modified = _iso(_changed_ms(2, i))
        elif i == plan.bad_dob:
            dob = f"2/30/{birth_year}" if day == 2 else dob
            modified = _iso(_changed_ms(day, i))
        elif i == plan.no_grade:
            grade = "" if day == 2 else grade
            modified = _iso(_changed_ms(day, i))
        elif i == plan.dup_copy and day == 2:
            sis_id = _student_sis(
                plan.dup_original, _mix(self._salts["student_facts"] + plan.dup_original)
            )
        elif i == plan.dup_copy:
            modified = _iso(_changed_ms(3, i))
        elif i == plan.transfer:
            modified = _iso(_changed_ms(2, i))
        return grade, dob, sis_id, modified

    # -- teachers -----------------------------------------------------------------------------

    def _is_staff(self, t: int) -> bool:
        """The first teacher of each school is also its instructional coach (a multi-role user)."""
        return self._lay.school_of_teacher(t).teacher_start == t

    def _teacher_last(self, t: int) -> tuple[_Person, str]:
        """The teacher's name as drawn, and the last name served today."""
        person = _person(_mix(self._salts["teacher"] + t))
        if t == self._plan.renamed_teacher and self.day >= 2:
            return person, _renamed(person, self.seed)
        return person, person.last[0]

    def _teacher_json(self, t: int) -> str:
        school = self._lay.school_of_teacher(t)
        school_id = _id(_SCHOOL, school.index)
        person, last = self._teacher_last(t)
        h = _mix(self._salts["teacher_facts"] + t)
        login = f"{person.first[1]}.{person.last[1]}{t + 1}"
        created = _iso(_CREATED + _CREATED_OFFSET[_TEACHER] + t * 1000 + h % 1000)
        renamed = t == self._plan.renamed_teacher and self.day >= 2
        legacy = _id(_LEGACY, t)  # the pre-v3 id Clever keeps for employees
        state_id = str(800_000_000 + t * 11 + h % 11) if h % 25 else ""
        staff = ""
        if self._is_staff(t):
            staff = (
                f',"staff":{{"credentials":{{"district_username":"{login}"}},'
                f'"department":"Curriculum and Instruction","ext":{{}},"legacy_id":"{legacy}",'
                f'"roles":[],"schools":["{school_id}"],"staff_id":"E{t + 1:05d}",'
                f'"title":"Instructional Coach"}}'
            )
        return (
            f'{{"created":"{created}","district":"{DEMO_DISTRICT_ID}",'
            f'"email":"{login}@{_STAFF_DOMAIN}",'
            f'"last_modified":"{_iso(_changed_ms(2, t)) if renamed else created}",'
            f'"name":{{"first":"{person.first[0]}","last":"{last}","middle":"{person.middle}"}},'
            f'"id":"{_id(_TEACHER, t)}","roles":{{"teacher":{{'
            f'"credentials":{{"district_username":"{login}"}},"ext":{{}},"school":"{school_id}",'
            f'"schools":["{school_id}"],"sis_id":"{9000 + t}","state_id":"{state_id}",'
            f'"teacher_number":"T{t + 1:05d}","title":"{_teacher_title(school.level, h >> 8)}",'
            f'"legacy_id":"{legacy}"}}{staff}}}}}'
        )

    # -- sections -----------------------------------------------------------------------------

    def _section_json(self, sec: int) -> str:
        if sec >= self._plan.empty_section:
            return self._special_section_json(sec)
        lay = self._lay
        school = lay.school_of_section(sec)
        m = sec - school.section_start
        subject, rest = divmod(m, school.k_total)
        cohort = lay.cohorts[school.first_cohort + _cohort_in_school(lay, school, rest)]
        j = rest - cohort.k_offset
        # Teachers own contiguous blocks of their school's sections, one period each.
        per_school = 4 * school.k_total
        local = m * school.n_teachers // per_school
        first_m = (local * per_school + school.n_teachers - 1) // school.n_teachers
        teachers = [school.teacher_start + local]
        if school.n_teachers > 1 and _mix(self._salts["section"] + sec) % 12 == 0:
            teachers.append(school.teacher_start + (local + 1) % school.n_teachers)  # co-taught
        semester = subject == 3 and school.level is _HIGH  # high-school science is by semester
        return self._section_text(
            sec,
            school=school.index,
            course=cohort.grade * 4 + subject,
            subject=_SUBJECTS[subject],
            grade=_GRADES[cohort.grade],
            period=str(m - first_m + 1),
            teachers=teachers,
            term=1 + j % 2 if semester else 0,
            number="" if school.level is _ELEMENTARY else str(j + 1),
            room=local,
            students=self._roster(sec, cohort, subject, j),
        )

    def _special_section_json(self, sec: int) -> str:
        """The empty study hall (every day) and Computer Science Principles (new on day 2)."""
        plan, lay = self._plan, self._lay
        high = lay.schools[3]
        local = 0 if sec == plan.empty_section else 1
        teacher = high.teacher_start + local
        period = str(len(_led_sections(lay, teacher)) + 1)  # the period after their classes
        if sec == plan.empty_section:
            course, subject, grade, students = _STUDY_HALL_COURSE, "other", "9", []
        else:
            cohort = lay.cohorts[plan.new_section_cohort]
            members = range(cohort.start, cohort.start + min(20, cohort.size))
            course, subject, grade = _CSP_COURSE, "technology and engineering", "11"
            students = [i for i in members if i not in self._overlay.removed]
        return self._section_text(
            sec,
            school=3,
            course=course,
            subject=subject,
            grade=grade,
            period=period,
            teachers=[teacher],
            term=0,
            number="1",
            room=local,
            students=students,
        )

    def _roster(self, sec: int, cohort: _Cohort, subject: int, j: int) -> list[int]:
        """Section j of a subject holds the cohort positions permuted into [j*n/k, (j+1)*n/k)."""
        n, a = cohort.size, cohort.start
        lo, hi = j * n // cohort.k, (j + 1) * n // cohort.k
        _, inverse, offset = _perm(n, subject)
        if subject == 0:
            members = list(range(a + lo, a + hi))
        else:
            members = sorted(a + (r - offset) * inverse % n for r in range(lo, hi))
        overlay = self._overlay
        members = [i for i in members if i not in overlay.removed]
        extra = overlay.extra.get(sec)
        return sorted(members + list(extra)) if extra else members

    def _section_text(
        self,
        sec: int,
        *,
        school: int,
        course: int,
        subject: str,
        grade: str,
        period: str,
        teachers: list[int],
        term: int,
        number: str,
        room: int,
        students: list[int],
    ) -> str:
        plan = self._plan
        h = _mix(self._salts["section"] + sec)
        if sec == plan.new_section:
            created = _iso(_sync_ms(2) - 1_800_000)
        else:
            created = _iso(_CREATED + _CREATED_OFFSET[_SECTION] + sec * 100 + h % 100)
        touched = self._overlay.touched.get(sec)
        _, last = self._teacher_last(teachers[0])
        teacher_ids = [_id(_TEACHER, t) for t in teachers]
        teacher = f'"teacher":"{teacher_ids[0]}",'
        if sec == plan.teacherless_section and self.day == 2:
            teacher, teacher_ids = "", []  # the teacher was taken off the section in the SIS
        return (
            f'{{"course":"{_id(_COURSE, course)}","created":"{created}",'
            f'"district":"{DEMO_DISTRICT_ID}",'
            f'"ext":{{"classroom":"{chr(65 + room // 30 % 26)}{room % 30 + 1}"}},"grade":"{grade}",'
            f'"last_modified":"{_iso(_changed_ms(touched, sec)) if touched else created}",'
            # Clever builds section names as "<course name> - <teacher last name> - <period>".
            f'"name":"{_course_name(course)} - {last} - {period}","period":"{period}",'
            f'"school":"{_id(_SCHOOL, school)}","section_number":"{number}",'
            f'"sis_id":"{40_000 + sec}","students":{_id_list(_STUDENT, students)},'
            f'"subject":"{subject}",{teacher}"teachers":{_json_strings(teacher_ids)},'
            f'"term_id":"{_id(_TERM, term)}","id":"{_id(_SECTION, sec)}"}}'
        )


def _student_sis(i: int, h: int) -> str:
    """Unique per index: 7 * i plus a jitter below 7."""
    return str(2_000_000 + i * 7 + h % 7)


def _dumps(value: Any) -> str:
    """Compact JSON, UTF-8 left as is (as Clever sends it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _recent_sync(day: int) -> str:
    """When Clever last synced the demo district: recently (a live district's Test Connection
    would warn about a sync older than 7 days), one night apart per SIS day, day 3 the latest
    06:14 UTC; to the minute, so every call within a test agrees."""
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    latest = now.replace(hour=6, minute=14)
    if latest > now:
        latest -= dt.timedelta(days=1)
    return (latest - dt.timedelta(days=DEMO_DAYS - day)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _term(i: int) -> dict[str, Any]:
    name, start, end = _TERMS[i]
    return {
        "district": DEMO_DISTRICT_ID,
        "end_date": end,
        "name": name,
        "start_date": start,
        "id": _id(_TERM, i),
    }


def _course(i: int) -> dict[str, Any]:
    return {
        "district": DEMO_DISTRICT_ID,
        "name": _course_name(i),
        "number": _course_number(i),
        "id": _id(_COURSE, i),
    }
