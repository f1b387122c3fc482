"""The OneRoster CSV binding's rostering files and their exact headers, per version, declared once
(oneroster.md §5). Readers, validators, the demo's writer and the roster export read this.

Column order is the spec's: a reader compares a package's header with these tuples exactly (order
and case), extension columns allowed only to the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Version = Literal["1.1", "1.2"]
VERSIONS: tuple[Version, ...] = ("1.1", "1.2")
Mode = Literal["bulk", "delta", "absent"]

COMMON = ("sourcedId", "status", "dateLastModified")

_HEADERS: dict[str, dict[Version, tuple[str, ...]]] = {
    "academicSessions": {
        v: (*COMMON, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear")
        for v in VERSIONS
    },
    "orgs": {v: (*COMMON, "name", "type", "identifier", "parentSourcedId") for v in VERSIONS},
    "courses": {
        v: (
            *COMMON,
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        )
        for v in VERSIONS
    },
    "classes": {
        v: (
            *COMMON,
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        )
        for v in VERSIONS
    },
    "users": {
        "1.1": (
            *COMMON,
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
        ),
        "1.2": (
            *COMMON,
            "enabledUser",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
            "userMasterIdentifier",
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ),
    },
    "roles": {
        "1.2": (
            *COMMON,
            "userSourcedId",
            "roleType",
            "role",
            "beginDate",
            "endDate",
            "orgSourcedId",
            "userProfileSourcedId",
        )
    },
    "enrollments": {
        v: (
            *COMMON,
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        )
        for v in VERSIONS
    },
    "demographics": {
        v: (
            *COMMON,
            "birthDate",
            "sex",
            "americanIndianOrAlaskaNative",
            "asian",
            "blackOrAfricanAmerican",
            "nativeHawaiianOrOtherPacificIslander",
            "white",
            "demographicRaceTwoOrMoreRaces",
            "hispanicOrLatinoEthnicity",
            "countryOfBirthCode",
            "stateOfBirthAbbreviation",
            "cityOfBirth",
            "publicSchoolResidenceStatus",
        )
        for v in VERSIONS
    },
}

# Every data file a manifest may declare, per version (oneroster.md §3): the rostering files
# above plus gradebook and resources files, which this product does not read.
_OTHER_11 = (
    "categories",
    "classResources",
    "courseResources",
    "lineItems",
    "resources",
    "results",
)
_OTHER_12 = (
    *_OTHER_11,
    "lineItemLearningObjectiveIds",
    "lineItemScoreScales",
    "resultLearningObjectiveIds",
    "resultScoreScales",
    "scoreScales",
    "userProfiles",
    "userResources",
)


@dataclass(frozen=True)
class File:
    name: str  # "users": the file is users.csv, the raw table or_users

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def table(self) -> str:
        return f"or_{self.name}"

    def header(self, version: Version) -> tuple[str, ...] | None:
        """The exact header of this file in `version`; None when the version has no such file."""
        return _HEADERS[self.name].get(version)

    @property
    def raw_columns(self) -> tuple[str, ...]:
        """The raw table's columns: every column of every version, in first-seen order (a 1.1
        users file fills orgSourcedIds and role; a 1.2 one leaves them NULL and has roles)."""
        seen: dict[str, None] = {}
        for version in VERSIONS:
            for column in self.header(version) or ():
                seen.setdefault(column, None)
        return tuple(seen)

    def create_sql(self) -> str:
        """The raw table both readers (CSV and REST) fill: every column VARCHAR, as sent ("" and
        an absent value both NULL), named by the CSV headers; list cells stay comma-joined text,
        as in the CSV binding."""
        columns = ", ".join('"' + c + '" VARCHAR' for c in self.raw_columns)
        return f"CREATE TABLE IF NOT EXISTS {self.table} ({columns})"


ROSTERING: tuple[File, ...] = tuple(File(name) for name in _HEADERS)
BY_NAME: dict[str, File] = {f.name: f for f in ROSTERING}

# What the MGI needs of a package (mgi.md): these must be present (bulk or delta); demographics
# is optional; roles is needed in 1.2, where users.csv no longer says who is a student.
REQUIRED: dict[Version, tuple[str, ...]] = {
    "1.1": ("orgs", "users", "classes", "enrollments", "academicSessions", "courses"),
    "1.2": ("orgs", "users", "roles", "classes", "enrollments", "academicSessions", "courses"),
}


def data_files(version: Version) -> tuple[str, ...]:
    """Every data file a manifest of `version` declares (one `file.<name>` row each)."""
    rostering = tuple(f.name for f in ROSTERING if f.header(version))
    return (*rostering, *(_OTHER_11 if version == "1.1" else _OTHER_12))


def file(name: str) -> File:
    return BY_NAME[name]
