#!/usr/bin/env python3
"""Run every benchmark of bench/ in turn: fetch, paging, parquet, lake, read, export, size,
ingest, changes, then draw the plots (bench/plots.py).

    .venv/bin/python bench/run_all.py [--only fetch,lake] [--lake-args "--rows-per-hour 20000"]

Builds a Release copy of the library in build-bench/ (CMake target
libaggtrades) unless $AGT_LIB names one, then runs each benchmark as a child
process with AGT_LIB and PYTHONPATH=python set, streaming its output. Each
benchmark prints its own table; bench/README.md says what each measures and
bench/RESULTS.md holds the recorded figures. Exit status: 0 if every
benchmark succeeded, 1 otherwise (the others still run).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BENCHMARKS = {
    "fetch": ["--scale", "100", "--repeat", "5"],
    "paging": ["--scale", "20"],
    "parquet": [],
    "lake": ["--runs", "5", "--write-results"],
    "read": ["--write-results"],
    "export": ["--runs", "3", "--write-results"],
    "size": ["--write-results"],
    "ingest": ["--write-results"],
    "changes": ["--write-results"],
    "plots": [],  # last: draws bench/*.png from what the others left in bench/out/
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(BENCHMARKS),
                    help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    for name in BENCHMARKS:
        ap.add_argument(f"--{name}-args", default=None,
                        help=f"arguments for bench/{name}.py (default: {' '.join(BENCHMARKS[name]) or 'none'})")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")

    env = dict(os.environ)
    if not env.get("AGT_LIB"):
        build = REPO / "build-bench"
        print(f"== building {build}/libaggtrades.so (Release)", flush=True)
        subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build), "-j2", "--target", "libaggtrades",
                        "libaggtrades_testing"],
                       check=True, stdout=subprocess.DEVNULL)
        env["AGT_LIB"] = str(build / "libaggtrades.so")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)

    failed = []
    for name in names:
        script = BENCH / f"{name}.py"
        extra = getattr(a, f"{name}_args")
        args = shlex.split(extra) if extra is not None else BENCHMARKS[name]
        cmd = [sys.executable, str(script), *args]
        print(f"\n== {name}: {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
        if not script.exists():
            print(f"== {name}: {script} is missing, skipped", flush=True)
            failed.append(name)
            continue
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=REPO, env=env).returncode
        print(f"== {name}: exit {rc} after {time.perf_counter() - t0:.0f} s", flush=True)
        if rc != 0:
            failed.append(name)
    print(f"\n== done: {len(names) - len(failed)}/{len(names)} benchmarks succeeded"
          + (f" (failed: {', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
