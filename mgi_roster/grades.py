"""Grades and the MGI's grade forms: one table, one function.

The Naglieri tests in the MGI have a test form for each grade from Kindergarten to Grade 9
(help.mhs.com/?p=2594, "Grade Range"; shared/reference/mgi.md). A test plan is made for one
grade form, so a student whose grade has no form (pre-K, 10-12, Ungraded, Other) cannot be
placed in one. Sources spell grades in two vocabularies: Clever's (clever-api.md §5:
"Kindergarten", "1".."13", "PreKindergarten", ...) and OneRoster's CEDS codes ("KG", "01".."13",
"PK", ...). Both map here onto the form, or onto None when the grade has no form.
"""

from __future__ import annotations

FORMS: tuple[str, ...] = ("K", *(str(n) for n in range(1, 10)))

# OneRoster's CEDS grade codes (oneroster.md §6) -> the same grade as Clever spells it. OneRoster
# records are staged in Clever's vocabulary (sources/oneroster/mapping.py), and the roster export
# writes them back as CEDS codes, so this one table serves both directions.
CEDS: dict[str, str] = {
    "IT": "InfantToddler",
    "PR": "Preschool",
    "PK": "PreKindergarten",
    "TK": "TransitionalKindergarten",
    "KG": "Kindergarten",
    **{f"{n:02d}": str(n) for n in range(1, 14)},
    "PS": "PostGraduate",
    "UG": "Ungraded",
    "Other": "Other",
}

_CLEVER: dict[str, str | None] = {
    "Kindergarten": "K",
    **{str(n): str(n) for n in range(1, 10)},
    **{str(n): None for n in range(10, 14)},
    "InfantToddler": None,
    "Preschool": None,
    "PreKindergarten": None,
    "TransitionalKindergarten": None,
    "PostGraduate": None,
    "Ungraded": None,
    "Other": None,
}

# Every grade spelling a source sends -> its MGI grade form (None: a grade with no form).
GRADE_FORMS: dict[str, str | None] = {
    **_CLEVER,  # Clever
    **{code: _CLEVER[grade] for code, grade in CEDS.items()},  # OneRoster (CEDS grade levels)
    # the forms themselves, as a district writes them in its parameters
    "K": "K",
}


# Grades past the last form: a district never screens them, so they are "not screened", not a
# problem. Pre-K, Ungraded and Other have no form either, but a screened school may expect them
# tested: readiness lists them as "grade without a form".
ABOVE_FORMS: tuple[str, ...] = ("10", "11", "12", "13", "PostGraduate")


class UnknownGrade(ValueError):
    """A grade string neither Clever nor OneRoster uses."""


def form(grade: str | None) -> str | None:
    """The MGI grade form of a grade as a source spells it; None when it has no form (or is
    missing). An unknown spelling raises UnknownGrade, naming the known ones."""
    if grade is None or not grade.strip():
        return None
    text = grade.strip()
    if text in GRADE_FORMS:
        return GRADE_FORMS[text]
    raise UnknownGrade(
        f"Unknown grade {text!r}: grades are Clever's (Kindergarten, 1-13, PreKindergarten, "
        "TransitionalKindergarten, InfantToddler, Preschool, PostGraduate, Ungraded, Other) or "
        "OneRoster's CEDS codes (KG, 01-13, PK, TK, IT, PR, PS, UG, Other)."
    )


def form_sql(expr: str) -> str:
    """SQL for the form of a grade column (NULL: no form, missing or unknown), from the table."""
    pairs = ", ".join(f"'{g}': '{f}'" for g, f in GRADE_FORMS.items() if f is not None)
    return f"(MAP {{{pairs}}})[trim({expr})]"


def known_sql(expr: str) -> str:
    """SQL true when a grade column holds a spelling of the table (with or without a form)."""
    grades = ", ".join(f"'{g}'" for g in GRADE_FORMS)
    return f"(trim({expr}) IN ({grades}))"
