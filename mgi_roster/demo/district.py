"""The built-in demo district: a Clever API v3.0 district, computed on the fly, in Clever's wire format.

Nothing is stored. Every record is a pure function of ``(students, day, seed, index)``: a cheap
integer hash (splitmix64) of the index picks names and demographics, and simple arithmetic on
the index places a student in a school, a grade and four sections. So a 1,000,000-student
district costs no more memory than a 1,200-student one, and ``starting_after=<id>`` finds its
place in O(log n) by decoding the index from the id.

IDs are 24 lowercase hex characters like Mongo ObjectIDs: ``5eed`` + a 2-hex entity code +
the 18-hex zero-padded index. String order therefore equals index order, which is what Clever
promises (records sorted by ascending id), and ids are unique across entity types.

Three days are served (``DEMO_DAYS``):

- day 1, the baseline: no error-level data problem, only three warning-level realities (an
  empty section, a student in no section, a section naming a student that is not shared);
- day 2: realistic changes (about 1 % new students, 1 % withdrawals, a transfer, a grade
  correction, a teacher's name change, a new section) plus planted data problems (a duplicate
  SIS id, an impossible birth date, a student without a grade, a section without a teacher);
- day 3: day 2 with the planted problems fixed by the district; the changes stay.

``DemoDistrict.planted()`` names every id involved, for the tests of later modules.

One request handler, ``handle()``, holds the whole Clever behaviour (envelopes, paging links,
bearer and Basic auth, the tokens endpoint, rate-limit headers, 401/404/413/429). Two transports
run it: ``DemoAdapter`` (a ``requests`` transport, mounted with ``mount_demo()``, so no request
leaves the process) and a loopback HTTP server (``make_server()`` / ``serve()``).

Both transports can also fail on purpose (``faults=``, ``demo serve --fault MODE``): 429 bursts,
5xx answers, answers slower than the client's read timeout, JSON cut in half, a connection
dropped mid-body, an HTML page with status 200, a token revoked mid-sync (``FAULT_MODES``).
With no faults the answers are byte for byte the same as without the feature.

Wire facts follow the recorded Clever responses in ``shared/reference/clever-recorded/``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import collections
import datetime as dt
import hmac
import html
import http.server
import json
import math
import re
import signal
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from mgi_roster.errors import InputError

__all__ = [
    "DEFAULT_STUDENTS",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_DAYS",
    "DEMO_DISTRICT_ID",
    "DEMO_DISTRICT_TOKEN",
    "Change",
    "DemoAdapter",
    "DemoDistrict",
    "DemoResponse",
    "FAULT_MODES",
    "Fault",
    "Faulted",
    "Faults",
    "Planted",
    "RateLimiter",
    "Transfer",
    "handle",
    "make_server",
    "mount_demo",
    "parse_fault",
    "serve",
]

DEMO_DISTRICT_ID = "5eed0000000000000000d15c"
DEMO_DISTRICT_TOKEN = "demo-district-token"  # not a secret: the demo's published bearer token
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_DAYS = 3
DEFAULT_STUDENTS = 1200
MIN_STUDENTS = 100  # below this the planted situations would not fit in distinct cohorts
MAX_STUDENTS = 10_000_000

DEFAULT_LIMIT = 100  # Clever's default page size (clever-python#55; recorded /users pages)
MAX_LIMIT = 10_000  # larger limits get 413 (dev.clever.com/docs/error-messages)
RATE_LIMIT = 1200  # requests per token per fixed one-minute window
DISTRICT_NAME = "Maple Valley Unified School District (Demo)"

# ---------------------------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------------------------

_PREFIX = "5eed"
_SCHOOL, _TERM, _COURSE, _SECTION, _TEACHER, _STUDENT = "01", "02", "03", "04", "05", "06"
_CONTACT, _TOKEN, _LEGACY = "07", "0f", "1e"
_ENTITY_OF_CODE = {
    _SCHOOL: "schools",
    _TERM: "terms",
    _COURSE: "courses",
    _SECTION: "sections",
    _TEACHER: "teachers",
    _STUDENT: "students",
}
# The student a section names but /users never serves (a sharing finding). Its index is far
# beyond any real student's, so it can never collide with day-2 additions.
_UNSHARED_INDEX = 1 << 64
_HEX24 = re.compile(r"[0-9a-f]{24}")


def _id(code: str, index: int) -> str:
    return f"{_PREFIX}{code}{index:018x}"


def _decode(record_id: str) -> tuple[str, int] | None:
    """(entity code, index) of one of our ids, or None for anything else."""
    if len(record_id) != 24 or not record_id.startswith(_PREFIX) or not _HEX24.fullmatch(record_id):
        return None
    return record_id[4:6], int(record_id[6:], 16)


# ---------------------------------------------------------------------------------------------
# Hashing and time
# ---------------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: a cheap, well-mixed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _salt(seed: int, name: str) -> int:
    """A per-seed, per-purpose starting point, so each field family draws independent bits."""
    return _mix(seed * 0x100000001B3 ^ int.from_bytes(name.encode(), "big") & _M64)


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


# ---------------------------------------------------------------------------------------------
# Names: multilingual, invented combinations of common names; ASCII forms for logins
# ---------------------------------------------------------------------------------------------

# Non-Latin spellings have no automatic ASCII form: give the romanisation the SIS would use.
_TRANSLIT = {
    "Мария": "maria",
    "Ксения": "kseniya",
    "Дмитрий": "dmitriy",
    "Алексей": "aleksey",
    "Шевченко": "shevchenko",
    "Коваленко": "kovalenko",
    "美玲": "meiling",
    "婷": "ting",
    "志明": "zhiming",
    "伟": "wei",
    "陳": "chen",
    "王": "wang",
    "ليلى": "layla",
    "نور": "noor",
    "عمر": "omar",
    "كريم": "karim",
    "حداد": "haddad",
    "خوري": "khoury",
    "प्रिया": "priya",
    "अनन्या": "ananya",
    "अर्जुन": "arjun",
    "रोहन": "rohan",
    "शर्मा": "sharma",
    "पटेल": "patel",
    "서연": "seoyeon",
    "민준": "minjun",
    "김": "kim",
    "박": "park",
}
_NO_DECOMPOSITION = str.maketrans(
    {"Đ": "D", "đ": "d", "ß": "ss", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l"}
)


def _ascii(name: str) -> str:
    """ASCII letters and digits of a name, lower case: ``García-López`` → ``garcialopez``."""
    if name in _TRANSLIT:
        return _TRANSLIT[name]
    decomposed = unicodedata.normalize("NFKD", name.translate(_NO_DECOMPOSITION))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum()).lower()


Name = tuple[str, str]  # (display, ascii)


def _names(text: str) -> tuple[Name, ...]:
    return tuple((n, _ascii(n)) for n in text.split("|"))


@dataclass(frozen=True)
class _Pools:
    female: tuple[Name, ...]
    male: tuple[Name, ...]
    last: tuple[Name, ...]


def _pools(female: str, male: str, last: str) -> _Pools:
    return _Pools(_names(female), _names(male), _names(last))


@dataclass(frozen=True)
class _NameGroup:
    label: str
    weight: int
    latin: _Pools
    races: tuple[str, ...]  # ten draws from Clever's race enum
    hispanic: bool
    ell_percent: int
    native: _Pools | None = None  # whole names in the group's own script, drawn rarely


_ASIAN = ("Asian",) * 9 + ("Two or More Races",)
_WHITE = ("Caucasian",) * 8 + ("Two or More Races", "Unknown")
_NAME_GROUPS = (
    _NameGroup(
        "english",
        22,
        _pools(
            "Emma|Olivia|Ava|Harper|Madison|Abigail|Grace|Lily|Brooklyn|Aaliyah|Zoë|Savannah",
            "Liam|Noah|Mason|Ethan|Logan|Caleb|Wyatt|Owen|Jackson|Elijah|Jaylen|Isaiah",
            "Carter|Brooks|Bennett|Foster|Hayes|Mitchell|Parker|Reed|Coleman|Jenkins|D'Angelo|"
            "DeLuca|Whitaker|Ellison",
        ),
        ("Caucasian",) * 6 + ("Black or African American",) * 3 + ("Two or More Races",),
        False,
        2,
    ),
    _NameGroup(
        "spanish",
        24,
        _pools(
            "María|Sofía|Valentina|Camila|Ximena|Lucía|Guadalupe|Itzel|Daniela|Renata|Mía|Abril",
            "José|Santiago|Mateo|Diego|Alejandro|Joaquín|Emiliano|Luis|Andrés|Julián|Iker|Tomás",
            "García|Hernández|López|Martínez|Rodríguez|González|Pérez|Sánchez|Ramírez|Flores|"
            "García-López|Núñez|Ibáñez|de la Cruz|Castañeda|Ortiz",
        ),
        ("Caucasian",) * 4
        + ("Two or More Races",) * 2
        + ("American Indian", "Unknown", "Unknown", ""),
        True,
        35,
    ),
    _NameGroup(
        "vietnamese",
        8,
        _pools(
            "Linh|Mai|Thảo|Ngọc|Anh|Hương|Trang|Vy",
            "Minh|Huy|Khoa|Bảo|Đức|Quang|Tuấn|Phúc",
            "Nguyễn|Trần|Lê|Phạm|Hoàng|Võ|Đặng|Bùi|Huỳnh",
        ),
        _ASIAN,
        False,
        40,
    ),
    _NameGroup(
        "chinese",
        7,
        _pools(
            "Mei|Xiu Ying|Jing|Yan|Li Na|Ruoxi",
            "Wei|Jun|Hao|Zhi Hao|Yi Chen|Bowen",
            "Chen|Wang|Li|Zhang|Liu|Huang|Zhou|Wu",
        ),
        _ASIAN,
        False,
        35,
        _pools("美玲|婷", "志明|伟", "陳|王"),
    ),
    _NameGroup(
        "somali",
        5,
        _pools(
            "Hodan|Fadumo|Ayaan|Sahra|Hibaaq|Ifrah|Nasra",
            "Abdirahman|Mohamed|Abdi|Guled|Liban|Hassan|Bashir",
            "Warsame|Farah|Hussein|Jama|Yusuf|Osman|Mohamud|Abdullahi",
        ),
        ("Black or African American",) * 9 + ("Unknown",),
        False,
        45,
    ),
    _NameGroup(
        "arabic",
        6,
        _pools(
            "Layla|Noor|Fatima|Amira|Yasmin|Rania|Maryam",
            "Omar|Yousef|Karim|Ahmad|Khalil|Tariq|Sami",
            "Haddad|Khoury|Al-Masri|Nasser|Saleh|Aziz|El-Amin|Mansour",
        ),
        ("Caucasian",) * 7 + ("Unknown", "Unknown", ""),
        False,
        40,
        _pools("ليلى|نور", "عمر|كريم", "حداد|خوري"),
    ),
    _NameGroup(
        "ukrainian",
        5,
        # Ukrainian -enko/-uk family names do not change with gender, unlike Russian ones.
        _pools(
            "Anastasia|Sofiya|Darya|Yelena|Olena|Kateryna",
            "Dmytro|Ivan|Mykhailo|Artem|Oleksandr|Yaroslav",
            "Petrenko|Kovalenko|Shevchenko|Tkachenko|Lysenko|Melnyk|Kravchuk|Bondarenko",
        ),
        _WHITE,
        False,
        30,
        _pools("Мария|Ксения", "Дмитрий|Алексей", "Шевченко|Коваленко"),
    ),
    _NameGroup(
        "hindi",
        7,
        _pools(
            "Priya|Ananya|Aadhya|Diya|Saanvi|Ishita|Meera",
            "Arjun|Vihaan|Aarav|Rohan|Kabir|Siddharth|Dev",
            "Patel|Sharma|Reddy|Iyer|Nair|Gupta|Kumar|Desai|Chatterjee",
        ),
        _ASIAN,
        False,
        20,
        _pools("प्रिया|अनन्या", "अर्जुन|रोहन", "शर्मा|पटेल"),
    ),
    _NameGroup(
        "irish",
        5,
        _pools(
            "Siobhán|Aoife|Niamh|Saoirse|Caoimhe|Róisín",
            "Seán|Ciarán|Oisín|Cathal|Darragh|Eoin",
            "O'Connor|O'Brien|Ó Sé|McCarthy|Byrne|Kavanagh|Fitzgerald|Ní Bhriain",
        ),
        _WHITE,
        False,
        1,
    ),
    _NameGroup(
        "korean",
        3,
        _pools(
            "Ji-woo|Seo-yeon|Min-ji|Ha-eun",
            "Min-jun|Do-yun|Ha-joon|Seo-jun",
            "Kim|Park|Choi|Jung|Kang|Yoon",
        ),
        _ASIAN,
        False,
        25,
        _pools("서연", "민준", "김|박"),
    ),
    _NameGroup(
        "filipino",
        4,
        _pools(
            "Maricel|Jasmine|Angelica|Kristine|Rowena",
            "Paolo|Rafael|Jomar|Carlo|Miguel",
            "Santos|Reyes|Dela Cruz|Bautista|Villanueva|Mendoza|Magbanua",
        ),
        ("Asian",) * 6 + ("Hawaiian or Other Pacific Islander",) * 2 + ("Two or More Races",) * 2,
        False,
        15,
    ),
    _NameGroup(
        "french",
        4,
        _pools(
            "Chloé|Élodie|Amélie|Maëlle|Noémie|Zoë",
            "Théo|Étienne|Noël|Benoît|Loïc|Jérôme",
            "Lefèvre|Dubois|Girard|Moreau|Beaumont|Pierre-Louis|Jean-Baptiste",
        ),
        ("Caucasian",) * 6 + ("Black or African American",) * 3 + ("Two or More Races",),
        False,
        10,
    ),
)
# A flat table of group indexes, so one modulo picks a group with the right weight.
_GROUP_TABLE = tuple(g for g, group in enumerate(_NAME_GROUPS) for _ in range(group.weight))
_NATIVE_ONE_IN = 16  # how rarely a group with its own script has the whole name written in it


@dataclass(frozen=True)
class _Person:
    gender: str  # "F", "M" or "X"
    first: Name
    middle: str
    last: Name
    group: _NameGroup


def _person(h: int) -> _Person:
    """A whole invented name (and the gender it was drawn for) from one 64-bit hash."""
    group = _NAME_GROUPS[_GROUP_TABLE[(h >> 8) % len(_GROUP_TABLE)]]
    native = group.native is not None and (h >> 58) % _NATIVE_ONE_IN == 0
    pools = group.native if native and group.native is not None else group.latin
    roll = h % 200
    gender = "X" if roll < 2 else ("F" if roll % 2 == 0 else "M")
    firsts = pools.female if gender == "F" or (gender == "X" and (h >> 63)) else pools.male
    pick = (h >> 16) % len(firsts)
    first, last = firsts[pick], pools.last[(h >> 28) % len(pools.last)]
    kind = (h >> 40) % 20
    if native or kind < 7:
        middle = ""
    else:
        other = firsts[(pick + 1 + (h >> 45) % (len(firsts) - 1)) % len(firsts)][
            0
        ]  # never the first
        middle = other[0] if kind < 12 else other
    return _Person(gender, first, middle, last, group)


_STREETS = (
    "Alder Lane",
    "Birch Street",
    "Cedar Avenue",
    "Dogwood Court",
    "Elm Street",
    "Fir Drive",
    "Hawthorn Way",
    "Juniper Road",
    "Larkspur Lane",
    "Madrone Avenue",
    "Oak Knoll Drive",
    "Pinecrest Road",
    "Quail Hollow Lane",
    "Redwood Avenue",
    "Sycamore Street",
    "Tamarack Way",
    "Valley View Road",
    "Willow Street",
    "Yarrow Court",
    "Zinnia Place",
)
_CITIES = (
    ("Maple Valley", "95662"),
    ("Cedar Flats", "95664"),
    ("Riverbend", "95667"),
    ("Pine Hollow", "95669"),
    ("Willow Creek", "95672"),
)
_STUDENT_DOMAIN = "students.mvusd.example.org"
_STAFF_DOMAIN = "mvusd.example.org"

# ---------------------------------------------------------------------------------------------
# Layout: schools, grade cohorts, teachers and sections, all as index arithmetic
# ---------------------------------------------------------------------------------------------

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


_TERMS = (  # the school year and its two semesters, as /v3.0/terms sends dates
    ("2025-2026 School Year", "2025-08-18", "2026-06-05"),
    ("Semester 1", "2025-08-18", "2026-01-16"),
    ("Semester 2", "2026-01-20", "2026-06-05"),
)

# ---------------------------------------------------------------------------------------------
# The planted changes and problems (the manifest tests rely on)
# ---------------------------------------------------------------------------------------------


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


def _changes_count(students: int) -> int:
    """Additions, and separately withdrawals: about 1 % each, at least 5."""
    return max(5, round(students / 100))


@lru_cache(maxsize=8)
def _build_plan(students: int, seed: int) -> _Plan:
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
    n_changes = _changes_count(students)
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


# ---------------------------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoDistrict:
    """The demo district on one day. Same arguments → byte-identical responses.

    ``students`` is the day-1 head count; ``day`` is 1 to ``DEMO_DAYS``; ``seed`` changes names
    and demographics and which students the planted situations fall on, never the shape.
    """

    students: int = DEFAULT_STUDENTS
    day: int = 1
    seed: int = 2026

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

    def with_day(self, day: int) -> DemoDistrict:
        return replace(self, day=day)

    # -- derived tables (small, cached) ---------------------------------------------------------

    @cached_property
    def _lay(self) -> _Layout:
        return _build_layout(self.students)

    @cached_property
    def _plan(self) -> _Plan:
        return _build_plan(self.students, self.seed)

    @cached_property
    def _salts(self) -> dict[str, int]:
        names = ("student", "student_facts", "teacher", "teacher_facts", "school", "section")
        return {name: _salt(self.seed, name) for name in names}

    @cached_property
    def _overlay(self) -> _Overlay:
        plan, lay = self._plan, self._lay
        removed = {plan.sectionless}
        extra: dict[int, list[int]] = {plan.unshared_section: [_UNSHARED_INDEX]}
        touched: dict[int, int] = {}
        if self.day >= 2:
            removed |= plan.withdrawn | {plan.transfer}
            leavers = [(i, lay.cohort_of(i)) for i in plan.withdrawn_sorted]
            leavers.append((plan.transfer, plan.transfer_from))
            for i, c in leavers:
                for sec in self._regular_sections_of(i, c):
                    touched[sec] = 2
            newcomers = [(plan.transfer, plan.transfer_to)]
            newcomers += [(self.students + a, c) for a, c in enumerate(plan.added_cohorts)]
            for i, c in newcomers:
                for sec in self._scheduled_sections(i, c):
                    extra.setdefault(sec, []).append(i)
                    touched[sec] = 2
            for sec in self._led_sections(plan.renamed_teacher):
                touched[sec] = 2  # Clever rebuilds the name from the teacher's last name
            touched[plan.teacherless_section] = self.day  # lost its teacher; back on day 3
        return _Overlay(
            frozenset(removed), {s: tuple(sorted(v)) for s, v in extra.items()}, touched
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
        return _planted(self.students, self.seed)

    # -- lookup -----------------------------------------------------------------------------

    def record(self, record_id: str) -> dict[str, Any] | None:
        """The record with this id as /v3.0 serves it today, or None (a 404)."""
        if record_id == DEMO_DISTRICT_ID:
            return self.district_record()
        decoded = _decode(record_id)
        if decoded is None or not self._exists(*decoded):
            return None
        return json.loads(self._fragment(*decoded))

    def records(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every record of an entity (``schools``, ``students``, ``teachers``, ``sections``,
        ``terms``, ``courses``, ``users``) in id order, generated lazily."""
        for code, index in _iterate(self._segments(entity), None, None):
            yield json.loads(self._fragment(code, index))

    def _fragment(self, code: str, index: int) -> str:
        """One record as compact JSON text, exactly as it goes on the wire."""
        if code == _STUDENT:
            return self._student_json(index)
        if code == _SECTION:
            return self._section_json(index)
        if code == _TEACHER:
            return self._teacher_json(index)
        small = {_SCHOOL: self._school, _TERM: _term, _COURSE: _course}[code](index)
        return _dumps(small)

    def _exists(self, code: str, index: int) -> bool:
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

    def _segments(self, entity: str) -> list[_Segment]:
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
            "last_sync": _iso(_sync_ms(self.day)),
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

    def _regular_sections_of(self, i: int, cohort_index: int) -> list[int]:
        """The four sections the cohort arithmetic puts a day-1 student in."""
        position = i - self._lay.cohorts[cohort_index].start
        return [_section_of_position(self._lay, cohort_index, position, s) for s in range(4)]

    def _scheduled_sections(self, i: int, cohort_index: int) -> list[int]:
        """The four sections a newcomer (added or transferred student) is scheduled into."""
        c = self._lay.cohorts[cohort_index]
        school = self._lay.schools[c.school]
        h = _mix(self._salts["section"] ^ i)
        return [
            school.section_start + s * school.k_total + c.k_offset + (h >> (8 * s)) % c.k
            for s in range(4)
        ]

    def _led_sections(self, t: int) -> range:
        """Regular sections whose primary teacher is ``t`` (teachers own contiguous blocks)."""
        school = self._lay.school_of_teacher(t)
        local, n, m = t - school.teacher_start, school.n_teachers, 4 * school.k_total
        return range(
            school.section_start + (local * m + n - 1) // n,
            school.section_start + ((local + 1) * m + n - 1) // n,
        )

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
        period = str(len(self._led_sections(teacher)) + 1)  # the period after their classes
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


def _id_list(code: str, indexes: Sequence[int]) -> str:
    prefix = _PREFIX + code  # inlined _id: rosters hold most of the ids on a sections page
    return _json_strings([f"{prefix}{i:018x}" for i in indexes])


def _json_strings(values: Sequence[str]) -> str:
    """A JSON array of strings that need no escaping (ids)."""
    return '["' + '","'.join(values) + '"]' if values else "[]"


def _dumps(value: Any) -> str:
    """Compact JSON, UTF-8 left as is (as Clever sends it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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


def _cohort_in_school(lay: _Layout, school: _School, rest: int) -> int:
    """Which of the school's cohorts owns position ``rest`` of a subject block (≤ 6 cohorts)."""
    for local in range(school.n_cohorts):
        cohort = lay.cohorts[school.first_cohort + local]
        if rest < cohort.k_offset + cohort.k:
            return local
    raise ValueError(f"section position {rest} is outside school {school.index}")


_BIRTH_ORDINALS = tuple(dt.date(2019 - g, 9, 1).toordinal() for g in range(13))


def _ell(group: _NameGroup, h: int) -> str:
    roll = h % 100
    if roll < 4:
        return ""
    return "Y" if roll < 4 + group.ell_percent * 96 // 100 else "N"


def _hispanic(group: _NameGroup, h: int) -> str:
    roll = h % 100
    if roll < 3:
        return ""
    if group.hispanic:
        return "Y" if roll < 97 else "N"
    return "Y" if roll < 5 else "N"


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


def _renamed(person: _Person, seed: int) -> str:
    """The teacher's new last name: hyphenated with a new family name (a marriage)."""
    pool = _NAME_GROUPS[0].latin.last + _NAME_GROUPS[8].latin.last
    choices = [name for name, _ in pool if name != person.last[0]]
    return f"{person.last[0]}-{choices[_salt(seed, 'rename') % len(choices)]}"


@lru_cache(maxsize=8)
def _planted(students: int, seed: int) -> Planted:
    day1 = DemoDistrict(students, 1, seed)
    day2 = day1.with_day(2)
    plan = day1._plan

    def value(district: DemoDistrict, code: str, index: int, *path: str) -> str:
        record: Any = district.record(_id(code, index))
        for key in path:
            record = record[key]
        return record

    def student_change(index: int, field: str) -> Change:
        return Change(
            _id(_STUDENT, index),
            field,
            value(day1, _STUDENT, index, "roles", "student", field),
            value(day2, _STUDENT, index, "roles", "student", field),
        )

    def school_of(cohort: int) -> str:
        return _id(_SCHOOL, day1._lay.cohorts[cohort].school)

    return Planted(
        added_students=tuple(_id(_STUDENT, students + a) for a in range(len(plan.added_cohorts))),
        withdrawn_students=tuple(_id(_STUDENT, i) for i in plan.withdrawn_sorted),
        transfer=Transfer(
            _id(_STUDENT, plan.transfer), school_of(plan.transfer_from), school_of(plan.transfer_to)
        ),
        grade_correction=student_change(plan.grade_fix, "grade"),
        teacher_rename=Change(
            _id(_TEACHER, plan.renamed_teacher),
            "name.last",
            value(day1, _TEACHER, plan.renamed_teacher, "name", "last"),
            value(day2, _TEACHER, plan.renamed_teacher, "name", "last"),
        ),
        new_section=_id(_SECTION, plan.new_section),
        duplicate_sis_id=(_id(_STUDENT, plan.dup_original), _id(_STUDENT, plan.dup_copy)),
        duplicate_sis_value=value(day1, _STUDENT, plan.dup_original, "roles", "student", "sis_id"),
        bad_dob=student_change(plan.bad_dob, "dob"),
        no_grade=student_change(plan.no_grade, "grade"),
        teacherless_section=Change(
            _id(_SECTION, plan.teacherless_section),
            "teacher",
            value(day1, _SECTION, plan.teacherless_section, "teacher"),
            "",
        ),
        empty_section=_id(_SECTION, plan.empty_section),
        sectionless_students=(_id(_STUDENT, plan.sectionless),),
        unshared_student=_id(_STUDENT, _UNSHARED_INDEX),
        unshared_in_section=_id(_SECTION, plan.unshared_section),
    )


# ---------------------------------------------------------------------------------------------
# Paging over id ranges
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """Indexes [0, stop) of one entity code, minus ``gaps``, filtered by ``keep``."""

    code: str
    stop: int
    gaps: frozenset[int] = frozenset()
    keep: Callable[[int], bool] | None = None

    def wanted(self, i: int) -> bool:
        return i not in self.gaps and (self.keep is None or self.keep(i))

    def bounds(self, after: str | None, before: str | None) -> tuple[int, int]:
        """Index range strictly after ``after`` and strictly before ``before`` (ids)."""
        prefix = _PREFIX + self.code
        lo, hi = 0, self.stop
        if after is not None:
            if after.startswith(prefix):
                lo = int(after[6:], 16) + 1
            elif after > prefix:
                lo = self.stop  # the cursor lies beyond this whole segment
        if before is not None:
            if before.startswith(prefix):
                hi = min(hi, int(before[6:], 16))
            elif before < prefix:
                hi = 0
        return lo, hi


def _iterate(
    segments: Sequence[_Segment], after: str | None, before: str | None
) -> Iterator[tuple[str, int]]:
    for seg in segments:
        lo, hi = seg.bounds(after, before)
        for i in range(lo, hi):
            if seg.wanted(i):
                yield seg.code, i


def _iterate_back(
    segments: Sequence[_Segment], after: str | None, before: str | None
) -> Iterator[tuple[str, int]]:
    for seg in reversed(segments):
        lo, hi = seg.bounds(after, before)
        for i in range(hi - 1, lo - 1, -1):
            if seg.wanted(i):
                yield seg.code, i


def _take(items: Iterator[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    out = []
    for item in items:
        out.append(item)
        if len(out) == n:
            break
    return out


# ---------------------------------------------------------------------------------------------
# The request handler (both transports run this)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RateLimiter:
    """Clever's limit: ``limit`` requests per token per fixed one-minute window.

    ``limit=None`` never refuses; the headers then report the nominal 1200 with nothing used,
    so a client that paces itself on ``X-RateLimit-Remaining`` never waits.
    """

    def __init__(
        self, limit: int | None = RATE_LIMIT, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        self._window: int | None = None
        self._used: dict[str, int] = {}

    def hit(self, key: str) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, the four X-RateLimit-* headers)."""
        window = int(self.clock() // 60)
        if self.limit is None:
            return True, _rate_headers(RATE_LIMIT, RATE_LIMIT, window)
        with self._lock:
            if window != self._window:
                self._window, self._used = window, {}
            used = self._used.get(key, 0) + 1
            self._used[key] = used
        return used <= self.limit, _rate_headers(self.limit, max(0, self.limit - used), window)


def _rate_headers(limit: int, remaining: int, window: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str((window + 1) * 60),  # unix seconds: end of this window
        "X-RateLimit-Bucket": "bearer",
    }


_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
_LIST_PATH = re.compile(r"/v3\.0/(districts|schools|users|sections|terms|courses)/?")
_ONE_PATH = re.compile(r"/v3\.0/(districts|schools|users|sections|terms|courses)/([^/]+)/?")
_CODES_FOR = {
    "schools": {_SCHOOL},
    "users": {_TEACHER, _STUDENT},
    "sections": {_SECTION},
    "terms": {_TERM},
    "courses": {_COURSE},
}
_ROLES = ("student", "teacher", "staff", "district_admin", "contact")
_SINGLE_LINKS = {
    "districts": (),
    "schools": ("district", "sections", "users", "terms", "courses"),
    "sections": ("district", "school", "term", "course", "users"),
    "terms": ("district", "sections", "schools"),
    "courses": ("district", "sections", "schools"),
    "students": ("district", "sections", "myContacts", "myTeachers", "schools"),
    "teachers": ("district", "sections", "myStudents", "schools"),
}
_SCOPES = [
    "read:district_admins_basic",
    "read:districts",
    "read:ell_status",
    "read:school_admins_basic",
    "read:schools",
    "read:sections",
    "read:students",
    "read:teachers",
    "read:user_id",
]


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> DemoResponse:
    return DemoResponse(status, {**_JSON_HEADERS, **(headers or {})}, _dumps(body).encode())


def _html_404(method: str, path: str, headers: Mapping[str, str]) -> DemoResponse:
    """Clever's Express-style page for a path it does not route (recorded /v3.0/resources)."""
    body = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
        f"</head>\n<body>\n<pre>Cannot {html.escape(method)} {html.escape(path)}</pre>\n</body>\n</html>\n"
    )
    return DemoResponse(404, {"Content-Type": "text/html; charset=utf-8", **headers}, body.encode())


def handle(
    district: DemoDistrict,
    method: str,
    path: str,
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
    *,
    limiter: RateLimiter | None = None,
) -> DemoResponse:
    """Answer one request exactly as Clever would: the Data API under /v3.0 and /oauth/*."""
    lower = {k.lower(): v for k, v in headers.items()}
    method = method.upper()
    if path.startswith("/oauth/"):
        return _oauth(district, method, path, query, lower)
    token = _bearer(lower.get("authorization", ""))
    allowed, rate = (limiter or RateLimiter(None)).hit(token or "")
    if not allowed:
        return DemoResponse(429, dict(rate), b"")  # Clever sends 429 with an empty body
    if not path.startswith("/v3.0/") or method != "GET":
        return _html_404(method, path, rate)
    if token != DEMO_DISTRICT_TOKEN:
        return _json(401, {"error": "Unauthorized"}, rate)
    try:
        body = _route(district, path, query)
    except _HttpError as err:
        return err.response(rate)
    if body is None:
        return _html_404(method, path, rate)
    return DemoResponse(200, {**_JSON_HEADERS, **rate}, body.encode())


class _HttpError(Exception):
    def __init__(self, status: int, message: str | None) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self, rate: Mapping[str, str]) -> DemoResponse:
        if self.message is None:
            return DemoResponse(
                self.status, {"Content-Type": "text/plain; charset=utf-8", **rate}, b""
            )
        return _json(self.status, {"message": self.message}, rate)


def _bearer(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _one(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _route(district: DemoDistrict, path: str, query: Mapping[str, Sequence[str]]) -> str | None:
    """The JSON text of a routed /v3.0 GET, None for an unrouted path (HTML 404)."""
    listing = _LIST_PATH.fullmatch(path)
    if listing:
        entity = listing.group(1)
        if entity == "districts":
            return _districts_list(district, path, query)
        return _list(district, entity, path, query)
    single = _ONE_PATH.fullmatch(path)
    if single:
        return _single(district, single.group(1), single.group(2).lower())
    return None


def _self_uri(path: str, query: Mapping[str, Sequence[str]], **cursor: str) -> str:
    """A relative link keeping every other query parameter, cursor last (as Clever writes them)."""
    pairs = [
        (k, v)
        for k, values in query.items()
        if k not in ("starting_after", "ending_before") or not cursor
        for v in values
    ]
    pairs += list(cursor.items())
    return f"{path}?{urlencode(pairs)}" if pairs else path


def _districts_list(district: DemoDistrict, path: str, query: Mapping[str, Sequence[str]]) -> str:
    """/v3.0/districts: "in practice … only the one district associated with the bearer token"."""
    return _dumps(
        {
            "data": [
                {"data": district.district_record(), "uri": f"/v3.0/districts/{DEMO_DISTRICT_ID}"}
            ],
            "links": [{"rel": "self", "uri": _self_uri(path, query)}],
        }
    )


def _list(
    district: DemoDistrict, entity: str, path: str, query: Mapping[str, Sequence[str]]
) -> str:
    limit = _limit(query)
    after, before = _cursor(query, "starting_after"), _cursor(query, "ending_before")
    key = entity
    if entity == "users":
        role = _one(query, "role")
        if role not in (None, "", *_ROLES):
            raise _HttpError(400, f"role must be one of {', '.join(_ROLES)}")
        key = {"student": "students", "teacher": "teachers", "staff": "staff"}.get(
            role or "", "users"
        )
        if role in ("district_admin", "contact"):
            key = "none"  # the demo has no district admins or contacts
    segments = district._segments(key)
    if before is not None and after is None:
        page = _take(_iterate_back(segments, None, before), limit)[::-1]
    else:
        page = _take(_iterate(segments, after, before), limit)
    items = ",".join(
        f'{{"data":{district._fragment(code, index)},"uri":"/v3.0/{entity}/{_id(code, index)}"}}'
        for code, index in page
    )
    return f'{{"data":[{items}],"links":{_dumps(_links(path, query, page, limit, after, before))}}}'


def _links(
    path: str,
    query: Mapping[str, Sequence[str]],
    page: list[tuple[str, int]],
    limit: int,
    after: str | None,
    before: str | None,
) -> list[dict[str, str]]:
    """self, prev, next, the way Clever sets them (dev.clever.com/docs/paging-and-limits):
    a full page always has ``next`` (even when nothing follows), a ``starting_after`` page
    has ``prev``, an ``ending_before`` page has ``next``."""
    links = [{"rel": "self", "uri": _self_uri(path, query)}]
    if not page:
        return links
    first, last = _id(*page[0]), _id(*page[-1])
    backwards = before is not None and after is None
    if (after is not None) or (backwards and len(page) == limit):
        links.append({"rel": "prev", "uri": _self_uri(path, query, ending_before=first)})
    if len(page) == limit or backwards:
        links.append({"rel": "next", "uri": _self_uri(path, query, starting_after=last)})
    return links


def _limit(query: Mapping[str, Sequence[str]]) -> int:
    raw = _one(query, "limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise _HttpError(400, "limit must be an integer") from None
    if limit < 1:
        raise _HttpError(400, "limit must be positive")
    if limit > MAX_LIMIT:
        raise _HttpError(413, None)  # "Request entity too large", empty body
    return limit


def _cursor(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    raw = _one(query, name)
    if raw in (None, ""):
        return None
    value = raw.lower()
    if not _HEX24.fullmatch(value):
        raise _HttpError(400, f"{name} must be a 24-character hexadecimal id")
    return value


def _single(district: DemoDistrict, entity: str, record_id: str) -> str:
    """Single-record envelope: the record directly under ``data``, no ``uri``, relation links."""
    fragment, kind = None, entity
    if entity == "districts":
        fragment = _dumps(district.district_record()) if record_id == DEMO_DISTRICT_ID else None
    else:
        decoded = _decode(record_id)
        if decoded is not None and decoded[0] in _CODES_FOR[entity] and district._exists(*decoded):
            fragment, kind = district._fragment(*decoded), _ENTITY_OF_CODE[decoded[0]]
    if fragment is None:
        raise _HttpError(404, "Resource not found")
    base = f"/v3.0/{entity}/{record_id}"
    links = [{"rel": "self", "uri": base}]
    links += [{"rel": rel, "uri": f"{base}/{rel}"} for rel in _SINGLE_LINKS[kind]]
    return f'{{"data":{fragment},"links":{_dumps(links)}}}'


# -- clever.com/oauth ---------------------------------------------------------------------------


def _oauth(
    district: DemoDistrict,
    method: str,
    path: str,
    query: Mapping[str, Sequence[str]],
    headers: Mapping[str, str],
) -> DemoResponse:
    """``GET /oauth/tokens`` (HTTP Basic with the app's credentials) and ``/oauth/tokeninfo``.

    The recorded clever.com responses carry no X-RateLimit-* headers, so neither do these.
    """
    if method != "GET" or path.rstrip("/") not in ("/oauth/tokens", "/oauth/tokeninfo"):
        return _html_404(method, path, {})
    if path.rstrip("/") == "/oauth/tokeninfo":
        if _bearer(headers.get("authorization", "")) != DEMO_DISTRICT_TOKEN:
            return _json(
                401, {"error": "invalid_token", "error_description": "The access token is invalid."}
            )
        return _json(200, {"client_id": DEMO_CLIENT_ID, "scopes": _SCOPES})
    if not _basic_ok(headers.get("authorization", "")):
        return _json(
            401,
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed: check the client id and secret.",
            },
        )
    if _one(query, "owner_type") != "district":
        return _json(
            400, {"error": "invalid_request", "error_description": "owner_type must be district."}
        )
    wanted = _one(query, "district")
    self_uri = "/oauth/tokens?owner_type=district" + (
        f"&{urlencode({'district': wanted})}" if wanted else ""
    )
    data = []
    if wanted in (None, "", DEMO_DISTRICT_ID):
        data.append(
            {
                "id": _id(_TOKEN, 1),
                "created": "2025-07-21T17:04:09.512Z",
                "owner": {"type": "district", "id": DEMO_DISTRICT_ID},
                "access_token": DEMO_DISTRICT_TOKEN,
                "scopes": _SCOPES,
            }
        )
    return _json(200, {"data": data, "links": [{"rel": "self", "uri": self_uri}]})


def _basic_ok(authorization: str) -> bool:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}"
    return hmac.compare_digest(decoded.encode(), expected.encode())


# ---------------------------------------------------------------------------------------------
# Faults: a bad day on the network and at Clever, on request (``demo serve --fault MODE``)
# ---------------------------------------------------------------------------------------------

# mode -> (what its number means, default number or None when one must be given)
FAULT_MODES: dict[str, tuple[str, float | None]] = {
    "429-burst": ("the first N data requests of each minute answer 429", 5),
    "5xx": ("every k-th data request answers 500, 502, 503 in turn", 4),
    "slow": ("every 5th data request is answered after SECONDS", 130),
    "truncated-json": ("each page URL's first answer is half its JSON body", None),
    "disconnect": ("each page URL's first answer drops the connection halfway", None),
    "html": ("every k-th data request answers an HTML page with status 200", 3),
    "revoke-after": ("the token is revoked after N data requests: 401 from then on", None),
}
_NUMBERLESS = ("truncated-json", "disconnect")
SLOW_EVERY = 5  # `slow` delays every 5th data request: its retry (the next one) is fast
BURST_RESET_SECONDS = 2  # `429-burst` sets X-RateLimit-Reset this far ahead

_BAD_GATEWAY = (  # what a load balancer in front of an API sends, not Clever's own JSON
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_PORTAL_PAGE = (  # a proxy's or captive portal's page, served with 200 where JSON belongs
    b'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    b"<title>Network access</title>\n</head>\n<body>\n<h1>Sign in to continue</h1>\n"
    b"<p>This network requires you to accept its terms before you can browse.</p>\n"
    b"</body>\n</html>\n"
)


@dataclass(frozen=True)
class Fault:
    """One fault mode and its number (see ``FAULT_MODES``)."""

    mode: str
    number: float | None = None

    def __str__(self) -> str:
        if self.number is None:
            return self.mode
        return f"{self.mode}={self.number:g}"


def parse_fault(spec: str | Fault) -> Fault:
    """``"429-burst"``, ``"5xx=3"``, ``"slow=0.5"``, ``"revoke-after=40"`` → a Fault."""
    if isinstance(spec, Fault):
        spec = str(spec)
    mode, sep, raw = spec.strip().partition("=")
    mode = mode.strip().lower()
    if mode not in FAULT_MODES:
        raise InputError(
            f"Unknown fault mode {mode!r}: use one of {', '.join(FAULT_MODES)} "
            "(with =NUMBER where it takes one)."
        )
    meaning, default = FAULT_MODES[mode]
    if mode in _NUMBERLESS:
        if sep:
            raise InputError(f"The fault mode {mode} takes no number ({meaning}).")
        return Fault(mode)
    if not sep:
        if default is None:
            raise InputError(f"The fault mode {mode} needs a number: {mode}=N ({meaning}).")
        return Fault(mode, float(default))
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    whole = mode != "slow"
    if not math.isfinite(number) or number < (1 if whole else 0) or (whole and number % 1):
        kind = "a whole number of at least 1" if whole else "a number of seconds"
        raise InputError(f"The fault mode {mode} needs {kind} after '=' (not {raw!r}): {meaning}.")
    return Fault(mode, number)


@dataclass(frozen=True)
class Faulted:
    """An answer with a fault applied: sent after ``delay`` seconds; with ``drop_after`` set,
    only that many body bytes are sent (under the full Content-Length) and the connection closes."""

    response: DemoResponse
    delay: float = 0.0
    drop_after: int | None = None


class Faults:
    """The faults a transport runs with, their state, and what they did (``fired``, per mode).

    Only data requests (``/v3.0/...``) count and fail; the OAuth endpoints always answer.
    With several modes the first that applies wins, in this order: revoke-after, 429-burst,
    5xx, html; then slow, truncated-json and disconnect shape the answer.
    """

    def __init__(
        self, specs: Iterable[str | Fault] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self.faults = {fault.mode: fault for fault in map(parse_fault, specs)}
        self.clock = clock
        self.fired: collections.Counter[str] = collections.Counter()
        self.data_requests = 0
        self._lock = threading.Lock()
        self._window: int | None = None
        self._in_window = 0
        self._cut: dict[str, set[str]] = {"truncated-json": set(), "disconnect": set()}

    def __bool__(self) -> bool:
        return bool(self.faults)

    def __str__(self) -> str:
        return ", ".join(str(f) for f in self.faults.values())

    def _number(self, mode: str) -> float | None:
        fault = self.faults.get(mode)
        return None if fault is None else fault.number

    def answer(
        self,
        district: DemoDistrict,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        headers: Mapping[str, str],
        *,
        limiter: RateLimiter | None = None,
    ) -> Faulted:
        """``handle()``'s answer, with this request's faults applied."""
        if not path.startswith("/v3.0/"):
            return Faulted(handle(district, method, path, query, headers, limiter=limiter))
        url = _self_uri(path, {k: query[k] for k in sorted(query)})
        with self._lock:
            self.data_requests += 1
            n = self.data_requests
            mode = self._failure(n)
            cut = self._first_cut(url) if mode is None else None
            if mode is not None:
                self.fired[mode] += 1
            occurrence = self.fired[mode] if mode is not None else 0
        if mode == "revoke-after":
            # The bearer the district revoked: handle() answers its own 401, rate headers and all.
            revoked = {**headers, "Authorization": "Bearer revoked-by-the-district"}
            return Faulted(handle(district, method, path, query, revoked, limiter=limiter))
        if mode == "429-burst":
            return Faulted(self._too_many(limiter))
        if mode == "5xx":
            return Faulted(_server_error((500, 502, 503)[(occurrence - 1) % 3]))
        if mode == "html":
            return Faulted(
                DemoResponse(200, {"Content-Type": "text/html; charset=utf-8"}, _PORTAL_PAGE)
            )
        response = handle(district, method, path, query, headers, limiter=limiter)
        delay = 0.0
        slow = self._number("slow")
        if slow and n % SLOW_EVERY == 0:  # slow=0: never
            delay = slow
            self._count("slow")
        if cut is not None and response.status == 200 and response.body:
            self._count(cut)
            half = len(response.body) // 2
            if cut == "truncated-json":  # a complete HTTP answer whose JSON stops halfway
                return Faulted(replace(response, body=response.body[:half]), delay)
            return Faulted(response, delay, drop_after=half)
        return Faulted(response, delay)

    def _failure(self, n: int) -> str | None:
        """The mode that fails data request ``n`` outright, if any (called under the lock)."""
        revoke = self._number("revoke-after")
        if revoke is not None and n > revoke:
            return "revoke-after"
        burst = self._number("429-burst")
        if burst is not None:
            window = int(self.clock() // 60)
            if window != self._window:
                self._window, self._in_window = window, 0
            self._in_window += 1
            if self._in_window <= burst:
                return "429-burst"
        for mode in ("5xx", "html"):
            every = self._number(mode)
            if every is not None and n % every == 0:
                return mode
        return None

    def _first_cut(self, url: str) -> str | None:
        """truncated-json or disconnect, the first time this page URL is asked for."""
        for mode, seen in self._cut.items():
            if mode in self.faults and url not in seen:
                seen.add(url)
                return mode
        return None

    def _count(self, mode: str) -> None:
        with self._lock:
            self.fired[mode] += 1

    def _too_many(self, limiter: RateLimiter | None) -> DemoResponse:
        limit = limiter.limit if limiter is not None and limiter.limit is not None else RATE_LIMIT
        reset = math.ceil(self.clock()) + BURST_RESET_SECONDS
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Bucket": "bearer",
        }
        return DemoResponse(429, headers, b"")  # Clever's 429: empty body, no Retry-After


def _server_error(status: int) -> DemoResponse:
    if status == 502:
        return DemoResponse(502, {"Content-Type": "text/html"}, _BAD_GATEWAY)
    if status == 503:
        return DemoResponse(
            503, {"Content-Type": "text/plain; charset=utf-8"}, b"Service Unavailable"
        )
    return _json(500, {"message": "Internal Server Error"})


def _read_timeout(timeout: Any) -> float | None:
    """The read part of a requests timeout (a number, or a (connect, read) pair)."""
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else None
    return None if timeout is None else float(timeout)


# ---------------------------------------------------------------------------------------------
# Transport 1: a requests adapter (nothing leaves the process)
# ---------------------------------------------------------------------------------------------


class DemoAdapter(BaseAdapter):
    """A ``requests`` transport answering from the demo district through ``handle``."""

    def __init__(
        self,
        district: DemoDistrict,
        *,
        clock: Callable[[], float] = time.time,
        rate_limit: int | None = RATE_LIMIT,
        faults: Iterable[str | Fault] = (),
    ) -> None:
        super().__init__()
        self.district = district
        self.limiter = RateLimiter(rate_limit, clock)
        self.faults = Faults(faults, clock)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        query = parse_qs(parts.query, keep_blank_values=True)
        if self.faults:
            result = self._faulted(request, parts.path or "/", query, timeout)
        else:
            result = handle(
                self.district,
                request.method or "GET",
                parts.path or "/",
                query,
                request.headers,
                limiter=self.limiter,
            )
        response = requests.Response()
        response.status_code = result.status
        response.headers = CaseInsensitiveDict(
            {**result.headers, "Content-Length": str(len(result.body))}
        )
        response._content = result.body
        response._content_consumed = True
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.reason = HTTPStatus(result.status).phrase
        response.url = request.url or ""
        response.request = request
        response.connection = self
        return response

    def _faulted(
        self,
        request: requests.PreparedRequest,
        path: str,
        query: Mapping[str, Sequence[str]],
        timeout: Any,
    ) -> DemoResponse:
        """The answer with its faults, as requests would surface them: an answer slower than the
        read timeout is a ReadTimeout, a dropped connection a ChunkedEncodingError."""
        faulted = self.faults.answer(
            self.district,
            request.method or "GET",
            path,
            query,
            request.headers,
            limiter=self.limiter,
        )
        if faulted.delay:
            read = _read_timeout(timeout)
            if read is not None and faulted.delay > read:
                time.sleep(read)
                raise requests.ReadTimeout(
                    f"Read timed out. (read timeout={read:g})", request=request
                )
            time.sleep(faulted.delay)
        if faulted.drop_after is not None:
            missing = len(faulted.response.body) - faulted.drop_after
            raise requests.exceptions.ChunkedEncodingError(
                f"('Connection broken: IncompleteRead({faulted.drop_after} bytes read, "
                f"{missing} more expected)', IncompleteRead({faulted.drop_after} bytes read, "
                f"{missing} more expected))",
                request=request,
            )
        return faulted.response

    def close(self) -> None:
        """Nothing to release: there is no connection."""


def mount_demo(
    session: requests.Session,
    district: DemoDistrict,
    api_base: str = "https://api.clever.com",
    oauth_base: str = "https://clever.com",
    **kw: Any,
) -> DemoAdapter:
    """Route the session's Clever traffic (API and OAuth hosts) to one in-process demo adapter."""
    adapter = DemoAdapter(district, **kw)
    for base in (api_base, oauth_base):
        session.mount(base.rstrip("/") + "/", adapter)  # the slash keeps clever.com.evil out
    return adapter


# ---------------------------------------------------------------------------------------------
# Transport 2: a loopback HTTP server
# ---------------------------------------------------------------------------------------------


class _DemoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        district: DemoDistrict,
        limiter: RateLimiter,
        faults: Faults | None = None,
    ) -> None:
        self.district = district
        self.limiter = limiter
        self.faults = faults if faults is not None else Faults()
        super().__init__(address, _DemoRequestHandler)


class _DemoRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses its connection
    server: _DemoServer

    def _answer(self, send_body: bool = True) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # drain it, or the next keep-alive request is corrupted
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        method = "GET" if self.command == "HEAD" else self.command
        if self.server.faults:
            self._answer_with_faults(method, parts.path or "/", query, send_body)
            return
        result = handle(
            self.server.district,
            method,
            parts.path or "/",
            query,
            dict(self.headers.items()),
            limiter=self.server.limiter,
        )
        self.send_response(result.status)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(result.body)

    def _answer_with_faults(
        self, method: str, path: str, query: Mapping[str, Sequence[str]], send_body: bool
    ) -> None:
        faulted = self.server.faults.answer(
            self.server.district,
            method,
            path,
            query,
            dict(self.headers.items()),
            limiter=self.server.limiter,
        )
        result = faulted.response
        if faulted.delay:
            time.sleep(faulted.delay)
        body = result.body if faulted.drop_after is None else result.body[: faulted.drop_after]
        try:
            self.send_response(result.status)
            for name, value in result.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(result.body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:  # the client gave up on a slow answer and closed the connection
            self.close_connection = True
        if faulted.drop_after is not None:
            self.close_connection = True  # the rest of the body never comes

    def do_GET(self) -> None:
        self._answer()

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a demo server should not flood the terminal with one line per page."""


def make_server(
    district: DemoDistrict,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], float] = time.time,
    rate_limit: int | None = RATE_LIMIT,
    faults: Iterable[str | Fault] = (),
) -> http.server.ThreadingHTTPServer:
    """A loopback server answering like api.clever.com and clever.com (port 0: a free port).

    ``faults`` (see ``FAULT_MODES``) make it fail the way networks and Clever do; the server's
    ``faults.fired`` counts what they did.
    """
    return _DemoServer(
        (host, port), district, RateLimiter(rate_limit, clock), Faults(faults, clock)
    )


def serve(district: DemoDistrict, host: str = "127.0.0.1", port: int = 0, **kw: Any) -> None:
    """Serve the demo district until Ctrl-C or SIGTERM, then close the socket and return."""
    server = make_server(district, host, port, **kw)
    bound_host, bound_port = server.server_address[:2]
    faults = getattr(server, "faults", None)
    print(
        f"Demo Clever district {DEMO_DISTRICT_ID} (day {district.day}, "
        f"{district.counts()['students']:,} students) on http://{bound_host}:{bound_port} "
        f"— token: {DEMO_DISTRICT_TOKEN}" + (f" — faults: {faults}" if faults else ""),
        flush=True,
    )
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops it like Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
