"""The demo district as a OneRoster CSV package: the ZIP a district uploads or drops by SFTP.

``write_package()`` writes one day of the demo as a bulk package of version 1.2 or 1.1
(``python -m mgi_roster demo oneroster-zip --out F``): ``manifest.csv`` (``manifest.version``
1.0, ``oneroster.version``, one ``file.<name>`` row for every data file of the version, ``bulk``
for the files written, ``absent`` for the rest) and the rostering files with the exact headers
of ``files.py``. CSV as RFC 4180 wants it (the csv module's quoting, CRLF line ends), UTF-8
without a BOM, files at the archive's root. Rows are streamed into the archive, so a
1,000,000-student package never sits in memory; the archive appears under its name only when
complete.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mgi_roster.demo.district import DemoDistrict
from mgi_roster.demo.oneroster_wire import OneRosterDemo, csv_row, role_rows, v1p1
from mgi_roster.sources.oneroster import files

MANIFEST_HEADER = ("propertyName", "value")
SYSTEM_NAME = "Maple Valley demo SIS (MGI Roster Review)"
SYSTEM_CODE = "mgi-roster-demo"


@dataclass(frozen=True)
class Package:
    """What ``write_package`` wrote: the path, the version, and the rows per data file."""

    path: Path
    version: files.Version
    rows: dict[str, int]


def rows(demo: OneRosterDemo, name: str, version: files.Version) -> Iterator[list[str]]:
    """The data rows of one rostering file of `version`, in sourcedId order."""
    if name == "roles":
        for user in demo.records("users"):
            yield from role_rows(user)
        return
    for record in demo.records(name):
        yield csv_row(name, v1p1(name, record) if version == "1.1" else record, version)


def write_package(
    district: DemoDistrict, out: str | os.PathLike[str], version: files.Version = "1.2"
) -> Package:
    """Write the district's day as a bulk OneRoster CSV package of `version` to `out`."""
    if version not in files.VERSIONS:
        raise ValueError(f"OneRoster version must be one of {', '.join(files.VERSIONS)}")
    path = Path(out)
    demo = OneRosterDemo(district)
    written: dict[str, int] = {}
    partial = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in files.ROSTERING:
                header = file.header(version)
                if header is None:
                    continue
                count = _write_csv(archive, file.filename, header, rows(demo, file.name, version))
                if count:  # a file with no data rows is declared absent, never sent empty
                    written[file.name] = count
            _write_csv(archive, "manifest.csv", MANIFEST_HEADER, manifest(version, written))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return Package(path, version, written)


def manifest(version: files.Version, present: Iterable[str]) -> list[list[str]]:
    """manifest.csv's rows (oneroster.md §3): every data file of the version, bulk or absent."""
    bulk = set(present)
    return [
        ["manifest.version", "1.0"],
        ["oneroster.version", version],
        *(
            [f"file.{name}", "bulk" if name in bulk else "absent"]
            for name in files.data_files(version)
        ),
        ["source.systemName", SYSTEM_NAME],
        ["source.systemCode", SYSTEM_CODE],
    ]


def _write_csv(
    archive: zipfile.ZipFile, name: str, header: Iterable[str], data: Iterable[list[str]]
) -> int:
    """Write header and rows as one archive member; the number of data rows. A data file
    without rows is not written at all (its manifest row says absent): zipfile cannot take a
    member back, so the member is opened only once a first row exists."""
    iterator = iter(data)
    first = next(iterator, None)
    if first is None and name != "manifest.csv":
        return 0
    count = 0
    with archive.open(name, "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as text:
        writer = csv.writer(text)  # RFC 4180: minimal quoting, "" inside quotes, CRLF
        writer.writerow(header)
        if first is not None:
            writer.writerow(first)
            count = 1
            for row in iterator:
                writer.writerow(row)
                count += 1
    return count
