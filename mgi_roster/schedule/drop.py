"""A district's drop folder: the SFTP case of OneRoster CSV.

A district on OneRoster CSV may have its SIS drop ZIPs in a folder (provider_settings.drop_folder).
A scheduled sync takes the newest ZIP there and, once the run is recorded, moves it into
`processed/` (the run staged) or `failed/` (it did not), named with the run id, so a package is
synced once and what happened to it can be traced. Older ZIPs left beside it stay for a person to
look at: the newest is the district's current snapshot.
"""

from __future__ import annotations

from pathlib import Path

PROCESSED, FAILED = "processed", "failed"


def newest(folder: str | Path) -> Path | None:
    """The newest .zip directly in `folder` (by modification time, then name); None if none."""
    directory = Path(folder)
    if not directory.is_dir():
        return None
    zips = [p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".zip"]
    return max(zips, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def file_away(path: Path, run_id: int | None, ok: bool) -> Path:
    """Move a synced package into processed/ or failed/, named run-<id>-<name>."""
    target = path.parent / (PROCESSED if ok else FAILED)
    target.mkdir(exist_ok=True)
    moved = target / f"run-{run_id if run_id is not None else 'none'}-{path.name}"
    path.replace(moved)
    return moved
