"""manifest.csv: read, checked against the binding, and the files it declares against the ZIP's."""

from __future__ import annotations

import csv
import difflib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from mgi_roster.sources.oneroster import files
from mgi_roster.sources.oneroster.csv.problems import (
    MANIFEST,
    MANIFEST_HEADER,
    MANIFEST_VERSION,
    MODES,
    SOURCE_PROPERTIES,
    _Problems,
)
from mgi_roster.sources.oneroster.files import VERSIONS, Mode, Version


@dataclass(frozen=True)
class _Manifest:
    version: Version | None
    declared: dict[str, Mode]  # file name -> mode, as declared (only valid modes)
    source: str | None


def _decode(data: bytes, name: str, problems: _Problems) -> str | None:
    try:
        return data.decode("utf-8-sig")  # a BOM is allowed and ignored (oneroster.md §2)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.error(
            "csv.encoding",
            "The file is not UTF-8 (byte "
            f"0x{data[error.start]:02x} cannot start a character). Save it as UTF-8.",
            file=name,
            line=line,
        )
        return None


def _read_manifest(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, problems: _Problems
) -> _Manifest:
    empty = _Manifest(None, {}, None)
    text = _decode(archive.read(info), MANIFEST, problems)
    if text is None:
        return empty
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(rows[0]) != MANIFEST_HEADER:
        found = ",".join(rows[0]) if rows else "nothing"
        problems.error(
            "manifest.header",
            f"manifest.csv must start with the header 'propertyName,value'; it starts with "
            f"{found!r}.",
            file=MANIFEST,
            line=1,
        )
        return empty
    properties: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            problems.error(
                "manifest.row",
                f"Each manifest row is a property and its value; this row has {len(row)} fields.",
                file=MANIFEST,
                line=line,
            )
            continue
        name, value = row
        if name in properties:
            if properties[name][0] == value:
                problems.warn(
                    "manifest.duplicate",
                    f"{name} is declared twice (with the same value).",
                    file=MANIFEST,
                    line=line,
                )
            else:
                problems.error(
                    "manifest.duplicate",
                    f"{name} is declared twice, as {properties[name][0]!r} (line "
                    f"{properties[name][1]}) and {value!r}; keep one.",
                    file=MANIFEST,
                    line=line,
                )
            continue
        properties[name] = (value, line)

    manifest_version = properties.get("manifest.version")
    if manifest_version is None:
        problems.error(
            "manifest.missing_property",
            "manifest.csv has no manifest.version row; add 'manifest.version,1.0'.",
            file=MANIFEST,
        )
    elif manifest_version[0] == "1":
        problems.warn(
            "manifest.version",
            "manifest.version is '1' where the binding writes '1.0' (a spreadsheet program "
            "rewrites 1.0 as 1); read as 1.0.",
            file=MANIFEST,
            line=manifest_version[1],
        )
    elif manifest_version[0] != MANIFEST_VERSION:
        problems.error(
            "manifest.version",
            f"manifest.version is {manifest_version[0]!r}; the OneRoster CSV binding's manifest "
            "version is '1.0'.",
            file=MANIFEST,
            line=manifest_version[1],
        )

    version: Version | None = None
    declared_version = properties.get("oneroster.version")
    if declared_version is None:
        problems.error(
            "manifest.missing_property",
            "manifest.csv has no oneroster.version row; add 'oneroster.version,1.1' or "
            "'oneroster.version,1.2'.",
            file=MANIFEST,
        )
    elif declared_version[0] in VERSIONS:
        version = declared_version[0]
    else:
        problems.error(
            "manifest.oneroster_version",
            f"oneroster.version is {declared_version[0]!r}; this reader reads OneRoster 1.1 and "
            "1.2 packages (1.2.1 packages also declare '1.2').",
            file=MANIFEST,
            line=declared_version[1],
        )

    declared: dict[str, Mode] = {}
    data_files = files.data_files(version) if version else ()
    for name, (mode, line) in properties.items():
        if name in ("manifest.version", "oneroster.version", *SOURCE_PROPERTIES):
            continue
        file_name = name.removeprefix("file.")
        if version is None:
            continue
        if name.startswith("file.") and file_name in data_files:
            if mode in MODES:
                declared[file_name] = mode
            else:
                declared[file_name] = "absent"  # reported here; not again as undeclared
                problems.error(
                    "manifest.mode",
                    f"{name} is {mode!r}; a file's mode is bulk, delta or absent.",
                    file=MANIFEST,
                    line=line,
                )
        else:
            problems.warn(
                "manifest.unknown_property",
                f"{name!r} is not a property of a OneRoster {version} manifest; it was ignored.",
                file=MANIFEST,
                line=line,
            )
    source = properties.get("source.systemName")
    return _Manifest(version, declared, source[0] if source and source[0] else None)


def _check_files(
    manifest: _Manifest, present: Mapping[str, zipfile.ZipInfo], problems: _Problems
) -> dict[str, Mode]:
    """Each data file's mode, the manifest and the archive agreeing; what the MGI needs."""
    assert manifest.version is not None
    version = manifest.version
    modes: dict[str, Mode] = {}
    for name in files.data_files(version):
        filename = f"{name}.csv"
        mode = manifest.declared.get(name)
        in_zip = filename in present
        rostering = name in files.BY_NAME
        if mode is None:
            if in_zip:
                problems.error(
                    "manifest.undeclared_file",
                    f"{filename} is in the package but the manifest does not declare it; add "
                    f"'file.{name},bulk' (or delta).",
                    file=MANIFEST,
                )
            else:
                problems.warn(
                    "manifest.missing_property",
                    f"The manifest does not declare file.{name}; read as absent (add "
                    f"'file.{name},absent').",
                    file=MANIFEST,
                )
            mode = "absent"
        elif mode == "absent" and in_zip:
            message = (
                f"{filename} is in the package but the manifest declares it absent; declare it "
                "bulk or delta, or leave it out."
            )
            if rostering:
                problems.error("manifest.file_unexpected", message, file=MANIFEST)
            else:
                problems.warn("manifest.file_unexpected", message, file=MANIFEST)
        elif mode != "absent" and not in_zip:
            near = [n for n in present if n.lower() == filename.lower()]
            hint = f" (the package has {near[0]!r}: names are case-sensitive)" if near else ""
            problems.error(
                "manifest.file_missing",
                f"The manifest declares {filename} {mode} but the package has no such file{hint}.",
                file=MANIFEST,
            )
        if rostering:
            modes[name] = mode
    for name in files.REQUIRED[version]:
        if modes.get(name, "absent") == "absent":
            problems.error(
                "package.required_file",
                f"The MGI needs {name}.csv (orgs, users, classes, enrollments, academicSessions "
                f"and courses{', roles' if version == '1.2' else ''}); this package "
                "declares it absent or lacks it.",
                file=f"{name}.csv",
            )
    known = {MANIFEST, *(f"{n}.csv" for n in files.data_files(version))}
    for name in present:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" Did you mean {near[0]}?" if near else ""
            problems.warn(
                "zip.unknown_entry",
                f"{name} is not a file of a OneRoster {version} package and was ignored.{hint}",
                file=name,
            )
    return modes
