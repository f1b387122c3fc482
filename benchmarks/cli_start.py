"""How long the command line takes to start and do a small thing: `parameters set`.

    python benchmarks/cli_start.py [--runs 15] [--python PATH] [--imports]

Run from the root of a checkout: it times, as whole processes, from start to exit,

    PYTHON -m mgi_roster --db TMP/mgi.duckdb parameters set --district <demo> --file TMP/p.json

against the floor any command pays, the interpreter starting and importing DuckDB
(`PYTHON -c "import duckdb"`). The database is created by a warm-up run that is not counted, so
the runs time a command on an existing file, as a script calling it in a loop would. Each
command runs RUNS times, interleaved with the floor; it prints min, median and max wall seconds
(quote the median). To compare with an earlier version, run the same file from a checkout of
that version. --imports adds the slowest imports of one run (python -X importtime).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO_DISTRICT_ID = "5eed0000000000000000d15c"


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def row(name: str, seconds: list[float]) -> str:
    lo, mid, hi = min(seconds), statistics.median(seconds), max(seconds)
    return f"{name:<18} {lo:7.3f} {mid:8.3f} {hi:7.3f}"


def slowest_imports(command: list[str], top: int = 12) -> list[str]:
    """The modules with the largest cumulative import time in one run, slowest first."""
    err = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True, check=True
    ).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            _self, cumulative, module = line.removeprefix("import time:").split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), module.rstrip()))
    return [f"{us / 1000:8.1f} ms {name}" for us, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--runs", type=int, default=15)
    options.add_argument("--python", default=sys.executable)
    options.add_argument("--imports", action="store_true", help="show the slowest imports")
    args = options.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        params = Path(tmp) / "p.json"
        params.write_text("{}", encoding="utf-8")
        command = [
            args.python,
            "-m",
            "mgi_roster",
            "--db",
            str(Path(tmp) / "mgi.duckdb"),
            "parameters",
            "set",
            "--district",
            DEMO_DISTRICT_ID,
            "--file",
            str(params),
        ]
        floor = [args.python, "-c", "import duckdb"]
        wall(command), wall(floor)  # warm-up: creates the database, fills the OS file cache
        times: dict[str, list[float]] = {"parameters set": [], "floor": []}
        for _ in range(args.runs):
            times["parameters set"].append(wall(command))
            times["floor"].append(wall(floor))
        print(f"{args.runs} runs each, wall seconds       min   median     max")
        print(row("parameters set", times["parameters set"]))
        print(row('-c "import duckdb"', times["floor"]))
        if args.imports:
            print("\nslowest imports (cumulative, one run):")
            print("\n".join(slowest_imports(command)))


if __name__ == "__main__":
    main()
