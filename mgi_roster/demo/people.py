"""People: invented names in twelve languages with their ASCII forms, persons, demographics.

Names are invented combinations of common first and last names, drawn by weight from name
groups (``_NAME_GROUPS``); a group with its own script sometimes has the whole name written in
it. Every name has an ASCII form for logins and emails (``_ascii``, with the romanisation an
SIS would use for non-Latin scripts). Demographics (race, Hispanic ethnicity, English learner
status) follow the name group; birthdays follow the grade; addresses the school's town.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from mgi_roster.demo.ids import _salt

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


def _renamed(person: _Person, seed: int) -> str:
    """The teacher's new last name: hyphenated with a new family name (a marriage)."""
    pool = _NAME_GROUPS[0].latin.last + _NAME_GROUPS[8].latin.last
    choices = [name for name, _ in pool if name != person.last[0]]
    return f"{person.last[0]}-{choices[_salt(seed, 'rename') % len(choices)]}"


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
