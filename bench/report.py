"""Helpers the benchmarks share: interleaved timing, the machine line, and
each benchmark's section of bench/RESULTS.md.

Timing runs the compared implementations in turn (A, B, C, A, B, C, ...), so
a burst of load from other processes on this shared machine hits all of
them alike, and reports the median wall time and the median CPU time
(``time.process_time``: user + system of every thread of this process).

Results: a benchmark ends with ``publish(name, lines, goals, smoke)``. It
prints its table and leaves ``results/<name>.json`` under the output
directory (``$AGT_BENCH_OUT`` or bench/out): the exact command, the text
(its section of RESULTS.md) and one ``Goal`` per figure the issue sets a
goal for (our figure, the peers' figures in the same run, the ratio,
met or not). bench/run_all.py clears that directory, runs every
benchmark, and writes RESULTS.md from those files alone
(``results_markdown``), so the file always comes from one run. A benchmark
is added by listing it in run_all.py's BENCHMARKS and calling publish();
its smoke run (``--smoke``) then joins ``make test``
(tests/integration/test_bench_smoke.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"


def args(doc: str, runs: int, argv=None) -> argparse.Namespace:
    """The options every benchmark on the sample lake takes; a.runs is 1 with --smoke."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--smoke", action="store_true", help="tiny data, one run")
    a = ap.parse_args(argv)
    if a.smoke:
        a.runs = 1
    return a


def interleaved(fns: dict[str, Callable[[], object]], runs: int, warmup: int = 1) -> dict[str, dict]:
    """{name: {"wall": median s, "cpu": median s}} over `runs` rounds after `warmup` rounds."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(runs):
        for k, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            wall[k].append(time.perf_counter() - w0)
            cpu[k].append(time.process_time() - c0)
    return {k: {"wall": statistics.median(wall[k]), "cpu": statistics.median(cpu[k])} for k in fns}


def ms(s: float) -> str:
    v = s * 1000
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def machine() -> str:
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
            f"load average {load[0]:.1f} at the start, Python {platform.python_version()}")


def versions() -> str:
    out = []
    for mod in ("numpy", "pandas", "pyarrow", "duckdb", "polars"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            pass
    return ", ".join(out)


def start_sim(*args: str) -> tuple[subprocess.Popen, str]:
    """tools/binance_sim.py on a free port with `args`: (the process, its base URL)."""
    sim = BENCH.parent / "tools" / "binance_sim.py"
    proc = subprocess.Popen([sys.executable, str(sim), "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def binary() -> Path:
    """The aggtrades tool measured: $AGT_BIN, else the release build's."""
    b = os.environ.get("AGT_BIN")
    return Path(b) if b else BENCH.parent / "build-release" / "aggtrades"


def timed_tool(args: list[str], stats: Path) -> dict:
    """Runs the tool with `args` under GNU time: {"wall": s, "cpu": user + system s, "rss_mib": peak
    RSS of that child alone} (ru_maxrss of a child forked from a big Python process would carry
    the parent's peak over exec). `stats` is GNU time's scratch output file."""
    subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(stats), str(binary()), *args], check=True)
    wall, user, system, kib = stats.read_text().split()[-4:]
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss_mib": int(kib) / 1024}


def out_dir() -> Path:
    """Where benchmarks leave data and results: $AGT_BENCH_OUT (the smoke tests), else bench/out."""
    return Path(os.environ.get("AGT_BENCH_OUT") or BENCH / "out")


def cache_dir() -> Path:
    """Where data worth keeping between runs is built once (bench/lake.py's year lake, keyed by what
    its content depends on): $AGT_BENCH_CACHE, else $XDG_CACHE_HOME/aggtrades-bench (~/.cache),
    outside the checkout so that a fresh clone reuses it. Delete it to rebuild."""
    env = os.environ.get("AGT_BENCH_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "aggtrades-bench"


def results_dir() -> Path:
    return out_dir() / "results"


@dataclass
class Goal:
    """One figure the issue sets a goal for, as RESULTS.md's summary shows it."""
    goal: str          # the figure and its goal, e.g. "5-minute window: >= 20x DuckDB"
    ours: str          # our figure, with its unit
    peers: str         # each peer's figure in the same run
    ratio: str         # the ratio the goal is judged on
    met: bool


def command() -> str:
    """The command line that ran this benchmark, as a user types it from the checkout."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(BENCH.parent)
    except ValueError:
        pass
    return " ".join([".venv/bin/python", str(script), *map(shlex.quote, sys.argv[1:])])


def publish(name: str, lines: list[str], goals: list[Goal] = (), smoke: bool = False) -> None:
    """Print a benchmark's report and leave it in results/<name>.json for RESULTS.md."""
    if not isinstance(smoke, bool) or not all(isinstance(g, Goal) for g in goals):
        raise TypeError("publish(name, lines, goals, smoke): goals is a list of report.Goal, smoke a bool")
    text = "\n".join(lines)
    print(text)
    if goals:
        print()
        for g in goals:
            print(f"goal {g.goal}: ours {g.ours}; {g.peers}; ratio {g.ratio}: "
                  f"{'met' if g.met else 'NOT MET'}")
    d = results_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{name}.json").write_text(json.dumps(
        {"name": name, "command": command(), "smoke": smoke, "text": text,
         "goals": [asdict(g) for g in goals]}, indent=1))


def load_results(names: list[str]) -> dict[str, dict]:
    """The results/<name>.json each benchmark of `names` left (absent if it failed)."""
    out = {}
    for n in names:
        p = results_dir() / f"{n}.json"
        if p.exists():
            out[n] = json.loads(p.read_text())
    return out


def results_markdown(names: list[str], status: dict[str, str], header: list[str]) -> str:
    """RESULTS.md: the header, one summary table of every goal, then each benchmark's section."""
    res = load_results(names)
    lines = ["# Benchmark results", "", *header, "",
             "## Goals", "",
             "| benchmark | goal | ours | peers (same run) | ratio | verdict | command |",
             "|---|---|---|---|---|---|---|"]
    for n in names:
        for g in res.get(n, {}).get("goals", []):
            lines.append(f"| {n} | {g['goal']} | {g['ours']} | {g['peers']} | {g['ratio']} | "
                         f"{verdict(g['met'])} | `{res[n]['command']}` |")
    for n in names:
        lines += ["", f"## {n}", ""]
        if n in res:
            lines += [f"Command: `{res[n]['command']}` ({status.get(n, '')})", "", res[n]["text"]]
        else:
            lines.append(f"No results: {status.get(n, 'not run')}.")
    return "\n".join(lines).rstrip() + "\n"
