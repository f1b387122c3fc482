"""The district's layout as index arithmetic: schools, grade cohorts, teachers, sections.

Students are numbered school by school and grade by grade, so a student's cohort (school and
grade) is a bisect over the cohort starts, and its four sections (homeroom, math, English,
science) follow from its position in the cohort, shuffled per subject (``_perm``). Teachers
own contiguous blocks of their school's sections. ``_build_layout`` costs O(schools), never
O(students): a 1,000,000-student district costs no more memory than a 1,200-student one.
Courses (one per grade and subject, and two electives) and terms are small fixed tables.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

from mgi_roster.demo.ids import _mix

_GRADES = ("Kindergarten",) + tuple(str(g) for g in range(1, 13))
_SUBJECTS = ("homeroom/advisory", "math", "english/language arts", "science")
_SUBJECT_CODES = ("HR", "MA", "EN", "SC")
_STUDENTS_PER_SECTION = 25
_STUDENTS_PER_TEACHER = 20
_STUDENTS_PER_SCHOOL = 300


@dataclass(frozen=True)
class _Level:
    label: str
    low: int
    high: int
    weight: int  # units per grade cohort: middle/high schools draw from larger attendance areas
    pool: tuple[str, ...]
    low_grade: str


_ELEMENTARY = _Level(
    "Elementary School",
    0,
    5,
    1,
    (
        "Alder Creek",
        "Bayview",
        "Cedar Hills",
        "Sunnyside",
        "Las Palmas",
        "Juniper",
        "Oak Meadow",
        "Quail Run",
        "Hillcrest",
        "Manzanita",
        "Evergreen",
        "Harbor View",
        "Mesa Verde",
        "Willow Glen",
    ),
    "Kindergarten",
)
_MIDDLE = _Level(
    "Middle School",
    6,
    8,
    2,
    (
        "Maple Valley",
        "Sierra Vista",
        "Canyon Ridge",
        "Lakeside",
        "Pioneer",
        "Granite Peak",
    ),
    "6",
)
_HIGH = _Level(
    "High School",
    9,
    12,
    2,
    (
        "Maple Valley",
        "Riverside",
        "Northgate",
        "Sequoia",
        "Eastlake",
        "Westview",
    ),
    "9",
)
# Schools repeat this pattern, so the first four are always two elementary, a middle and a
# high school, and the planted situations can name them by position.
_PATTERN = (_ELEMENTARY, _ELEMENTARY, _MIDDLE, _HIGH)


@dataclass(frozen=True)
class _Cohort:
    """The students of one school and grade: a contiguous range of student indexes."""

    school: int
    grade: int  # 0 = Kindergarten
    start: int
    size: int
    k: int  # sections per subject
    k_offset: int  # position of this cohort's sections within each subject block of its school


@dataclass(frozen=True)
class _School:
    index: int
    level: _Level
    ordinal: int  # n-th school of its level
    first_cohort: int
    n_cohorts: int
    student_start: int
    student_end: int
    teacher_start: int
    n_teachers: int
    section_start: int
    k_total: int  # sections per subject in this school; the school has 4 * k_total sections


@dataclass(frozen=True)
class _Layout:
    students: int
    schools: tuple[_School, ...]
    cohorts: tuple[_Cohort, ...]
    cohort_starts: tuple[int, ...]
    teacher_starts: tuple[int, ...]
    section_starts: tuple[int, ...]
    n_teachers: int
    n_regular_sections: int

    def cohort_of(self, index: int) -> int:
        return bisect.bisect_right(self.cohort_starts, index) - 1

    def school_of_teacher(self, teacher: int) -> _School:
        return self.schools[bisect.bisect_right(self.teacher_starts, teacher) - 1]

    def school_of_section(self, section: int) -> _School:
        return self.schools[bisect.bisect_right(self.section_starts, section) - 1]


@lru_cache(maxsize=8)
def _build_layout(students: int) -> _Layout:
    """Schools and cohorts (O(schools), never O(students)); shared by all days and seeds."""
    levels = [
        _PATTERN[k % len(_PATTERN)] for k in range(max(4, round(students / _STUDENTS_PER_SCHOOL)))
    ]
    units = sum(lv.weight * (lv.high - lv.low + 1) for lv in levels)
    cohorts: list[_Cohort] = []
    schools: list[_School] = []
    ordinals: dict[str, int] = {}
    unit = teacher_pos = section_pos = 0
    for k, lv in enumerate(levels):
        first_cohort, student_start, k_total = len(cohorts), unit * students // units, 0
        for grade in range(lv.low, lv.high + 1):
            start = unit * students // units
            unit += lv.weight
            size = unit * students // units - start
            per_subject = max(1, round(size / _STUDENTS_PER_SECTION))
            cohorts.append(_Cohort(k, grade, start, size, per_subject, k_total))
            k_total += per_subject
        student_end = unit * students // units
        n_teachers = max(2, round((student_end - student_start) / _STUDENTS_PER_TEACHER))
        ordinal = ordinals.get(lv.label, 0)
        ordinals[lv.label] = ordinal + 1
        schools.append(
            _School(
                k,
                lv,
                ordinal,
                first_cohort,
                len(cohorts) - first_cohort,
                student_start,
                student_end,
                teacher_pos,
                n_teachers,
                section_pos,
                k_total,
            )
        )
        teacher_pos += n_teachers
        section_pos += 4 * k_total
    return _Layout(
        students,
        tuple(schools),
        tuple(cohorts),
        tuple(c.start for c in cohorts),
        tuple(s.teacher_start for s in schools),
        tuple(s.section_start for s in schools),
        teacher_pos,
        section_pos,
    )


@lru_cache(maxsize=1 << 16)
def _perm(n: int, subject: int) -> tuple[int, int, int]:
    """(multiplier, its inverse, offset) of the affine permutation of a cohort for a subject.

    Homeroom keeps the cohort's order; each other subject shuffles it differently, so a
    student's four sections are not four copies of one roster.
    """
    if subject == 0 or n == 1:
        return 1, 1, 0
    mult = (7, 11, 13)[subject - 1]
    while math.gcd(mult, n) != 1:
        mult += 1
    return mult, pow(mult, -1, n), (subject * 7) % n


def _section_of_position(layout: _Layout, cohort_index: int, position: int, subject: int) -> int:
    """The section (global index) holding the cohort's ``position``-th student for ``subject``."""
    c = layout.cohorts[cohort_index]
    mult, _, offset = _perm(c.size, subject)
    r = (mult * position + offset) % c.size
    # Section j holds permuted positions [j*n//k, (j+1)*n//k); invert that split.
    j = ((r + 1) * c.k + c.size - 1) // c.size - 1
    school = layout.schools[c.school]
    return school.section_start + subject * school.k_total + c.k_offset + j


def _regular_sections_of(lay: _Layout, i: int, cohort_index: int) -> list[int]:
    """The four sections the cohort arithmetic puts a day-1 student in."""
    position = i - lay.cohorts[cohort_index].start
    return [_section_of_position(lay, cohort_index, position, s) for s in range(4)]


def _scheduled_sections(lay: _Layout, i: int, cohort_index: int, salt: int) -> list[int]:
    """The four sections a newcomer (added or transferred student) is scheduled into."""
    c = lay.cohorts[cohort_index]
    school = lay.schools[c.school]
    h = _mix(salt ^ i)
    return [
        school.section_start + s * school.k_total + c.k_offset + (h >> (8 * s)) % c.k
        for s in range(4)
    ]


def _led_sections(lay: _Layout, t: int) -> range:
    """Regular sections whose primary teacher is ``t`` (teachers own contiguous blocks)."""
    school = lay.school_of_teacher(t)
    local, n, m = t - school.teacher_start, school.n_teachers, 4 * school.k_total
    return range(
        school.section_start + (local * m + n - 1) // n,
        school.section_start + ((local + 1) * m + n - 1) // n,
    )


def _cohort_in_school(lay: _Layout, school: _School, rest: int) -> int:
    """Which of the school's cohorts owns position ``rest`` of a subject block (≤ 6 cohorts)."""
    for local in range(school.n_cohorts):
        cohort = lay.cohorts[school.first_cohort + local]
        if rest < cohort.k_offset + cohort.k:
            return local
    raise ValueError(f"section position {rest} is outside school {school.index}")


# Courses: one per grade and subject, then two electives.
_N_GRADE_COURSES = 13 * 4
_STUDY_HALL_COURSE = _N_GRADE_COURSES
_CSP_COURSE = _N_GRADE_COURSES + 1
_N_COURSES = _N_GRADE_COURSES + 2
_HIGH_COURSES = {
    9: ("Advisory 9", "Algebra I", "English 9", "Biology"),
    10: ("Advisory 10", "Geometry", "English 10", "Chemistry"),
    11: ("Advisory 11", "Algebra II", "English 11", "Physics"),
    12: ("Advisory 12", "Precalculus", "English 12", "Environmental Science"),
}


def _course_name(index: int) -> str:
    if index == _STUDY_HALL_COURSE:
        return "Study Hall"
    if index == _CSP_COURSE:
        return "Computer Science Principles"
    grade, subject = divmod(index, 4)
    if grade <= 5:
        label = "Kindergarten" if grade == 0 else f"Grade {grade}"
        return f"{label} {('Homeroom', 'Mathematics', 'English Language Arts', 'Science')[subject]}"
    if grade <= 8:
        return (f"Advisory {grade}", f"Math {grade}", f"English {grade}", f"Science {grade}")[
            subject
        ]
    return _HIGH_COURSES[grade][subject]


def _course_number(index: int) -> str:
    if index == _STUDY_HALL_COURSE:
        return "SH090"
    if index == _CSP_COURSE:
        return "CS110"
    grade, subject = divmod(index, 4)
    return f"{_SUBJECT_CODES[subject]}{grade:02d}0"


def _terms(today: dt.date | None = None) -> tuple[tuple[str, str, str], ...]:
    """The school year under way (a year starts on August 1) and its two semesters, as
    /v3.0/terms sends dates: the demo's classes are always in a current term, so screening
    classes (which count only sections of a current term) work on the demo any day."""
    today = today or dt.date.today()
    y = today.year if today.month >= 8 else today.year - 1
    return (
        (f"{y}-{y + 1} School Year", f"{y}-08-18", f"{y + 1}-06-05"),
        ("Semester 1", f"{y}-08-18", f"{y + 1}-01-16"),
        ("Semester 2", f"{y + 1}-01-20", f"{y + 1}-06-05"),
    )


_TERMS = _terms()


_TITLES = {
    _ELEMENTARY.label: ("Teacher", "Classroom Teacher", "Teacher", ""),
    _MIDDLE.label: ("Teacher", "Math Teacher", "Science Teacher", "English Teacher", ""),
    _HIGH.label: (
        "Teacher",
        "Math Teacher",
        "Science Teacher",
        "English Teacher",
        "Department Chair",
        "",
    ),
}


def _teacher_title(level: _Level, h: int) -> str:
    titles = _TITLES[level.label]
    return titles[h % len(titles)]
