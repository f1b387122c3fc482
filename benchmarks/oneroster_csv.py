"""How fast a OneRoster CSV package stages, against DuckDB's own read_csv on the same files.

    python benchmarks/oneroster_csv.py --students 1000000 [--runs 3] [--json out.json]

What it does:
  1. generates (once, cached in --work, default a temporary directory) a OneRoster 1.1 package
     of N students: a district and a school per 500 students, a school year and two terms, 20
     courses per school, a class per 25 students, a teacher per 20 students, five enrollments
     per student and one per class for its teacher; written by DuckDB's COPY, zipped with
     Deflate (level 6), as a district's SIS would send it;
  2. in a fresh process each time, loads the ZIP with `load_package` into a new DuckDB file
     (inflating each entry to a temporary file, checking the header, reading with read_csv,
     checking rejects and line counts, all in one transaction);
  3. in a fresh process each time, the baseline: the same CSV files, already inflated, each read
     by DuckDB's own `CREATE TABLE AS SELECT * FROM read_csv(file, all_varchar = true)` into a
     new DuckDB file;
  4. in a fresh process each time, what a OneRoster CSV sync does before validation (C):
     `OneRosterCsvProvider.stage` on the ZIP in a DuckDB tuned as a sync's run file is, the
     package loaded into the raw tables, then the mapping into the staging tables;
  5. runs them in turn (A C B A C B ...), reports the median wall seconds of each, their ratio
     pair by pair, CPU seconds, each process's peak RSS (the operating system's ru_maxrss of
     the child), C's load and mapping seconds and the size of C's database file.

Both processes bound DuckDB's memory the same way (`--memory`, MB, as MGI_DUCKDB_MEMORY does).
The numbers go in benchmarks/RESULTS.md ("OneRoster CSV staging").
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from mgi_roster.sources.oneroster import files  # noqa: E402

FILES = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")


def generate(students: int, work: Path) -> Path:
    """The package of `students` students in work/package.zip, its CSVs in work/csv/."""
    package = work / "package.zip"
    if package.exists():
        return package
    folder = work / "csv"
    folder.mkdir(parents=True, exist_ok=True)
    schools = max(1, students // 500)
    classes = max(1, students // 25)
    teachers = max(1, students // 20)
    con = duckdb.connect()
    blank = "NULL::VARCHAR"
    queries = {
        "orgs": f"""
            SELECT 'dist1' AS sourcedId, {blank} AS status, {blank} AS dateLastModified,
                   'Benchmark District' AS name, 'district' AS type, {blank} AS identifier,
                   {blank} AS parentSourcedId
            UNION ALL
            SELECT 'sch' || i, NULL, NULL, 'School ' || i, 'school', 'NCES' || i, 'dist1'
            FROM range({schools}) t(i)""",
        "academicSessions": f"""
            SELECT * FROM (VALUES
              ('y2025', {blank}, {blank}, '2024-2025', 'schoolYear', '2024-08-01', '2025-06-30',
               {blank}, '2025'),
              ('t1', NULL, NULL, 'Fall', 'term', '2024-08-01', '2024-12-20', 'y2025', '2025'),
              ('t2', NULL, NULL, 'Spring', 'term', '2025-01-06', '2025-06-30', 'y2025', '2025'))
              v(sourcedId, status, dateLastModified, title, type, startDate, endDate,
                parentSourcedId, schoolYear)""",
        "courses": f"""
            SELECT 'crs' || i AS sourcedId, {blank} AS status, {blank} AS dateLastModified,
                   'y2025' AS schoolYearSourcedId, 'Course ' || i AS title,
                   'C' || (i % 20) AS courseCode, lpad(((i % 9) + 1)::VARCHAR, 2, '0') AS grades,
                   'sch' || (i // 20) AS orgSourcedId, 'Math' AS subjects,
                   {blank} AS subjectCodes
            FROM range({schools * 20}) t(i)""",
        "classes": f"""
            SELECT 'cls' || i AS sourcedId, {blank} AS status, {blank} AS dateLastModified,
                   'Class ' || i || ', room ' || (i % 40) AS title,
                   lpad(((i % 9) + 1)::VARCHAR, 2, '0') AS grades,
                   'crs' || ((i % {schools}) * 20 + i % 20) AS courseSourcedId,
                   'CL' || i AS classCode, CASE WHEN i % 5 = 0 THEN 'homeroom' ELSE 'scheduled'
                   END AS classType, 'Room ' || (i % 40) AS location,
                   'sch' || (i % {schools}) AS schoolSourcedId, 't1,t2' AS termSourcedIds,
                   'Math' AS subjects, {blank} AS subjectCodes, ((i % 8) + 1)::VARCHAR AS periods
            FROM range({classes}) t(i)""",
        "users": f"""
            SELECT 'usr' || i AS sourcedId, {blank} AS status, {blank} AS dateLastModified,
                   'true' AS enabledUser, 'sch' || (i % {schools}) AS orgSourcedIds,
                   CASE WHEN i < {students} THEN 'student' ELSE 'teacher' END AS role,
                   'user' || i || '@district.example.org' AS username,
                   '{{SIS:' || i || '}}' AS userIds, 'Given' || (i % 5000) AS givenName,
                   'Family' || (i % 20000) AS familyName, {blank} AS middleName,
                   lpad(i::VARCHAR, 9, '0') AS identifier,
                   'user' || i || '@district.example.org' AS email, {blank} AS sms,
                   {blank} AS phone, {blank} AS agentSourcedIds,
                   CASE WHEN i < {students} THEN lpad(((i % 9) + 1)::VARCHAR, 2, '0') END
                     AS grades,
                   {blank} AS password
            FROM range({students + teachers}) t(i)""",
        "enrollments": f"""
            SELECT 'enr' || s.i || '-' || k.j AS sourcedId, {blank} AS status,
                   {blank} AS dateLastModified,
                   'cls' || ((s.i * 5 + k.j * 7919) % {classes}) AS classSourcedId,
                   'sch' || (((s.i * 5 + k.j * 7919) % {classes}) % {schools})
                     AS schoolSourcedId,
                   'usr' || s.i AS userSourcedId, 'student' AS role, {blank} AS "primary",
                   {blank} AS beginDate, {blank} AS endDate
            FROM range({students}) s(i), range(5) k(j)
            UNION ALL
            SELECT 'enrt' || c.i, NULL, NULL, 'cls' || c.i, 'sch' || (c.i % {schools}),
                   'usr' || ({students} + c.i % {teachers}), 'teacher', 'true', NULL, NULL
            FROM range({classes}) c(i)""",
    }
    for name, select in queries.items():
        con.execute(
            f"COPY ({select}) TO '{folder / (name + '.csv')}' (HEADER, DELIMITER ',', QUOTE '\"')"
        )
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    manifest += [f"file.{n},{'bulk' if n in FILES else 'absent'}" for n in files.data_files("1.1")]
    manifest.append("source.systemName,benchmark")
    (folder / "manifest.csv").write_text("\r\n".join(manifest) + "\r\n")
    partial = work / "package.zip.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for path in sorted(folder.iterdir()):
            z.write(path, path.name)
    partial.rename(package)
    return package


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """This process's CPU seconds, every thread (user + system): steadier than wall time on a
    shared machine, where other work stretches wall time but not this."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_load(package: Path, db: Path, memory: int) -> dict[str, Any]:
    from mgi_roster.sources.oneroster.csv import load_package

    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{memory}MB'")
    started, cpu = time.perf_counter(), _cpu()
    loaded = load_package(con, package)
    con.close()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return {"seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb(), "counts": dict(loaded.counts)}


def child_stage(package: Path, db: Path, memory: int) -> dict[str, Any]:
    """What a OneRoster CSV sync does before validation: load the package into the raw tables,
    then the mapping into the product's staging tables, in a DuckDB bounded as a sync's run file
    is (MGI_DUCKDB_RUN_MEMORY, 128 MB by default; one thread; spilling beside the file). The
    store's schema is made first, not timed."""
    from mgi_roster.sources.provider import OneRosterCsvProvider
    from mgi_roster.staging import runfile
    from mgi_roster.store import migrate
    from mgi_roster.sync import Timings

    con = duckdb.connect(str(db))
    migrate(con)
    runfile.tune(con, db)  # as a sync's run file: MGI_DUCKDB_RUN_MEMORY, one thread, spilling
    started, cpu = time.perf_counter(), _cpu()
    # The provider a sync uses: load_package, the package's district checked, the mapping.
    timings = Timings()
    staged = OneRosterCsvProvider(package).stage(con, 1, "dist1", progress=None, timings=timings)
    counts: dict[str, int] = {}
    for name in FILES:
        row = con.execute(f"SELECT count(*) FROM or_{name}").fetchone()
        counts[name] = row[0] if row else 0
    con.close()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": _peak_mb(),
        "db_mb": db.stat().st_size / 1e6,
        "counts": counts,
        "staged": staged,
        "load_seconds": timings.get("fetch", 0.0),
        "map_seconds": timings.get("stage", 0.0),
    }


def child_baseline(folder: Path, db: Path, memory: int) -> dict[str, Any]:
    con = duckdb.connect(str(db))
    con.execute(f"SET memory_limit = '{memory}MB'")
    started, cpu = time.perf_counter(), _cpu()
    counts = {}
    for name in FILES:
        con.execute(
            f"CREATE TABLE or_{name} AS SELECT * FROM read_csv('{folder / (name + '.csv')}', "
            "all_varchar = true, header = true)"
        )
        row = con.execute(f"SELECT count(*) FROM or_{name}").fetchone()
        counts[name] = row[0] if row else 0
    con.close()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    return {"seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb(), "counts": counts}


def _run_child(kind: str, target: Path, memory: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="or-bench-") as scratch:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                kind,
                str(target),
                str(Path(scratch) / "run.duckdb"),
                "--memory",
                str(memory),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", type=int, default=1024, help="DuckDB memory_limit, MB")
    parser.add_argument("--work", type=Path, help="keep the generated package here")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=3, metavar=("KIND", "TARGET", "DB"))
    args = parser.parse_args()

    if args.child:
        kind, target, db = args.child
        child = {"load": child_load, "stage": child_stage}.get(kind, child_baseline)
        print(json.dumps(child(Path(target), Path(db), args.memory)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix=f"or-package-{args.students}-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    package = generate(args.students, work)
    generated = time.perf_counter() - started
    csv_bytes = sum(p.stat().st_size for p in (work / "csv").glob("*.csv"))
    loads, stages, baselines, ratios, stage_ratios = [], [], [], [], []
    for _ in range(args.runs):
        load = _run_child("load", package, args.memory)
        stage = _run_child("stage", package, args.memory)
        base = _run_child("baseline", work / "csv", args.memory)
        assert {k: load["counts"][k] for k in FILES} == base["counts"], (load, base)
        loads.append(load)
        stages.append(stage)
        baselines.append(base)
        ratios.append(load["seconds"] / base["seconds"])
        stage_ratios.append(stage["seconds"] / base["seconds"])
    results = {
        "students": args.students,
        "rows": base["counts"],
        "zip_mb": round(package.stat().st_size / 1e6, 1),
        "csv_mb": round(csv_bytes / 1e6, 1),
        "generate_seconds": round(generated, 1),
        "memory_limit_mb": args.memory,
        "load_package_seconds": [round(r["seconds"], 2) for r in loads],
        "read_csv_seconds": [round(r["seconds"], 2) for r in baselines],
        "ratio_pairwise": [round(r, 3) for r in ratios],
        "staged": stages[-1]["staged"],
        "stage_seconds": [round(r["seconds"], 2) for r in stages],
        "stage_cpu": [round(r["cpu"], 2) for r in stages],
        "stage_peak_mb": [round(r["peak_mb"]) for r in stages],
        "stage_db_mb": round(stages[-1]["db_mb"]),
        "stage_load_seconds": [round(r["load_seconds"], 2) for r in stages],
        "stage_map_seconds": [round(r["map_seconds"], 2) for r in stages],
        "stage_ratio_pairwise": [round(r, 3) for r in stage_ratios],
        "median_stage_ratio": round(statistics.median(stage_ratios), 3),
        "median_load_package_seconds": round(statistics.median(r["seconds"] for r in loads), 2),
        "median_read_csv_seconds": round(statistics.median(r["seconds"] for r in baselines), 2),
        "median_ratio": round(statistics.median(ratios), 3),
        "load_package_cpu_seconds": [round(r["cpu"], 2) for r in loads],
        "read_csv_cpu_seconds": [round(r["cpu"], 2) for r in baselines],
        "median_cpu_ratio": round(
            statistics.median(a["cpu"] / b["cpu"] for a, b in zip(loads, baselines, strict=True)),
            3,
        ),
        "peak_rss_mb_load_package": round(max(r["peak_mb"] for r in loads)),
        "peak_rss_mb_read_csv": round(max(r["peak_mb"] for r in baselines)),
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
