#!/usr/bin/env python3
"""Peak memory of ``download`` against the range's length: 1, 3 and 7 busy days.

``aggtrades download BTCUSDT --start D --end D+n-1 --source archive`` of
n = 1, 3, 7 days from the simulator (``tools/binance_sim.py --scale 75``:
~1.7 M trades a weekday, the busiest real BTCUSDT days hold 1.1-1.9 M) into
a fresh lake, with the default ``--jobs`` (one per CPU) and with
``--jobs 1``, each child under GNU time (peak RSS of the child alone, wall,
CPU = user + system). The zips are fetched once before (not measured), so
the simulator generates each day once and serves it from memory afterwards.
Every lake is checked to hold every trade id of the range (the simulator's
first and last id of each day, no gap). Goal (issue 12): peak RSS at most
64 MiB whatever the range and the day's size. Writes
bench/out/rss-results.json (bench/plots.py draws plot_download_memory.png).
Peak RSS hardly moves between runs (it follows what is held, not the
load), so each point is one run.

    .venv/bin/python bench/rss.py [--days 1,3,7] [--scale 75] [--smoke]

``--smoke``: 1 and 2 days at scale 0.5.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import io
import json
import os
import shutil
import sys
import urllib.request
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

NOW, START, SYMBOL = "2024-03-01T12:00:00Z", "2024-02-20", "BTCUSDT"
GOAL_MIB = 64
FULL = {"scale": 75.0, "days": [1, 3, 7]}
SMOKE = {"scale": 0.5, "days": [1, 2]}


def day_names(n: int) -> list[str]:
    d0 = dt.date.fromisoformat(START)
    return [(d0 + dt.timedelta(days=k)).isoformat() for k in range(n)]


def zip_url(url: str, day: str) -> str:
    return f"{url}/data/spot/daily/aggTrades/{SYMBOL}/{SYMBOL}-aggTrades-{day}.zip"


def day_ids(url: str, day: str) -> tuple[int, int, int]:
    """(first id, last id, rows) of a day's archive file: the ids a complete download stores."""
    with urllib.request.urlopen(zip_url(url, day)) as r:
        z = zipfile.ZipFile(io.BytesIO(r.read()))
    lines = z.read(z.namelist()[0]).splitlines()
    return int(lines[0].split(b",")[0]), int(lines[-1].split(b",")[0]), len(lines)


def download(url: str, root: Path, days: list[str], jobs: int | None) -> dict:
    """One download child under GNU time into a fresh lake (jobs None: the tool's default)."""
    if root.exists():
        shutil.rmtree(root)
    args = ["--root", str(root), "--api-url", url, "--archive-url", url, "--quiet", "download", SYMBOL,
            "--start", days[0], "--end", days[-1], "--source", "archive"]
    return report.timed_tool(args + (["--jobs", str(jobs)] if jobs is not None else []), root.parent / "time.txt")


def stored_ids(root: Path, days: list[str]):
    from aggtrades.lake import read_trades
    return read_trades(root, SYMBOL, days[0], days[-1], columns=["trade_id"])["trade_id"].to_numpy()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", default=",".join(map(str, FULL["days"])), help="range lengths (days)")
    ap.add_argument("--scale", type=float, default=FULL["scale"], help="simulator --scale")
    ap.add_argument("--smoke", action="store_true", help="1 and 2 days at scale 0.5")
    a = ap.parse_args(argv)
    cfg = SMOKE if a.smoke else {"scale": a.scale, "days": sorted({int(d) for d in a.days.split(",")})}
    cores = os.cpu_count() or 1
    default_jobs = min(cores, 8)  # the tool's default: one per CPU, at most 8 (download --help)
    machine = report.machine()
    scratch = report.out_dir() / f"rss{'-smoke' if a.smoke else ''}"
    scratch.mkdir(parents=True, exist_ok=True)
    longest = day_names(max(cfg["days"]))
    sim, url = report.start_sim("--now", NOW, "--scale", str(cfg["scale"]), "--archive-cache", str(len(longest)))
    results = []
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as ex:  # the simulator generates each zip once
            ids = dict(zip(longest, ex.map(lambda d: day_ids(url, d), longest)))
        for n in cfg["days"]:
            days = longest[:n]
            want = sum(rows for _, _, rows in (ids[d] for d in days))
            point = {"days": n, "trades": want}
            for label, jobs in (("default", None), ("jobs1", 1)):
                root = scratch / "lake"
                point[label] = download(url, root, days, jobs)
                got = stored_ids(root, days)
                lo, hi = ids[days[0]][0], ids[days[-1]][1]
                if len(got) != want or got[0] != lo or got[-1] != hi or (got[1:] - got[:-1] != 1).any():
                    print(f"MISMATCH: {n} days, jobs {jobs or 'default'}: {len(got):,} trade ids stored, "
                          f"expected {want:,} ({lo}..{hi}, no gap)", file=sys.stderr)
                    return 1
            results.append(point)
            print(f"{n} day(s), {want:,} trades: default jobs {point['default']}, --jobs 1 {point['jobs1']}",
                  flush=True)
    finally:
        sim.kill()
        sim.wait()
    shutil.rmtree(scratch)
    (report.out_dir() / f"rss-results{'-smoke' if a.smoke else ''}.json").write_text(  # for bench/plots.py
        json.dumps({"default_jobs": default_jobs, "goal_mib": GOAL_MIB, "points": results}, indent=1))

    lines = [
        f"Release build `build-release/aggtrades`; simulator archive of {SYMBOL} from {START} at scale "
        f"{cfg['scale']:g}, over loopback, zips fetched once before. Machine: {machine}. "
        "`download --source archive` of the range into a fresh lake, one child per figure under GNU time: "
        f"peak RSS of the child alone, wall, CPU = user + system. Default `--jobs` here: {default_jobs} "
        "(one per CPU). Every lake holds every trade id of the range (checked). One run each: peak RSS "
        "follows what the download holds, not the load (bench/plot_download_memory.png).",
        "",
        "| days | trades | default --jobs: peak RSS MiB | wall s | CPU s | --jobs 1: peak RSS MiB | wall s | CPU s "
        f"| goal ≤ {GOAL_MIB} MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in results:
        d, o = p["default"], p["jobs1"]
        lines.append(f"| {p['days']} | {p['trades']:,} | {d['rss_mib']:.0f} | {d['wall']:.1f} | {d['cpu']:.1f} | "
                     f"{o['rss_mib']:.0f} | {o['wall']:.1f} | {o['cpu']:.1f} | default "
                     f"{report.verdict(d['rss_mib'] <= GOAL_MIB)}, --jobs 1 {report.verdict(o['rss_mib'] <= GOAL_MIB)} |")
    goals = []
    for label, jobs in (("default", f"default --jobs ({default_jobs})"), ("jobs1", "--jobs 1")):
        peak = max(p[label]["rss_mib"] for p in results)
        goals.append(report.Goal(
            f"download peak RSS, {jobs}, ranges of {' / '.join(str(p['days']) for p in results)} days "
            f"(up to {results[-1]['trades'] / 1e6:.1f} M trades): <= {GOAL_MIB} MiB",
            " / ".join(f"{p[label]['rss_mib']:.0f}" for p in results) + " MiB", "(no peer: a bound)",
            f"{peak / GOAL_MIB:.2f} of {GOAL_MIB} MiB at most", peak <= GOAL_MIB))
    report.publish("rss", lines, goals, a.smoke)
    return 0


if __name__ == "__main__":
    sys.exit(main())
