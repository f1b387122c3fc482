"""The demo district's manifest: the changes and problems its plan planted, as its records show
them (``DemoDistrict.planted``), so that tests and demos can name them without searching."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mgi_roster.demo.days import _UNSHARED_INDEX, Change, Planted, Transfer
from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.ids import _SCHOOL, _SECTION, _STUDENT, _TEACHER, _id


@lru_cache(maxsize=8)
def planted(students: int, seed: int, changed: float) -> Planted:
    """What the day-2 plan planted, each change and problem as the records of days 1 and 2 show
    it (computed once per district)."""
    day1 = DemoDistrict(students, 1, seed, changed)
    day2 = day1.with_day(2)
    plan = day1._plan

    def value(district: DemoDistrict, code: str, index: int, *path: str) -> str:
        record: Any = district.record(_id(code, index))
        for key in path:
            record = record[key]
        return str(record)

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
