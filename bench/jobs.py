#!/usr/bin/env python3
"""Archive backfill with parallel jobs: ``download --jobs N`` against ``--jobs 1``, same run.

Three symbols x 30 days (no whole calendar month, so every day is one unit:
its daily zip, SHA-256 check, inflate, parse, two REST proof requests,
encode, commit) from the simulator (``tools/binance_sim.py``) made to look
like a distant server: ``--latency-ms`` before every answer and
``--bandwidth`` bytes a second per connection. A warm-up download fills the
simulator's cache of zips first (``--archive-cache``: all 90 kept), so no
timed run pays for generating them.
Then ``--jobs 1``, the default (one per CPU) and ``--jobs 4`` download into fresh lakes, interleaved,
each child under GNU time (wall, CPU = user + system, peak RSS); the lakes
must hold the same trade ids (checked). Prints days per minute, CPU and the
ratios (issue 12: limited by the network or by all cores, not by waiting).

The floor a run cannot go below is the largest of three: the network's (the
zips' bytes over --bandwidth per connection, spread over the jobs, plus a
round trip per request), the REST proofs' (two a day, --interval-ms apart
for all jobs together) and the cores' (the run's CPU over this machine's
cores). ``wall / floor`` says how much of the run was spent waiting on
neither: 1.0 is a run limited by the network or by all cores.

    .venv/bin/python bench/jobs.py [--runs 2] [--smoke]
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

NOW = "2024-03-10T12:00:00Z"
SYMBOLS = ["BTCUSDT", "ETHUSDT", "ETHBTC"]
# 90 symbol-days of ~27,000 trades (scale 2): the shape of the backfill with days small
# enough that a run of the three job counts takes about a minute and a half on the idle machine
FULL = {"start": "2024-01-10", "end": "2024-02-08", "days": 30, "scale": 2.0, "latency_ms": 50,
        "bandwidth": 4_000_000}
SMOKE = {"start": "2024-02-20", "end": "2024-02-22", "days": 3, "scale": 0.2, "latency_ms": 20,
         "bandwidth": 2_000_000}


def download(url: str, root: Path, cfg: dict, jobs: int) -> dict:
    """One download child under GNU time into a fresh lake."""
    if root.exists():
        shutil.rmtree(root)
    return report.timed_tool(["--root", str(root), "--api-url", url, "--archive-url", url, "--quiet", "download",
                              *SYMBOLS, "--start", cfg["start"], "--end", cfg["end"], "--jobs", str(jobs)],
                             root.parent / f"time-{root.name}.txt")


def days(cfg: dict) -> list[str]:
    import datetime as dt
    d0 = dt.date.fromisoformat(cfg["start"])
    return [(d0 + dt.timedelta(days=k)).isoformat() for k in range(cfg["days"])]


def zip_bytes(url: str, cfg: dict) -> int:
    """What the archive sends for the run: every daily zip's size (HEAD, Content-Length)."""
    total = 0
    for s in SYMBOLS:
        for d in days(cfg):
            req = urllib.request.Request(f"{url}/data/spot/daily/aggTrades/{s}/{s}-aggTrades-{d}.zip",
                                         method="HEAD")
            with urllib.request.urlopen(req) as r:
                total += int(r.headers["Content-Length"])
    return total


def trade_ids(root: Path, cfg: dict) -> dict:
    from aggtrades.lake import read_trades
    return {s: read_trades(root, s, cfg["start"], cfg["end"], columns=["trade_id"])["trade_id"].to_numpy()
            for s in SYMBOLS}


def median(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv=None) -> int:
    a = report.args(__doc__, 2, argv)
    cfg = SMOKE if a.smoke else FULL
    cores = os.cpu_count() or 1
    counts = sorted({1, min(cores, 8), 4})  # one job, the default (one per CPU), four
    machine = report.machine()
    scratch = report.out_dir() / "jobs"
    scratch.mkdir(parents=True, exist_ok=True)
    units = len(SYMBOLS) * cfg["days"]
    sim, url = report.start_sim("--now", NOW, "--scale", str(cfg["scale"]), "--latency-ms",
                                str(cfg["latency_ms"]), "--bandwidth", str(cfg["bandwidth"]),
                                "--archive-cache", str(units))  # every zip kept: generated once, by the warm-up
    runs: dict[int, list[dict]] = {n: [] for n in counts}
    try:
        download(url, scratch / "warm", cfg, counts[-1])  # the simulator generates and keeps every zip
        for _ in range(a.runs):  # interleaved
            for n in counts:
                runs[n].append(download(url, scratch / f"jobs{n}", cfg, n))
        ids = {n: trade_ids(scratch / f"jobs{n}", cfg) for n in counts}
        nbytes = zip_bytes(url, cfg)
        trades = sum(len(v) for v in ids[1].values())
        for n in counts:
            for s in SYMBOLS:
                if len(ids[1][s]) == 0 or len(ids[1][s]) != len(ids[n][s]) or not (ids[1][s] == ids[n][s]).all():
                    print(f"MISMATCH: {s}: --jobs 1 and --jobs {n} stored different trade ids", file=sys.stderr)
                    return 1
    finally:
        sim.kill()
        sim.wait()
    shutil.rmtree(scratch)

    med = {n: median(r) for n, r in runs.items()}
    dpm = {n: units / med[n]["wall"] * 60 for n in counts}
    # requests a day: zip, .CHECKSUM, two REST proofs; each pays the latency once
    requests = units * 4

    def floor(n: int) -> float:
        net = nbytes / (cfg["bandwidth"] * n) + requests * cfg["latency_ms"] / 1000 / n
        rest = units * 2 * 0.050  # the REST proofs, 50 ms apart (--interval-ms, shared by the jobs)
        return max(net, rest, med[n]["cpu"] / cores)

    lines = [
        f"Release build `build-release/aggtrades`. Machine: {machine}. Simulator archive of "
        f"{', '.join(SYMBOLS)} {cfg['start']} .. {cfg['end']} ({units} symbol-days, {trades:,} trades, "
        f"{nbytes / 1e6:.1f} MB of zips, scale {cfg['scale']}), served with {cfg['latency_ms']} ms before each "
        f"answer and {cfg['bandwidth'] / 1e6:.0f} MB/s per connection; zips generated by a warm-up run first. "
        f"Medians of {a.runs} interleaved runs of the whole `download` child (HTTP, SHA-256, inflate, parse, "
        "two REST proofs a day, encode, commit with fsync); CPU = user + system from GNU time. Floor: the "
        "largest of the network's (bytes / (bandwidth x jobs) + requests x latency / jobs), the REST proofs' "
        "(2 a day, 50 ms apart: --interval-ms, one for all jobs) and the cores' (CPU / cores); wall / floor = 1 "
        "is a run limited by the network or by all cores.",
        "",
        "| --jobs | wall s | symbol-days/min | vs --jobs 1 | CPU s | CPU / wall | peak RSS MiB | floor s | wall / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in counts:
        r = med[n]
        lines.append(f"| {n}{' (default here)' if n == min(cores, 8) else ''} | {r['wall']:.1f} | {dpm[n]:.0f} | "
                     f"{dpm[n] / dpm[1]:.2f}x | {r['cpu']:.1f} | {r['cpu'] / r['wall']:.2f} | {r['rss_mib']:.0f} | "
                     f"{floor(n):.1f} | {r['wall'] / floor(n):.2f} |")
    best = max(counts, key=lambda n: dpm[n])
    ratio = dpm[best] / dpm[1]
    goals = [
        report.Goal(f"archive backfill, 3 symbols x {cfg['days']} days: days/min with --jobs {best} > --jobs 1",
                    f"{dpm[best]:.0f} days/min", f"--jobs 1 {dpm[1]:.0f} days/min", f"{ratio:.2f}", ratio > 1),
        report.Goal(f"archive backfill, --jobs {best}: limited by the network or all cores (wall / floor <= 1.25)",
                    f"wall {med[best]['wall']:.1f} s", f"floor {floor(best):.1f} s",
                    f"{med[best]['wall'] / floor(best):.2f}", med[best]["wall"] <= 1.25 * floor(best)),
    ]
    report.publish("jobs", lines, goals, a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
