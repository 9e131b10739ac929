"""Helpers the benchmarks share: interleaved timing, ratios and goals, the
machine line, and rewriting one marked section of bench/RESULTS.md.

Timing runs the compared implementations in turn (A, B, C, A, B, C, ...), so
a burst of load from other processes on this shared machine hits all of
them alike, and reports the median wall time and the median CPU time
(``time.process_time``: user + system of every thread of this process).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"


def args(doc: str, runs: int, argv=None) -> argparse.Namespace:
    """The options every benchmark on the sample lake takes; a.runs is 1 with --smoke."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--smoke", action="store_true", help="tiny lake, one run, nothing written")
    ap.add_argument("--write-results", action="store_true")
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


def write_section(name: str, text: str) -> None:
    """Replace the text between <!-- name:begin --> and <!-- name:end --> (appended if absent)."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    body = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{begin}\n{text.rstrip()}\n{end}"
    if begin in body and end in body:
        body = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _m: block, body, flags=re.S)
    else:
        body = body.rstrip() + f"\n\n## {name}\n\n{block}\n"
    RESULTS.write_text(body)


def publish(name: str, lines: list[str], a: argparse.Namespace) -> None:
    """Print a benchmark's report; with --write-results (not --smoke) it becomes its RESULTS.md section."""
    text = "\n".join(lines)
    print(text)
    if a.write_results and not a.smoke:
        write_section(name, text)
