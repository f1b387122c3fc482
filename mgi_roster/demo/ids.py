"""Ids, the hash of an index, and the id ranges a list endpoint walks.

Every demo record is a pure function of its index (and the district's size, day and seed).
IDs are 24 lowercase hex characters like Mongo ObjectIDs: ``5eed`` + a 2-hex entity code +
the 18-hex zero-padded index. String order therefore equals index order, which is what Clever
promises (records sorted by ascending id), ids are unique across entity types, and
``starting_after=<id>`` finds its place by decoding the index from the id.

``_mix`` (splitmix64) turns an index into 64 well-mixed bits, from which names and
demographics are drawn; ``_salt`` gives each seed and purpose its own stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

DEMO_DISTRICT_ID = "5eed0000000000000000d15c"


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
_HEX24 = re.compile(r"[0-9a-f]{24}")


def _id(code: str, index: int) -> str:
    return f"{_PREFIX}{code}{index:018x}"


def _decode(record_id: str) -> tuple[str, int] | None:
    """(entity code, index) of one of our ids, or None for anything else."""
    if len(record_id) != 24 or not record_id.startswith(_PREFIX) or not _HEX24.fullmatch(record_id):
        return None
    return record_id[4:6], int(record_id[6:], 16)


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


def _id_list(code: str, indexes: Sequence[int]) -> str:
    prefix = _PREFIX + code  # inlined _id: rosters hold most of the ids on a sections page
    return _json_strings([f"{prefix}{i:018x}" for i in indexes])


def _json_strings(values: Sequence[str]) -> str:
    """A JSON array of strings that need no escaping (ids)."""
    return '["' + '","'.join(values) + '"]' if values else "[]"


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
