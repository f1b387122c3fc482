"""Opening a OneRoster ZIP that anyone may have uploaded or dropped in a folder, safely.

A package is untrusted input: it can be a zip bomb (a few kilobytes that inflate to gigabytes),
carry names that climb out of a directory (`../x`, `/etc/x`), hide a symlink, or repeat a name
so that two readers see different files. Every entry is judged from the central directory before
a byte is inflated, and inflating is streamed to a file in a temporary directory this module
names itself (never the entry's own name), counting bytes as it goes, so the limits hold even
when the directory lies about sizes (zipfile stops at the declared size and checks the CRC).

Layout: the OneRoster CSV binding puts the files at the archive's root (oneroster.md §2; widely
stated by vendors, the exact spec text is unconfirmed). Zipping a folder instead of its contents
is the most common mistake people make by hand (macOS "Compress" also adds `__MACOSX/`), and it
changes nothing about the data, so a package whose files all sit in ONE top-level folder is read
from that folder with a warning. Anything else in a sub-folder is ignored with a warning.
"""

from __future__ import annotations

import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mgi_roster.errors import Problem
from mgi_roster.kinds import Severity

MiB = 1024 * 1024
GiB = 1024 * MiB

# Operating-system litter that archivers add; never part of a package, ignored silently.
_LITTER_DIRS = ("__MACOSX",)
_LITTER_FILES = (".DS_Store", "Thumbs.db", "desktop.ini")
_SUPPORTED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


@dataclass(frozen=True)
class Limits:
    """What a package may expand to. The defaults fit a state-sized package (a 1M-student
    package is about 1 GB of CSV) and stop a zip bomb long before it fills a disk."""

    max_total_bytes: int = 8 * GiB  # all entries, inflated
    max_entry_bytes: int = 4 * GiB  # one entry, inflated
    max_ratio: float = 200.0  # inflated / compressed, for entries over ratio_floor_bytes
    ratio_floor_bytes: int = MiB  # a small entry cannot be a bomb, whatever its ratio
    max_entries: int = 200  # a package has at most 22 files; room for litter


@dataclass(frozen=True)
class Opened:
    """A package's archive, judged: its files by name at the package root (`users.csv`), and
    what was found wrong or odd about the archive itself."""

    archive: zipfile.ZipFile | None
    files: dict[str, zipfile.ZipInfo]
    problems: tuple[Problem, ...]


def _problem(code: str, message: str, *, file: str | None = None, warn: bool = False) -> Problem:
    severity = Severity.WARNING if warn else Severity.ERROR
    return Problem(file, None, None, message, code=code, severity=severity)


def _unsafe_name(name: str) -> bool:
    """An absolute path, a drive, or a `..` step, in either separator (a Windows archiver may
    write backslashes; extracting elsewhere would honour them)."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in name.replace("\\", "/").split("/")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _is_litter(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and (parts[0] in _LITTER_DIRS or parts[-1] in _LITTER_FILES)


def _judge(infos: Iterable[zipfile.ZipInfo], limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if _unsafe_name(name):
            problems.append(
                _problem(
                    "zip.path_traversal",
                    f"The archive entry {name!r} points outside the package (an absolute path "
                    "or a '..' step). Such a ZIP is refused: rebuild it with the files at its "
                    "root.",
                    file=name,
                )
            )
        if name in seen:
            problems.append(
                _problem(
                    "zip.duplicate_entry",
                    f"The archive holds {name!r} more than once; readers would disagree on which "
                    "copy counts. Rebuild the ZIP with one copy of each file.",
                    file=name,
                )
            )
        seen.add(name)
        if _is_symlink(info):
            problems.append(
                _problem(
                    "zip.symlink",
                    f"The archive entry {name!r} is a symbolic link; a package holds plain files "
                    "only.",
                    file=name,
                )
            )
        if info.flag_bits & 0x1:
            problems.append(
                _problem(
                    "zip.encrypted",
                    f"The archive entry {name!r} is encrypted; send the package without a "
                    "password.",
                    file=name,
                )
            )
        if info.compress_type not in _SUPPORTED:
            problems.append(
                _problem(
                    "zip.compression",
                    f"The archive entry {name!r} uses a compression method ({info.compress_type}) "
                    "this reader does not support; use the standard Deflate.",
                    file=name,
                )
            )
        if info.file_size > limits.max_entry_bytes:
            problems.append(
                _problem(
                    "zip.entry_too_large",
                    f"The archive entry {name!r} inflates to {info.file_size:,} bytes, over the "
                    f"limit of {limits.max_entry_bytes:,}.",
                    file=name,
                )
            )
        if info.file_size > limits.ratio_floor_bytes and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            problems.append(
                _problem(
                    "zip.bomb",
                    f"The archive entry {name!r} inflates {info.file_size / max(info.compress_size, 1):,.0f} "
                    f"times ({info.compress_size:,} bytes to {info.file_size:,}), over the limit of "
                    f"{limits.max_ratio:,.0f}: it looks like a zip bomb and is not opened.",
                    file=name,
                )
            )
        total += info.file_size
    if total > limits.max_total_bytes:
        problems.append(
            _problem(
                "zip.too_large",
                f"The package inflates to {total:,} bytes, over the limit of "
                f"{limits.max_total_bytes:,}.",
            )
        )
    return problems


def _layout(infos: list[zipfile.ZipInfo]) -> tuple[dict[str, zipfile.ZipInfo], list[Problem]]:
    """The package's files by their name at the package root, after the one tolerated folder."""
    files = [i for i in infos if not i.is_dir() and not _is_litter(i.filename)]
    problems: list[Problem] = []
    folders = {PurePosixPath(i.filename).parts[0] for i in files if "/" in i.filename}
    prefix = ""
    if files and len(folders) == 1 and all("/" in i.filename for i in files):
        prefix = folders.pop() + "/"
        problems.append(
            _problem(
                "zip.folder",
                f"The package's files are inside the folder {prefix!r}; the OneRoster CSV "
                "binding puts them at the archive's root. They were read from the folder; zip "
                "the files themselves, not their folder, next time.",
                warn=True,
            )
        )
    by_name: dict[str, zipfile.ZipInfo] = {}
    for info in files:
        name = info.filename[len(prefix) :]
        if "/" in name:
            problems.append(
                _problem(
                    "zip.subfolder",
                    f"The archive entry {info.filename!r} is in a sub-folder and was ignored: a "
                    "package's files sit at its root.",
                    file=info.filename,
                    warn=True,
                )
            )
            continue
        by_name.setdefault(name, info)
    return by_name, problems


def open_package(path: Path, limits: Limits) -> Opened:
    """Open and judge the archive. When any problem is an error, `archive` is None and nothing
    may be read from it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not a ZIP"
        return Opened(
            None,
            {},
            (
                _problem(
                    "zip.not_a_zip",
                    f"The file {path.name} is not a readable ZIP archive ({reason}). A OneRoster "
                    "CSV package is a ZIP of CSV files with manifest.csv at its root.",
                ),
            ),
        )
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        archive.close()
        return Opened(
            None,
            {},
            (
                _problem(
                    "zip.too_many_entries",
                    f"The archive holds {len(infos):,} entries, over the limit of "
                    f"{limits.max_entries:,}; a OneRoster package holds at most 22 files.",
                ),
            ),
        )
    problems = _judge(infos, limits)
    files, layout = _layout(infos)
    problems.extend(layout)
    if any(p.severity is Severity.ERROR for p in problems):
        archive.close()
        return Opened(None, {}, tuple(problems))
    return Opened(archive, files, tuple(problems))


@dataclass(frozen=True)
class Extracted:
    path: Path
    size: int  # bytes written
    newlines: int  # b"\n" count: with the last line's, the file's physical lines
    ends_with_newline: bool
    crlf: int  # how many of the newlines follow a CR
    bare_cr: int  # CRs not followed by LF


CHUNK = 4 * MiB


def extract(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: Limits
) -> Extracted:
    """Inflate one entry to `target`, streaming and counting. Raises zipfile.BadZipFile when the
    entry is corrupt (a CRC or size that does not match), ValueError past a limit."""
    size = newlines = crlf = crs = 0
    last = b""
    with archive.open(info) as source, open(target, "wb") as sink:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limits.max_entry_bytes or size > info.file_size:
                raise ValueError(f"{info.filename} inflates past its declared size or the limit")
            newlines += chunk.count(b"\n")
            crs += chunk.count(b"\r")
            crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
            last = chunk[-1:]
            sink.write(chunk)
    return Extracted(target, size, newlines, last == b"\n", crlf, crs - crlf)
