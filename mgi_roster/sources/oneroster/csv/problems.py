"""A package's problems, collected (up to MAX_PROBLEMS) to be raised together. And the reader's limits and names, which every part reads."""

from __future__ import annotations

from mgi_roster.errors import PackageError, Problem
from mgi_roster.kinds import Severity
from mgi_roster.sources.oneroster.files import Mode
from mgi_roster.sources.oneroster.zipsafe import Limits

MANIFEST = "manifest.csv"
MANIFEST_HEADER = ("propertyName", "value")
MANIFEST_VERSION = "1.0"
MODES: tuple[Mode, ...] = ("bulk", "delta", "absent")
SOURCE_PROPERTIES = ("source.systemName", "source.systemCode")
REJECTS_KEPT = 100_000  # DuckDB's reject rows kept per file (a row may give one per column)
REJECTS_PER_FILE = 20  # malformed rows listed per file: enough to see the pattern
MAX_PROBLEMS = 200  # past this a package is plainly broken; the list would only repeat itself
DEFAULT_LIMITS = Limits()
LOAD_MEMORY_MB = 256  # DuckDB's memory bound while a package loads
_HEADER_BYTES = 1024 * 1024  # a header line longer than this is not a OneRoster header


class _Problems:
    """The problems of one package, capped."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, problem: Problem) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(problem)
        else:
            self.dropped += 1

    def extend(self, problems: tuple[Problem, ...] | list[Problem]) -> None:
        for p in problems:
            self.add(p)

    def error(
        self,
        code: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.add(Problem(file, line, column, message, code=code))

    def warn(
        self,
        code: str,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.add(Problem(file, line, column, message, code=code, severity=Severity.WARNING))

    @property
    def failed(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.items)

    def raise_if_failed(self) -> None:
        if self.failed:
            raise PackageError(self.final())

    def final(self) -> list[Problem]:
        if not self.dropped:
            return list(self.items)
        return [
            *self.items,
            Problem(
                None,
                None,
                None,
                f"{self.dropped:,} more problems were not listed; fix these first.",
                code="package.more_problems",
            ),
        ]

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.items if p.severity is not Severity.ERROR)
