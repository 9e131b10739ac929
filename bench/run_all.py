#!/usr/bin/env python3
"""Run every benchmark of bench/ in turn, then write bench/RESULTS.md from that run alone.

    .venv/bin/python bench/run_all.py [--scale full|quick] [--only fetch,lake] [--lake-args "..."]

`make bench` runs it with the release build. Each benchmark is a child
process (AGT_LIB, AGT_TESTING_LIB, AGT_BIN and PYTHONPATH set), its output
streamed; each ends by leaving results/<name>.json in bench/out/ (its text,
command and goals: bench/report.py), which this script clears first. After
the last one it writes RESULTS.md: the machine, the commit, the duration of
the whole suite, a table of every goal (our figure, the peers' in the same
run, the ratio, met or not, the exact command), then each benchmark's
section. A benchmark that fails gets a line saying so. Exit status: 0 if
every benchmark succeeded, 1 otherwise (the others still run).

Scales: `full` (the default) measures at the sizes the goals are about (a
year lake of 50,000 trades an hour, a 7.4 M-trade month, ...); `quick`
measures the same things on smaller data in a few minutes. bench/lake.py's
year lake is built once into the cache directory (report.cache_dir(),
~/.cache/aggtrades-bench) and reused by later runs once verified (its
section says so); each benchmark's wall and CPU time are recorded (the
suite is meant to take under 30 minutes on the idle machine).

`--only` runs a subset and writes RESULTS.md only with `--write`; `--only X --add` runs X
and adds it to the results the last run left (a benchmark that failed, or
one added to the suite since), RESULTS.md's header then naming both runs.

A benchmark is added by one entry in BENCHMARKS: its arguments per scale and
for the smoke run of `make test` (tests/integration/test_bench_smoke.py runs
every entry with its smoke arguments).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
import report  # noqa: E402

# name: {"full": args, "quick": args, "smoke": args}; run in this order, plots last
BENCHMARKS: dict[str, dict[str, list[str]]] = {
    "fetch": {"full": ["--scale", "100", "--repeat", "5"], "quick": ["--scale", "20", "--repeat", "3"],
              "smoke": ["--smoke"]},
    "paging": {"full": ["--scale", "20"], "quick": ["--scale", "5"], "smoke": ["--smoke"]},
    "parquet": {"full": [], "quick": ["--rows", "200000", "--reps", "3"], "smoke": ["--smoke"]},
    "lake": {"full": ["--runs", "5"], "quick": ["--rows-per-hour", "5000", "--runs", "3"],
             "smoke": ["--smoke"]},
    "read": {"full": [], "quick": ["--runs", "3"], "smoke": ["--smoke"]},
    "export": {"full": ["--runs", "2"], "quick": ["--runs", "1"], "smoke": ["--smoke"]},
    "size": {"full": [], "quick": [], "smoke": ["--smoke"]},
    "ingest": {"full": [], "quick": ["--runs", "1"], "smoke": ["--smoke"]},
    "changes": {"full": [], "quick": [], "smoke": ["--smoke"]},
    "monthly": {"full": [], "quick": ["--scale", "0.2"], "smoke": ["--smoke"]},
    "jobs": {"full": [], "quick": ["--runs", "1"], "smoke": ["--smoke"]},
    "rss": {"full": [], "quick": ["--days", "1,3"], "smoke": ["--smoke"]},
    "plots": {"full": [], "quick": [], "smoke": ["--smoke"]},  # last: draws bench/*.png from bench/out/
}


def library_env(env: dict) -> dict:
    """AGT_LIB (and the testing library and tool beside it) of a Release build; built in
    build-bench/ unless AGT_LIB names one."""
    if not env.get("AGT_LIB"):
        build = REPO / "build-bench"
        print(f"== building {build} (Release)", flush=True)
        subprocess.run(["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DAGT_TESTING_LIB=ON"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build), "-j2", "--target", "libaggtrades",
                        "libaggtrades_testing", "aggtrades"], check=True, stdout=subprocess.DEVNULL)
        env["AGT_LIB"] = str(build / "libaggtrades.so")
    lib_dir = Path(env["AGT_LIB"]).parent
    for var, name in (("AGT_TESTING_LIB", "libaggtrades_testing.so"), ("AGT_BIN", "aggtrades")):
        if not env.get(var) and (lib_dir / name).exists():
            env[var] = str(lib_dir / name)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "python"), env.get("PYTHONPATH")) if p)
    return env


def children_cpu() -> float:
    """User + system CPU seconds of every finished child process (and theirs) so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def git_commit() -> str:
    r = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=("full", "quick"), default="full")
    ap.add_argument("--only", default=",".join(BENCHMARKS),
                    help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    ap.add_argument("--write", action="store_true", help="write RESULTS.md even with --only")
    ap.add_argument("--results", default=str(BENCH / "RESULTS.md"), help="the file to write (default bench/RESULTS.md)")
    ap.add_argument("--add", action="store_true",
                    help="keep the last run's results, add those of --only, rewrite RESULTS.md")
    for name in BENCHMARKS:
        ap.add_argument(f"--{name}-args", default=None, help=f"arguments for bench/{name}.py instead of the scale's")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}")
    whole = names == list(BENCHMARKS)
    run_file = report.results_dir() / "run.json"  # what the last run that wrote RESULTS.md ran
    if a.add and not run_file.exists():
        ap.error(f"--add: {run_file} is missing (no earlier run to add to)")

    env = library_env(dict(os.environ))
    if not a.add:
        shutil.rmtree(report.results_dir(), ignore_errors=True)
    machine, versions, commit = report.machine(), report.versions(), git_commit()
    started = dt.datetime.now(dt.timezone.utc)
    t_all, c_all = time.perf_counter(), children_cpu()
    status: dict[str, str] = {}
    for name in names:
        extra = getattr(a, f"{name}_args")
        args = shlex.split(extra) if extra is not None else BENCHMARKS[name][a.scale]
        cmd = [sys.executable, str(BENCH / f"{name}.py"), *args]
        print(f"\n== {name}: {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
        t0, c0 = time.perf_counter(), children_cpu()
        rc = subprocess.run(cmd, cwd=REPO, env=env).returncode
        took, cpu = time.perf_counter() - t0, children_cpu() - c0
        # CPU of the benchmark's whole process tree (simulators, DuckDB's threads, the tool): on
        # this shared machine the wall time moves with the load, the CPU time much less
        took_s = f"{took:.0f} s wall, {cpu:.0f} s CPU"
        status[name] = took_s if rc == 0 else f"FAILED, exit status {rc} after {took_s}"
        print(f"== {name}: exit {rc} after {took_s}", flush=True)
    total, total_cpu = time.perf_counter() - t_all, children_cpu() - c_all
    failed = [n for n in names if status[n].startswith("FAILED")]
    print(f"\n== done in {total / 60:.1f} min ({total_cpu / 60:.1f} min of CPU): "
          f"{len(names) - len(failed)}/{len(names)} benchmarks succeeded"
          + (f" (failed: {', '.join(failed)})" if failed else ""))

    if whole or a.write or a.add:
        command = " ".join([".venv/bin/python", "bench/run_all.py", *(argv if argv is not None else sys.argv[1:])])
        runs = [f"- Run: {started:%Y-%m-%d %H:%M} UTC, commit `{commit}`, scale `{a.scale}`, `{command}`: "
                f"{total / 60:.1f} minutes, {total_cpu / 60:.1f} minutes of CPU "
                f"({'; '.join(f'{n} {status[n]}' for n in names)}). "
                f"Machine: {machine}; load average {os.getloadavg()[0]:.1f} at the end; {versions}. "
                f"Library: `{env['AGT_LIB']}`."]
        if a.add:
            last = json.loads(run_file.read_text())
            runs = last["runs"] + runs
            status = {**last["status"], **status}
            names = [n for n in BENCHMARKS if n in status]
        run_file.write_text(json.dumps({"runs": runs, "status": status}, indent=1))
        header = [
            "Written by `make bench` (bench/run_all.py); do not edit: the next run replaces it. "
            + ("From one run." if len(runs) == 1 else "From a run and what was added to it (`--add`).")
            + " A shared machine: wall times move with the load, so most benchmarks give CPU time too. "
            "Earlier measurements and what changed between them: [HISTORY.md](HISTORY.md).",
            "", *runs]
        Path(a.results).write_text(report.results_markdown(names, status, header))
        print(f"== wrote {a.results}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
